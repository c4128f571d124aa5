"""Fits that look converged but are not: the interval rule (issue 23).

Identifiability from the intervals (``interval_verdicts``, ``refuse_unidentified``). A standard
error means something only where the likelihood is close to quadratic over the interval it
implies. A usable fit is refused as ``Status.UNIDENTIFIABLE`` where, for a profiled parameter,

1. its profile-likelihood interval is open toward +-infinity on a side (the data never rule out
   values beyond; a side open to a bound, a positive parameter's 0, is a one-sided result);
2. on either side, the distance from the value to the profile interval's end and the Wald
   half-width t_{dof}(level) SE (z(level) with sigma given) differ by more than a factor
   ``WIDTH_RATIO`` either way: the curvature at the optimum says nothing about where the data
   stop constraining the value (e.g. V_1/2 ± 8.9 mV beside a profile interval [-754, 374] mV;
   on simulated well-sampled Boltzmann curves at 2-10% noise the largest ratio of 200 fits
   is 1.1-2.2), or a
3. voltage parameter (SI unit V: V_1/2, E_rev) has a standard error larger than the span of the
   recorded voltages: such a midpoint is not a measurement.

Rule 3 needs no profile: with a fourth (an E_rev far beyond the recorded voltages) it applies
to EVERY fit, ``fitting.engine.extrapolation`` (``fitting.fit`` calls it), and here again.

Lack of fit: ``fitting.engine.lack_of_fit`` (a leaf: the compiled fit uses it).
"""

from typing import Any

import numpy as np

from fitting.engine.extrapolation import parameter_label, refuse, span_verdict

__all__ = ["WIDTH_RATIO", "interval_verdicts", "refuse_unidentified"]

WIDTH_RATIO = 3.0  # profile vs Wald half-widths beyond this factor: not quadratic


def _one_verdict(name, unit, value, se, lower, upper, lo_ok, hi_ok, t, v_range):
    """The reason one parameter of one recording is not pinned down, or ""."""
    volt = unit == "V"
    show = (lambda x: f"{x * 1e3:.3g} mV") if volt else (lambda x: f"{x:.3g} {unit}".strip())
    label = parameter_label(name)
    reason = span_verdict(name, value, se, v_range) if volt else ""
    if reason:
        return reason
    if np.isnan(lower) and np.isnan(upper) or not np.isfinite(value):
        return ""  # no interval computed
    if not (lo_ok and hi_ok):
        # a side open to infinity: nothing limits the value; open to a bound (a positive
        # parameter's 0, a fraction's 0): the value is consistent with its bound, a one-sided
        # result that the interval states
        if np.isinf(lower) and not lo_ok or np.isinf(upper) and not hi_ok:
            side = "below" if np.isinf(lower) and not lo_ok else "above"
            return (f"{label} not pinned down: its 95% profile interval is open {side} (the "
                    "likelihood never rises enough: the data do not limit it)")
        return ""
    half = t * se  # the Wald half-width
    rounding = 1e-6 * abs(value)  # an exact fit: both widths are rounding noise, not evidence
    if half <= rounding and max(abs(upper - value), abs(lower - value)) <= rounding:
        return ""
    for end, side in ((upper, "above"), (lower, "below")):
        reach = abs(end - value)
        if np.isfinite(half) and half > 0 and not 1 / WIDTH_RATIO <= reach / half <= WIDTH_RATIO:
            return (f"{label} not pinned down: its 95% profile interval [{show(lower)}, "
                    f"{show(upper)}] reaches {reach / half:.2g} times as far {side} it as "
                    f"± {show(se)} (the standard error) implies: the likelihood is far from "
                    "quadratic")
    return ""


def interval_verdicts(res: Any, intervals: dict | None = None) -> np.ndarray:
    """Why each usable recording's fit is not pinned down (module rules 1-3), or "".

    Args:
      res: a ``FitResult``.
      intervals: ``fitting.profile_intervals(res, ...)`` (rules 1-2), or None (rule 3 only).

    Returns:
      object array of the batch shape: "" or one line naming the parameter and the evidence.
    """
    from fitting.engine.status import usable
    from fitting.engine.tdist import normal_quantile, t_quantile

    intervals = intervals or {}
    shape = res.batch_shape
    n = int(np.prod(shape, dtype=int))
    out = np.full(n, "", object)
    ok = np.asarray(usable(np.asarray(res.status))).ravel()
    ranges = np.asarray(res.v_range, float).reshape(n, 2)
    dof = np.asarray(res.n_points).ravel() - res.model.n_params
    names = [name for name in res.model.param_names if np.ndim(res.params[name]) == len(shape)]
    levels = {name: iv.level for name, iv in intervals.items()}
    for name in names:
        unit = res.model.spec_of(name).si_unit
        value = np.asarray(res.params[name], float).ravel()
        se = np.asarray(res.stderr[name], float).ravel()
        iv = intervals.get(name)
        ends = ([np.full(n, np.nan)] * 2 + [np.ones(n, bool)] * 2 if iv is None else
                [np.asarray(x).ravel() for x in (iv.lower, iv.upper, iv.lower_bounded,
                                                 iv.upper_bounded)])
        level = levels.get(name, 0.95)
        if res.weighted:  # Wilks: the normal quantile
            t = np.full(n, normal_quantile(level))
        else:
            t = t_quantile(level, np.maximum(dof, 1))
        for k in np.flatnonzero(ok & (out == "")):
            out[k] = _one_verdict(name, unit, value[k], se[k], ends[0][k], ends[1][k],
                                  bool(ends[2][k]), bool(ends[3][k]), t[k], ranges[k])
    return out.reshape(shape)


def refuse_unidentified(res: Any, intervals: dict | None = None) -> tuple:
    """The fit with ``Status.UNIDENTIFIABLE`` (and NaN numbers, as any refused fit) where
    ``interval_verdicts`` gives a reason; the intervals of those recordings NaN.

    Returns:
      (``FitResult``, intervals dict, reasons: object array of the batch shape, "" if none).
    """
    from fitting.engine.status import Status

    reasons = interval_verdicts(res, intervals)
    bad = reasons != ""
    if not np.any(bad):
        return res, dict(intervals or {}), reasons
    res, blank = refuse(res, bad, Status.UNIDENTIFIABLE, reasons)
    intervals = {k: iv._replace(value=blank(iv.value), lower=blank(iv.lower),
                                upper=blank(iv.upper),
                                lower_bounded=np.where(bad, False, iv.lower_bounded),
                                upper_bounded=np.where(bad, False, iv.upper_bounded))
                 for k, iv in (intervals or {}).items()}
    return res, intervals, reasons
