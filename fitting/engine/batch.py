"""``fitting.fit``: host-side checks, padding into size buckets, device sharding, the result."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fitting.engine import driver, solvers
from fitting.engine.config import FitConfig
from fitting.engine.result import FitResult

_POINT_MULTIPLE = 8


def bucket(size):
    """Padded batch size: the next of 1, 2, 4, 8, then four sizes per octave (waste <= 25%).

    New batch sizes within a bucket reuse the compiled fit instead of compiling again.
    """
    if size <= 8:
        return 1 << max(0, math.ceil(math.log2(max(size, 1))))
    octave = 1 << (size.bit_length() - 1)
    step = octave // 4
    return octave + step * math.ceil((size - octave) / step)


def _as_array(name, x):
    try:
        a = np.asarray(x)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{name} must be array-like; got {type(x).__name__}") from exc
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise ValueError(f"{name} must hold real numbers [SI]; got an array of {a.dtype} "
                         f"({type(x).__name__})")
    return a


def _check_inputs(model, v, i, sigma, mask):
    v, i = _as_array("v", v), _as_array("i", i)
    if i.ndim == 0:
        raise ValueError(f"i must have at least one axis (points); got shape {i.shape}")
    if i.size == 0:
        raise ValueError(f"no data to fit: i has shape {i.shape} (recordings x points)")
    for name, a in (("v", v), ("i", i)):
        if np.issubdtype(a.dtype, np.floating) and np.finfo(a.dtype).bits < 32:
            raise ValueError(f"{name} is {a.dtype}, which cannot hold SI values (1 pA = 1e-12 A "
                             "underflows to 0): pass float32 or float64")
    try:
        v = np.broadcast_to(v, i.shape)
    except ValueError:
        raise ValueError(f"v and i shapes do not match: v {tuple(v.shape)}, i {tuple(i.shape)} "
                         "(v must have the shape of i or broadcast to it)") from None
    for name, extra in (("sigma", sigma), ("mask", mask)):
        if extra is not None:
            try:
                np.broadcast_shapes(np.shape(extra), i.shape)
            except ValueError:
                raise ValueError(f"{name} shape {np.shape(extra)} does not broadcast to the shape "
                                 f"of i {tuple(i.shape)}") from None
    if sigma is not None and np.any(_as_array("sigma", sigma) <= 0):
        raise ValueError("sigma must be > 0 (the per-point noise SD in A)")
    if i.ndim == 1:
        valid = np.isfinite(v) & np.isfinite(i)
        if mask is not None:
            valid &= np.broadcast_to(np.asarray(mask, bool), i.shape)
        if valid.sum() < model.n_params:
            raise ValueError(f"{int(valid.sum())} valid points for {model.n_params} parameters "
                             f"of {model.name} (v shape {tuple(v.shape)}, i shape {tuple(i.shape)})")
    return v, i


def _batch_sharding():
    """Sharding that splits axis 0 over all devices, or None with a single device."""
    devices = jax.devices()
    if len(devices) == 1:
        return None
    return NamedSharding(Mesh(np.asarray(devices), ("batch",)), PartitionSpec("batch"))


def _unpad_impl(tree, size, batch_shape):
    return jax.tree_util.tree_map(lambda x: jnp.reshape(x[:size], batch_shape + x.shape[1:]), tree)


@functools.lru_cache(maxsize=None)
def _unpadder(sharding):
    return jax.jit(_unpad_impl, static_argnums=(1, 2), out_shardings=sharding)


def _unpad(tree, size, batch_shape, sharding):
    """Drop the padding and restore the batch shape; keep the batch sharding when the leading
    batch axis divides evenly over the devices (JAX shards only evenly)."""
    if sharding is None or not batch_shape or batch_shape[0] % jax.device_count():
        sharding = None
    return _unpadder(sharding)(tree, size, batch_shape)


def prepare_arrays(model, v, i, sigma, mask, *, devices=None):
    """Host-side checks, then the (B, n) NumPy arrays (v, i, sigma, mask) of a batch fit.

    The batch is flattened and, with ``devices``, padded to its bucket (a multiple of the
    device count); the points are padded to a multiple of 8 (padding is masked). Done in NumPy:
    with jnp, every new batch size would compile a handful of small programs.

    Returns:
      ([v, i, sigma, mask], batch shape, number of recordings before padding).
    """
    v, i = _check_inputs(model, v, i, sigma, mask)
    dtype = np.result_type(v, i)
    if not np.issubdtype(dtype, np.floating) or np.finfo(dtype).bits > 64:
        dtype = np.dtype(float)  # integers, or extended precision that JAX does not have
    dtype = jax.dtypes.canonicalize_dtype(dtype)
    batch_shape, n = tuple(i.shape[:-1]), i.shape[-1]
    size = math.prod(batch_shape)
    padded_size = size if devices is None else -(-bucket(size) // devices) * devices
    padded_n = -(-n // _POINT_MULTIPLE) * _POINT_MULTIPLE

    def padded(x, dtype, fill):
        out = np.full((padded_size, padded_n), fill, dtype)
        out[:size, :n] = np.broadcast_to(np.asarray(x, dtype), i.shape).reshape(size, n)
        return out

    arrays = [padded(v, dtype, 0.0), padded(i, dtype, 0.0),
              padded(1.0 if sigma is None else sigma, dtype, 1.0),
              padded(True if mask is None else mask, bool, False)]
    return arrays, batch_shape, size


def fit(model, v, i, *, sigma=None, mask=None, method="lm", max_steps=200):
    """Fit ``model`` to current-voltage data, one recording or a whole batch in one compiled call.

    Args:
      model: ``Ohmic()``, ``GHK(...)``, ``MultiIonGHK(...)``, ``BoltzmannOhmic()``,
        ``BoltzmannGHK(...)`` or ``Model(fn, params=...)``.
      v: voltages [V], shape (..., n) or broadcastable to the shape of ``i`` (e.g. (n,) shared).
        Array-likes (NumPy or JAX arrays); they are flattened and padded on the host.
      i: currents [A], shape (..., n); leading dims are independent recordings.
      sigma: per-point noise SD [A] (broadcastable), or None to estimate the noise from the
        residuals (covariance scaled by RSS/(n-k), as curve_fit with absolute_sigma=False).
      mask: boolean (broadcastable), True = use the point. NaN/inf points are masked anyway and
        counted in ``n_masked``.
      method: "lm" (Levenberg-Marquardt, default) or "lbfgs" (optax L-BFGS).
      max_steps: maximum solver iterations per recording.

    Returns:
      ``FitResult`` whose leaves have the batch shape of ``i`` (``i.shape[:-1]``). A recording that
      fails (too few valid points, non-finite or singular) gets a non-zero status and NaN
      parameters; the rest of the batch is unaffected. With several devices the batch is sharded
      over all of them and the leaves are sharded along the batch axis.

    Raises:
      ValueError: shapes that do not match, sigma <= 0, or a single recording with fewer valid
        points than parameters (host-side checks, before compilation).
    """
    if method not in solvers.SOLVERS:
        raise ValueError(f"method must be one of {sorted(solvers.SOLVERS)}; got {method!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) \
            or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1; got {max_steps!r}")
    devices = jax.device_count()
    arrays, batch_shape, size = prepare_arrays(model, v, i, sigma, mask, devices=devices)
    padded_size = arrays[0].shape[0]
    usable_point = np.isfinite(arrays[0]) & np.isfinite(arrays[1])
    if sigma is not None:
        usable_point &= np.isfinite(arrays[2]) & (arrays[2] > 0)
    n_masked = np.sum(~usable_point & arrays[3], axis=-1)
    sharding = _batch_sharding()
    if sharding is not None:
        arrays = [jax.device_put(a, sharding) for a in arrays]
    config = FitConfig(model=model, method=method, max_steps=int(max_steps),
                       has_sigma=sigma is not None, n_devices=devices)
    out = driver.compiled_fit(padded_size, devices)(config, *arrays)
    out["n_masked"] = n_masked
    out = _unpad(out, size, batch_shape, sharding)
    return FitResult(model=model, weighted=sigma is not None, **out)
