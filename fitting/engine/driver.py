"""The batch fit: one compiled program on a fixed-size block of recordings, for any batch.

For each problem kind (``FitConfig``: model, method, max_steps, sigma flag, devices; and the
dtype and the number of points, padded to a multiple of 8) one program is compiled, once per
process (and loaded from the persistent cache after the first process on a machine, see
``fitting.engine.cache``). It fits a block of ``block_size()`` recordings per device (4096 on CPU:
32 chunks of 128) of which the first ``n_rows`` are real; the number of chunks it works on is
data (loops with traced trip counts), so a block holding 7 recordings costs about one chunk, and
every batch size runs the same program: no batch size compiles again. The host drives a batch
through it block by block and writes each block's results into the host arrays of the result,
so memory is the data, the result and a block or two.

Inside a block. Every recording is prepared (``problem.prepare``: masking, weights, scaling,
starting values) and started chunk by chunk (vmapped). A vmapped while loop runs until the
slowest member of its chunk is done, so with chunks in input order a few slow recordings would
hold up many; instead, per stage (``STAGE_LIMITS``, then ``max_steps`` iterations), the
recordings are sorted with the unfinished first and only the chunks holding unfinished ones run.
Each recording's iterations are exactly those of fitting it alone: only the grouping changes.
Then ``statistics.finish`` (covariance, status, derived quantities, criteria) per chunk.

Devices. With several devices (``jax.devices()``, all hosts of a ``jax.distributed`` run) a
block holds ``block_size()`` recordings per device and ``jax.shard_map`` gives each device its
own: every device runs its own loops (no synchronisation inside them). Every process must drive
the same batch (SPMD); results are gathered to every process.
"""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from fitting.engine import solvers
from fitting.engine.problem import prepare, residual_fn
from fitting.engine.statistics import finish

BLOCK_CHUNKS = 32  # chunks per block
STAGE_LIMITS = (4, 16)  # iteration limits of the solver stages (the last one is max_steps)
_CHUNK = {"cpu": 128}  # recordings per vmapped chunk
_ACCELERATOR_CHUNK = 4096


def chunk_size():
    """Recordings per vmapped chunk (128 on CPU, 4096 on GPU/TPU)."""
    return _CHUNK.get(jax.default_backend(), _ACCELERATOR_CHUNK)


def block_size():
    """Recordings per device in one call of the compiled program."""
    return BLOCK_CHUNKS * chunk_size()


@functools.lru_cache(maxsize=None)
def _mesh(n_devices):
    devices = jax.devices()
    assert len(devices) == n_devices, (len(devices), n_devices)
    return Mesh(np.asarray(devices), ("batch",))


def _chunks(fn, n_chunks, width, *trees):
    """Apply ``fn`` (chunk trees -> chunk tree) to the first ``n_chunks`` (traced) chunks of
    ``width`` rows of ``trees``; returns the (S, ...) result, zeros beyond those chunks."""
    def piece(k):
        return fn(*jax.tree_util.tree_map(
            lambda x: jax.lax.dynamic_slice_in_dim(x, k * width, width), trees))

    shapes = jax.eval_shape(piece, 0)
    size = jax.tree_util.tree_leaves(trees)[0].shape[0]
    out = jax.tree_util.tree_map(lambda s: jnp.zeros((size,) + s.shape[1:], s.dtype), shapes)

    def body(k, out):
        return jax.tree_util.tree_map(
            lambda o, x: jax.lax.dynamic_update_slice_in_dim(o, x, k * width, 0), out, piece(k))

    return jax.lax.fori_loop(0, n_chunks, body, out)


