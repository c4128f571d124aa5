"""What a solved recording reports: covariance, final status, parameters with standard errors
(derived quantities by the delta method), goodness of fit and information criteria.

Covariance from the Jacobian J of the weighted residuals at the optimum, through its QR factors:
C = s^2 (J^T J)^{-1} with s^2 = RSS / (n - k) when sigma is None (as scipy's curve_fit with
absolute_sigma=False), C = (J^T W J)^{-1} with W = 1/sigma^2 otherwise; a derived quantity d(x)
gets G C G^T with G = dd/dx. A rank-deficient J (parameters that the data cannot separate, e.g.
three monovalent permeabilities from one I-V curve) gives ``Status.SINGULAR``.

Optimality (``Status.STALLED``). A solver may stop short of the optimum (in float32, a step
rejected for rounding ends the fit as "too small"). At the reported x the Gauss-Newton step to
the optimum of the linearised problem is delta = -(J^T J)^{-1} J^T r (in psi = x / scale). A
converged fit has every |delta_j| within half its standard error, or within the solver's step
tolerance xtol (8 sqrt(eps), ``fitting.engine.solvers``) times max(|psi_j|, 1): noise-free data
have vanishing standard errors, and no answer is more precise than the solver's tolerance.

Identifiability of a gated model (``Status.UNIDENTIFIABLE``, decided from the data). The gating
parameters of a Boltzmann model are not pinned down when any of these holds:

1. a limit where the gate is constant (fully open: the ungated model; or closed: no current)
   lies inside the joint 99% likelihood region of the q = 2 gating parameters, which is then
   unbounded (v_half and slope run off to infinity inside it): the F(q, n - k) test of
   (chi^2_limit - chi^2) / q against chi^2 / (n - k) has p > 0.01 (without sigma), or
   chi^2_limit - chi^2 < 9.21 = chi^2_2(0.99) (with sigma). A 99% level keeps chance
   improvements of a non-gating cell (a flexible sigmoid fits noise) from passing as gating;
2. fewer than 2 used points lie in the fitted gate's 1-99% transition: the transition falls
   between samples (or outside them), so the slope and midpoint trade off freely;
3. the fitted gate changes by less than 0.25 across the used voltages (midpoint beyond the data
   by more than about a slope, or a slope wider than the sampled span).
"""

from typing import Any

import jax
import jax.numpy as jnp

from fitting.engine.config import FitConfig
from fitting.engine.linalg import gram_inverse
from fitting.engine.problem import dpsi_dtheta, physical, ungated_chi2
from fitting.engine.solvers import tolerances
from fitting.engine.status import Status, usable

__all__ = ["covariance", "final_status", "finish", "gating_identified", "goodness_of_fit",
           "parameters", "short_of_optimum", "voltage_range"]

# a diagonal entry of R below this many machine epsilons marks linearly dependent columns
SINGULAR_RTOL_EPS = 64
# identifiability of gated models (see the module docstring)
REGION_ALPHA = 0.01  # 1 - level of the likelihood region of the gating parameters
CHI2_2_QUANTILE = 9.210340371976182  # chi^2 with 2 dof, 99% quantile: -2 ln 0.01
TRANSITION = (0.01, 0.99)  # open probabilities that bound the gate's transition
MIN_TRANSITION_POINTS = 2
MIN_GATE_CHANGE = 0.25
# optimality (see the module docstring)
STALL_SIGMAS = 0.5  # largest Gauss-Newton step left at a converged optimum [standard errors]


def covariance(config: FitConfig, problem: Any, x: Any, r: Any, jac: Any) -> Any:
    """Covariance of psi = x / scale (kept O(1): in SI, var(p) ~ 1e-39 (m^3/s)^2 would underflow
    float32; ``FitResult.covariance`` converts on demand).

    Args:
      x: (k,) parameters [SI]; r: (n,) weighted residuals; jac: (n, k) d r / d theta.

    Returns:
      (cov_psi (k, k), singular flag, chi2 = sum r^2, (a, RSS / a^2)): the RSS [A^2] as a
      current scale a [A] (the largest 1/w) and a dimensionless sum, so that 1e-20 A currents
      keep their RMSE in float32 (their RSS, 1e-40 A^2, underflows).
    """
    model, valid = config.model, problem["valid"]
    dtype = x.dtype
    w, n_valid, scale = problem["w"], problem["n_valid"], problem["scale"]
    chi2 = jnp.sum(r * r)
    w_safe = jnp.where(valid, w, 1.0)
    noise = jnp.max(jnp.where(valid, 1.0 / w_safe, 0.0))
    noise = jnp.where(noise > 0, noise, 1.0)
    rss = (noise, jnp.sum(jnp.where(valid, (r / (w_safe * noise)) ** 2, 0.0)))
    # the solver's Jacobian is d r / d theta; d r / d psi with psi = x / scale divides it by
    # d psi / d theta (x / scale for log-scaled parameters, 1 for plain ones)
    jac = jac / dpsi_dtheta(model, scale, x)[None, :]
    dof = n_valid - model.n_params
    s2 = 1.0 if config.has_sigma else jnp.where(dof > 0, chi2 / jnp.maximum(dof, 1), jnp.nan)
    inverse, singular = gram_inverse(jac, SINGULAR_RTOL_EPS * jnp.finfo(dtype).eps)
    # a positive parameter driven to 0 (or an overflowing Jacobian) leaves no finite covariance:
    # its uncertainty is unknown, so the fit is not identifiable either
    singular = singular | ~jnp.all(jnp.isfinite(jac))
    if model.bounded:  # an optimum on a bound has no curvature there: no standard error
        lo, hi = model.bound_arrays(dtype)
        bounded = jnp.isfinite(lo) | jnp.isfinite(hi)
        singular = singular | jnp.any(bounded & (jnp.abs(dpsi_dtheta(model, scale, x)) < 1e-6))
    return s2 * inverse, singular, chi2, rss


