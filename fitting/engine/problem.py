"""One recording as the solver sees it: masked data, weights, internal scaling, a start.

For one recording with valid points V (mask, finite v and i, positive sigma):

1. starting values: for built-in models, variable projection on a grid of the nonlinear
   parameters (weighted linear least squares for the amplitudes at each grid point, best kept);
   for a user ``Model``, its given values; a model without the linear form may scan the data
   itself (``ModelBase.start_from_data``, e.g. ``fitting.models.relaxation``);
2. internal scaling: theta = x / s for each parameter x (s = |starting value|, or the
   parameter's floor when that is 0 or not admissible), or theta = log(x / s) for positive
   ones; residuals divided by sigma, or by the RMS current when sigma is None. Everything the
   solver sees is O(1), so float32 works.
"""

from typing import Any

import jax
import jax.numpy as jnp

from fitting.engine.config import FitConfig
from fitting.engine.linalg import spd_solve_entries

__all__ = ["dpsi_dtheta", "internal", "linear_start", "physical", "prepare", "residual_fn",
           "ungated_chi2"]


def _projection(model, gate, v, i, w):
    """Weighted linear least squares of the amplitudes for each row of ``gate`` (G, n).

    With basis currents phi_j = gate h_j(v), the weighted features w h_j are first divided by
    their largest magnitude c_j (so a GHK feature of 1e11 A per m^3/s times a weight of 1e13/A
    does not overflow float32 when squared: the products below are O(n)), q_j = w h_j / c_j.
    The normal equations of every row then come from two matrix products over the n points:
    A_ab = sum_n gate^2 q_a q_b and b_a = sum_n gate q_a (w i), i.e. (G, n) @ (n, m(m+1)/2) and
    (G, n) @ (n, m). Each A a' = b (Jacobi-equilibrated, unrolled Cholesky) gives the amplitudes
    a = a' / c and the weighted RSS sum (w i)^2 - a'.b.

    Returns:
      (amplitudes (G, m), weighted RSS (G,)).
    """
    h = model.features(v)
    m = len(h)
    wi = w * i
    q = [w * h_a for h_a in h]
    c = [jnp.max(jnp.abs(q_a)) for q_a in q]
    c = [jnp.where((c_a > 0) & jnp.isfinite(c_a), c_a, 1.0) for c_a in c]
    q = [q_a / c_a for q_a, c_a in zip(q, c)]
    pairs = [(a, b) for a in range(m) for b in range(a, m)]
    gram = (gate * gate) @ jnp.stack([q[a] * q[b] for a, b in pairs], axis=-1)
    rhs = gate @ jnp.stack([q[a] * wi for a in range(m)], axis=-1)  # (G, m)
    entry = {pair: gram[:, c] for c, pair in enumerate(pairs)}  # A_ab, each (G,)
    d = [jnp.sqrt(entry[a, a]) for a in range(m)]
    d = [jnp.where(x > 0, x, 1.0) for x in d]
    equilibrated = [[entry[min(a, b), max(a, b)] / (d[a] * d[b]) for b in range(m)]
                    for a in range(m)]
    amplitudes = spd_solve_entries(equilibrated, [rhs[:, a] / d[a] for a in range(m)])
    amplitudes = [x / d_a for x, d_a in zip(amplitudes, d)]
    rss = jnp.sum(wi * wi) - sum(x * rhs[:, a] for a, x in enumerate(amplitudes))
    return jnp.stack([x / c_a for x, c_a in zip(amplitudes, c)], axis=-1), rss


