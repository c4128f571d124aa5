"""Profile-likelihood confidence intervals of fitted parameters, batched over recordings.

For a parameter x_j the profile is P(c) = min over the other parameters of chi^2 with x_j = c.
The interval at level 1 - alpha is {c : P(c) - chi^2_min <= delta} with

* sigma not given (noise estimated): delta = F_{1, n-k}(1 - alpha) s^2, s^2 = chi^2_min / (n - k),
  the F-test of lmfit's ``conf_interval`` (F_{1, d} = t_d^2, so for a linear model the interval
  equals the t-based Wald interval);
* sigma given: delta = chi^2_1(1 - alpha) (Wilks' theorem).

Each side is found without a starting guess: steps from the optimum (one Wald standard error,
doubled while the profile stays below the threshold, up to ``EXPANSIONS`` times), then bisection
on the bracket; every P(c) is a Levenberg-Marquardt solve of the other parameters, warm-started
from the previous one. A side whose profile never reaches the threshold is unbounded: its end
is where the parameter runs off to (+-inf, 0 for a positive parameter, or its bound) and
flagged. Unlike Wald intervals, profile intervals follow the curvature of the likelihood
(asymmetric for v_half and slope).

Reference: D.J. Venzon & S.H. Moolgavkar, Appl. Stat. 37, 87 (1988), doi:10.2307/2347496;
D.M. Bates & D.G. Watts, Nonlinear Regression Analysis (1988), ch. 6.
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fitting.engine import solvers
from fitting.engine.config import FitConfig
from fitting.engine.batch import prepare_arrays
from fitting.engine.problem import dpsi_dtheta, internal, physical, prepare, residual_fn

__all__ = ["ProfileInterval", "profile_intervals", "profile_side", "t_quantile"]

EXPANSIONS = 14  # doublings of the step when bracketing: reach 2^14 standard errors
BISECTIONS = 40  # halvings of the bracket: 2^-40 of its width
INNER_STEPS = 100  # Levenberg-Marquardt iterations per profile point


class ProfileInterval(NamedTuple):
    """A profile-likelihood interval (arrays of the batch shape).

    Attributes:
      value: the fitted value [SI].
      lower, upper: the interval's ends [SI]; where a side is unbounded, the value the
        parameter runs off to (-inf/+inf, 0 for a positive parameter, or its bound); NaN where
        the fit is not usable.
      lower_bounded, upper_bounded: bool, False where the profile never reached the threshold.
      level: the confidence level.
    """

    value: jax.Array
    lower: jax.Array
    upper: jax.Array
    lower_bounded: jax.Array
    upper_bounded: jax.Array
    level: float


def _quantile_f1(level, dof):
    """F_{1, dof} quantile at ``level`` (= t_dof quantile at (1 + level) / 2, squared), by
    bisection on its upper tail I_{d/(d+q)}(d/2, 1/2) in log q."""
    d = jnp.maximum(dof, 1).astype(jnp.result_type(float))
    tail = 1.0 - level

    def body(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        q = jnp.exp(mid)
        above = jax.scipy.special.betainc(d / 2, 0.5, d / (d + q)) > tail  # q too small
        return jnp.where(above, mid, lo), jnp.where(above, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 200, body, (jnp.log(1e-6), jnp.log(1e12)))
    return jnp.exp(0.5 * (lo + hi))


def t_quantile(level: float, dof: Any) -> float:
    """Two-sided Student t quantile: t with P(|T| <= t) = level for ``dof`` degrees of freedom
    (dof: int or array); sqrt of the F(1, dof) quantile."""
    return jnp.sqrt(_quantile_f1(level, jnp.asarray(dof)))


def _quantile_chi2_1(level):
    """chi^2_1 quantile at ``level``: (sqrt(2) erfinv(level))^2."""
    return 2.0 * jax.scipy.special.erfinv(jnp.asarray(level)) ** 2


def profile_side(full: Any, theta_hat: Any, j: int, threshold: Any, step: Any,
                 direction: float, *, expansions: int = EXPANSIONS,
                 bisections: int = BISECTIONS, inner_steps: int = INNER_STEPS) -> tuple[Any, Any]:
    """One end of a profile interval in the internal parameter theta_j (module docstring).

    Args:
      full: theta (k,) -> residuals (n,) whose squares sum to chi^2.
      theta_hat: (k,) the optimum; j: the profiled entry (a Python int, or a traced integer:
        one compiled program then serves every parameter).
      threshold: chi^2_min + delta, the profile's value at the interval's ends.
      step: the first step in theta_j (about the Wald half-width); direction: -1.0 or +1.0.
      expansions, bisections, inner_steps: doublings of the step, halvings of the bracket, LM
        iterations per profile point (each a fixed count: the loops run under vmap).

    Returns:
      (theta_j at the end, found): found False where the profile stays below the threshold
      over 2^expansions steps (the side is unbounded; the end is then meaningless).
    """
    k = theta_hat.shape[0]
    others = jnp.arange(k - 1) + (jnp.arange(k - 1) >= j)  # the entries left free
    # theta from (free, t): position p < j takes free[p], p = j takes t, p > j free[p - 1]
    source = jnp.where(jnp.arange(k) < j, jnp.arange(k), jnp.arange(k) - 1).at[j].set(k - 1)
    free_hat = theta_hat[others]

    def excess(t, free0):
        """P(t) - threshold and the optimal other parameters at theta_j = t."""
        def reduced(free):
            return full(jnp.concatenate([free, t[None]])[source])
        theta, _, _, r, _ = solvers.levenberg_marquardt(reduced, free0, inner_steps)
        return jnp.sum(r * r) - threshold, theta

    def expand(m, carry):
        inside, outside, free_in, found = carry
        t = theta_hat[j] + direction * (2.0 ** m) * step
        f, free = excess(t, free_in)
        now = (~found) & (f >= 0)
        keep = found | now
        return (jnp.where(keep, inside, t), jnp.where(now, t, outside),
                jnp.where(keep, free_in, free), keep)

    inside, outside, free_in, found = jax.lax.fori_loop(
        0, expansions, expand, (theta_hat[j], theta_hat[j], free_hat, jnp.asarray(False)))

    def bisect(_, carry):
        inside, outside, free_in = carry
        mid = 0.5 * (inside + outside)
        f, free = excess(mid, free_in)
        below = f < 0
        return (jnp.where(below, mid, inside), jnp.where(below, outside, mid),
                jnp.where(below, free, free_in))

    inside, outside, _ = jax.lax.fori_loop(0, bisections, bisect, (inside, outside, free_in))
    return 0.5 * (inside + outside), found


def _profile_one(config, j, level, v, i, sigma, mask, x_hat, scale, cov_scaled, ok):
    """Both ends of the interval of parameter entry j for one recording (arrays (n,), (k,))."""
    model = config.model
    dtype = i.dtype
    problem = dict(prepare(config, v, i, sigma, mask), scale=scale)
    theta_hat = internal(model, scale, x_hat)
    full = residual_fn(model, problem)
    chi2_min = jnp.sum(full(theta_hat) ** 2)
    dof = problem["n_valid"] - model.n_params
    # an exact fit (as many points as parameters) without sigma has no noise estimate: its
    # interval is undefined (NaN), not the zero-width interval at the value
    ok = ok & (config.has_sigma | (dof >= 1))
    if config.has_sigma:
        delta = _quantile_chi2_1(level).astype(dtype)
    else:
        delta = (_quantile_f1(level, dof) * chi2_min / jnp.maximum(dof, 1)).astype(dtype)
    # the first step: the Wald half-width in theta_j, sqrt(quantile) standard errors
    # (psi = x / scale, so d theta = d psi / (d psi / d theta))
    se_psi = jnp.sqrt(cov_scaled[j, j])
    se = se_psi / jnp.abs(dpsi_dtheta(model, scale, x_hat)[j])
    se = jnp.where(jnp.isfinite(se) & (se > 0), se, 0.1)
    s2 = 1.0 if config.has_sigma else chi2_min / jnp.maximum(dof, 1)
    step = se * jnp.sqrt(delta / jnp.maximum(s2, jnp.finfo(dtype).tiny))
    at = lambda t: physical(model, {"scale": scale}, theta_hat.at[j].set(t))[j]  # noqa: E731

    def side(direction):
        end, found = profile_side(full, theta_hat, j, chi2_min + delta, step, direction)
        # the end, or where x_j goes as theta_j runs off (+-inf, 0, or a bound)
        return jnp.where(found, at(end), at(direction * jnp.inf)), found

    # theta_j increases with x_j, except below an upper bound alone: order the ends by x
    down, down_ok = side(-1.0)
    up, up_ok = side(1.0)
    swap = down > up
    lower, lower_ok = jnp.where(swap, up, down), jnp.where(swap, up_ok, down_ok)
    upper, upper_ok = jnp.where(swap, down, up), jnp.where(swap, down_ok, up_ok)
    nan = jnp.asarray(jnp.nan, dtype)
    return (jnp.where(ok, lower, nan), jnp.where(ok, upper, nan), lower_ok & ok, upper_ok & ok)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _profile_batch(config, j, level, v, i, sigma, mask, x_hat, scale, cov_scaled, ok):
    return jax.vmap(functools.partial(_profile_one, config, j, level))(
        v, i, sigma, mask, x_hat, scale, cov_scaled, ok)


def profile_intervals(res: Any, v: Any, i: Any, names: Any | None = None, *,
                      sigma: Any | None = None, mask: Any | None = None,
                      level: float = 0.95) -> dict[str, ProfileInterval]:
    """Profile-likelihood confidence intervals of fitted parameters, for every recording.

    Args:
      res: the ``FitResult`` of ``fitting.fit(model, v, i, sigma=sigma, mask=mask)``.
      v, i, sigma, mask: the same data and options that were fitted (checked: the loss at the
        fitted parameters must be the result's).
      names: free parameter names (default: all); a vector parameter gives one interval per
        entry, as arrays with a trailing axis.
      level: confidence level in (0, 1).

    Returns:
      dict name -> ``ProfileInterval`` (arrays of the batch shape).

    Raises:
      ValueError: an unknown name, a level outside (0, 1), or data that is not what was fitted.
    """
    model = res.model
    names = [names] if isinstance(names, str) else list(model.param_names if names is None
                                                           else names)
    unknown = [n for n in names if n not in model.param_names]
    if unknown:
        raise ValueError(f"no free parameter {unknown} in {model.name}; parameters are "
                         f"{list(model.param_names)} (derived quantities have no profile here)")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    arrays, batch_shape, size = prepare_arrays(model, v, i, sigma, mask)
    if batch_shape != res.batch_shape:
        raise ValueError(f"v, i have batch shape {batch_shape}, the FitResult {res.batch_shape}: "
                         "pass the data that were fitted")
    k = model.n_params
    flat = lambda x, tail: np.asarray(x).reshape((size,) + tail)  # noqa: E731
    x_hat = flat(model.flatten(res.free_params()), (k,)).astype(arrays[1].dtype)
    scale = flat(res.param_scale, (k,)).astype(arrays[1].dtype)
    cov = flat(res.cov_scaled, (k, k)).astype(arrays[1].dtype)
    ok = flat(res.usable, ())
    if (sigma is not None) != res.weighted:
        raise ValueError("res was fitted " + ("with" if res.weighted else "without") +
                         " sigma: pass the same sigma (or none) to profile_intervals")
    config = FitConfig(model=model, has_sigma=sigma is not None)
    offsets, start = {}, 0
    for spec in model.specs:
        offsets[spec.name] = range(start, start + spec.size)
        start += spec.size
    _check_same_data(res, arrays, config, x_hat, scale, batch_shape)  # before any profiling
    out = {}
    for name in names:
        parts = [_profile_batch(config, j, float(level), *arrays, x_hat, scale, cov, ok)
                 for j in offsets[name]]
        stacked = [np.stack([np.asarray(p[m]) for p in parts], axis=-1) for m in range(4)]
        if len(parts) == 1:
            stacked = [s[..., 0] for s in stacked]
        shape = lambda a: a.reshape(batch_shape + a.shape[1:])  # noqa: E731
        value = np.asarray(res.params[name])
        out[name] = ProfileInterval(value, *(shape(s) for s in stacked), float(level))
    return out


def _check_same_data(res, arrays, config, x_hat, scale, batch_shape):
    """Refuse data other than what was fitted: the loss at the fit must be the result's."""
    def loss_one(v, i, sigma, mask, x, s):
        problem = dict(prepare(config, v, i, sigma, mask), scale=s)
        r = jnp.where(problem["valid"], problem["w"] * (problem["i"] - config.model.current(
            config.model.unflatten(x), problem["v"])), 0.0)
        w = jnp.where(problem["valid"], problem["w"], 1.0)
        return jnp.sum(r * r) if config.has_sigma else jnp.sum((r / w) ** 2)

    loss = np.asarray(jax.vmap(loss_one)(*arrays, x_hat, scale)).reshape(batch_shape)
    fitted = np.asarray(res.loss)
    both = np.isfinite(loss) & np.isfinite(fitted)
    tol = 1e-3 if arrays[1].dtype == np.float32 else 1e-8
    # data fitted exactly (noise-free) leave a loss of rounding size, whose digits differ
    # between evaluations: the loss is also compared with the data's own sum of squares
    scaled = arrays[1] / (1.0 if arrays[2] is None else arrays[2])
    size_of = np.sum(np.where(np.asarray(arrays[3], bool), np.nan_to_num(scaled), 0.0) ** 2,
                     axis=-1).reshape(batch_shape)
    floor = (1e-6 if arrays[1].dtype == np.float32 else 1e-12) * size_of
    if np.any(np.abs(loss[both] - fitted[both]) > tol * np.abs(fitted[both]) + floor[both]):
        raise ValueError("v, i (sigma, mask) are not the data of this FitResult: the loss at "
                         "the fitted parameters differs from res.loss")
