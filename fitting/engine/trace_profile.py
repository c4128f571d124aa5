"""Profile-likelihood intervals of trace fits (``fit_traces``), batched over the cells.

The interval of x_j at level 1 - alpha is {c : P(c) - chi^2_min <= chi^2_1(1 - alpha)} (sigma is
known: Wilks' theorem), P(c) the chi^2 minimised over the other parameters with x_j = c. The
search is ``fitting.engine.profile.profile_side`` (steps of one Wald half-width doubled until
the profile crosses, at most ``EXPANSIONS`` times, then ``BISECTIONS`` halvings; each point a warm-started Levenberg-Marquardt solve) on
theta = ln(x / x_hat), every cell at once under vmap. A side that never crosses is unbounded
(``lower_bounded`` / ``upper_bounded`` False; its end is 0 or +inf).
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fitting.engine import compiled
from fitting.engine.profile import ProfileInterval, _quantile_chi2_1, profile_side
from fitting.engine.traces import _norm, _residual_fn

__all__ = ["trace_profile_intervals"]

# each profile point is a full-trace solve, run a fixed number of times under vmap: a bracket
# out to 2^6 Wald half-widths (beyond: unbounded), halved 8 times (0.4% of the bracket in ln x)
EXPANSIONS = 6
BISECTIONS = 8
INNER_STEPS = 20


def _one(model, dt, j, level, bisections, cell, x_hat, se_log, ok):
    norm = _norm(cell)
    full = _residual_fn(model, dt, cell, x_hat)  # theta = ln(x / x_hat), residuals * norm
    theta_hat = jnp.zeros_like(x_hat)
    r = full(theta_hat)
    chi2_min = jnp.sum(r * r) / norm ** 2
    delta = _quantile_chi2_1(level).astype(x_hat.dtype)
    step = jnp.where(jnp.isfinite(se_log[j]) & (se_log[j] > 0), se_log[j], 0.1) * jnp.sqrt(delta)
    threshold = (chi2_min + delta) * norm ** 2
    ends = []
    for direction in (-1.0, 1.0):
        end, found = profile_side(full, theta_hat, j, threshold, step, direction,
                                  expansions=EXPANSIONS, bisections=bisections,
                                  inner_steps=INNER_STEPS)
        runaway = 0.0 if direction < 0 else jnp.inf
        ends.append((jnp.where(found, x_hat[j] * jnp.exp(end), runaway), found))
    nan = jnp.asarray(jnp.nan, x_hat.dtype)
    (lower, lower_ok), (upper, upper_ok) = ends
    return (jnp.where(ok, lower, nan), jnp.where(ok, upper, nan), lower_ok & ok, upper_ok & ok)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _batch(model, dt, level, bisections, j, cells, x_hat, se_log, ok):
    """Every cell's interval of parameter ``j`` (traced: one program for all parameters)."""
    return jax.vmap(lambda *a: _one(model, dt, j, level, bisections, *a))(
        cells, x_hat, se_log, ok)


def trace_profile_intervals(res: Any, names: Any = None, *, level: float = 0.95,
                            bisections: int = BISECTIONS) -> dict[str, ProfileInterval]:
    """Profile-likelihood intervals of the parameters of a ``TraceFitResult``, all cells at once.

    Args:
      res: the result of ``fitting.fit_traces`` (it keeps the data it fitted).
      names: parameter names (default all of ``res.model.param_names``).
      level: confidence level in (0, 1).
      bisections: halvings of each side's bracket (2^-bisections of its width in ln x).

    Returns:
      dict name -> ``ProfileInterval`` (arrays (C,)); NaN ends where the fit is unusable.
    """
    model = res.model
    names = list(model.param_names if names is None else
                 ([names] if isinstance(names, str) else names))
    unknown = [n for n in names if n not in model.param_names]
    if unknown:
        raise ValueError(f"no parameter {unknown} in {model.name}: it has {model.param_names}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    x_hat = res.out["x"]
    se_log = res.out["se"] / x_hat
    out = {}
    with jax.enable_x64(True), compiled.persistent_cache():  # a later process loads them
        cells = jax.tree_util.tree_map(jnp.asarray, res.cells)
        for name in names:
            j = model.param_names.index(name)
            parts = _batch(model, res.dt, float(level), int(bisections), jnp.asarray(j), cells,
                           jnp.asarray(x_hat), jnp.asarray(se_log), jnp.asarray(res.usable))
            parts = [np.asarray(p) for p in parts]
            out[name] = ProfileInterval(res.params[name], *parts, float(level))
    return out
