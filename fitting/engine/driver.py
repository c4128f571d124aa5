"""The batch fit: three compiled programs per problem kind, driven block by block by the host.

For each problem kind (``FitConfig``: model, method, max_steps, sigma flag, fast_compile; and
the dtype and the number of points, padded by ``batch.padded_points``) three programs are compiled, once
per process (and loaded from the persistent cache after the first process on a machine, see
``fitting.engine.compiled``). They work on a block of
``block_size()`` recordings (32 chunks of ``chunk_size()``, 128 on CPU) held on one device:

* ``start``: every recording of the first ``n_chunks`` chunks prepared (``problem.prepare``:
  masking, weights, scaling, starting values) and its solver state initialised, chunk by chunk
  (a loop whose trip count is data, so 7 recordings cost one chunk);
* ``run``: the solver states of one chunk's worth of block rows (indices, an argument) iterated
  up to a limit (an argument), in a vmapped while loop, written back into the block's states;
* ``finish``: ``statistics.finish`` (covariance, status, derived quantities, criteria) on the
  first ``n_chunks`` chunks.

Every batch size runs the same three programs: no batch size compiles again. Three small
programs compile faster than one holding the whole schedule (issue 12: about 2x for a fast
compile of Ohmic, ``python bench/bench_start.py``) and trace faster.

The host drives a batch block by block, so memory is the data, the result and a block per
device. A vmapped while loop runs until the slowest member of its chunk is done, so with chunks
in input order a few slow recordings would hold up many; instead, per stage (``STAGE_LIMITS``,
then ``max_steps`` iterations), the host reads which recordings are unfinished and runs only
those, regrouped into chunks. Each recording's iterations are exactly those of fitting it alone:
only the grouping changes. The data of a block and its states stay on the device.

Devices. Each round gives up to a block to every device of every process, split evenly;
dispatch is asynchronous, so the devices run together. With several processes
(``jax.distributed``) every process fits its own devices' shares and the results are gathered to
every process; every process must drive the same batch (SPMD; ``fitting.engine.devices``).
"""

import functools
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from fitting.engine import devices, solvers
from fitting.engine.config import FitConfig
from fitting.engine.problem import prepare, residual_fn
from fitting.engine.statistics import finish

__all__ = ["DONATED", "JITTED", "PIECES", "PROGRAMS", "PROGRAMS_PER_KIND", "STAGE_LIMITS",
           "block_size", "cache_size", "chunk_size", "compiler_options", "default_fast_compile",
           "fit_rows", "jitted"]

BLOCK_CHUNKS = 32  # chunks per device and block
STAGE_LIMITS = (4, 16)  # iteration limits of the solver stages (the last one is max_steps)
_CHUNK = {"cpu": 128}  # recordings per vmapped chunk
_ACCELERATOR_CHUNK = 4096


def chunk_size(model: Any | None = None) -> int:
    """Recordings per vmapped chunk (128 on CPU, 4096 on GPU/TPU), at most ``model.max_chunk``
    (a model whose one evaluation is already a large batched solve, such as ``PNPChannel``,
    caps it: every lane of a vmapped while loop runs until the slowest is done, padding
    included)."""
    width = _CHUNK.get(jax.default_backend(), _ACCELERATOR_CHUNK)
    cap = getattr(model, "max_chunk", None)
    return width if cap is None else min(width, int(cap))


def block_size(model: Any | None = None) -> int:
    """Recordings per device in one block of the host loop."""
    return BLOCK_CHUNKS * chunk_size(model)


def _in_batch_of_one(fn):
    """``fn`` under a ``jax.vmap`` over an added axis of size 1. Same results; XLA runs the
    batched form of the solver's loops about twice as fast on CPU (``python
    bench/bench_scaling.py``)."""
    def batched(*args):
        out = jax.vmap(fn)(*jax.tree_util.tree_map(lambda x: x[None], args))
        return jax.tree_util.tree_map(lambda x: x[0], out)
    return batched


