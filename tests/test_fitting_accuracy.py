"""Accuracy of ``fitting`` against the truth: closed forms, scipy as a trusted optimiser, and
coverage of confidence intervals checked by simulation.

Everything the tests compare against is computed here, independently of ``fitting`` and of
``ionjax`` (numpy closed forms with scipy.constants, ordinary/weighted least squares with
numpy.linalg, scipy.optimize.curve_fit / least_squares). Replicates are fitted in one batched
``fitting.fit`` call (leading dims of v and i are independent recordings) to keep the file fast.
Batching mechanics, NaN masking, sharding and user models are tested in test_fitting_batch.py.
"""

import numpy as np
import pytest
import scipy.constants as sc
from scipy import optimize, stats

import fitting

F = sc.physical_constants["Faraday constant"][0]
R = sc.R
MV, PA, NS = 1e-3, 1e-12, 1e-9


# ------------------------------------------------------------------------- independent references
def ghk_unit_current(v, z, c_in, c_out, temperature):
    """GHK current per unit permeability x area [A per m^3/s], numpy closed form (v != 0)."""
    u = z * F * np.asarray(v, float) / (R * temperature)
    return z * F * u * (c_in - c_out * np.exp(-u)) / (1.0 - np.exp(-u))


def nernst(c_in, c_out, z, temperature):
    return R * temperature / (z * F) * np.log(c_out / c_in)


def weighted_lstsq(x, y, w=None):
    """Linear least squares y ~ x @ beta with weights w = 1/sigma^2 (None: OLS).

    Returns beta, the covariance (s^2 (X^T X)^-1 with s^2 = RSS/(n-k) for OLS, (X^T W X)^-1
    when weighted) and the loss (RSS, or chi^2 when weighted).
    """
    n, k = x.shape
    sw = np.ones(n) if w is None else np.sqrt(w)
    xs, ys = x * sw[:, None], y * sw
    beta, *_ = np.linalg.lstsq(xs, ys, rcond=None)
    loss = float(np.sum((ys - xs @ beta) ** 2))
    cov = np.linalg.inv(xs.T @ xs)
    if w is None:
        cov = cov * loss / (n - k)
    return beta, cov, loss


def boltzmann_ohmic(v, g, e, vh, s):
    p = 1.0 / (1.0 + np.exp((vh - v) / s))
    return g * p * (v - e)


def boltzmann_ohmic_jacobian(v, g, e, vh, s):
    """Analytic dI/d(g_max, e_rev, v_half, slope), shape (n, 4)."""
    p = 1.0 / (1.0 + np.exp((vh - v) / s))
    dp = p * (1.0 - p)
    return np.stack([p * (v - e), -g * p, -g * (v - e) * dp / s,
                     g * (v - e) * dp * (vh - v) / s**2], axis=-1)


def scaled_covariance(jac, s2):
    """s2 (J^T J)^-1 through the SVD of the column-equilibrated Jacobian (robust to scaling)."""
    d = np.linalg.norm(jac, axis=0)
    _, sv, vt = np.linalg.svd(jac / d, full_matrices=False)
    inv = (vt.T / sv**2) @ vt
    return s2 * inv / d[:, None] / d[None, :]


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.abs(b)


# --------------------------------------------------------------------------------- 1. Ohmic = OLS
def _ohmic_data(rng, batch=400, n=12):  # 400: the compiled fit is shared with test 6
    v = np.sort(rng.uniform(-100, 60, (batch, n)), axis=-1) * MV
    g = rng.uniform(1, 20, batch) * NS
    e = rng.uniform(-90, 50, batch) * MV
    sigma = rng.uniform(2, 20, (batch, n)) * PA
    i = g[:, None] * (v - e[:, None]) + sigma * rng.standard_normal((batch, n))
    return v, i, sigma