def final_status(status: Any, problem: Any, model: Any, x: Any, singular: Any) -> Any:
    """The solver's status, overridden by what the data and the covariance show."""
    n_params = model.n_params
    n_valid = problem["n_valid"]
    no_signal = jnp.all(problem["i"] == 0)  # unused points are 0 too
    status = jnp.where(no_signal, Status.NO_SIGNAL, status)
    status = jnp.where(n_valid < n_params, Status.TOO_FEW_POINTS, status)
    status = jnp.where((status == Status.CONVERGED) & ~jnp.all(jnp.isfinite(x)),
                       Status.NON_FINITE, status)
    status = jnp.where((status == Status.CONVERGED) & singular, Status.SINGULAR, status)
    negative = jnp.any(model.nonnegative_array() & (x < 0))
    outside = negative | model.out_of_range(model.unflatten(x))
    return jnp.where(usable(status) & outside, Status.OUT_OF_RANGE, status)


def short_of_optimum(config: FitConfig, problem: Any, x: Any, r: Any, jac: Any,
                     cov_psi: Any, chi2: Any) -> Any:
    """True where the Gauss-Newton step left at x exceeds both ``STALL_SIGMAS`` standard errors
    and the solver's step tolerance (module docstring); ``jac`` is d r / d theta, ``cov_psi``
    from ``covariance``. False where the covariance is singular (that status says so)."""
    model, scale = config.model, problem["scale"]
    dof = problem["n_valid"] - model.n_params
    s2 = 1.0 if config.has_sigma else chi2 / jnp.maximum(dof, 1).astype(chi2.dtype)
    g = (jac / dpsi_dtheta(model, scale, x)[None, :]).T @ r  # J_psi^T r
    delta = (cov_psi / jnp.where(s2 > 0, s2, 1.0)) @ g  # (J_psi^T J_psi)^{-1} J_psi^T r
    se = jnp.sqrt(jnp.diag(cov_psi))
    _, xtol = tolerances(x.dtype)
    far = (jnp.abs(delta) > STALL_SIGMAS * se) & (
        jnp.abs(delta) > xtol * jnp.maximum(jnp.abs(x / scale), 1.0))
    return (dof > 0) & jnp.any(far)


def gating_identified(config: FitConfig, problem: Any, x: Any, chi2: Any) -> Any:
    """False where the data cannot pin down a gated model's gating (module docstring rules)."""
    model = config.model
    if not model.gated:
        return jnp.asarray(True)
    params = model.unflatten(x)
    valid = problem["valid"]
    p_open = model.open_probability(params, problem["v"])
    in_transition = jnp.sum(valid & (p_open > TRANSITION[0]) & (p_open < TRANSITION[1]))
    p_ends = model.open_probability(params, voltage_range(problem))
    change = jnp.abs(p_ends[1] - p_ends[0])
    excess = ungated_chi2(model, problem) - chi2
    dof = problem["n_valid"] - model.n_params
    q = len(model.gating_params)
    if config.has_sigma:
        assert q == 2, "the chi^2 quantile is that of 2 gating parameters"
        bounded = excess >= CHI2_2_QUANTILE
    else:
        dof_f = jnp.maximum(dof, 1).astype(chi2.dtype)
        f_stat = jnp.maximum(excess, 0.0) / q / (chi2 / dof_f)
        # upper tail of F(q, d): I_{d / (d + q f)}(d / 2, q / 2)
        p_value = jax.scipy.special.betainc(dof_f / 2, q / 2, dof_f / (dof_f + q * f_stat))
        bounded = (dof > 0) & (p_value <= REGION_ALPHA)
    return bounded & (in_transition >= MIN_TRANSITION_POINTS) & (change >= MIN_GATE_CHANGE)


