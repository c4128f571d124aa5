"""What the gating protocols (activation, inactivation, isochronal) share: the voltage check,
the Boltzmann curve of their figures and the report line of a Boltzmann fit."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["boltzmann", "check_voltage", "fit_line"]


def check_voltage(name: str, x) -> np.ndarray:
    """``x`` as a float array; ValueError for values beyond 0.5 (mV given as V)."""
    x = np.asarray(x, float)
    if np.any(np.abs(x[np.isfinite(x)]) > 0.5):
        largest = float(np.nanmax(np.abs(x)))
        error = ValueError(f"{name} is in V (SI), e.g. 50 mV = 0.05; got values up to "
                           f"{largest:g}")
        # the command's voice: its options carry units, so the value itself is wrong
        error.cli_message = (f"--e-rev {largest * 1e3:g} mV is beyond 500 mV: not a reversal "
                             "potential" if name == "e_rev" else
                             f"the voltages reach {largest * 1e3:g} mV after the corrections, "
                             "beyond any patch-clamp voltage (500 mV): check --ljp, "
                             "--series-resistance and --voltage-unit")
        raise error
    return x


def boltzmann(v: ArrayLike, v_half: ArrayLike, slope: ArrayLike) -> np.ndarray:
    """1 / (1 + exp((v_half - v) / slope)) (all in V)."""
    return 1.0 / (1.0 + np.exp((v_half - v) / slope))


def fit_line(label: str, res, index, intervals=None) -> str:
    """One line per Boltzmann fit: V_1/2 and slope with their standard errors, the V_1/2
    profile interval, a flag where that interval reaches beyond the recorded voltages (the
    midpoint is then an extrapolation the data hardly constrain), and a warning with the
    distance where V_1/2 itself lies beyond them (``extrapolation_warning``)."""
    from fitting.engine.summary import extrapolation_warning

    vh, k = res.params["v_half"][index] * 1e3, res.params["slope"][index] * 1e3
    if not np.isfinite(vh):
        return f"    {label}: refused ({np.asarray(res.message)[index]})"
    line = (f"    {label}: v_half {vh:.2f} ± {res.stderr['v_half'][index] * 1e3:.2g} mV, slope "
            f"{k:.2f} ± {res.stderr['slope'][index] * 1e3:.2g} mV")
    if intervals and "v_half" in intervals:
        lo = float(np.asarray(intervals["v_half"].lower)[index]) * 1e3
        hi = float(np.asarray(intervals["v_half"].upper)[index]) * 1e3
        v_lo, v_hi = (float(x) * 1e3 for x in np.asarray(res.v_range)[index])
        line += f"; V_1/2 95% profile [{lo:.1f}, {hi:.1f}] mV"
        if not (lo >= v_lo - 0.5 * (v_hi - v_lo) and hi <= v_hi + 0.5 * (v_hi - v_lo)):
            line += (f" -- reaches beyond the recorded {v_lo:.0f}..{v_hi:.0f} mV: the curve "
                     "does not saturate there, V_1/2 is poorly determined")
    far = extrapolation_warning("V_1/2", vh * 1e-3, np.asarray(res.v_range)[index])
    return line + f" ({np.asarray(res.message)[index]})" + (f"; warning: {far}" if far else "")
