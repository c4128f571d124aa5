"""Fits that look converged but are not: two checks beyond the solver's status (issue 23).

Identifiability from the intervals (``interval_verdicts``, ``refuse_unidentified``). A standard
error means something only where the likelihood is close to quadratic over the interval it
implies. A usable fit is refused as ``Status.UNIDENTIFIABLE`` where, for a profiled parameter,

1. its profile-likelihood interval is open on a side (the data never rule out values beyond);
2. on either side, the distance from the value to the profile interval's end and the Wald
   half-width t_{dof}(level) SE (z(level) with sigma given) differ by more than a factor
   ``WIDTH_RATIO`` either way: the curvature at the optimum says nothing about where the data
   stop constraining the value (e.g. V_1/2 ± 8.9 mV beside a profile interval [-754, 374] mV;
   on simulated well-sampled Boltzmann curves at 2-10% noise the largest ratio of 200 fits
   is 1.1-2.2), or a
3. voltage parameter (SI unit V: V_1/2, E_rev) has a standard error larger than the span of the
   recorded voltages: such a midpoint is not a measurement.

Lack of fit (``runs_test``, inside the compiled fit). The signs of the residuals in voltage
order: a model of the right shape leaves them in random order; a wrong shape (an ohmic line
through an inward rectifier) leaves long runs of one sign (arched residuals). The exact
one-sided p-value of the Wald-Wolfowitz runs test, P(R <= r_observed | n+, n-), with
P(R = 2m) = 2 C(n+ - 1, m - 1) C(n- - 1, m - 1) / C(n, n+) and
P(R = 2m + 1) = [C(n+ - 1, m - 1) C(n- - 1, m) + C(n+ - 1, m) C(n- - 1, m - 1)] / C(n, n+)
(A. Wald & J. Wolfowitz, Ann. Math. Stat. 11, 147 (1940), doi:10.1214/aoms/1177731909).
``FitResult.lack_of_fit`` holds it; below ``LACK_OF_FIT_ALPHA`` the summary and the command
warn. NaN where the fit is not usable, or exact to rounding (no noise to order).
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["LACK_OF_FIT_ALPHA", "WIDTH_RATIO", "interval_verdicts", "lack_of_fit_warning",
           "refuse_unidentified", "runs_test"]

WIDTH_RATIO = 3.0  # profile vs Wald half-widths beyond this factor: not quadratic
LACK_OF_FIT_ALPHA = 0.01  # runs-test p-value below which the residuals are called arched


def _log_choose(n, k):
    """log C(n, k), -inf where k < 0 or k > n (arrays)."""
    ok = (k >= 0) & (k <= n)
    n_, k_ = jnp.where(ok, n, 1.0), jnp.where(ok, k, 0.0)
    value = (jax.scipy.special.gammaln(n_ + 1) - jax.scipy.special.gammaln(k_ + 1)
             - jax.scipy.special.gammaln(n_ - k_ + 1))
    return jnp.where(ok, value, -jnp.inf)


def runs_test(v: Any, r: Any, valid: Any) -> Any:
    """Exact one-sided p-value of too few runs of residual signs in voltage order (traceable).

    Args:
      v: (n,) voltages (any scale); r: (n,) residuals; valid: (n,) bool, the points used.

    Returns:
      scalar P(R <= observed runs) under random order of the signs; 1 where all signs agree
      or fewer than 2 points carry a sign.
    """
    dtype = jnp.result_type(r)
    order = jnp.argsort(jnp.where(valid, v, jnp.inf))  # used points first, by voltage
    signed = (valid & (r != 0))[order]
    s = jnp.where(r[order] > 0, 1, -1)
    # runs over the signed points only: compare each signed point with the previous signed one
    idx = jnp.arange(s.shape[0])
    last = jax.lax.cummax(jnp.where(signed, idx, -1))
    prev = jnp.concatenate([jnp.array([-1]), last[:-1]])
    changes = jnp.sum(signed & (prev >= 0) & (s != s[jnp.maximum(prev, 0)]))
    n_pos = jnp.sum(signed & (s > 0)).astype(dtype)
    n_neg = jnp.sum(signed & (s < 0)).astype(dtype)
    runs = (changes + 1).astype(dtype)
    n = n_pos + n_neg
    m = jnp.arange(1, s.shape[0] // 2 + 2, dtype=dtype)
    total = _log_choose(n, n_pos)
    even = jnp.log(2.0) + _log_choose(n_pos - 1, m - 1) + _log_choose(n_neg - 1, m - 1) - total
    odd = jnp.logaddexp(_log_choose(n_pos - 1, m - 1) + _log_choose(n_neg - 1, m),
                        _log_choose(n_pos - 1, m) + _log_choose(n_neg - 1, m - 1)) - total
    p = (jnp.sum(jnp.where(2 * m <= runs, jnp.exp(even), 0.0))
         + jnp.sum(jnp.where(2 * m + 1 <= runs, jnp.exp(odd), 0.0)))
    return jnp.where((n_pos > 0) & (n_neg > 0), jnp.minimum(p, 1.0), 1.0).astype(dtype)


def lack_of_fit_warning(p_value: float) -> str:
    """The one-line warning of a runs-test p-value below ``LACK_OF_FIT_ALPHA``, else ""."""
    if not (np.isfinite(p_value) and p_value < LACK_OF_FIT_ALPHA):
        return ""
    return (f"lack of fit: the residuals keep their sign over runs of neighbouring voltages "
            f"(runs test p = {p_value:.2g}): the model's shape does not follow the data (or "
            f"the noise of neighbouring points is correlated)")


def _label(name):
    return {"v_half": "V_1/2", "e_rev": "E_rev"}.get(name, name)


def _one_verdict(name, unit, value, se, lower, upper, lo_ok, hi_ok, t, span):
    """The reason one parameter of one recording is not pinned down, or ""."""
    volt = unit == "V"
    show = (lambda x: f"{x * 1e3:.3g} mV") if volt else (lambda x: f"{x:.3g} {unit}".strip())
    label = _label(name)
    if volt and np.isfinite(se) and np.isfinite(span) and se > span:
        return (f"{label} not pinned down: its standard error {show(se)} exceeds the recorded "
                f"voltages' span {show(span)}")
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
    from fitting.engine.profile import t_quantile
    from fitting.engine.status import usable

    intervals = intervals or {}
    shape = res.batch_shape
    n = int(np.prod(shape, dtype=int))
    out = np.full(n, "", object)
    ok = np.asarray(usable(np.asarray(res.status))).ravel()
    span = np.ptp(np.asarray(res.v_range, float).reshape(n, 2), axis=1)
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
            t = np.full(n, float(np.sqrt(2) * jax.scipy.special.erfinv(level)))
        else:
            known = {d: float(t_quantile(level, int(d))) for d in np.unique(np.maximum(dof, 1))}
            t = np.array([known[d] for d in np.maximum(dof, 1)], float)
        for k in np.flatnonzero(ok & (out == "")):
            out[k] = _one_verdict(name, unit, value[k], se[k], ends[0][k], ends[1][k],
                                  bool(ends[2][k]), bool(ends[3][k]), t[k], span[k])
    return out.reshape(shape)


def refuse_unidentified(res: Any, intervals: dict | None = None) -> tuple:
    """The fit with ``Status.UNIDENTIFIABLE`` (and NaN numbers, as any refused fit) where
    ``interval_verdicts`` gives a reason; the intervals of those recordings NaN.

    Returns:
      (``FitResult``, intervals dict, reasons: object array of the batch shape, "" if none).
    """
    import dataclasses

    from fitting.engine.profile import ProfileInterval
    from fitting.engine.status import Status

    reasons = interval_verdicts(res, intervals)
    bad = reasons != ""
    if not np.any(bad):
        return res, dict(intervals or {}), reasons

    def blank(x):
        x = np.array(x, dtype=np.result_type(np.asarray(x).dtype, np.float32), copy=True)
        x[bad] = np.nan
        return x

    res = dataclasses.replace(
        res, params={k: blank(x) for k, x in res.params.items()},
        stderr={k: blank(x) for k, x in res.stderr.items()},
        cov_scaled=blank(res.cov_scaled), loss=blank(res.loss), rmse=blank(res.rmse),
        aic=blank(res.aic), bic=blank(res.bic), lack_of_fit=blank(res.lack_of_fit),
        status=np.where(bad, int(Status.UNIDENTIFIABLE), res.status).astype(
            np.asarray(res.status).dtype))
    intervals = {k: ProfileInterval(blank(iv.value), blank(iv.lower), blank(iv.upper),
                                    np.where(bad, False, iv.lower_bounded),
                                    np.where(bad, False, iv.upper_bounded), iv.level)
                 for k, iv in (intervals or {}).items()}
    return res, intervals, reasons
