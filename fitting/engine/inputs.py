"""The host-side checks of fitted data, shared by ``fitting.fit`` and ``FitResult.summary``:
real numbers, matching shapes, SI units. A leaf (NumPy only).

SI plausibility: no patch-clamp voltage reaches 2 V and no current 1 mA, so larger values are
mV or pA passed as SI (the readers of ``fitting.recordings`` check the same in the units they
read, ``fitting.recordings.plausibility``).
"""

from typing import Any

import numpy as np

__all__ = ["MAX_CURRENT", "MAX_VOLTAGE", "as_array", "check_iv"]

MAX_VOLTAGE = 2.0  # [V] no voltage clamp reaches 2 V (fitting.fit and fit_traces)
MAX_CURRENT = 1e-3  # [A] no patch-clamp current reaches 1 mA (fitting.fit and fit_traces)


def as_array(name: str, x: Any) -> np.ndarray:
    """``x`` as a NumPy array of real numbers; a one-line ValueError naming ``name`` else."""
    try:
        a = np.asarray(x)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{name} must be array-like; got {type(x).__name__}") from exc
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers [SI]; got an array of {a.dtype} "
                         f"({type(x).__name__})")
    return a


def check_iv(v: Any, i: Any, caller: str = "fitting.fit") -> tuple:
    """The host-side checks of fitted data: real numbers, v broadcastable to the shape of i,
    SI units (no patch-clamp voltage reaches 2 V, no current 1 mA: larger values are mV or pA
    passed as SI). One-line ValueErrors name ``caller``; the unit error carries the command's
    wording in ``cli_message``.

    Args:
      v: voltages [V], shape of ``i`` or broadcastable to it.
      i: currents [A], shape (..., n).

    Returns:
      (v broadcast to the shape of i, i) as NumPy arrays.
    """
    v, i = as_array("v", v), as_array("i", i)
    if i.ndim == 0:
        raise ValueError(f"i must have at least one axis (points); got shape {i.shape}")
    if i.size == 0:
        raise ValueError(f"no data to fit: i has shape {i.shape} (recordings x points)")
    for name, a in (("v", v), ("i", i)):
        if np.issubdtype(a.dtype, np.floating) and np.finfo(a.dtype).bits < 32:
            raise ValueError(f"{name} is {a.dtype}, which cannot hold SI values (1 pA = 1e-12 A "
                             "underflows to 0): pass float32 or float64")
    try:
        v = np.broadcast_to(v, i.shape)
    except ValueError:
        raise ValueError(f"v and i shapes do not match: v {tuple(v.shape)}, i {tuple(i.shape)} "
                         "(v must have the shape of i or broadcast to it)") from None
    for name, a, limit, unit, example in (("v", v, MAX_VOLTAGE, "V", "-90 mV = -0.09"),
                                          ("i", i, MAX_CURRENT, "A", "100 pA = 1e-10")):
        largest = np.nanmax(np.abs(np.where(np.isfinite(a), a, 0.0))) if a.size else 0.0
        if largest > limit:
            error = ValueError(f"{name} holds values up to {largest:g}: {caller} takes SI "
                               f"units ({unit}; {example}), and no patch-clamp {name} reaches "
                               f"{limit:g} {unit}. Convert with ionjax.units (mV, pA)")
            quantity = {"v": "voltage", "i": "current"}[name]
            # the command's voice: its readers gave SI, so a correction or a unit went wrong
            error.cli_message = (f"the {quantity}s reach {largest:g} {unit} after reading and "
                                 f"the corrections, beyond any patch-clamp {quantity} "
                                 f"({limit:g} {unit}): check --{quantity}-unit"
                                 + (", --ljp and --series-resistance" if name == "v" else ""))
            raise error
    return v, i
