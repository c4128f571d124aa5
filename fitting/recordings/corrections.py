"""Corrections of I-V data: liquid junction potential, series resistance, leak subtraction.

The order follows the physics of a whole-cell voltage clamp:

1. Series resistance. The current through the pipette flows through the uncompensated part of
   the series (access) resistance and drops V_err = I * R_s * (1 - compensation) there, so the
   membrane sees V_cmd - V_err. The current that causes the drop is the TOTAL measured current,
   leak included: this correction uses the current before leak subtraction.
2. Liquid junction potential (LJP = potential of the bath relative to the pipette solution):
   V_m = V_cmd - LJP, a constant shift.
3. Leak subtraction: I_channel = I - g_leak (V - E_leak), with the leak line fitted to points
   where the channel of interest is closed. A line fitted to the corrected points is evaluated at
   the corrected voltage; a line given by the user is taken in the same (corrected) coordinates.

Each correction returns a new IVData and appends a record of what it did, with its values in
SI, to ``metadata["corrections"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.plausibility import PLAUSIBLE
from ionjax.units import celsius

if TYPE_CHECKING:  # IVData imports this module for its with_corrections
    from fitting.recordings.data import IVData

__all__ = ["DEFAULT_TEMPERATURE", "correct", "correct_liquid_junction",
           "correct_series_resistance", "fit_leak", "fit_line", "junction_potential",
           "subtract_leak", "subtract_line"]

DEFAULT_TEMPERATURE = celsius(22.0)  # [K], for an LJP computed from solutions
_MAX_LJP = 0.1  # [V]: larger values are almost certainly mV given as V
_MIN_SERIES_RESISTANCE = 1e3  # [Ohm]: smaller non-zero values are almost certainly MOhm


def _plain(x):
    """JSON-friendly form of a number or array (float or nested lists)."""
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a.tolist()


def _per_row(x, iv_shape):
    """A scalar, an array of the leading shape (...,) (one value per recording) or of the full
    shape (..., n) (one value per point), made to broadcast against (..., n)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0 or a.ndim == len(iv_shape):
        return a
    return np.broadcast_to(a, iv_shape[:-1])[..., None]


def junction_potential(ljp: Any, *, temperature: float = DEFAULT_TEMPERATURE) -> float:
    """The LJP [V] of a number or of (pipette, bath) solutions, with a record describing it.

    Args:
      ljp: the LJP [V] (bath relative to pipette), or a pair (pipette, bath) of mappings
        ion name -> concentration [mM] for ``ionjax.liquid_junction_potential``.
      temperature: [K], used only for solutions.

    Returns:
      (ljp [V] as float, dict record for ``metadata["corrections"]``).

    Raises:
      InputError: for a non-finite LJP or one of more than 0.1 V (mV given as V?).
    """
    record = {"name": "liquid_junction_potential", "convention": "V_m = V - LJP"}
    if isinstance(ljp, (tuple, list)) and len(ljp) == 2 and all(hasattr(s, "items") for s in ljp):
        import ionjax

        pipette, bath = (dict(s) for s in ljp)
        try:
            value = float(ionjax.liquid_junction_potential(pipette, bath, temperature=temperature))
        except ValueError as exc:
            raise InputError(f"cannot compute the liquid junction potential: {exc}") from exc
        record.update(pipette_mM=pipette, bath_mM=bath, temperature_K=float(temperature))
    else:
        try:
            value = float(ljp)
        except (TypeError, ValueError):
            raise InputError(f"ljp must be a number [V] or a (pipette, bath) pair of solutions; "
                             f"got {ljp!r}") from None
    if not np.isfinite(value) or abs(value) > _MAX_LJP:
        raise InputError(f"a liquid junction potential of {value * 1e3:g} mV is not plausible "
                         f"(|LJP| <= {_MAX_LJP * 1e3:g} mV); in Python give volts (3.18 mV = "
                         "0.00318), on the command line a unit ('3.18mV')")
    record["ljp_V"] = value
    return value, record


def correct_liquid_junction(iv: IVData, ljp: Any, *,
                            temperature: float = DEFAULT_TEMPERATURE) -> IVData:
    """Subtract the liquid junction potential: V_m = V - LJP.

    Args:
      iv: IVData, v [V] of shape (..., n).
      ljp: LJP [V] of the bath relative to the pipette solution, or a (pipette, bath) pair of
        mappings ion -> concentration [mM] (computed with ``ionjax.liquid_junction_potential``).
      temperature: [K] for solutions; default 295.15 K (22 degC).

    Returns:
      A new IVData.
    """
    value, record = junction_potential(ljp, temperature=temperature)
    return iv.replace(v=iv.v - value, correction=record)


