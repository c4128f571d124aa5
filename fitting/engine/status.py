"""The outcome of one recording's fit: an enumeration whose members carry their messages.

Statuses are small integers inside compiled code (a vmapped batch cannot raise) and ``Status``
members on the host. One rule, ``usable``, says which outcomes give parameters: a converged fit,
and one stopped at the iteration limit (its estimate is the best found; its status says so).
Every other status comes with NaN parameters.
"""

import enum
from typing import Any

__all__ = ["MESSAGES", "Status", "USABLE", "message", "usable"]


class Status(enum.IntEnum):
    """Status of a fitted recording (``FitResult.status``); ``Status(code).message`` explains it.

    Members compare equal to their integer codes, so ``res.status == Status.CONVERGED`` works on
    NumPy and JAX arrays alike.
    """

    def __new__(cls, code, message):
        member = int.__new__(cls, code)
        member._value_ = code
        member.message = message
        return member

    CONVERGED = 0, "converged"
    MAX_STEPS = 1, "maximum number of steps reached before convergence"
    TOO_FEW_POINTS = 2, "too few valid points (fewer than parameters)"
    NON_FINITE = 3, "non-finite residuals or Jacobian at the solution"
    SINGULAR = 4, "singular Jacobian: parameters not identifiable from these data"
    UNIDENTIFIABLE = 5, ("gating not pinned down by the data: the ungated limit fits as well, "
                         "the gate's transition is not sampled, or the gate changes by less "
                         "than 0.25 across the data")
    NO_SIGNAL = 6, ("nothing to fit: the current is zero at every used point, or (a relaxation) "
                    "it stays within its noise band around its steady level")
    OUT_OF_RANGE = 7, ("a fitted value is outside physics or the model's valid range (e.g. a "
                       "negative permeability, a PNP charge too large for its grid): the data "
                       "do not determine it, or the model cannot represent it")
    STALLED = 8, ("the solver stopped short of the optimum: a Gauss-Newton step from its answer "
                  "still moves a parameter by more than half its standard error (float32 "
                  "rounding, or a flat valley: fit in float64 (the ionjax command: "
                  "JAX_ENABLE_X64=1 in its environment) or from other starting values)")
    EXTRAPOLATED = 9, ("the reversal potential is extrapolated, not measured: it lies beyond the "
                       "recorded voltages by more than twice their span, its standard error "
                       "exceeds their span, or the conductance is not distinguishable from 0 "
                       "(no interval bounds it) (record across the reversal)")


USABLE = (Status.CONVERGED, Status.MAX_STEPS)  # the one rule: these statuses give parameters


def usable(status: Any) -> Any:
    """True where a status gives parameters (converged or stopped at the iteration limit).

    Args:
      status: status code(s): a Python int, a list or tuple of them, a NumPy or a JAX array
        (traced arrays included).

    Returns:
      bool, or a bool array of the shape of ``status``.
    """
    if hasattr(status, "status") and hasattr(status, "params"):
        raise TypeError("usable() takes status codes; for a FitResult use res.usable")
    if isinstance(status, (list, tuple)):
        import numpy as np  # here: importing status loads no numpy (the command's start-up)

        status = np.asarray(status)
    found = status == USABLE[0]
    for code in USABLE[1:]:
        found = found | (status == code)
    return found


def message(status: Any) -> Any:
    """Host-side: the message of a status code, or an object array of messages for an array."""
    import numpy as np  # here: importing status loads no numpy (the command's start-up)

    status = np.asarray(status)
    if status.ndim == 0:
        return Status(int(status)).message
    messages = np.empty(status.shape, object)
    for code in np.unique(status):  # one lookup per distinct code, not per recording
        messages[status == code] = Status(int(code)).message
    return messages


MESSAGES = {member.value: member.message for member in Status}
