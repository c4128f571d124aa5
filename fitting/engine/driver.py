"""The batch fit: three compiled programs on a fixed-size chunk, driven over any batch.

A chunk is ``chunk_size()`` recordings per device (128 on CPU, 4096 on an accelerator) of
``n`` points (a multiple of 8). For each problem kind (``FitConfig``: model, method, max_steps,
sigma flag, devices; and the dtype and ``n``) three programs are compiled, once per process (and
loaded from the persistent cache after the first process, see ``fitting.engine.cache``):

* ``start``: ``problem.prepare`` (masking, weights, scaling, starting values) and the solver's
  ``init`` for every recording of the chunk;
* ``run``: the solver's iterations up to a limit that is data (not a compile-time constant);
* ``finish``: the solver's ``finish`` and ``statistics.finish`` (covariance, status, derived
  quantities, criteria).

Batches of every size go through the same three programs: no batch size compiles again.

Scheduling. A vmapped while loop runs until the slowest member of its chunk is done, so with
chunks in input order a few slow recordings would hold up many. The batch is taken in blocks of
``BLOCK_CHUNKS`` chunks; in a block every chunk is started and run to ``STAGE_LIMITS[0]``
iterations; then, stage by stage (``STAGE_LIMITS``, then ``max_steps``), only the unfinished
recordings are regrouped into chunks and run on. Each recording's iterations are exactly those of
fitting it alone: only the grouping changes. A block's results are written into the host arrays
of the result before the next block starts, so memory is the data, the result and one block.

Devices. With several devices (``jax.devices()``, all hosts of a ``jax.distributed`` run) a chunk
holds ``chunk_size()`` recordings per device and is split over them with ``jax.shard_map``: each
device iterates its own rows (no synchronisation inside the loop). Every process must drive the
same batch (SPMD); results are gathered to every process.
"""

import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fitting.engine import solvers
from fitting.engine.problem import prepare, residual_fn
from fitting.engine.statistics import finish

BLOCK_CHUNKS = 32    # chunks scheduled together before their results are written out
STAGE_LIMITS = (4, 16)  # iteration limits of the solver stages (the last one is max_steps)
_CHUNK = {"cpu": 128}
_ACCELERATOR_CHUNK = 4096


def chunk_size():
    """Recordings per device in one compiled chunk (128 on CPU, 4096 on GPU/TPU)."""
    return _CHUNK.get(jax.default_backend(), _ACCELERATOR_CHUNK)


def fit_one(config, v, i, sigma, mask):
    """Fit one recording (arrays of shape (n,)); returns a dict of arrays (no batch dims).
    The reference the batch programs reproduce (used by tests and by nothing else)."""
    problem = prepare(config, v, i, sigma, mask)
    solved = solvers.SOLVERS[config.method](residual_fn(config.model, problem), problem["theta0"],
                                            config.max_steps)
    return finish(config, problem, solved)


@functools.lru_cache(maxsize=None)
def _mesh(n_devices):
    devices = jax.devices()
    assert len(devices) == n_devices, (len(devices), n_devices)
    return Mesh(np.asarray(devices), ("batch",))


def _per_device(config, fn, batched, *args):
    """``fn(*args)`` on each device's rows (``batched``: which args have a batch axis)."""
    if config.n_devices == 1:
        return fn(*args)
    specs = tuple(PartitionSpec("batch") if b else PartitionSpec() for b in batched)
    return jax.shard_map(fn, mesh=_mesh(config.n_devices), in_specs=specs,
                         out_specs=PartitionSpec("batch"), check_vma=False)(*args)


def _strong(tree):
    """Leaves without weak types: a state that went through the host (staging) then has the
    types of one that did not, and the next program is not compiled twice."""
    return jax.tree_util.tree_map(lambda x: x.astype(x.dtype), tree)


def _start(config, v, i, sigma, mask):
    solver = solvers.SOLVERS[config.method]

    def one(v, i, sigma, mask):
        problem = prepare(config, v, i, sigma, mask)
        return problem, solver.init(residual_fn(config.model, problem), problem["theta0"])

    return _strong(_per_device(config, jax.vmap(one), (True,) * 4, v, i, sigma, mask))


def _run(config, problem, state, limit):
    solver = solvers.SOLVERS[config.method]

    def rows(problem, state, limit):
        return jax.vmap(lambda p, s: solver.run(residual_fn(config.model, p), s, limit))(
            problem, state)

    return _strong(_per_device(config, rows, (True, True, False), problem, state, limit))


