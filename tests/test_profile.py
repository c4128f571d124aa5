"""Profile-likelihood confidence intervals: closed form, an independent scipy profile, and
coverage by simulation (run with ``python -m pytest tests/test_profile.py -s`` to see the
figures)."""

import numpy as np
import pytest

import fitting

MV, PA, NS = 1e-3, 1e-12, 1e-9
V = np.arange(-90, 41, 10) * MV
NAMES = ("g_max", "e_rev", "v_half", "slope")
SCALE = np.array([NS, MV, MV, MV])  # scipy works in nS and mV


def _boltzmann(v, g, e, vh, s):
    return g / (1 + np.exp((vh - v) / s)) * (v - e)


def _curves(n, seed, noise=15 * PA):
    rng = np.random.default_rng(seed)
    truth = (8 * NS, 50 * MV, -30 * MV, 7 * MV)
    return _boltzmann(V, *truth) + rng.normal(0, noise, (n, V.size)), truth


def test_linear_parameter_profile_equals_the_t_based_wald_interval():
    """For a parameter that enters linearly (g of I = g (v - e_rev) with e_rev profiled out
    exactly: the model is linear in (g, g e_rev)) the profile interval is x +- t s.e."""
    from scipy import stats

    rng = np.random.default_rng(0)
    i = 3 * NS * (V + 0.07) + rng.normal(0, 5 * PA, (3, V.size))
    res = fitting.fit(fitting.Ohmic(), V, i)
    interval = fitting.profile_intervals(res, V, i, ["g"])["g"]
    half = stats.t.ppf(0.975, V.size - 2) * np.asarray(res.stderr["g"])
    np.testing.assert_allclose(interval.lower, np.asarray(res.params["g"]) - half, rtol=1e-9)
    np.testing.assert_allclose(interval.upper, np.asarray(res.params["g"]) + half, rtol=1e-9)
    assert np.all(interval.lower_bounded) and np.all(interval.upper_bounded)


def _scipy_profile(v, i, best, k, level=0.95):
    """An independent profile: scipy least_squares for the others at each fixed value, brentq
    for the F-test threshold (lmfit's conf_interval criterion), in nS / mV units."""
    from scipy import optimize, stats

    def resid(p):
        return (i - _boltzmann(v, *(np.asarray(p) * SCALE))) / PA

    rss_min = np.sum(resid(best) ** 2)
    dof = v.size - 4
    threshold = stats.f.ppf(level, 1, dof) * rss_min / dof

    def excess(c):
        others = [m for m in range(4) if m != k]

        def reduced(q):
            p = np.array(best, float)
            p[others] = q
            p[k] = c
            return resid(p)

        fit = optimize.least_squares(reduced, np.asarray(best)[others], xtol=1e-15, ftol=1e-15,
                                     gtol=1e-15, method="lm")
        return np.sum(fit.fun ** 2) - rss_min - threshold

    ends = []
    for direction in (-1, 1):
        step = 0.1 * max(abs(best[k]), 1.0)
        far = best[k] + direction * step
        while excess(far) < 0:
            far = best[k] + 2 * (far - best[k])
        ends.append(optimize.brentq(excess, best[k], far, xtol=1e-12, rtol=1e-12))
    return ends


def test_boltzmann_profile_agrees_with_an_independent_scipy_profile():
    i, _ = _curves(3, seed=4)
    res = fitting.fit(fitting.BoltzmannOhmic(), V, i)
    assert np.all(np.asarray(res.converged))
    intervals = fitting.profile_intervals(res, V, i)
    worst = 0.0
    for r in range(3):
        best = [float(res.params[n][r]) / f for n, f in zip(NAMES, SCALE)]
        for k, name in enumerate(NAMES):
            lo, hi = _scipy_profile(V, i[r], best, k)
            ours = np.array([intervals[name].lower[r], intervals[name].upper[r]]) / SCALE[k]
            rel = np.max(np.abs(ours - [lo, hi]) / np.abs([lo, hi]))
            worst = max(worst, rel)
            assert rel <= 1e-3, (name, r, ours, (lo, hi))
    print(f"\nprofile vs scipy: largest relative difference of an interval end {worst:.2e}")
    # curvature: the v_half and slope intervals are not symmetric about the estimate
    vh = intervals["v_half"]
    asym = (vh.upper - np.asarray(res.params["v_half"])) / (np.asarray(res.params["v_half"])
                                                             - vh.lower)
    assert np.all(np.abs(asym - 1) > 1e-3)


def test_v_half_coverage_by_simulation():
    """400 replicate recordings from one truth: the 95% profile interval of v_half must cover
    the truth in 93-97% of them."""
    i, truth = _curves(400, seed=2026)
    res = fitting.fit(fitting.BoltzmannOhmic(), V, i)
    assert np.mean(np.asarray(res.converged)) >= 0.99
    interval = fitting.profile_intervals(res, V, i, ["v_half"])["v_half"]
    ok = np.asarray(res.converged)
    covered = (interval.lower <= truth[2]) & (truth[2] <= interval.upper)
    coverage = np.mean(covered[ok])
    wald = np.abs(np.asarray(res.params["v_half"]) - truth[2]) <= 1.96 * np.asarray(
        res.stderr["v_half"])
    print(f"\nv_half 95% profile interval coverage over {ok.sum()} replicates: {coverage:.3f} "
          f"(Wald 1.96 SE: {np.mean(wald[ok]):.3f})")
    assert 0.93 <= coverage <= 0.97


def test_profile_refuses_other_data_and_unknown_names():
    i, _ = _curves(2, seed=1)
    res = fitting.fit(fitting.BoltzmannOhmic(), V, i)
    with pytest.raises(ValueError, match="not the data of this FitResult"):
        fitting.profile_intervals(res, V, i * 1.1, ["v_half"])
    with pytest.raises(ValueError, match="no free parameter"):
        fitting.profile_intervals(res, V, i, ["ratios"])
    with pytest.raises(ValueError, match="level"):
        fitting.profile_intervals(res, V, i, ["v_half"], level=95)
    # sigma = 1 A makes chi^2 equal the RSS: the loss cannot tell, the result's flag can
    ones = np.ones_like(i)
    with pytest.raises(ValueError, match="fitted without sigma"):
        fitting.profile_intervals(res, V, i, ["v_half"], sigma=ones)
    weighted = fitting.fit(fitting.BoltzmannOhmic(), V, i, sigma=15 * PA * ones)
    assert weighted.weighted and not res.weighted
    with pytest.raises(ValueError, match="fitted with sigma"):
        fitting.profile_intervals(weighted, V, i, ["v_half"])


def test_unusable_fits_get_nan_intervals():
    i, _ = _curves(2, seed=3)
    i[1] = 2 * NS * (V + 0.03)  # a linear cell: UNIDENTIFIABLE for a Boltzmann model
    res = fitting.fit(fitting.BoltzmannOhmic(), V, i)
    interval = fitting.profile_intervals(res, V, i, ["v_half"])["v_half"]
    assert np.isfinite(interval.lower[0]) and np.isnan(interval.lower[1])
    assert not interval.lower_bounded[1]