def linear_start(model: Any, v: Any, i: Any, w: Any, valid: Any) -> Any:
    """Variable projection over the model's grid of nonlinear parameters theta.

    The amplitudes of every grid point are the weighted linear least-squares solution given its
    gate (``_projection``); the best grid point whose parameters are finite and respect the
    model's positivity constraints is kept.

    Args:
      v, i, w: (n,) voltages [V], currents [A], weights [1/A] (0 at masked points).
      valid: (n,) bool, the points in use.

    Returns:
      (k,) starting parameter vector [SI]; NaN entries when no grid point is admissible.
    """
    grid = model.grid(v, valid)  # (G, q)
    amplitudes, rss = _projection(model, model.gate(grid, v), v, i, w)
    x = model.flatten(model.from_linear(amplitudes, grid))  # (G, k)
    _, positive = model.param_arrays(x.dtype)
    admissible = jnp.all(jnp.isfinite(x) & (~positive | (x > 0)), axis=-1) & jnp.isfinite(rss)
    rss = jnp.where(admissible, rss, jnp.inf)
    # argmin as two plain reductions (a variadic argmin reduce vectorises poorly on CPU)
    grid_index = jnp.arange(rss.shape[0])
    best = jnp.min(jnp.where(rss == jnp.min(rss), grid_index, rss.shape[0] - 1))
    return jnp.where(admissible[best], x[best], jnp.nan)


def ungated_chi2(model: Any, problem: Any) -> Any:
    """Weighted RSS (the solver's chi^2 = sum r^2) of the limits of a gated model where the gate
    is constant: fully open (gate 1, amplitudes by least squares) or closed (gate 0, no current);
    the smaller of the two. These are where the gating parameters run off to infinity."""
    v, i, w = problem["v"], problem["i"], problem["w"]
    _, open_rss = _projection(model, jnp.ones((1,) + v.shape, v.dtype), v, i, w)
    return jnp.minimum(open_rss[0], jnp.sum((w * i) ** 2))


def physical(model: Any, problem: Any, theta: Any) -> Any:
    """Internal parameters theta -> physical x [SI]: x = s theta; x = s e^theta for positive
    parameters; for bounded ones x = lo + s e^theta, hi - s e^theta, or
    lo + (hi - lo) / (1 + e^-theta) with both bounds (s = ``problem["scale"]``)."""
    _, positive = model.param_arrays(theta.dtype)
    scale = problem["scale"]
    if not model.bounded:
        return jnp.where(positive, scale * jnp.exp(jnp.where(positive, theta, 0.0)),
                         scale * theta)
    lo, hi, has_lo, has_hi = _bounds(model, theta.dtype)
    grows = positive | has_lo | has_hi
    e = scale * jnp.exp(jnp.where(grows & ~(has_lo & has_hi), theta, 0.0))
    span = jnp.where(has_lo & has_hi, hi - lo, 1.0)
    x = jnp.where(positive, e, scale * theta)
    x = jnp.where(has_lo, jnp.where(has_hi, lo + span * jax.nn.sigmoid(theta), lo + e), x)
    return jnp.where(has_hi & ~has_lo, hi - e, x)


def _bounds(model, dtype):
    lo, hi = model.bound_arrays(dtype)
    return lo, hi, jnp.isfinite(lo), jnp.isfinite(hi)


def internal(model: Any, scale: Any, x: Any) -> Any:
    """Physical x [SI] -> internal theta (the inverse of ``physical``)."""
    _, positive = model.param_arrays(x.dtype)
    ratio = x / scale
    theta = jnp.where(positive, jnp.log(jnp.where(positive & (ratio > 0), ratio, 1.0)), ratio)
    if not model.bounded:
        return theta
    lo, hi, has_lo, has_hi = _bounds(model, x.dtype)
    span = jnp.where(has_lo & has_hi, hi - lo, 1.0)
    above = jnp.where(has_lo, (x - lo) / scale, 1.0)
    below = jnp.where(has_hi, (hi - x) / scale, 1.0)
    fraction = jnp.where(has_lo & has_hi, (x - lo) / span, 0.5)
    theta = jnp.where(has_lo & ~has_hi, jnp.log(above), theta)
    theta = jnp.where(has_hi & ~has_lo, jnp.log(below), theta)
    return jnp.where(has_lo & has_hi, jnp.log(fraction) - jnp.log1p(-fraction), theta)