@pytest.mark.parametrize("weighted", [False, True], ids=["ols", "wls_absolute_sigma"])
def test_ohmic_equals_linear_least_squares(weighted):
    rng = np.random.default_rng(11 + weighted)
    v, i, sigma = _ohmic_data(rng)
    res = fitting.fit(fitting.Ohmic(), v, i, sigma=sigma if weighted else None)
    e_fit, e_se_fit = fitting.reversal_potential(res)
    assert np.all(np.asarray(res.converged))
    n, k = v.shape[-1], 2
    worst_x = worst_se = 0.0
    for b in range(v.shape[0]):
        x = np.stack([v[b], np.ones(n)], axis=-1)
        (a0, a1), cov_ab, loss = weighted_lstsq(x, i[b], 1 / sigma[b] ** 2 if weighted else None)
        g, e = a0, -a1 / a0
        jac = np.array([[1.0, 0.0], [a1 / a0**2, -1.0 / a0]])  # d(g, e_rev)/d(a0, a1)
        cov = jac @ cov_ab @ jac.T
        se = np.sqrt(np.diag(cov))
        got = np.array([res.params["g"][b], res.params["e_rev"][b]])
        got_se = np.array([res.stderr["g"][b], res.stderr["e_rev"][b]])
        worst_x = max(worst_x, np.max(rel(got, [g, e])))
        worst_se = max(worst_se, np.max(rel(got_se, se)))
        assert np.max(rel(got, [g, e])) < 1e-6, (b, got, (g, e))
        assert np.max(rel(got_se, se)) < 1e-3, (b, got_se, se)
        corr = cov[0, 1] / (se[0] * se[1])
        got_cov = np.asarray(res.covariance[b])
        assert abs(got_cov[0, 1] / (got_se[0] * got_se[1]) - corr) < 1e-6
        assert rel(res.loss[b], loss) < 1e-9  # RSS [A^2], or chi^2 when sigma is given
        rss = float(np.sum((i[b] - (g * (v[b] - e))) ** 2))
        assert rel(res.rmse[b], np.sqrt(rss / n)) < 1e-6
        assert rel(res.aic[b], n * np.log(loss / n) + 2 * k) < 1e-9
        assert rel(res.bic[b], n * np.log(loss / n) + k * np.log(n)) < 1e-9
        # reversal_potential of an Ohmic fit is e_rev with its stderr
        assert rel(e_fit[b], e) < 1e-6 and rel(e_se_fit[b], se[1]) < 1e-3
    print(f"Ohmic vs {'WLS' if weighted else 'OLS'}: max rel. diff params {worst_x:.3g}, "
          f"stderr {worst_se:.3g}")


# ----------------------------------------------------------------------- 2. GHK: closed-form WLS
GHK_IONS = {  # z, c_in, c_out [mM]
    "K": (1, 140.0, 5.0),
    "Ca": (2, 1e-4, 2.0),
    "Cl": (-1, 10.0, 110.0),
}


@pytest.mark.parametrize("ion", sorted(GHK_IONS))
def test_ghk_permeability_is_the_closed_form_least_squares_solution(ion):
    z, c_in, c_out = GHK_IONS[ion]
    temperature = 295.0
    rng = np.random.default_rng(sum(map(ord, ion)))
    batch, n = 400, 14  # 400: for K the compiled fits are shared with test 6
    v = np.sort(rng.uniform(-110, 60, (batch, n)), axis=-1) * MV
    u = ghk_unit_current(v, z, c_in, c_out, temperature)
    p_true = rng.uniform(0.3, 3, batch)[:, None] * 300 * PA / np.max(np.abs(u), axis=-1,
                                                                          keepdims=True)
    sigma = rng.uniform(2, 10, (batch, n)) * PA
    i = p_true * u + sigma * rng.standard_normal((batch, n))
    model = fitting.GHK(z=z, c_in=c_in, c_out=c_out, temperature=temperature)

    for weighted in (False, True) if ion == "K" else (False,):
        w = 1 / sigma**2 if weighted else np.ones_like(sigma)
        p = np.sum(w * u * i, axis=-1) / np.sum(w * u * u, axis=-1)
        chi2 = np.sum(w * (i - p[:, None] * u) ** 2, axis=-1)
        var = 1 / np.sum(w * u * u, axis=-1)
        if not weighted:
            var = var * chi2 / (n - 1)
        res = fitting.fit(model, v, i, sigma=sigma if weighted else None)
        assert np.all(np.asarray(res.converged))
        print(f"GHK {ion} weighted={weighted}: max rel. diff p "
              f"{np.max(rel(res.params['p'], p)):.3g}, "
              f"stderr {np.max(rel(res.stderr['p'], np.sqrt(var))):.3g}")
        assert np.max(rel(res.params["p"], p)) < 1e-6
        assert np.max(rel(res.stderr["p"], np.sqrt(var))) < 1e-3
        assert np.max(rel(res.loss, chi2)) < 1e-9

    # the GHK zero-current potential of a single ion is its Nernst potential (exact: stderr 0)
    e, e_se = fitting.reversal_potential(res)
    np.testing.assert_allclose(np.asarray(e), nernst(c_in, c_out, z, temperature), rtol=1e-9)
    assert np.all(np.asarray(e_se) == 0)