def _over_chunks(fn, n_chunks, trees, width):
    """``fn`` (chunk trees -> chunk tree) on the first ``n_chunks`` (traced) chunks of width
    ``width`` of the block ``trees``; the block-sized result, zeros beyond them. ``fn`` is
    traced once and its jaxpr replayed in the loop body."""

    def piece(k, trees):
        return fn(*jax.tree_util.tree_map(
            lambda x: jax.lax.dynamic_slice_in_dim(x, k * width, width), trees))

    from jax.extend.core import jaxpr_as_fun  # here: jax.extend imports pallas (~40 ms)

    closed, shapes = jax.make_jaxpr(piece, return_shape=True)(jnp.int32(0), trees)
    replay = jaxpr_as_fun(closed)
    size = jax.tree_util.tree_leaves(trees)[0].shape[0]
    out = jax.tree_util.tree_map(lambda s: jnp.zeros((size,) + s.shape[1:], s.dtype), shapes)

    def body(k, out):
        new = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(shapes),
                                           replay(k, *jax.tree_util.tree_leaves(trees)))
        return jax.tree_util.tree_map(
            lambda o, x: jax.lax.dynamic_update_slice_in_dim(o, x, k * width, 0), out, new)

    return jax.lax.fori_loop(jnp.int32(0), jnp.asarray(n_chunks, jnp.int32), body, out)


def start(config: FitConfig, v: Any, i: Any, sigma: Any, mask: Any, n_chunks: int) -> Any:
    """The first ``n_chunks`` chunks of a block's (B, n) recordings -> (problems, solver
    states), dicts of (B, ...) arrays."""
    solver, model = solvers.SOLVERS[config.method], config.model

    def one(v, i, sigma, mask):
        problem = prepare(config, v, i, sigma, mask)
        return problem, solver.init(residual_fn(model, problem), problem["theta0"])
    return _over_chunks(_in_batch_of_one(jax.vmap(one)), n_chunks, (v, i, sigma, mask),
                        chunk_size(model))


def run(config: FitConfig, problems: Any, states: Any, rows: Any, limit: Any) -> Any:
    """Iterate the solver states of the block rows ``rows`` (W,) until done or ``limit`` (int32
    scalar) iterations; returns the block's states with those rows updated. Indices beyond the
    block are padding: their lanes start done and their results are dropped (no row is run
    twice, so each recording's result is that of its own lane)."""
    solver, model = solvers.SOLVERS[config.method], config.model

    def chunk(problems, states, limit):
        return jax.vmap(lambda p, s: solver.run(residual_fn(model, p), s, limit))(
            problems, states)
    size = jax.tree_util.tree_leaves(states)[0].shape[0]
    problems, picked = jax.tree_util.tree_map(
        lambda x: jnp.take(x, rows, axis=0, mode="clip"), (problems, states))
    picked = dict(picked, done=picked["done"] | (rows >= size))
    new = _in_batch_of_one(chunk)(problems, picked, limit)
    return jax.tree_util.tree_map(lambda x, y: x.at[rows].set(y, mode="drop"), states, new)


def finish_block(config: FitConfig, problems: Any, states: Any, n_chunks: int) -> Any:
    """The results of the first ``n_chunks`` chunks of a block: dict of (B, ...) arrays (the
    fields of ``FitResult`` but n_masked)."""
    solver, model = solvers.SOLVERS[config.method], config.model

    def chunk(problems, states):
        return jax.vmap(lambda p, s: finish(config, p, solver.finish(residual_fn(model, p), s)))(
            problems, states)
    return _over_chunks(_in_batch_of_one(chunk), n_chunks, (problems, states),
                        chunk_size(model))


PIECES = {"start": start, "run": run, "finish": finish_block}


# ``FitConfig.fast_compile``: XLA's backend optimisation off. About half the compile time; a
# large batch runs several times slower. The default optimises fully (and the persistent cache
# keeps the result).
FAST_OPTIONS = {"xla_backend_optimization_level": 0}
DONATED = {"run": (2,)}  # the states: updated in place
JITTED = {(name, fast): jax.jit(devices.on_every_device(fn), static_argnums=0,
                                donate_argnums=DONATED.get(name, ()),
                                compiler_options=FAST_OPTIONS if fast else None)
          for name, fn in PIECES.items() for fast in (False, True)}
PROGRAMS = list(JITTED.values())  # every jitted program (``compiled`` adds its own)
PROGRAMS_PER_KIND = len(PIECES)


def compiler_options(config: FitConfig) -> dict[str, Any]:
    """The XLA options of ``config``'s programs."""
    return FAST_OPTIONS if config.fast_compile else {}


# Above this many points per recording a fit always gets the optimised program: unoptimised,
# the run outlasts the compile time saved (a membrane test of 10 sweeps of a few thousand
# samples, one process: 150 s unoptimised, 18 s optimised after the first call). Per recording,
# not per batch: a new batch size must never pick (and compile) another program.
FAST_COMPILE_MAX_POINTS = 256


