"""Quantities derived from fits: reversal potentials with delta-method errors, model ranking."""

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fitting.engine.batch import fit
from fitting.engine.result import FitResult
from fitting.engine.status import usable


class ReversalPotential(NamedTuple):
    """Reversal potential [V] and its standard error [V] (arrays of the batch shape)."""

    value: jax.Array
    stderr: jax.Array


def _numeric_root(model, params, v_range):
    """Zero crossing of model.current(params, v) inside (a widened) recorded voltage range."""
    lo, hi = v_range[0], v_range[1]
    span = jnp.maximum(hi - lo, 1e-3)
    grid = jnp.linspace(lo - 0.5 * span, hi + 0.5 * span, 129, dtype=lo.dtype)
    f = model.current(params, grid)
    change = jnp.sign(f[:-1]) * jnp.sign(f[1:]) <= 0
    centre = 0.5 * (lo + hi)
    mid = 0.5 * (grid[:-1] + grid[1:])
    k = jnp.argmin(jnp.where(change, jnp.abs(mid - centre), jnp.inf))
    a, b = grid[k], grid[k + 1]
    fa = f[k]

    def step(_, bracket):
        a, b, fa = bracket
        m = 0.5 * (a + b)
        fm = model.current(params, m)
        left = jnp.sign(fm) == jnp.sign(fa)
        return jnp.where(left, m, a), jnp.where(left, b, m), jnp.where(left, fm, fa)

    a, b, _ = jax.lax.fori_loop(0, 64, step, (a, b, fa))
    return jnp.where(jnp.any(change), 0.5 * (a + b), jnp.nan)


def _one(model, x, cov_scaled, scale, v_range):
    params = model.unflatten(x)
    closed = model.reversal(params)
    if closed is not None:
        value = closed
        grad = jax.grad(lambda x: model.reversal(model.unflatten(x)))(x)
    else:
        value = jax.lax.stop_gradient(_numeric_root(model, params, v_range))
        d_param = jax.grad(lambda x: model.current(model.unflatten(x), value))(x)
        d_v = jax.grad(lambda v: model.current(params, v))(value)
        grad = -d_param / d_v  # implicit function theorem
    grad = grad * scale  # d E / d (x / scale): stays in range in float32
    return value, jnp.sqrt(grad @ cov_scaled @ grad)


def reversal_potential(res):
    """Potential where the fitted current crosses zero, with its delta-method standard error.

    Closed form where the model has one (Ohmic and BoltzmannOhmic: ``e_rev``; GHK and
    BoltzmannGHK: the Nernst potential, exact given the concentrations, so stderr 0;
    MultiIonGHK: ``ionjax.ghk_voltage`` of the fitted permeabilities); otherwise the zero crossing
    of ``predict`` nearest to the recorded voltages, with the gradient by the implicit function
    theorem. Standard error: sqrt(g^T C g), g = dE/dparams by autodiff, C the fit covariance.

    Args:
      res: a ``FitResult``.

    Returns:
      ``ReversalPotential(value, stderr)`` [V], arrays of the batch shape (NaN where the fit
      failed or the current does not cross zero).
    """
    batch = res.batch_shape
    if not res.model.single_iv:  # I-Vs in several solutions: one reversal each, none overall
        return ReversalPotential(np.full(batch, np.nan), np.full(batch, np.nan))
    n = int(np.prod(batch))
    size = max(8, 1 << (n - 1).bit_length())  # a few sizes compile, not one per batch size

    def rows(x):
        x = np.asarray(x)
        x = np.reshape(x, (n,) + x.shape[len(batch):])
        return np.concatenate([x, np.repeat(x[:1], size - n, axis=0)]) if n else x

    value, stderr = _reversal_flat(res.model, jax.tree_util.tree_map(rows, res.free_params()),
                                   *(rows(x) for x in (res.cov_scaled, res.param_scale,
                                                       res.v_range, res.status)))
    return ReversalPotential(np.reshape(np.asarray(value)[:n], batch),
                             np.reshape(np.asarray(stderr)[:n], batch))


@functools.partial(jax.jit, static_argnums=0)
def _reversal_flat(model, params, cov_scaled, scale, v_range, status):
    """One compiled program per model and padded size (eager, its ~20 small ops compiled one by
    one cost ~0.5 s in every new process); flat (n,) results."""
    x = model.flatten(params)
    k = x.shape[-1]
    flat = (jnp.reshape(x, (-1, k)), jnp.reshape(cov_scaled, (-1, k, k)),
            jnp.reshape(scale, (-1, k)), jnp.reshape(v_range, (-1, 2)))
    value, stderr = jax.vmap(lambda *a: _one(model, *a))(*flat)
    # a refused fit has no reversal, even where the model's is fixed (GHK: the Nernst potential)
    ok = jnp.reshape(usable(status), (-1,))
    return jnp.where(ok, value, jnp.nan), jnp.where(ok, stderr, jnp.nan)


def _difference_noise(c):
    """Noise SD of a curve from its third differences (points in voltage order):
    sigma^2 = mean((Delta^3 i)^2) / 20; NaN with fewer than 4 points."""
    return np.sqrt(np.mean(np.diff(c, 3) ** 2) / 20) if c.size >= 4 else np.nan