def _check_series_resistance(r_s, compensation):
    r_s, compensation = float(r_s), float(compensation)
    if not np.isfinite(r_s) or r_s < 0:
        raise InputError(f"series resistance must be finite and >= 0 [Ohm]; got {r_s!r}")
    if 0 < r_s < _MIN_SERIES_RESISTANCE:
        raise InputError(f"series resistance of {r_s!r} Ohm is not plausible; give it in ohms "
                         "(10 MOhm = 1e7)")
    if not 0 <= compensation < 1:
        raise InputError(f"compensation must be a fraction in [0, 1); got {compensation!r}")
    return r_s, compensation


def correct_series_resistance(iv: IVData, r_s: float, compensation: float = 0.0) -> IVData:
    """Correct the voltage for the drop across the uncompensated series resistance.

        V_m = V - I R_s (1 - compensation)

    Apply it to the TOTAL measured current, i.e. before leak subtraction: the leak current flows
    through R_s too.

    Args:
      iv: IVData, v [V] and i [A] of shape (..., n).
      r_s: series (access) resistance [Ohm], >= 0 (values below 1 kOhm are refused as MOhm).
      compensation: fraction of R_s compensated by the amplifier, in [0, 1).

    Returns:
      A new IVData; NaN currents give NaN voltages.

    Raises:
      InputError: if a corrected voltage leaves +-0.5 V (R_s or the current's unit is wrong).
    """
    r_s, compensation = _check_series_resistance(r_s, compensation)
    record = {"name": "series_resistance", "r_s_ohm": r_s, "compensation": compensation,
              "convention": "V_m = V - I * r_s * (1 - compensation), I = total measured current"}
    v_m = iv.v - iv.i * r_s * (1.0 - compensation)
    worst = np.nanargmax(np.abs(np.where(np.isfinite(v_m), v_m, 0.0)))
    if abs(v_m.flat[worst]) > PLAUSIBLE["voltage"][1]:
        raise InputError(
            f"the series-resistance correction (R_s = {r_s / 1e6:g} MOhm, compensation "
            f"{compensation:g}) moves {iv.v.flat[worst] * 1e3:.4g} mV at "
            f"{iv.i.flat[worst] * 1e12:.4g} pA to {v_m.flat[worst] * 1e3:.4g} mV, beyond "
            f"+-{PLAUSIBLE['voltage'][1] * 1e3:g} mV: check R_s and the current's unit")
    return iv.replace(v=v_m, correction=record)


def subtract_leak(iv: IVData, g_leak: float, e_leak: float) -> IVData:
    """Subtract a linear leak current: I_channel = I - g_leak (V - E_leak).

    Args:
      iv: IVData, v [V] and i [A] of shape (..., n).
      g_leak: leak conductance [S]: a scalar, one value per recording (shape (...,)) or one per
        point (shape (..., n)).
      e_leak: leak reversal potential [V], same shapes as ``g_leak``.

    Returns:
      A new IVData.
    """
    g, e = _per_row(g_leak, iv.shape), _per_row(e_leak, iv.shape)
    record = {"name": "leak", "method": "given", "g_leak_S": _plain(g_leak),
              "e_leak_V": _plain(e_leak)}
    return iv.replace(i=iv.i - g * (iv.v - e), correction=record)