# ------------------------------------------------------- 3. MultiIonGHK vs scipy.least_squares
def test_multi_ion_ghk_matches_scipy_least_squares_and_delta_method():
    # Na, K, Ca (a non-selective cation channel). Three monovalent ions would not do: their GHK
    # currents span only two functions of v, so their permeabilities are not identifiable.
    z = np.array([1.0, 1.0, 2.0])
    c_in = np.array([10.0, 140.0, 1e-4])
    c_out = np.array([145.0, 5.0, 2.0])
    temperature = 296.0
    rng = np.random.default_rng(3)
    batch, n = 16, 17
    v = np.linspace(-100, 60, n) * MV + rng.uniform(-1, 1, (batch, n)) * MV
    u = np.stack([ghk_unit_current(v, *a, temperature) for a in zip(z, c_in, c_out)], axis=-1)
    p_true = np.stack([rng.uniform(0.3, 1, batch) * 1e-17,   # Na
                       rng.uniform(0.5, 2, batch) * 1e-17,   # K
                       rng.uniform(1, 5, batch) * 1e-17], axis=-1)  # Ca
    clean = np.einsum("bnk,bk->bn", u, p_true)
    assert 100 * PA < np.median(np.max(np.abs(clean), axis=-1)) < 2000 * PA  # realistic scale
    i = clean + 3 * PA * rng.standard_normal((batch, n))

    model = fitting.MultiIonGHK(z=tuple(z), c_in=tuple(c_in), c_out=tuple(c_out),
                                temperature=temperature, reference=1)
    res = fitting.fit(model, v, i)
    assert np.all(np.asarray(res.converged))
    e_fit, e_se_fit = fitting.reversal_potential(res)
    unit = 1e-17  # scipy works in units of 1e-17 m^3/s and pA; the optimum does not depend on it
    worst = dict(p=0, ratios=0, p_se=0, r_se=0, e=0, e_se=0)
    for b in range(batch):
        def resid(q, b=b):
            return (i[b] - u[b] @ (q * unit)) / PA
        sol = optimize.least_squares(resid, p_true[b] / unit, jac=lambda q, b=b: -u[b] * unit / PA,
                                     method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
        p = sol.x * unit
        p_lstsq, *_ = np.linalg.lstsq(u[b] * unit / PA, i[b] / PA, rcond=None)
        assert np.max(rel(p, p_lstsq * unit)) < 1e-9  # scipy found the linear LS solution
        ratios = p / p[1]
        # independent delta method: C_p = s^2 (U^T U)^-1, ratios r_j = p_j / p_K
        rss = float(np.sum((i[b] - u[b] @ p) ** 2))
        cov_p = scaled_covariance(u[b], rss / (n - 3))
        g = np.eye(3) / p[1]
        g[:, 1] -= p / p[1] ** 2
        r_se = np.sqrt(np.diag(g @ cov_p @ g.T))
        # zero-current potential: root of the numpy GHK current (brentq), and its gradient by
        # the implicit function theorem, dE/dp_k = -I_k(E) / sum_k p_k dI_k/dv(E)
        def total(x, p=p):
            return sum(pk * ghk_unit_current(x, *a, temperature)
                       for pk, a in zip(p, zip(z, c_in, c_out)))
        e = optimize.brentq(total, -0.15, 0.1501, xtol=1e-15, rtol=1e-15)
        h = 1e-7
        unit_e = np.array([ghk_unit_current(e, *a, temperature) for a in zip(z, c_in, c_out)])
        slope = (total(e + h) - total(e - h)) / (2 * h)
        de = -unit_e / slope
        e_se = np.sqrt(de @ cov_p @ de)

        assert rel(res.loss[b], rss) < 1e-9
        worst["p"] = max(worst["p"], np.max(rel(res.params["p"][b], p)))
        worst["ratios"] = max(worst["ratios"], np.max(rel(res.params["ratios"][b], ratios)))
        worst["p_se"] = max(worst["p_se"], np.max(rel(res.stderr["p"][b], np.sqrt(np.diag(cov_p)))))
        worst["r_se"] = max(worst["r_se"], np.max(rel(np.delete(res.stderr["ratios"][b], 1),
                                                      np.delete(r_se, 1))))
        assert float(res.stderr["ratios"][b][1]) < 1e-12  # the reference ratio is exactly 1
        worst["e"] = max(worst["e"], abs(float(e_fit[b]) - e))
        worst["e_se"] = max(worst["e_se"], rel(e_se_fit[b], e_se))
    assert worst["p"] < 1e-6, worst
    assert worst["ratios"] < 1e-4, worst
    assert worst["p_se"] < 1e-3 and worst["r_se"] < 1e-3, worst
    print({k: f"{x:.3g}" for k, x in worst.items()})
    assert worst["e"] < 1e-9 and worst["e_se"] < 1e-3, worst  # [V]; relative for the stderr


def test_multi_ion_ghk_with_three_monovalent_ions_is_not_reported_converged():
    # monovalent GHK currents all lie in span{u/(1-e^-u), u e^-u/(1-e^-u)} (u = Fv/RT): with Na,
    # K and Cl the three permeabilities cannot be identified from any I-V curve
    rng = np.random.default_rng(13)
    ions = ((1, 10.0, 145.0), (1, 140.0, 5.0), (-1, 10.0, 110.0))
    v = np.linspace(-100, 60, 17) * MV + 0.3 * MV
    u = np.stack([ghk_unit_current(v, *a, 296.0) for a in ions], axis=-1)
    assert np.linalg.matrix_rank(u / np.linalg.norm(u, axis=0), tol=1e-9) == 2
    i = u @ np.array([0.5e-17, 1e-17, 0.5e-17]) + 3 * PA * rng.standard_normal((8, v.size))
    z, c_in, c_out = zip(*ions)
    res = fitting.fit(fitting.MultiIonGHK(z=z, c_in=c_in, c_out=c_out, temperature=296.0), v, i)
    assert np.all(np.asarray(res.status) == 4), (np.asarray(res.status), res.stderr["p"])
    assert set(res.message) == {fitting.STATUS_MESSAGES[4]}
    assert np.all(np.isnan(res.params["p"]))


# ------------------------------------------------- 4. Boltzmann-ohmic vs scipy.optimize.curve_fit
def _boltzmann_ohmic_curves(rng, batch, n=15):
    v = np.linspace(-90, 40, n)  # mV
    truth = np.stack([rng.uniform(1, 20, batch),      # g_max [nS]
                      rng.uniform(-10, 60, batch),    # e_rev [mV]
                      rng.uniform(-50, 0, batch),     # v_half [mV]
                      rng.uniform(3, 12, batch)], axis=-1)  # slope [mV]
    clean = boltzmann_ohmic(v, *(truth.T[:, :, None]))  # pA
    noise = rng.uniform(0.01, 0.05, batch)[:, None] * np.max(np.abs(clean), axis=-1, keepdims=True)
    i = clean + noise * rng.standard_normal(clean.shape)
    return v, truth, i


@pytest.mark.filterwarnings("ignore::scipy.optimize.OptimizeWarning")  # curve_fit's pcov
def test_boltzmann_ohmic_is_as_good_as_curve_fit_and_at_a_local_optimum():
    rng = np.random.default_rng(2024)
    batch = 256
    v, truth, i = _boltzmann_ohmic_curves(rng, batch)  # mV, [nS, mV, mV, mV], pA
    res = fitting.fit(fitting.BoltzmannOhmic(), v * MV, i * PA)
    converged = np.asarray(res.converged)
    ours = np.stack([np.asarray(res.params[k]) / f for k, f in
                     (("g_max", NS), ("e_rev", MV), ("v_half", MV), ("slope", MV))], axis=-1)
    loss = np.asarray(res.loss)

    # res.loss is the RSS [A^2] of the returned parameters (sigma=None)
    rss = np.sum((i * PA - np.asarray(res.predict(v * MV))) ** 2, axis=-1)
    np.testing.assert_allclose(loss, rss, rtol=1e-9)

    # a physiologist's curve_fit in mV / nS / pA, from the truth perturbed a bit
    p0 = truth * np.stack([rng.uniform(0.7, 1.4, batch), np.ones(batch), np.ones(batch),
                           rng.uniform(0.7, 1.4, batch)], axis=-1)
    p0[:, 1:3] += rng.uniform(-10, 10, (batch, 2))
    cf_loss = np.full(batch, np.inf)
    ls_gap = np.full(batch, np.nan)
    se_gap = np.full(batch, np.nan)
    for b in range(batch):
        try:
            popt, _ = optimize.curve_fit(boltzmann_ohmic, v, i[b], p0=p0[b])
            cf_loss[b] = np.sum((i[b] - boltzmann_ohmic(v, *popt)) ** 2) * PA**2
        except RuntimeError:
            pass
        if not converged[b]:
            continue
        # a tight scipy least_squares started from our result cannot improve on it
        sol = optimize.least_squares(lambda q, b=b: i[b] - boltzmann_ohmic(v, *q), ours[b],
                                     jac=lambda q: -boltzmann_ohmic_jacobian(v, *q),
                                     method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
        ls_gap[b] = (loss[b] - 2 * sol.cost * PA**2) / loss[b]
        # stderr: s^2 (J^T J)^-1 with the analytic Jacobian at our optimum, where the parameters
        # are identifiable (a near-singular J, e.g. a step-like fit with slope -> 0 between two
        # voltages, leaves (J^T J)^-1 undetermined to rounding in float64 normal equations)
        jac = boltzmann_ohmic_jacobian(v, *ours[b])
        if np.linalg.cond(jac / np.linalg.norm(jac, axis=0)) > 1e6:
            continue
        cov = scaled_covariance(jac, rss[b] / PA**2 / (15 - 4))
        se_ours = np.array([res.stderr[k][b] / f for k, f in
                            (("g_max", NS), ("e_rev", MV), ("v_half", MV), ("slope", MV))])
        se_gap[b] = np.max(rel(se_ours, np.sqrt(np.diag(cov))))

    # Step-like optima (the fitted gate's 1-99% transition holds at most one point: the slope
    # is not pinned down) are refused as UNIDENTIFIABLE, not reported converged. Check each such
    # recording independently: a scipy fit from the truth has the same step-like optimum.
    flagged = np.flatnonzero(np.asarray(res.status) == fitting.Status.UNIDENTIFIABLE)
    for b in flagged:
        sol = optimize.least_squares(lambda q, b=b: i[b] - boltzmann_ohmic(v, *q), truth[b],
                                     method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
        p_open = 1 / (1 + np.exp((sol.x[2] - v) / sol.x[3]))
        assert np.sum((p_open > 0.01) & (p_open < 0.99)) <= 1, (b, sol.x)
    assert flagged.size <= 0.01 * batch
    frac_converged = (converged.sum() + flagged.size) / batch
    no_worse = (loss <= cf_loss * (1 + 1e-9))[converged]
    frac_no_worse = no_worse.mean()
    better = np.mean((loss < cf_loss * (1 - 1e-6))[converged])
    both = converged & np.isfinite(cf_loss)
    excess = np.max((loss[both] - cf_loss[both]) / cf_loss[both])
    msg = (f"converged or refused as step-like {frac_converged:.4f} ({flagged.size} refused), "
           f"no worse than curve_fit {frac_no_worse:.4f} "
           f"(clearly better {better:.4f}; max (ours - cf)/cf {excess:.3g}), "
           f"max (ours - least_squares)/ours {np.nanmax(ls_gap):.3g}, "
           f"max stderr rel. diff {np.nanmax(se_gap):.3g} "
           f"({np.sum(np.isfinite(se_gap))} well-conditioned fits)")
    print(msg)
    assert frac_converged >= 0.99, msg
    assert frac_no_worse >= 0.99, msg
    assert np.nanmax(ls_gap) <= 1e-6, msg
    assert np.nanmax(se_gap) < 1e-3 and np.mean(np.isfinite(se_gap)) >= 0.98, msg


# ------------------------------------------------------------------------------ 5. BoltzmannGHK
def test_boltzmann_ghk_recovers_truth_and_matches_least_squares():
    z, c_in, c_out, temperature = 1, 140.0, 5.0, 295.0  # a K+ channel
    rng = np.random.default_rng(5)
    batch, n = 32, 17
    v = np.linspace(-100, 60, n) * MV + 0.25 * MV  # (the numpy GHK formula is 0/0 at v = 0)
    truth = np.stack([rng.uniform(2, 8, batch) * 1e-17,    # p_max [m^3/s]: 0.5-2 nA at +60 mV
                      rng.uniform(-30, 10, batch) * MV,   # v_half
                      rng.uniform(5, 12, batch) * MV], axis=-1)  # slope

    unit = ghk_unit_current(v, z, c_in, c_out, temperature)

    def model_current(v, p, vh, s):
        return p / (1 + np.exp((vh - v) / s)) * ghk_unit_current(v, z, c_in, c_out, temperature)

    def model_jacobian(p, vh, s):
        b = 1 / (1 + np.exp((vh - v) / s))
        db = b * (1 - b)
        return np.stack([b * unit, -p * unit * db / s, p * unit * db * (vh - v) / s**2], axis=-1)

    clean = np.stack([model_current(v, *t) for t in truth])
    noise = 0.02 * np.max(np.abs(clean), axis=-1, keepdims=True)
    i = clean + noise * rng.standard_normal(clean.shape)
    res = fitting.fit(fitting.BoltzmannGHK(z=z, c_in=c_in, c_out=c_out, temperature=temperature),
                      v, i)
    assert np.all(np.asarray(res.converged))
    names = ("p_max", "v_half", "slope")
    est = np.stack([np.asarray(res.params[k]) for k in names], axis=-1)
    se = np.stack([np.asarray(res.stderr[k]) for k in names], axis=-1)
    zscore = (est - truth) / se
    msg = f"max |z| {np.max(np.abs(zscore)):.3g}, mean z^2 {np.mean(zscore**2):.3g}"
    print(msg)
    assert np.max(np.abs(zscore)) < 4.5, msg
    assert 0.5 < np.mean(zscore**2) < 2.0, msg  # ~1 when the stderr are right

    scale = np.array([1e-17, MV, MV])
    worst_loss = worst_x = 0.0
    for b in range(batch):
        sol = optimize.least_squares(lambda q, b=b: (i[b] - model_current(v, *(q * scale))) / PA,
                                     truth[b] / scale,
                                     jac=lambda q: -model_jacobian(*(q * scale)) * scale / PA,
                                     method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
        loss = 2 * sol.cost * PA**2
        worst_loss = max(worst_loss, rel(res.loss[b], loss))
        worst_x = max(worst_x, np.max(rel(est[b], sol.x * scale)))
    msg = f"max rel. loss diff {worst_loss:.3g}, max rel. param diff {worst_x:.3g}"
    print(msg)
    assert worst_loss < 1e-6, msg
    assert worst_x < 1e-5, msg


# ------------------------------------------------------------------ 6. calibration by simulation
def _coverage(est, se, truth, dof):
    t = stats.t.ppf(0.975, dof)
    return np.mean(np.abs(est - truth) <= t * se)


def test_confidence_interval_coverage_ohmic():
    rng = np.random.default_rng(6)
    reps, n = 400, 10
    v = np.linspace(-80, 10, n) * MV
    g, e, noise = 5 * NS, -30 * MV, 15 * PA
    i = g * (v - e) + noise * rng.standard_normal((reps, n))
    res = fitting.fit(fitting.Ohmic(), v, i)
    assert np.all(np.asarray(res.converged))
    cov_g = _coverage(np.asarray(res.params["g"]), np.asarray(res.stderr["g"]), g, n - 2)
    cov_e = _coverage(np.asarray(res.params["e_rev"]), np.asarray(res.stderr["e_rev"]), e, n - 2)
    msg = f"95% CI coverage: g {cov_g:.4f}, e_rev {cov_e:.4f}"
    print(msg)
    assert 0.90 <= cov_g <= 0.985, msg
    assert 0.90 <= cov_e <= 0.985, msg


def test_confidence_interval_coverage_ghk():
    rng = np.random.default_rng(7)
    reps, n = 400, 12
    z, (c_in, c_out), temperature = 1, GHK_IONS["K"][1:], 295.0
    v = np.linspace(-90, 50, n) * MV + 0.3 * MV
    p = 1e-17
    u = ghk_unit_current(v, z, c_in, c_out, temperature)
    noise = 20 * PA
    i = p * u + noise * rng.standard_normal((reps, n))
    model = fitting.GHK(z=z, c_in=c_in, c_out=c_out, temperature=temperature)
    res = fitting.fit(model, v, i)
    cov_est = _coverage(np.asarray(res.params["p"]), np.asarray(res.stderr["p"]), p, n - 1)
    # known noise (absolute sigma): the interval uses the normal quantile
    res_abs = fitting.fit(model, v, i, sigma=noise)
    inside = np.abs(np.asarray(res_abs.params["p"]) - p) <= stats.norm.ppf(0.975) * np.asarray(
        res_abs.stderr["p"])
    cov_abs = inside.mean()
    msg = f"95% CI coverage of p: sigma estimated {cov_est:.4f}, sigma known {cov_abs:.4f}"
    print(msg)
    assert np.all(np.asarray(res.converged)) and np.all(np.asarray(res_abs.converged))
    assert 0.90 <= cov_est <= 0.985, msg
    assert 0.90 <= cov_abs <= 0.985, msg


# ------------------------------------------------------------------------------- 7. float32
def _float64_reference(name, v, i):
    """Float64 optimum and stderr (sigma estimated) of one curve, computed without ``fitting``."""
    n = v.size
    if name == "Ohmic":
        (a0, a1), cov_ab, rss = weighted_lstsq(np.stack([v, np.ones(n)], axis=-1), i)
        jac = np.array([[1.0, 0.0], [a1 / a0**2, -1.0 / a0]])
        return {"g": a0, "e_rev": -a1 / a0}, np.sqrt(np.diag(jac @ cov_ab @ jac.T)), rss
    if name == "GHK":
        u = ghk_unit_current(v, 1, 140.0, 5.0, 295.0)
        p = np.sum(u * i) / np.sum(u * u)
        rss = np.sum((i - p * u) ** 2)
        return {"p": p}, np.sqrt([rss / (n - 1) / np.sum(u * u)]), rss
    scale = np.array([NS, MV, MV, MV])  # BoltzmannOhmic: scipy in nS, mV, pA from the truth
    sol = optimize.least_squares(
        lambda q: (i - boltzmann_ohmic(v, *(q * scale))) / PA, [8, 45, -25, 6],
        jac=lambda q: -boltzmann_ohmic_jacobian(v, *(q * scale)) * scale / PA,
        method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    x = sol.x * scale
    rss = 2 * sol.cost * PA**2
    se = np.sqrt(np.diag(scaled_covariance(boltzmann_ohmic_jacobian(v, *x), rss / (n - 4))))
    return dict(zip(("g_max", "e_rev", "v_half", "slope"), x)), se, rss


def test_float32_agrees_with_float64():
    rng = np.random.default_rng(8)
    v = np.linspace(-90, 40, 15) * MV
    i_ohm = 4 * NS * (v + 20 * MV) + 5 * PA * rng.standard_normal(v.shape)
    i_ghk = 3e-17 * ghk_unit_current(v, 1, 140.0, 5.0, 295.0)
    i_ghk = i_ghk + 5 * PA * rng.standard_normal(v.shape)
    i_bo = boltzmann_ohmic(v, 8 * NS, 45 * MV, -25 * MV, 6 * MV)
    i_bo = i_bo + 0.02 * np.max(np.abs(i_bo)) * rng.standard_normal(v.shape)
    cases = [(fitting.Ohmic(), i_ohm),
             (fitting.GHK(z=1, c_in=140.0, c_out=5.0, temperature=295.0), i_ghk),
             (fitting.BoltzmannOhmic(), i_bo)]
    worst = {}
    for model, i in cases:
        want, want_se, want_loss = _float64_reference(model.name, v, i)
        r32 = fitting.fit(model, v.astype(np.float32), i.astype(np.float32))
        assert bool(r32.converged), (model.name, r32.message)
        assert r32.loss.dtype == np.float32
        got = np.array([float(r32.params[k]) for k in model.param_names])
        got_se = np.array([float(r32.stderr[k]) for k in model.param_names])
        worst[model.name] = (np.max(rel(got, [want[k] for k in model.param_names])),
                             np.max(rel(got_se, want_se)), rel(r32.loss, want_loss))
    msg = "max rel. diff float32 vs float64 (params, stderr, loss): " + ", ".join(
        f"{k} {a:.2g} {b:.2g} {c:.2g}" for k, (a, b, c) in worst.items())
    print(msg)
    assert max(max(x) for x in worst.values()) < 1e-3, msg


HCN_MODEL = dict(z=(1, 1), c_in=(10, 130), c_out=(110, 30), temperature=298, reference=1)


def _two_ion_curve():
    """A Na/K (HCN-like) curve, its float64 least-squares p, stderr of p_Na/p_K, and GHK E_rev."""
    rng = np.random.default_rng(9)
    v = np.linspace(-90, 40, 15) * MV
    u = np.stack([ghk_unit_current(v, z, ci, co, 298.0) for z, ci, co in
                  zip(*(HCN_MODEL[k] for k in ("z", "c_in", "c_out")))], axis=-1)
    i = u @ np.array([0.3e-17, 1e-17]) + 5 * PA * rng.standard_normal(v.shape)
    p, cov, rss = weighted_lstsq(u, i)
    g = np.array([1 / p[1], -p[0] / p[1] ** 2])  # d(p_Na/p_K)/dp
    num, den = np.array([110.0, 30.0]), np.array([10.0, 130.0])
    rt_f = R * 298.0 / F
    e = rt_f * np.log(p @ num / (p @ den))
    de = rt_f * (num / (p @ num) - den / (p @ den))
    return v, i, p, np.sqrt(np.diag(cov)), np.sqrt(g @ cov @ g), e, np.sqrt(de @ cov @ de)


def test_float32_multi_ion_ghk_agrees_with_float64():
    v, i, p, p_se, ratio_se, e, _ = _two_ion_curve()
    r32 = fitting.fit(fitting.MultiIonGHK(**HCN_MODEL), v.astype(np.float32),
                      i.astype(np.float32))
    assert bool(r32.converged)
    assert np.max(rel(r32.params["p"], p)) < 1e-3
    assert rel(r32.params["ratios"][0], p[0] / p[1]) < 1e-3
    assert np.max(rel(r32.stderr["p"], p_se)) < 1e-3
    assert rel(r32.stderr["ratios"][0], ratio_se) < 1e-3
    assert rel(fitting.reversal_potential(r32).value, e) < 1e-3


def test_float32_multi_ion_ghk_reversal_stderr_agrees_with_float64():
    v, i, *_, e_se = _two_ion_curve()
    r32 = fitting.fit(fitting.MultiIonGHK(**HCN_MODEL), v.astype(np.float32),
                      i.astype(np.float32))
    got = fitting.reversal_potential(r32).stderr
    assert rel(got, e_se) < 1e-3, (float(got), e_se)


# ------------------------------------------------------------------- 8. a real HCN2 recording
README_TAIL_IV = {  # /work/shared/data/README.md, mV : pA
    -85: -651.6, -70: -453.8, -55: -264.1, -40: -116.1, -25: -2.3,
    -10: 99.4, 5: 197.8, 20: 268.9, 35: 340.4,
}
LJP = 3.18  # mV; V_cell = V_command - LJP


def _hcn2_tail_iv(path):
    """Instantaneous tail I-V: mean 2.5-7.5 ms after the test-step onset minus each sweep's leak.

    The leak is the straight line fitted to current vs command voltage over the sweep's ramps;
    epoch boundaries come from the ABF epoch table. Returns command voltages [mV], currents [pA].
    """
    pyabf = pytest.importorskip("pyabf")
    abf = pyabf.ABF(str(path))
    assert abf.sweepUnitsY == "pA"
    levels = []
    for s in range(abf.sweepCount):
        abf.setSweep(s)
        levels.append(abf.sweepEpochs.levels)
    levels = np.array(levels)
    stepped = np.flatnonzero(np.ptp(levels, axis=0) > 0)
    assert stepped.size == 1, levels  # exactly one epoch (the test step) changes between sweeps
    test = int(stepped[0])
    v_cmd, current = [], []
    for s in range(abf.sweepCount):
        abf.setSweep(s)
        ep = abf.sweepEpochs
        assert ep.types[test] == "Step" and levels[s, test - 1] == -120  # after the activating step
        ramp = np.concatenate([np.arange(a, b) for a, b, t in zip(ep.p1s, ep.p2s, ep.types)
                               if t == "Ramp"])
        slope, intercept = np.polyfit(abf.sweepC[ramp], abf.sweepY[ramp], 1)
        assert 0.2 < slope < 0.6  # leak [nS] ~0.39 per the README
        t = abf.sweepX - abf.sweepX[ep.p1s[test]]
        window = (t >= 2.5e-3) & (t < 7.5e-3)
        vc = float(levels[s, test])
        v_cmd.append(vc)
        current.append(abf.sweepY[window].mean() - (slope * vc + intercept))
    return np.array(v_cmd), np.array(current)


def test_real_hcn2_tail_iv_and_two_ion_ghk_fit(shared_data):
    path = shared_data / "abf" / "hcn2_20d10009.abf"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    v_cmd, i_pa = _hcn2_tail_iv(path)
    np.testing.assert_array_equal(v_cmd, sorted(README_TAIL_IV))
    np.testing.assert_allclose(i_pa, [README_TAIL_IV[k] for k in v_cmd], atol=2.0)

    # zero crossing of the data (linear interpolation): "reversal near -25 mV" (command)
    k = np.flatnonzero(np.diff(np.sign(i_pa)))[0]
    e_data = v_cmd[k] - i_pa[k] * (v_cmd[k + 1] - v_cmd[k]) / (i_pa[k + 1] - i_pa[k]) - LJP
    assert abs(e_data + LJP - (-25)) < 1.5

    v = (v_cmd - LJP) * MV
    i = i_pa * PA
    res = fitting.fit(fitting.MultiIonGHK(**HCN_MODEL), v, i)
    assert bool(res.converged)
    ratio, ratio_se = float(res.params["ratios"][0]), float(res.stderr["ratios"][0])
    e_fit, e_se = (float(x) for x in fitting.reversal_potential(res))
    print(f"HCN2 P_Na/P_K = {ratio:.3f} +- {ratio_se:.3f}; GHK E_rev = {e_fit / MV:.2f} +- "
          f"{e_se / MV:.2f} mV (data crossing {e_data:.2f} mV, V_cell)")
    assert 0.2 <= ratio <= 0.45  # HCN: P_Na/P_K ~ 0.2-0.4 in the literature
    # the fitted GHK reversal follows from the ratio (Goldman equation, monovalent cations) ...
    rt_f = R * 298 / F
    assert abs(e_fit - rt_f * np.log((ratio * 110 + 30) / (ratio * 10 + 130))) < 1e-9
    # ... and lies near the data's zero crossing, pulled depolarized by the model mismatch
    assert -30 * MV < e_fit < -10 * MV and e_fit > e_data * MV

    # the mismatch is visible: the data rectify inward, GHK with these solutions outward, so the
    # residuals are bow-shaped (negative at both ends, positive in the middle) ...
    resid = i - np.asarray(res.predict(v))
    signs = np.sign(resid)
    runs = 1 + np.count_nonzero(np.diff(signs))
    assert runs <= 3 and signs[0] < 0 and signs[-1] < 0 and signs[len(signs) // 2] > 0
    # ... but no Boltzmann gate explains it: the inward rectification of this tail I-V is the
    # exponential foot of a "gate" with v_half volts away and g_max in siemens. Main once
    # reported that fit as converged and preferred it by AIC; it is refused now, and model
    # comparison does not pick a refused model.
    gated = fitting.fit(fitting.BoltzmannOhmic(), v, i)
    assert int(gated.status) == fitting.Status.UNIDENTIFIABLE
    cmp = fitting.compare({"GHK": res, "BoltzmannOhmic": gated})
    print(cmp)
    assert cmp.names[int(cmp.best)] == "GHK"
