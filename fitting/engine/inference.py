"""Reversal potentials: of a fit (where its current crosses zero, with delta-method standard
errors) and measured from the data themselves (``measured_reversal``)."""

import functools
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fitting.engine.status import usable

if TYPE_CHECKING:  # annotations only: result imports this module on use
    from fitting.engine.result import FitResult

__all__ = ["ReversalPotential", "difference_noise", "measured_reversal", "reversal_potential",
           "reversal_warnings"]


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
    # an infinite closed form (GHK of an ion absent from one side: Nernst potential +-inf;
    # ghk_voltage where no permeant ion carries current one way) is a current that never
    # crosses zero: no reversal, and no standard error
    crosses = jnp.isfinite(value)
    return (jnp.where(crosses, value, jnp.nan),
            jnp.where(crosses, jnp.sqrt(grad @ cov_scaled @ grad), jnp.nan))


def reversal_potential(res: "FitResult") -> ReversalPotential:
    """Potential where the fitted current crosses zero, with its delta-method standard error.

    Closed form where the model has one (Ohmic and BoltzmannOhmic: ``e_rev``; GHK and
    BoltzmannGHK: the Nernst potential, exact given the concentrations, so stderr 0, and NaN
    with the ion absent from one side, whose Nernst potential is infinite;
    MultiIonGHK: ``ionjax.ghk_voltage`` of the fitted permeabilities); otherwise the zero crossing
    of ``predict`` nearest to the recorded voltages, with the gradient by the implicit function
    theorem. Standard error: sqrt(g^T C g), g = dE/dparams by autodiff, C the fit covariance.

    Args:
      res: a ``FitResult``.

    Returns:
      ``ReversalPotential(value, stderr)`` [V], arrays of the batch shape (NaN where the fit
      failed or the current does not cross zero, an infinite closed form included; never inf).
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


def difference_noise(v: Any, i: Any) -> np.ndarray:
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


def measured_reversal(v: Any, i: Any, noise: Any = None) -> ReversalPotential:
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


def reversal_warnings(res: "FitResult", v: Any, i: Any,
                      fitted: ReversalPotential | None = None) -> tuple:
    """Where the fitted E_rev and the data's own zero crossing disagree beyond their
    uncertainty: the model does not describe the data near reversal. The one check of
    ``FitResult.summary(v=, i=)`` and of ``ionjax fit`` / the tail protocol
    (``fitting.protocols.reversal.check_reversal``).

    Disagreement: |E_fit - E_data| > max(2 sqrt(SE_fit^2 + SE_data^2), 1 mV) (the interpolated
    crossing of a curved I-V is off by a fraction of a mV even without noise).

    Args:
      res: the ``FitResult``; v, i: the fitted data [V], [A] (shapes as given to ``fit``).
      fitted: ``reversal_potential(res)`` if already computed.

    Returns:
      (``measured_reversal(v, i)`` of the batch shape, object array of the batch shape: the
      warning, without the recording's name, or "").
    """
    e = reversal_potential(res) if fitted is None else fitted
    shape = np.shape(e.value)
    measured = measured_reversal(v, i)
    measured = ReversalPotential(*(np.reshape(x, shape) for x in measured))
    out = np.full(int(np.prod(shape, dtype=int)), "", object)
    rows = zip(*(np.ravel(np.asarray(x, float)) for x in
                 (e.value, e.stderr, measured.value, measured.stderr)))
    for k, (fit_e, fit_se, data_e, data_se) in enumerate(rows):
        if not np.all(np.isfinite([fit_e, fit_se, data_e, data_se])):
            continue
        if abs(fit_e - data_e) <= max(2 * np.hypot(fit_se, data_se), 1e-3):
            continue
        out[k] = (f"the fitted E_rev {fit_e * 1e3:.2f} ± {fit_se * 1e3:.2f} mV and the data's "
                  f"zero crossing {data_e * 1e3:.2f} ± {data_se * 1e3:.2f} mV disagree (beyond "
                  "2 combined SE): the model does not describe the data near reversal")
    return measured, out.reshape(shape)