def _finish(config, problem, state):
    solver = solvers.SOLVERS[config.method]

    def one(p, s):
        return finish(config, p, solver.finish(residual_fn(config.model, p), s))

    return _per_device(config, jax.vmap(one), (True, True), problem, state)


# XLA's backend optimisation off: compilation dominates the time to a first result, and the
# unoptimised programs run the batch about as fast (bench/bench_sizes.py measures both).
_OPTIONS = {"xla_backend_optimization_level": 0}
start = jax.jit(_start, static_argnums=0, compiler_options=_OPTIONS)
run = jax.jit(_run, static_argnums=0, compiler_options=_OPTIONS)
finish_chunk = jax.jit(_finish, static_argnums=0, compiler_options=_OPTIONS)


def cache_size():
    """Number of compiled programs held (three per problem kind; batch sizes add none)."""
    return start._cache_size() + run._cache_size() + finish_chunk._cache_size()


def _to_device(config, tree):
    if config.n_devices == 1:
        return jax.device_put(tree)
    sharding = NamedSharding(_mesh(config.n_devices), PartitionSpec("batch"))
    return jax.tree_util.tree_map(
        lambda x: jax.make_array_from_callback(x.shape, sharding, lambda index: x[index]), tree)


def _to_host(tree):
    """Device arrays -> NumPy on every process (gathered across hosts when there are several)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


def _take(tree, rows):
    return jax.tree_util.tree_map(lambda x: x[rows], tree)


def _put_rows(dst, rows, src):
    """dst[rows] = src[:len(rows)] for every leaf (host arrays, in place)."""
    jax.tree_util.tree_map(lambda d, x: d.__setitem__(rows, x[:len(rows)]), dst, src)


def _concat(trees):
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *trees)


def _solve_block(config, chunks):
    """Start, run (staged) and finish the chunks of one block; returns their outputs (host)."""
    width = chunks[0][0].shape[0]
    started = [start(config, *_to_device(config, c)) for c in chunks]
    problems = [p for p, _ in started]
    limits = [min(x, config.max_steps) for x in STAGE_LIMITS] + [config.max_steps]
    if len(chunks) == 1:
        states = [run(config, problems[0], started[0][1], config.max_steps)]
    else:
        states = [run(config, p, s, limits[0]) for p, s in started]
        states = _staged(config, problems, _concat(_to_host(states)), limits[1:], width)
    return [_to_host(finish_chunk(config, p, s)) for p, s in zip(problems, states)]


def _staged(config, problems, state, limits, width):
    """Run the unfinished rows of ``state`` (host arrays of the whole block) stage by stage,
    regrouped into chunks; returns the block's states per chunk (device)."""
    host_problem = None
    for limit in limits:
        pending = np.flatnonzero(~state["done"])
        if pending.size == 0:
            break
        if host_problem is None:
            host_problem = _concat(_to_host(problems))
        groups = [pending[k:k + width] for k in range(0, pending.size, width)]
        runs = []
        for rows in groups:
            rows_full = np.resize(rows, width)  # pad with repeats: they run identically
            runs.append(run(config, _to_device(config, _take(host_problem, rows_full)),
                            _to_device(config, _take(state, rows_full)), limit))
        for rows, new in zip(groups, runs):
            _put_rows(state, rows, _to_host(new))
    return [_to_device(config, _take(state, slice(k * width, (k + 1) * width)))
            for k in range(len(problems))]


def fit_rows(config, source, size, width):
    """Fit ``size`` recordings in chunks of ``width`` rows.

    Args:
      config: the ``FitConfig``.
      source: callable (lo, hi) -> host arrays (v, i, sigma, mask) of shape (width, n) holding
        recordings lo..hi-1 in their first hi - lo rows (the rest padding).
      size: number of recordings.
      width: rows per chunk (``chunk_size() * config.n_devices``).

    Returns:
      dict of NumPy arrays with leading axis ``size`` (the fields of ``FitResult`` but
      ``n_masked``).
    """
    out = None
    block = width * BLOCK_CHUNKS
    for lo in range(0, size, block):
        hi = min(lo + block, size)
        bounds = [(a, min(a + width, hi)) for a in range(lo, hi, width)]
        results = _solve_block(config, [source(a, b) for a, b in bounds])
        for (a, b), result in zip(bounds, results):
            if out is None:
                out = jax.tree_util.tree_map(
                    lambda x: np.empty((size,) + x.shape[1:], x.dtype), result)
            _put_rows(out, np.arange(a, b), result)
    return out