def _block(config, v, i, sigma, mask, n_rows):
    """Fit the first ``n_rows[0]`` of the (S, n) recordings of one device (see the module)."""
    solver, model = solvers.SOLVERS[config.method], config.model
    width = chunk_size()
    size = v.shape[0]
    active = -(-n_rows[0] // width)

    def start(v, i, sigma, mask):
        def one(v, i, sigma, mask):
            problem = prepare(config, v, i, sigma, mask)
            return problem, solver.init(residual_fn(model, problem), problem["theta0"])
        return jax.vmap(one)(v, i, sigma, mask)

    def run(limit):
        return lambda p, s: jax.vmap(
            lambda p, s: solver.run(residual_fn(model, p), s, limit))(p, s)

    problems, states = _chunks(start, active, width, v, i, sigma, mask)
    started = jnp.arange(size) < active * width
    limits = jnp.asarray([min(x, config.max_steps) for x in STAGE_LIMITS] + [config.max_steps])

    def stage(k, carry):
        problems, states, order, started = carry
        waiting = started & ~states["done"]
        perm = jnp.argsort(~waiting, stable=True)  # unfinished first
        problems, states, order, started = jax.tree_util.tree_map(
            lambda x: x[perm], (problems, states, order, started))
        n_run = -(-jnp.sum(waiting) // width)
        ran = _chunks(run(limits[k]), n_run, width, problems, states)
        keep = jnp.arange(size) >= n_run * width
        states = jax.tree_util.tree_map(
            lambda old, new: jnp.where(keep.reshape((-1,) + (1,) * (old.ndim - 1)), old, new),
            states, ran)
        return problems, states, order, started

    order = jnp.arange(size)
    problems, states, order, started = jax.lax.fori_loop(
        0, len(limits), stage, (problems, states, order, started))
    inverse = jnp.argsort(order)
    problems, states = jax.tree_util.tree_map(lambda x: x[inverse], (problems, states))

    def done(p, s):
        return jax.vmap(lambda p, s: finish(config, p, solver.finish(residual_fn(model, p), s)))(
            p, s)

    return _chunks(done, active, width, problems, states)


def _block_in_vmap(config, *args):
    """``_block`` under a ``jax.vmap`` over an added axis of size 1. Same results; XLA runs the
    batched form of its loops about twice as fast on CPU (``python bench/bench_scaling.py``:
    24.2 -> 10.9 us/curve at 1e4 curves; main before issue 12 had the same outer vmap, over
    devices)."""
    out = jax.vmap(functools.partial(_block, config))(*[x[None] for x in args])
    return jax.tree_util.tree_map(lambda x: x[0], out)


def _per_device(config, *args):
    if config.n_devices == 1:
        return _block_in_vmap(config, *args)
    spec = PartitionSpec("batch")
    return jax.shard_map(functools.partial(_block_in_vmap, config),
                         mesh=_mesh(config.n_devices), in_specs=(spec,) * len(args),
                         out_specs=spec, check_vma=False)(*args)


# ``FitConfig.fast_compile``: XLA's backend optimisation off. About half the compile time; a
# large batch runs several times slower. The default optimises fully (and the persistent cache
# keeps the result).
FAST_OPTIONS = {"xla_backend_optimization_level": 0}
fit_block = jax.jit(_per_device, static_argnums=0)
fit_block_fast = jax.jit(_per_device, static_argnums=0, compiler_options=FAST_OPTIONS)
PROGRAMS = [fit_block, fit_block_fast]  # jitted block programs (``exported`` adds its own)


def compiler_options(config):
    """The XLA options of ``config``'s program."""
    return FAST_OPTIONS if config.fast_compile else {}


def default_fast_compile():
    """``fast_compile`` when the caller does not say: $IONJAX_FAST_COMPILE (1: on), else off."""
    return os.environ.get("IONJAX_FAST_COMPILE", "0") not in ("", "0")


def cache_size():
    """Number of compiled programs held (one per problem kind; batch sizes add none)."""
    return sum(program._cache_size() for program in PROGRAMS)


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


def fit_rows(config, source, size, program=None):
    """Fit ``size`` recordings block by block.

    Args:
      config: the ``FitConfig``.
      source: callable (lo, hi) -> host arrays (v, i, sigma, mask) of shape (block_size(), n)
        holding recordings lo..hi-1 in their first hi - lo rows (the rest padding).
      size: number of recordings.
      program: callable(*arrays) running the block program of ``config`` (default
        ``fit_block``; ``fitting.engine.exported`` gives a deserialized one).

    Each block takes up to ``block_size()`` recordings per device, split evenly over the
    devices (each device's share contiguous).

    Returns:
      dict of NumPy arrays with leading axis ``size`` (the fields of ``FitResult`` but
      ``n_masked``).
    """
    per_device, n_dev = block_size(), config.n_devices
    out, pending = None, []

    def collect():
        nonlocal out
        pieces, result = pending.pop(0)
        result = _to_host(result)
        if out is None:
            out = jax.tree_util.tree_map(
                lambda x: np.empty((size,) + x.shape[1:], x.dtype), result)
        for d, (lo, hi) in enumerate(pieces):
            jax.tree_util.tree_map(
                lambda dst, x: dst.__setitem__(slice(lo, hi), x[d * per_device:][:hi - lo]),
                out, result)

    for lo in range(0, size, per_device * n_dev):
        share = -(-min(per_device * n_dev, size - lo) // n_dev)
        pieces = [(min(lo + d * share, size), min(lo + (d + 1) * share, size))
                  for d in range(n_dev)]
        parts = [source(a, b) for a, b in pieces]
        arrays = tuple(np.concatenate(x) for x in zip(*parts)) + (
            np.array([b - a for a, b in pieces], np.int32),)
        if program is None:
            program = functools.partial(fit_block_fast if config.fast_compile else fit_block,
                                        config)
        pending.append((pieces, program(*_to_device(config, arrays))))
        if len(pending) > 1:  # the next block runs while this one is fetched
            collect()
    while pending:
        collect()
    return out