def dpsi_dtheta(model: Any, scale: Any, x: Any) -> Any:
    """d(x / scale) / d theta at x: 1, x / s, (x - lo) / s, (hi - x) / s, or
    (x - lo)(hi - x) / ((hi - lo) s); 0 at a bound (no curvature to estimate an error from)."""
    _, positive = model.param_arrays(x.dtype)
    out = jnp.where(positive, x / scale, 1.0)
    if not model.bounded:
        return out
    lo, hi, has_lo, has_hi = _bounds(model, x.dtype)
    span = jnp.where(has_lo & has_hi, hi - lo, 1.0)
    out = jnp.where(has_lo & ~has_hi, (x - lo) / scale, out)
    out = jnp.where(has_hi & ~has_lo, (hi - x) / scale, out)
    return jnp.where(has_lo & has_hi, (x - lo) * (hi - x) / (span * scale), out)


def residual_fn(model: Any, problem: Any) -> Any:
    """theta (k,) -> weighted residuals (n,) of one recording (0 at unused points)."""
    def residual(theta):
        f = model.current(model.unflatten(physical(model, problem, theta)), problem["v"])
        return jnp.where(problem["valid"], problem["w"] * (problem["i"] - f), 0.0)
    return residual


def prepare(config: FitConfig, v: Any, i: Any, sigma: Any, mask: Any) -> Any:
    """One recording (arrays (n,)) -> the problem the solver sees (see the module docstring).

    Returns:
      dict of arrays: ``v``, ``i`` (0 at unused points), ``w`` weights [1/A], ``valid``,
      ``n_valid``, ``scale`` (k,) [SI] and the starting point ``theta0`` (k,).
    """
    model = config.model
    dtype = i.dtype
    valid = mask & jnp.isfinite(v) & jnp.isfinite(i)
    if config.has_sigma:
        valid = valid & jnp.isfinite(sigma) & (sigma > 0)
    n_valid = jnp.sum(valid)
    v0 = jnp.where(valid, v, 0.0)
    i0 = jnp.where(valid, i, 0.0)
    # RMS current, its largest value taken out first: 1e-20 A squared underflows float32
    i_max = jnp.max(jnp.abs(i0))
    i_max = jnp.where(i_max > 0, i_max, 1.0)
    i_scale = i_max * jnp.sqrt(jnp.sum((i0 / i_max) ** 2) / jnp.maximum(n_valid, 1))
    i_scale = jnp.where(i_scale > 0, i_scale, 1.0)
    noise = jnp.where(valid, sigma, 1.0) if config.has_sigma else i_scale
    w = jnp.where(valid, 1.0 / noise, 0.0)

    floors, positive = model.param_arrays(dtype)
    if model.has_linear_form:
        x0 = linear_start(model, v0, i0, w, valid)
    else:
        x0 = model.start_from_data(v0, i0, w, valid)
    ok = jnp.isfinite(x0) & (x0 != 0) & (~positive | (x0 > 0))
    scale = jnp.where(ok, jnp.abs(x0), floors)
    # a zero start of a signed parameter stays zero (its scale is the floor): replacing it by
    # the floor would start a user's e_rev = 0 at e_rev = floor
    x0 = jnp.where(ok | (~positive & (x0 == 0)), x0, scale)
    theta0 = jnp.where(positive, 0.0, x0 / scale)
    if model.bounded:  # start inside the bounds; one-sided: scale = distance to the bound
        lo, hi, has_lo, has_hi = _bounds(model, dtype)
        gap = jnp.where(has_lo, x0 - lo, jnp.where(has_hi, hi - x0, scale))
        scale = jnp.where(has_lo ^ has_hi, jnp.where(gap > 0, gap, floors), scale)
        theta0 = internal(model, scale, x0)
    return dict(v=v0, i=i0, w=w, valid=valid, n_valid=n_valid, scale=scale, theta0=theta0)