def fit_line(x: Any, y: Any, mask: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares line y = slope x + intercept along the last axis, per row.

    Args:
      x, y: arrays of shape (..., n).
      mask: bool (..., n), True = use the point; default: all finite points.

    Returns:
      (slope, intercept, count), each of the leading shape (...,). Rows with fewer than two
      distinct x give NaN.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    use = np.isfinite(x) & np.isfinite(y) & (True if mask is None else np.asarray(mask))
    count = use.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.where(use, x, 0).sum(-1) / count
        my = np.where(use, y, 0).sum(-1) / count
        dx = np.where(use, x - mx[..., None], 0)
        sxx = (dx * dx).sum(-1)
        slope = (dx * np.where(use, y - my[..., None], 0)).sum(-1) / sxx
        slope = np.where(sxx > 0, slope, np.nan)
    return slope, my - slope * mx, count


def _leak_line(v, i, v_range):
    """(slope [S], intercept [A]) of the leak line through the points within v_range, per row."""
    lo, hi = (float(x) for x in v_range)
    if not lo < hi:
        raise InputError(f"leak range must be (v_lo, v_hi) with v_lo < v_hi [V]; got {v_range!r}")
    v = np.asarray(v, dtype=float)
    slope, intercept, _ = fit_line(v, i, (v >= lo) & (v <= hi))
    bad = np.argwhere(np.atleast_1d(~np.isfinite(slope)))
    if bad.size:
        raise InputError(f"fewer than two distinct voltages within {lo:g}..{hi:g} V to fit the "
                         f"leak (recording {tuple(int(k) for k in bad[0])})")
    return slope, intercept


def fit_leak(v: Any, i: Any, v_range: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Fit the leak line I = g_leak (V - E_leak) to the points within a voltage range.

    Args:
      v: potentials [V], shape (..., n).
      i: currents [A], same shape; NaN points are ignored.
      v_range: (v_lo, v_hi) [V], inclusive, where only leak flows.

    Returns:
      (g_leak [S], e_leak [V]), each of the leading shape (...,) (0-d for 1-d data).

    Raises:
      InputError: if a recording has fewer than two distinct voltages in the range.
    """
    slope, intercept = _leak_line(v, i, v_range)
    with np.errstate(divide="ignore", invalid="ignore"):
        return slope, -intercept / slope


def subtract_line(iv: IVData, slope: Any, intercept: Any, record: dict, *,
                  at: Any = None) -> IVData:
    """Subtract the leak line I_leak = slope V + intercept (per row) and record it.

    Args:
      iv: IVData of shape (..., n).
      slope: g_leak [S]: scalar, per recording (...,) or per point (..., n).
      intercept: [A], same shapes.
      record: dict describing the method; g_leak_S and e_leak_V = -intercept/slope are added.
      at: potentials [V] (broadcast to iv.v) at which the line is evaluated, when it was fitted
        in other coordinates than ``iv.v`` (e.g. the command potential); default ``iv.v``.

    Returns:
      A new IVData.
    """
    g, b = _per_row(slope, iv.shape), _per_row(intercept, iv.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = -np.asarray(intercept, float) / np.asarray(slope, float)
    record = dict(record, g_leak_S=_plain(slope), e_leak_V=_plain(e))
    return iv.replace(i=iv.i - (g * (iv.v if at is None else at) + b), correction=record)


def _leak_from_range(iv, v_range):
    slope, intercept = _leak_line(iv.v, iv.i, v_range)
    record = {"name": "leak", "method": "range", "v_range_V": [float(x) for x in v_range]}
    return subtract_line(iv, slope, intercept, record)


def _brief(record):
    return ", ".join(f"{k}={v}" for k, v in record.items() if k not in ("name", "convention"))


def correct(iv, *, leak=None, ljp=None, series_resistance=None, compensation=0.0,
            temperature=DEFAULT_TEMPERATURE) -> IVData:
    """Apply the requested corrections in the physical order: R_s, then LJP, then leak.

    Args:
      iv: IVData of the measured (total) current against the command potential.
      leak: None; ("range", v_lo, v_hi) [V] to fit the leak line to the points in that range
        (after the voltage corrections); or (g_leak [S], e_leak [V]).
      ljp: None, LJP [V], or a (pipette, bath) pair of solutions (see correct_liquid_junction).
      series_resistance: None or R_s [Ohm]; ``compensation`` in [0, 1) is the compensated part.
      temperature: [K] for an LJP computed from solutions; default 22 degC.

    Returns:
      A new IVData.

    Raises:
      InputError: for an unknown leak option or implausible values.
    """
    done = {c.get("name"): c for c in iv.metadata.get("corrections", [])}
    for name, wanted in (("series_resistance", series_resistance), ("leak", leak),
                         ("liquid_junction_potential", ljp)):
        if wanted is not None and name in done:
            raise InputError(f"these data are already corrected for {name.replace('_', ' ')} "
                             f"({_brief(done[name])}; see the file's provenance): correcting "
                             "again would apply it twice", path=iv.metadata.get("source"))
    if series_resistance is not None:
        iv = correct_series_resistance(iv, series_resistance, compensation)
    elif compensation:
        raise InputError("compensation given without series_resistance")
    if ljp is not None:
        iv = correct_liquid_junction(iv, ljp, temperature=temperature)
    if leak is None:
        return iv
    if isinstance(leak, (tuple, list)) and len(leak) == 3 and leak[0] == "range":
        return _leak_from_range(iv, leak[1:])
    if isinstance(leak, (tuple, list)) and len(leak) == 2 and not isinstance(leak[0], str):
        return subtract_leak(iv, *leak)
    if isinstance(leak, str) and leak == "ramp":
        raise InputError("leak='ramp' needs the ramp in the raw sweeps: use "
                         "iv_from_abf(..., leak='ramp'); here give ('range', v_lo, v_hi) or "
                         "(g_leak, e_leak)")
    raise InputError(f"leak must be None, ('range', v_lo, v_hi) [V] or (g_leak, e_leak) [S, V]; "
                     f"got {leak!r}")