def parameters(model: Any, x: Any, cov_psi: Any, scale: Any) -> Any:
    """(params, stderr): dicts of the free parameters and the model's derived quantities [SI];
    standard errors of derived ones by the delta method, sqrt(g C g^T)."""
    k = model.n_params
    params = model.unflatten(x)
    stderr = model.unflatten(jnp.sqrt(jnp.diag(cov_psi)) * scale)
    derived_fn = lambda x: model.derived(model.unflatten(x))  # noqa: E731
    derived = derived_fn(x)
    if derived:
        jac_d = jax.jacfwd(derived_fn)(x)
        for key, value in derived.items():
            g = jnp.reshape(jac_d[key], (-1, k)) * scale  # d derived / d psi
            # g C g^T of a quantity of order 1e-19 (m^3/s) is 1e-38 or less, below float32's
            # normal range: take each row's size out first, se = |g| sqrt(u C u^T), u = g / |g|
            size = jnp.max(jnp.abs(g), axis=1)
            size = jnp.where(size > 0, size, 1.0)
            u = g / size[:, None]
            se = size * jnp.sqrt(jnp.einsum("ak,kl,al->a", u, cov_psi, u))
            params[key] = value
            stderr[key] = jnp.reshape(se, jnp.shape(value))
    return params, stderr


def goodness_of_fit(config: FitConfig, n_valid: Any, chi2: Any, rss: Any, failed: Any) -> Any:
    """loss (RSS [A^2], or chi^2 with sigma), rmse [A], AIC and BIC (NaN where failed, and the
    loss NaN where it underflows); ``rss`` is (a, RSS / a^2) from ``covariance``.

    AIC and BIC are NaN without residual degrees of freedom (n <= k): the curve passes through
    every point, the loss is rounding, and its logarithm would be an arbitrary number."""
    noise, unit_rss = rss
    dtype = unit_rss.dtype
    k = config.model.n_params
    n = n_valid.astype(dtype)
    loss = chi2 if config.has_sigma else noise * noise * unit_rss
    # an RSS below the dtype's normal range (1e-40 A^2 in float32) is unknown, never 0
    loss = jnp.where((loss < jnp.finfo(dtype).tiny) & (unit_rss > 0), jnp.nan, loss)
    log_like = n * (jnp.log(chi2 / n) if config.has_sigma
                    else jnp.log(unit_rss / n) + 2 * jnp.log(noise))
    no_criterion = failed | (n_valid <= k)
    return dict(
        loss=jnp.where(failed, jnp.nan, loss),
        rmse=jnp.where(failed, jnp.nan, noise * jnp.sqrt(unit_rss / n)),
        aic=jnp.where(no_criterion, jnp.nan, log_like + 2 * k),
        bic=jnp.where(no_criterion, jnp.nan, log_like + k * jnp.log(n)),
    )


def voltage_range(problem: Any) -> Any:
    """(2,) smallest and largest voltage used [V]."""
    v, valid = problem["v"], problem["valid"]
    big = jnp.finfo(v.dtype).max
    return jnp.stack([jnp.min(jnp.where(valid, v, big)), jnp.max(jnp.where(valid, v, -big))])


def finish(config: FitConfig, problem: Any, solved: Any) -> Any:
    """Everything reported for one solved recording; ``solved`` is what a solver's ``finish``
    returns. Returns a dict of arrays (the fields of ``FitResult`` but ``n_masked``)."""
    theta, n_steps, status, r, jac = solved
    model, scale = config.model, problem["scale"]
    x = physical(model, problem, theta)
    cov_psi, singular, chi2, rss = covariance(config, problem, x, r, jac)
    status = final_status(status, problem, model, x, singular)
    identified = gating_identified(config, problem, x, chi2)
    status = jnp.where(usable(status) & ~identified, Status.UNIDENTIFIABLE, status)
    # after identifiability: along an unidentified direction the Gauss-Newton step is long by
    # nature, and UNIDENTIFIABLE says why
    stalled = short_of_optimum(config, problem, x, r, jac, cov_psi, chi2)
    status = jnp.where((status == Status.CONVERGED) & stalled, Status.STALLED, status)
    failed = ~usable(status)
    x = jnp.where(failed, jnp.nan, x)
    cov_psi = jnp.where(failed, jnp.nan, cov_psi)
    params, stderr = parameters(model, x, cov_psi, scale)
    return dict(params=params, stderr=stderr, cov_scaled=cov_psi, param_scale=scale,
                **goodness_of_fit(config, problem["n_valid"], chi2, rss, failed),
                n_steps=n_steps, status=status, n_points=problem["n_valid"],
                v_range=voltage_range(problem))