def difference_noise(v, i):
    """Model-free noise SD [A] of each I-V curve: ``_difference_noise`` over its finite points
    sorted by voltage (blind to a linear or quadratic I-V; stronger curvature can only enlarge
    it). v, i: (..., n); returns (...,)."""
    i = np.asarray(i, float)
    v = np.broadcast_to(np.asarray(v, float), i.shape)
    out = np.full(i.shape[:-1], np.nan)
    for idx in np.ndindex(out.shape):
        ok = np.isfinite(v[idx]) & np.isfinite(i[idx])
        out[idx] = _difference_noise(i[idx][ok][np.argsort(v[idx][ok])])
    return out


def measured_reversal(v, i, noise=None):
    """The data's own zero crossing: linear interpolation between the two points that bracket it.

    For each recording the points are sorted by voltage. The current must change sign beyond
    its noise: the points with |i| > 2 SD must change sign exactly once (else NaN: no crossing,
    or one made by noise around zero, e.g. closed channels); between the last of one sign and
    the first of the other, the sign change of the raw current nearest to their middle is used,
    E = (v1 i2 - v2 i1) / (i2 - i1).
    Its standard error is the delta method with independent noise of SD ``noise`` on i1 and i2:
    var E = noise^2 ((v2 - v1) / (i2 - i1))^2 (i1^2 + i2^2) / (i2 - i1)^2.

    Args:
      v, i: (..., n) voltages [V] and currents [A] (NaN points are ignored).
      noise: (...,) or scalar noise SD [A], or None to estimate it from the data alone by third
        differences over the points in voltage order, sigma^2 = mean((Delta^3 i)^2) / 20
        (model-free and blind to a linear or quadratic I-V; stronger curvature can only
        enlarge it, so the estimate errs on the side of a larger stderr). Fewer than 4 points
        give NaN.

    Returns:
      ``ReversalPotential(value, stderr)`` [V] of the batch shape; NaN where the data do not
      cross zero.
    """
    i = np.asarray(i, float)
    v = np.broadcast_to(np.asarray(v, float), i.shape)
    batch = i.shape[:-1]
    given = noise is not None
    noise = np.broadcast_to(np.nan if noise is None else np.asarray(noise, float), batch)
    flat_v, flat_i = v.reshape(-1, i.shape[-1]), i.reshape(-1, i.shape[-1])
    value, stderr = np.full(len(flat_i), np.nan), np.full(len(flat_i), np.nan)
    for r, (vr, ir, s) in enumerate(zip(flat_v, flat_i, noise.ravel())):
        ok = np.isfinite(vr) & np.isfinite(ir)
        order = np.argsort(vr[ok])
        vs, cs = vr[ok][order], ir[ok][order]
        if not given:
            s = _difference_noise(cs)
        crossings = np.flatnonzero((np.sign(cs[:-1]) * np.sign(cs[1:]) <= 0) & (cs[:-1] != cs[1:]))
        # a real crossing: the points beyond the noise (|i| > 2 SD) change sign exactly once,
        # and the crossing lies between the last of one sign and the first of the other
        big = np.flatnonzero(np.abs(cs) > 2 * s) if np.isfinite(s) else np.arange(cs.size)
        flips = np.flatnonzero(np.sign(cs[big][:-1]) != np.sign(cs[big][1:]))
        if flips.size != 1:
            continue  # no crossing beyond the noise, or several (ambiguous)
        lo, hi = big[flips[0]], big[flips[0] + 1]
        crossings = crossings[(crossings >= lo) & (crossings < hi)]
        if crossings.size == 0:
            continue
        k = crossings[np.argmin(np.abs(vs[crossings] - 0.5 * (vs[lo] + vs[hi])))]
        (v1, v2), (i1, i2) = vs[k:k + 2], cs[k:k + 2]
        value[r] = (v1 * i2 - v2 * i1) / (i2 - i1)
        stderr[r] = abs(s * (v2 - v1) / (i2 - i1)) * np.hypot(i1, i2) / abs(i2 - i1)
    return ReversalPotential(value.reshape(batch), stderr.reshape(batch))


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Models ranked by an information criterion (lower is better), per recording.

    Attributes:
      names: model labels, in the order given.
      aic, bic, aicc: (n_models, *batch) criteria.
      criterion: "aicc", "aic" or "bic".
      delta: criterion minus the best one per recording.
      weights: Akaike (or Schwarz) weights exp(-delta/2) / sum exp(-delta/2).
      best: index (into ``names``) of the best model per recording; -1 where no model has the
        criterion.
      results: the FitResults, in the order given.
    """

    names: tuple
    aic: np.ndarray
    bic: np.ndarray
    criterion: str
    delta: np.ndarray
    weights: np.ndarray
    best: np.ndarray
    results: tuple
    aicc: np.ndarray = None

    def __str__(self):
        label = {"aicc": "AICc", "aic": "AIC", "bic": "BIC"}[self.criterion]
        lines = [f"{'model':<16} {'AICc':>12} {'AIC':>12} {'BIC':>12} {'d' + label:>10} "
                 f"{'weight':>8}"]
        def mean(a):  # over the recordings where the model was fitted; NaN if none
            finite = np.asarray(a, float)[np.isfinite(a)]
            return finite.mean() if finite.size else np.nan

        def cell(x, width, spec):
            return f"{x:>{width}{spec}}" if np.isfinite(x) else f"{'-':>{width}}"

        # means over the recordings where every model that has the criterion somewhere has it,
        # so rows compare (a model refused everywhere shows '-' and does not empty the table)
        score = np.asarray({"aicc": self.aicc, "aic": self.aic, "bic": self.bic}[self.criterion],
                           float)
        score = score.reshape(len(self.names), -1)
        present = np.any(np.isfinite(score), axis=1)
        common = np.all(np.isfinite(score[present]), axis=0).reshape(np.shape(self.best))
        means = [[mean(np.where(common & present[m], a[m], np.nan)) for a in
                  (self.aicc, self.aic, self.bic, self.delta, self.weights)]
                 for m in range(len(self.names))]
        order = np.argsort([row[3] if np.isfinite(row[3]) else np.inf for row in means])
        for m in order:
            aicc, aic, bic, delta, weight = means[m]
            lines.append(f"{self.names[m]:<16} {cell(aicc, 12, '.4f')} {cell(aic, 12, '.4f')} "
                         f"{cell(bic, 12, '.4f')} {cell(delta, 10, '.4f')} "
                         f"{cell(weight, 8, '.3f')}")
        lines.append("(criteria from the RSS in A^2, or chi^2 with sigma: compare differences "
                     "only; '-': not available, the fit was refused or, for AICc, n <= k + 1)")
        if np.ndim(self.best):
            lines.append("(means over recordings)")
        return "\n".join(lines)


def _check_same_data(names, results):
    """Criteria compare fits of the same data only: refuse results that differ in batch shape,
    weighting (sigma or not), or, where both fits were made, points used or voltage range."""
    if not results:
        raise ValueError("compare needs at least one fitted result or model")
    first = results[0]
    for name, res in zip(names[1:], results[1:]):
        why = None
        if res.batch_shape != first.batch_shape:
            why = f"batch shapes {first.batch_shape} and {res.batch_shape}"
        elif res.weighted != first.weighted:
            why = "one was fitted with sigma and the other without"
        else:
            both = np.asarray(usable(first.status)) & np.asarray(usable(res.status))
            same_n = np.asarray(first.n_points) == np.asarray(res.n_points)
            same_v = np.all(np.asarray(first.v_range) == np.asarray(res.v_range), axis=-1)
            if not np.all((same_n & same_v) | ~both):
                why = "they used different points (counts or voltage ranges differ)"
        if why:
            raise ValueError(f"cannot compare {names[0]!r} and {name!r}: {why}; information "
                             "criteria rank models fitted to the same data")


def compare(candidates, v=None, i=None, *, criterion="aicc", **fit_kwargs):
    """Rank models fitted to the same data by AIC or BIC.

    Args:
      candidates: a dict label -> FitResult (or -> model), or a sequence of them. Models are
        fitted first with ``fitting.fit(model, v, i, **fit_kwargs)``.
      v, i: the data, needed only when models (not results) are given.
      criterion: "aicc" (default: AIC with the small-sample correction, which I-V curves of
        10-20 points need), "aic" or "bic".

    Returns:
      ``Comparison`` (printable table; per-recording ``best``, ``delta`` and ``weights``).
    """
    if criterion not in ("aicc", "aic", "bic"):
        raise ValueError(f"criterion must be 'aicc', 'aic' or 'bic'; got {criterion!r}")
    items = candidates.items() if isinstance(candidates, dict) else \
        [(getattr(c, "model", c).name, c) for c in candidates]
    names, results = [], []
    for name, item in items:
        if not isinstance(item, FitResult):
            if v is None or i is None:
                raise ValueError("pass v and i to compare models that are not fitted yet")
            item = fit(item, v, i, **fit_kwargs)
        names.append(str(name))
        results.append(item)
    if len(set(names)) != len(names):
        raise ValueError(f"model labels must be unique; got {names} (pass a dict)")
    _check_same_data(names, results)
    aic = np.stack([np.asarray(r.aic, float) for r in results])
    bic = np.stack([np.asarray(r.bic, float) for r in results])
    aicc = np.stack([np.asarray(r.aicc, float) for r in results])
    score = {"aicc": aicc, "aic": aic, "bic": bic}[criterion]
    filled = np.where(np.isfinite(score), score, np.inf)
    delta = score - filled.min(axis=0)
    weights = np.exp(-0.5 * np.where(np.isfinite(delta), delta, np.inf))
    total = weights.sum(axis=0)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0), np.nan)
    best = np.where(np.any(np.isfinite(score), axis=0), np.argmin(filled, axis=0), -1)
    return Comparison(tuple(names), aic, bic, criterion, delta, weights, best, tuple(results),
                      aicc)