def default_fast_compile(n_points: int = 0) -> bool:
    """``fast_compile`` when the caller does not say: on where $IONJAX_FAST_COMPILE is 1 and each
    recording holds at most ``FAST_COMPILE_MAX_POINTS`` points, else off.

    Args:
      n_points: the number of points of each recording (the last axis); 0 when unknown.
    """
    wanted = os.environ.get("IONJAX_FAST_COMPILE", "0") not in ("", "0")
    return wanted and n_points <= FAST_COMPILE_MAX_POINTS


def cache_size() -> int:
    """Number of compiled programs held (``PROGRAMS_PER_KIND`` per problem kind; batch sizes
    add none)."""
    return sum(program._cache_size() for program in PROGRAMS)


def jitted(config: FitConfig, name: str) -> Callable[..., Any]:
    """The jitted program ``name`` ("start", "run", "finish") of ``config``, as f(*args)."""
    return functools.partial(JITTED[name, bool(config.fast_compile)], config)


def _fit_blocks(programs, config, arrays, n_rows, report=None):
    """Fit the blocks of this process's devices, every device its own, in one SPMD program.

    Args:
      programs: callable (name, *args) running program ``name`` of ``config``.
      arrays: (v, i, sigma, mask) host arrays (D_local, B, n).
      n_rows: rows to fit in every block (the first n_rows; the same on every device).
      report: optional callable (rows finished on this process's devices), once per stage.

    Returns:
      dict of host arrays (D, B, ...) of every device (the fields of ``FitResult`` but
      n_masked).
    """
    width, size = chunk_size(config.model), block_size(config.model)
    n_local = arrays[0].shape[0]
    counts = devices.to_device(np.full(n_local, -(-n_rows // width), np.int32))
    problems, states = programs("start", *(devices.to_device(x) for x in arrays), counts)
    for limit in [min(x, config.max_steps) for x in STAGE_LIMITS] + [config.max_steps]:
        waiting = [np.flatnonzero(~d[:n_rows]).astype(np.int32) for d in devices.local_rows(states["done"])]
        if report is not None:
            report(sum(n_rows - w.size for w in waiting))
        calls = devices.global_max(max(-(-w.size // width) for w in waiting))
        rows = np.full((n_local, calls * width), size, np.int32)  # padding: dropped
        for d, w in enumerate(waiting):  # unfinished rows first
            rows[d, :w.size] = w
        limits = devices.to_device(np.full(n_local, limit, np.int32))
        for k in range(calls):
            states = programs("run", problems, states,
                              devices.to_device(rows[:, k * width:(k + 1) * width]), limits)
    return devices.to_host(programs("finish", problems, states, counts))


def fit_rows(config: FitConfig, source: Any, size: int, programs: Callable[..., Any] | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Fit ``size`` recordings block by block.

    Args:
      config: the ``FitConfig``.
      source: callable (lo, hi) -> host arrays (v, i, sigma, mask) of shape
        (block_size(config.model), n)
        holding recordings lo..hi-1 in their first hi - lo rows, the rest padding.
      size: number of recordings.
      programs: callable (name, *args) running program ``name`` of ``config`` (default: the
        jitted ones; ``fitting.engine.compiled`` gives deserialized ones).
      progress: optional callable ``progress(done, size)``: recordings finished (this
        process's), after each stage of each block.

    Each round gives up to ``block_size(config.model)`` recordings to every device of every
    process, split evenly (each device's share contiguous).

    Returns:
      dict of NumPy arrays with leading axis ``size`` (the fields of ``FitResult`` but
      ``n_masked``).
    """
    if programs is None:
        programs = lambda name, *args: jitted(config, name)(*args)  # noqa: E731
    n_local, n_all = jax.local_device_count(), jax.device_count()
    first = jax.process_index() * n_local
    out = None
    block = block_size(config.model)
    for lo in range(0, size, block * n_all):
        hi = min(lo + block * n_all, size)
        share = -(-(hi - lo) // n_all)
        # every device fits ``share`` rows (a tail of padding where the batch ends)
        parts = [source(min(lo + j * share, hi), min(lo + (j + 1) * share, hi))
                 for j in range(first, first + n_local)]
        report = None if progress is None else \
            (lambda done, lo=lo: progress(min(lo + done, size), size))
        result = _fit_blocks(programs, config,
                             tuple(np.stack(x) for x in zip(*parts)), share, report)
        result = jax.tree_util.tree_map(
            lambda x: x[:, :share].reshape((-1,) + x.shape[2:])[:hi - lo], result)
        if out is None:
            out = jax.tree_util.tree_map(
                lambda x: np.empty((size,) + x.shape[1:], x.dtype), result)
        jax.tree_util.tree_map(lambda dst, x: dst.__setitem__(slice(lo, hi), x), out, result)
    return out
