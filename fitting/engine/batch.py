"""``fitting.fit``: host-side checks, the batch as fixed-size chunks, the result."""

import math
from typing import Any, Callable

import jax
import numpy as np

from fitting.engine import compiled, driver, solvers
from fitting.engine.config import FitConfig
from fitting.engine.extrapolation import refuse_extrapolated
from fitting.engine.inputs import as_array, check_iv
from fitting.engine.result import FitResult
from fitting.models.base import ModelBase

__all__ = ["fit", "padded_points", "prepare_arrays"]

_POINT_MULTIPLE = 8


def padded_points(n: int) -> int:
    """The number of points a recording of ``n`` points is padded to (masked padding): a
    multiple of 8 up to 64, then the next of 4, 5, 6, 7 or 8 times a power of two (four
    sizes per octave, at most 25% padding). Recordings of similar length share one compiled
    program: a process that fits recordings of many lengths compiles a few programs per
    octave, not one per length (each XLA CPU program holds memory and ~200 memory mappings,
    and a process past the system's limit of mappings, 65530 on Linux, crashes).

    Args:
      n: points per recording (>= 1).
    """
    if n <= 64:
        return -(-n // _POINT_MULTIPLE) * _POINT_MULTIPLE
    e = (n - 1).bit_length() - 3  # 4 * 2^e < n <= 8 * 2^e
    return next(m << e for m in (5, 6, 7, 8) if m << e >= n)


def _check_inputs(model, v, i, sigma, mask):
    if not isinstance(model, ModelBase):
        raise TypeError(f"model must be a fitting model (e.g. fitting.Ohmic()); got "
                        f"{type(model).__name__} {model!r}")
    v, i = check_iv(v, i, "fitting.fit")
    for name, extra in (("sigma", sigma), ("mask", mask)):
        if extra is not None:
            try:
                np.broadcast_shapes(np.shape(extra), i.shape)
            except ValueError:
                raise ValueError(f"{name} shape {np.shape(extra)} does not broadcast to the shape "
                                 f"of i {tuple(i.shape)}") from None
    if sigma is not None and np.any(as_array("sigma", sigma) <= 0):
        raise ValueError("sigma must be > 0 (the per-point noise SD in A)")
    model.check_points(i.shape[-1])
    if i.ndim == 1:
        valid = np.isfinite(v) & np.isfinite(i)
        if mask is not None:
            valid &= np.broadcast_to(np.asarray(mask, bool), i.shape)
        if valid.sum() < model.n_params:
            raise ValueError(f"{int(valid.sum())} valid points for {model.n_params} parameters "
                             f"of {model.name} (v shape {tuple(v.shape)}, i shape {tuple(i.shape)})")
    return v, i


def _dtype(v, i):
    """The float dtype of the computation (integers and extended precision -> float64, or
    float32 without x64)."""
    dtype = np.result_type(v, i)
    if not np.issubdtype(dtype, np.floating) or np.finfo(dtype).bits > 64:
        dtype = np.dtype(float)  # integers, or extended precision that JAX does not have
    return np.dtype(jax.dtypes.canonicalize_dtype(dtype))


class _Rows:
    """The recordings of a batch as (width, n_pad) host chunks, made one at a time.

    Rows beyond the batch and points beyond n are padding (masked); ``v`` may be a broadcast
    view (a shared voltage axis is never copied per recording). ``n_masked``: each
    recording's points dropped for non-finite v, i or sigma.
    """

    def __init__(self, v, i, sigma, mask, dtype, width):
        n = i.shape[-1]
        self.n, self.n_pad, self.dtype, self.width = n, padded_points(n), dtype, width
        flat = lambda x, kind: np.broadcast_to(np.asarray(x, kind), i.shape).reshape(-1, n)  # noqa: E731
        self.v, self.i = flat(v, dtype), flat(i, dtype)
        self.sigma = None if sigma is None else flat(sigma, dtype)
        self.mask = None if mask is None else flat(mask, bool)
        self.n_masked = np.zeros(self.i.shape[0], np.int64)
        # counted here for every recording (not per chunk read: with several processes each
        # reads only its own share)
        step = 65536
        for lo in range(0, len(self.n_masked), step):
            usable = np.isfinite(self.v[lo:lo + step]) & np.isfinite(self.i[lo:lo + step])
            if self.sigma is not None:
                sig = self.sigma[lo:lo + step]
                usable &= np.isfinite(sig) & (sig > 0)
            wanted = True if self.mask is None else self.mask[lo:lo + step]
            self.n_masked[lo:lo + step] = np.sum(~usable & wanted, axis=-1)

    def _padded(self, x, lo, hi, fill, dtype):
        out = np.full((self.width, self.n_pad), fill, dtype)
        if x is not None:
            out[:hi - lo, :self.n] = x[lo:hi]
        else:
            out[:hi - lo, :self.n] = fill if dtype != bool else True
        return out

    def __call__(self, lo, hi):
        v = self._padded(self.v, lo, hi, 0.0, self.dtype)
        i = self._padded(self.i, lo, hi, 0.0, self.dtype)
        sigma = self._padded(self.sigma, lo, hi, 1.0, self.dtype)
        mask = self._padded(self.mask, lo, hi, False, bool)
        return v, i, sigma, mask


def prepare_arrays(model: ModelBase, v: Any, i: Any, sigma: Any, mask: Any
                   ) -> tuple[list[np.ndarray], tuple[int, ...], int]:
    """Host-side checks, then the (B, n_pad) NumPy arrays (v, i, sigma, mask) of the whole
    batch (points padded by ``padded_points``, masked), for code that needs it at once.

    Returns:
      ([v, i, sigma, mask], batch shape, number of recordings).
    """
    v, i = _check_inputs(model, v, i, sigma, mask)
    batch_shape = tuple(i.shape[:-1])
    size = math.prod(batch_shape)
    rows = _Rows(v, i, sigma, mask, _dtype(v, i), size)
    return list(rows(0, size)), batch_shape, size


def fit(model: ModelBase, v: Any, i: Any, *, sigma: Any = None, mask: Any = None,
        method: str = "lm", max_steps: int = 200, fast_compile: bool | None = None,
        progress: Callable[[int, int], None] | None = None) -> FitResult:
    """Fit ``model`` to current-voltage data, one recording or a whole batch in one compiled call.

    Args:
      model: ``Ohmic()``, ``GHK(...)``, ``MultiIonGHK(...)``, ``BoltzmannOhmic()``,
        ``BoltzmannGHK(...)``, ``BoltzmannConductance()``, ``BoltzmannCurrent()``,
        ``PNPChannel(...)`` or ``Model(fn, params=...)``.
      v: voltages [V], shape (..., n) or broadcastable to the shape of ``i`` (e.g. (n,) shared).
        Array-likes (NumPy or JAX arrays); they are flattened and padded on the host.
      i: currents [A], shape (..., n); leading dims are independent recordings.
      sigma: per-point noise SD [A] (broadcastable), or None to estimate the noise from the
        residuals (covariance scaled by RSS/(n-k), as curve_fit with absolute_sigma=False).
      mask: boolean (broadcastable), True = use the point. NaN/inf points are masked anyway and
        counted in ``n_masked``.
      method: "lm" (Levenberg-Marquardt, default) or "lbfgs" (optax L-BFGS).
      max_steps: maximum solver iterations per recording.
      fast_compile: compile with XLA's backend optimisation off: about half the compile time
        of a new model (seconds), a large batch runs several times slower. For short jobs that
        fit a few curves once. Default: on where $IONJAX_FAST_COMPILE is 1 and each recording
        holds at most ``driver.FAST_COMPILE_MAX_POINTS`` points, else off. Compiled
        programs are cached on disk either way (``fitting.engine.compiled``).
      progress: optional callable ``progress(done, total)``, called on the host as recordings
        finish (after each stage of the solver on each block), e.g. to draw a progress bar.

    Returns:
      ``FitResult`` whose leaves are NumPy arrays with the batch shape of ``i``
      (``i.shape[:-1]``). A recording that fails (too few valid points, non-finite or singular)
      gets a non-zero status and NaN parameters; the rest of the batch is unaffected. The batch
      is fitted in fixed-size blocks by one program compiled once per model, method, dtype and
      point count: no batch size compiles again (``fitting.engine.driver``). With several
      devices each block is split over all of them. A fit that converged on a voltage the data
      do not measure is refused on the host (``fitting.engine.extrapolation``):
      an E_rev beyond the recorded voltages by more than twice their span, or a voltage
      parameter whose standard error exceeds their span, gets ``Status.EXTRAPOLATED`` (E_rev)
      or ``UNIDENTIFIABLE`` (V_1/2), NaN numbers and its reason in ``notes``.

    JAX settings: none is left changed. For the call's duration JAX's persistent compilation
    cache points at ionjax's cache folder (unless the user set ``jax_compilation_cache_dir``,
    which is then used as is, or set ``IONJAX_NO_CACHE``); the settings are restored and JAX's
    cache object reset on return (``fitting.engine.compiled.persistent_cache``).

    Raises:
      ValueError: shapes that do not match, sigma <= 0, or a single recording with fewer valid
        points than parameters (host-side checks, before compilation).
    """
    if method not in solvers.SOLVERS:
        raise ValueError(f"method must be one of {sorted(solvers.SOLVERS)}; got {method!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) \
            or not 1 <= max_steps < 2 ** 31:
        raise ValueError(f"max_steps must be an integer from 1 to 2**31 - 1; got {max_steps!r}")
    v, i = _check_inputs(model, v, i, sigma, mask)
    rows = _Rows(v, i, sigma, mask, _dtype(v, i), driver.block_size(model))
    size = rows.i.shape[0]
    if fast_compile is None:
        fast_compile = driver.default_fast_compile(int(rows.i.shape[-1]))
    config = FitConfig(model=model, method=method, max_steps=int(max_steps),
                       has_sigma=sigma is not None, fast_compile=bool(fast_compile))
    with compiled.persistent_cache() as folder:
        out = driver.fit_rows(config, rows, size, compiled.programs(config, folder), progress)
    out["n_masked"] = rows.n_masked
    batch_shape = tuple(i.shape[:-1])
    out = jax.tree_util.tree_map(lambda x: x.reshape(batch_shape + x.shape[1:]), out)
    res = FitResult(model=model, weighted=sigma is not None, **out)
    return refuse_extrapolated(res)[0]  # the interval rule's part that needs no profile
