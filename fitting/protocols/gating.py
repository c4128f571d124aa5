"""What the gating protocols (activation, inactivation, isochronal) share: the voltage check,
the Boltzmann curve of their figures, the report line of a Boltzmann fit and, where every fit
is refused, what the recorded conductance lacks (``what_the_data_lack``)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["boltzmann", "check_voltage", "closing_line", "fit_line", "what_the_data_lack"]


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


def fit_line(label: str, res, index, intervals=None, notes=None) -> str:
    """One line per Boltzmann fit: V_1/2 and slope with their standard errors, the V_1/2
    profile interval, a flag where that interval reaches beyond the recorded voltages (the
    midpoint is then an extrapolation the data hardly constrain), a warning with the distance
    where V_1/2 itself lies beyond them (``extrapolation_warning``) and one of lack of fit
    (``fitting.engine.quality``). A refused fit gives its reason: ``notes`` (the reasons of
    ``refuse_unidentified``, of the batch shape) where it has one, else its status."""
    from fitting.engine.lack_of_fit import lack_of_fit_warning
    from fitting.engine.summary import extrapolation_warning

    vh, k = res.params["v_half"][index] * 1e3, res.params["slope"][index] * 1e3
    if not np.isfinite(vh):
        note = "" if notes is None else str(np.asarray(notes, object)[index])
        return f"    {label}: refused ({note or np.asarray(res.message)[index]})"
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
    lack = lack_of_fit_warning(float(np.asarray(res.lack_of_fit)[index]))
    return (line + f" ({np.asarray(res.message)[index]})" + (f"; warning: {far}" if far else "")
            + (f"; warning: {lack}" if lack else ""))


SATURATED = 0.1  # the last step's rise, as a fraction of the conductance's range, below which
CLOSED = 0.25  # it saturates; the fraction of its largest value below which it is closed


def what_the_data_lack(v: ArrayLike, g: ArrayLike) -> str:
    """Why no Boltzmann can be pinned down on these steps, and what protocol would do.

    Read from the data alone: the conductance ``g`` (n,) [S] (NaN where masked) at the step
    voltages ``v`` (n,) [V], its open end the voltage where it is largest. Lacking: a range
    (G changes by less than ``CLOSED`` of its largest value), saturation (at the open end G
    still rises by more than ``SATURATED`` of its range over the last step), closure (at the
    other end G is still above ``CLOSED`` of its largest value), or steps within the rise.

    Returns:
      One line (no indentation), or "" with fewer than 3 finite points.
    """
    v, g = np.asarray(v, float), np.abs(np.asarray(g, float))
    ok = np.isfinite(v) & np.isfinite(g)
    if ok.sum() < 3:
        return ""
    order = np.argsort(v[ok])
    v, g = v[ok][order] * 1e3, g[ok][order]
    span = f"between {v[0]:.0f} and {v[-1]:.0f} mV"
    top, low = float(g.max()), float(g.min())
    if not top > 0 or top - low < CLOSED * top:
        return (f"the conductance changes by only {100 * (top - low) / max(top, 1e-300):.0f}% "
                f"{span} ({low * 1e9:.3g}-{top * 1e9:.3g} nS): no gating in this range; step "
                "over a wider range, or the current is a leak")
    up = np.argmax(g) >= np.argmin(g)  # opens with depolarisation
    g_open, g_next, g_shut = (g[-1], g[-2], g[0]) if up else (g[0], g[1], g[-1])
    lacks = []
    if g_open >= top and g_open - g_next > SATURATED * (top - low):
        lacks.append(f"the conductance does not saturate {span} (it still rises by "
                     f"{100 * (g_open - g_next) / (top - low):.0f}% of its range over the "
                     f"last step): step further {'positive' if up else 'negative'}")
    if g_shut > CLOSED * top:
        lacks.append(f"{'it' if lacks else 'the conductance'} does not close {span} "
                     f"({100 * g_shut / top:.0f}% of its largest at {v[0] if up else v[-1]:.0f}"
                     f" mV): step further {'negative' if up else 'positive'}")
    if lacks:
        return "; ".join(lacks)
    rise = v[(g > low + CLOSED * (top - low)) & (g < top - CLOSED * (top - low))]
    return (f"the conductance goes from closed to open {span} with {rise.size} step(s) within "
            f"its rise{f' ({rise.min():.0f}..{rise.max():.0f} mV)' if rise.size else ''}: "
            "step more finely there")


def closing_line(fits, index, v: ArrayLike, i: ArrayLike, g: ArrayLike) -> list:
    """``["    every fit refused: ..."]`` (``what_the_data_lack``) when no fit of ``fits``
    (``FitResult`` with ``v_half``) gives recording ``index`` a V_1/2, else []. ``v``, ``i`` and
    ``g`` (R, n) (``v`` may broadcast) [V, A, S]; where ``g`` is all NaN (no reversal given),
    the chord conductance about the current's own zero crossing (linear interpolation), and
    without one, that the current does not reverse."""
    if any(np.isfinite(np.asarray(f.params["v_half"])[index]) for f in fits):
        return []
    v, i = np.broadcast_to(v, np.shape(i))[index], np.asarray(i, float)[index]
    g = np.asarray(g, float)[index]
    if not np.any(np.isfinite(g)):
        ok = np.isfinite(v) & np.isfinite(i)
        x, y = v[ok][np.argsort(v[ok])], i[ok][np.argsort(v[ok])]
        cross = np.flatnonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0)
        if not cross.size:
            return [(f"    every fit refused: the current does not reverse between "
                     f"{x.min() * 1e3:.0f} and {x.max() * 1e3:.0f} mV, so no conductance "
                     "without --e-rev: give the reversal potential (--e-rev), or step across it")]
        k = cross[0]
        e = x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k])
        g = np.where(np.abs(v - e) > 5e-3, i / (v - e), np.nan)
    why = what_the_data_lack(v, g)
    return [f"    every fit refused: {why}"] if why else []
