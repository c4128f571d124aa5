"""The compiled batch fit: one recording's pipeline, vmapped over a padded batch, solved in
stages when the batch is large, sharded over devices.

One recording: ``problem.prepare`` (masking, weights, scaling, starting values) -> a solver of
``solvers.SOLVERS`` -> ``statistics.finish`` (covariance, status, derived quantities, criteria).
Every function here runs under ``jax.jit`` with a ``FitConfig`` as its one static argument.
"""

import functools

import jax
import jax.numpy as jnp

from fitting.engine import solvers
from fitting.engine.problem import prepare, residual_fn
from fitting.engine.statistics import finish

CHUNK = 128  # recordings per vmapped chunk of a large batch
# Batches of at most this many recordings (per device) are compiled, on CPU, with XLA's backend
# optimisation off: compilation dominates the first call for such batches, while the run time of
# the unoptimised program stays small. Larger batches get the fully optimised program.
QUICK_COMPILE_MAX = 1024
_QUICK_OPTIONS = {"xla_backend_optimization_level": 0}
# Iteration limits of the solver stages of a large batch (the last one is max_steps).
STAGE_LIMITS = (4, 16)


def fit_one(config, v, i, sigma, mask):
    """Fit one recording (arrays of shape (n,)); returns a dict of arrays (no batch dims)."""
    problem = prepare(config, v, i, sigma, mask)
    solved = solvers.SOLVERS[config.method](residual_fn(config.model, problem), problem["theta0"],
                                            config.max_steps)
    return finish(config, problem, solved)


def _staged(config, v, i, sigma, mask):
    """Fit the (B, n) recordings of one device with the solver run in stages.

    A vmapped while loop runs until the slowest member of its chunk is done, so with chunks in
    input order a few slow recordings would hold up many. Instead every recording is prepared
    and started; then, per stage, the recordings are sorted with the unfinished first and run in
    chunks up to the stage's iteration limit (``STAGE_LIMITS``, then ``max_steps``). Chunks of
    finished recordings exit at once, and the slow ones share chunks with each other. Each
    recording's iterations are exactly those of ``fit_one``: only the grouping changes.
    """
    solver = solvers.SOLVERS[config.method]
    model = config.model

    def chunked(fn, *xs):
        return jax.lax.map(lambda args: fn(*args), xs, batch_size=CHUNK)

    problems = chunked(functools.partial(prepare, config), v, i, sigma, mask)
    states = chunked(lambda p: solver.init(residual_fn(model, p), p["theta0"]), problems)
    limits = jnp.asarray([min(x, config.max_steps) for x in STAGE_LIMITS] + [config.max_steps])

    def stage(k, carry):
        problems, states, order = carry
        perm = jnp.argsort(states["done"], stable=True)  # unfinished (False) first
        problems, states, order = jax.tree_util.tree_map(lambda x: x[perm],
                                                         (problems, states, order))
        states = chunked(lambda p, s: solver.run(residual_fn(model, p), s, limits[k]),
                         problems, states)
        return problems, states, order

    order = jnp.arange(v.shape[0])
    problems, states, order = jax.lax.fori_loop(0, len(limits), stage, (problems, states, order))
    inverse = jnp.argsort(order)
    problems, states = jax.tree_util.tree_map(lambda x: x[inverse], (problems, states))
    return chunked(lambda p, s: finish(config, p, solver.finish(residual_fn(model, p), s)),
                   problems, states)


def _fit_batch(config, v, i, sigma, mask):
    """Fit the leading axis of (B, n) arrays.

    The batch is split into ``config.n_devices`` shards (one per device, vmapped, so that GSPMD
    keeps them on their devices). A shard of at most ``CHUNK`` recordings is one vmapped
    ``fit_one``; a larger one is fitted in stages (``_staged``) so that the few slow recordings
    do not hold up the rest.
    """
    n_devices = config.n_devices
    per_device = v.shape[0] // n_devices

    def shard(v, i, sigma, mask):
        if per_device <= CHUNK:  # one chunk: no loop around it (a smaller program to compile)
            return jax.vmap(functools.partial(fit_one, config))(v, i, sigma, mask)
        return _staged(config, v, i, sigma, mask)

    split = [x.reshape((n_devices, per_device) + x.shape[1:]) for x in (v, i, sigma, mask)]
    out = jax.vmap(shard)(*split)
    return jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), out)


fit_batch = jax.jit(_fit_batch, static_argnums=0)
fit_batch_quick = jax.jit(_fit_batch, static_argnums=0, compiler_options=_QUICK_OPTIONS)


def compiled_fit(batch_size, n_devices):
    """The jitted batch fit for a padded batch of ``batch_size`` over ``n_devices`` devices:
    ``fit_batch_quick`` for small batches on CPU, else ``fit_batch``. Called as
    ``compiled(config, v, i, sigma, mask)`` with (B, n) arrays."""
    small = batch_size // n_devices <= QUICK_COMPILE_MAX
    return fit_batch_quick if small and jax.default_backend() == "cpu" else fit_batch


def cache_size():
    """Number of compiled batch fits held (both variants): grows by one per new bucket."""
    return fit_batch._cache_size() + fit_batch_quick._cache_size()
