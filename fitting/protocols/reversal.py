"""The model's reversal potential against the data's own zero crossing (``ionjax fit`` and
the tail protocol), and the flags of an instantaneous I-V's ohmic fit (the tail protocol)."""

from __future__ import annotations

from typing import Callable

import numpy as np

import ionjax
from fitting.engine.status import USABLE, Status

__all__ = ["check_reversal", "flag_ohmic"]


def check_reversal(res, v, i, e, labels, emit: Callable[[str], None] = print) -> dict:
    """Warn where the model's E_rev and the data's own zero crossing disagree beyond their
    uncertainty (the model does not describe the data near reversal); for a two-ion GHK model,
    offer the permeability ratio that the measured reversal implies. Returns the columns for
    the results file: the zero crossing (and that ratio), per recording. Each warning line
    goes to ``emit`` (default ``print``)."""
    from fitting.engine.inference import measured_reversal
    from fitting.models import MultiIonGHK

    measured = measured_reversal(v, i)
    shape = np.shape(e.value)
    extra = {"e_rev_measured_V": np.reshape(measured.value, shape),
             "e_rev_measured_stderr_V": np.reshape(measured.stderr, shape)}
    model = res.model
    two_ions = isinstance(model, MultiIonGHK) and len(model.z) == 2
    if two_ions:
        names = model.ions or ("ion0", "ion1")
        other = 1 - model.reference
        ratio = np.vectorize(lambda x: float(ionjax.permeability_from_reversal(
            x, np.array([1.0, 1.0]), np.array(model.c_in), np.array(model.c_out),
            np.array(model.z), index=other, temperature=model.temperature)) if np.isfinite(x)
            else np.nan)(np.reshape(measured.value, shape))
        extra[f"P_{names[other]}/P_{names[model.reference]}_from_measured"] = ratio
    rows = zip(labels, *(np.atleast_1d(np.asarray(x, float)) for x in
                         (e.value, e.stderr, measured.value, measured.stderr)))
    for k, (label, fit_e, fit_se, data_e, data_se) in enumerate(rows):
        if not np.all(np.isfinite([fit_e, fit_se, data_e, data_se])):
            continue
        # beyond 2 combined SE and beyond 1 mV (the interpolated crossing of a curved I-V is
        # off by a fraction of a mV even without noise)
        if abs(fit_e - data_e) <= max(2 * np.hypot(fit_se, data_se), 1e-3):
            continue
        emit(f"warning: {label}: the fitted E_rev {fit_e * 1e3:.2f} ± {fit_se * 1e3:.2f} mV and "
              f"the data's zero crossing {data_e * 1e3:.2f} ± {data_se * 1e3:.2f} mV disagree "
              f"(beyond 2 combined SE): the model does not describe the data near reversal")
        if two_ions:
            p = np.ravel(ratio)[k]
            fitted = np.asarray(res.params["ratios"]).reshape(-1, 2)[k, other]
            if np.isfinite(p):
                emit(f"         P_{names[other]}/P_{names[model.reference]} from the measured "
                      f"reversal alone: {p:.4g} (the whole-curve fit gives {fitted:.4g})")
            else:
                emit("         no non-negative permeability ratio of these two ions reverses at "
                      "the measured potential (it lies outside their Nernst potentials)")
    return extra


def flag_ohmic(res, intervals: dict, v: np.ndarray) -> tuple:
    """(status, flags, warnings) of an instantaneous I-V's ohmic fit.

    Flagged (status OUT_OF_RANGE or UNIDENTIFIABLE, never CONVERGED): a negative conductance
    (an open channel's instantaneous current rises with voltage), an E_rev beyond the tail
    voltages by more than half their span (an extrapolation the points do not support), or a
    95% profile interval of g or E_rev without finite ends. An E_rev beyond the tail voltages
    by less is a warning with the distance.

    Args:
      res: ``FitResult`` of ``Ohmic`` on one I-V; intervals: its profile intervals;
      v: (S,) the tail voltages used [V].
    """
    from fitting.engine.summary import extrapolation_warning

    status = Status(int(res.status))
    if status not in USABLE:
        return status, (), ()
    g, e = float(res.params["g"]), float(res.params["e_rev"])
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    far = extrapolation_warning("E_rev", e, (lo, hi))
    flags = []
    if g < 0:
        flags.append(f"negative conductance g {g * 1e9:.3g} nS: the instantaneous current falls "
                     "as the voltage rises, no open channel does that")
    if far and min(abs(e - lo), abs(e - hi)) > 0.5 * (hi - lo):
        flags.append(f"{far} by more than half the tail voltages' span")
    ends = [float(x) for name in ("g", "e_rev") if name in intervals
            for x in (intervals[name].lower, intervals[name].upper)]
    unbounded = not all(np.isfinite(ends))
    if unbounded and not flags:
        status = Status.UNIDENTIFIABLE
        flags.append("the 95% profile interval of g or E_rev is unbounded: the points do not "
                     "pin the I-V down")
    elif flags:
        status = Status.OUT_OF_RANGE
    return status, tuple(flags), (() if flags or not far else (far,))
