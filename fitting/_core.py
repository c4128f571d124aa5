"""The compiled per-recording fit, vmapped over a (padded) batch (solved in stages when large).

For one recording with valid points V (mask, finite v and i, positive sigma):

1. starting values: for built-in models, variable projection on a grid of the nonlinear
   parameters (weighted linear least squares for the amplitudes at each grid point, best kept);
   for a user ``Model``, its given values;
2. internal scaling: theta = x / s for each parameter x (s = |starting value|, or a model floor
   when 0), or theta = log(x / s) for positive ones; residuals divided by sigma, or by the RMS
   current when sigma is None. Everything the solver sees is O(1), so float32 works;
3. the solver (``fitting._solver``);
4. covariance from the Jacobian J of the residuals at the optimum (through its QR factors):
   C = s^2 (J^T J)^{-1} with s^2 = RSS / (n - k) when sigma is None (as scipy's curve_fit with
   absolute_sigma=False), C = (J^T W J)^{-1} with W = 1/sigma^2 otherwise; derived quantities get
   the delta-method covariance G C G^T. A rank-deficient J (parameters that the data cannot
   separate, e.g. three monovalent permeabilities from one I-V curve) gives status SINGULAR.
"""

import functools

import jax
import jax.numpy as jnp

from fitting import _solver
from fitting._linalg import gram_inverse, spd_solve_entries


def _param_arrays(model, dtype):
    floors, positive = [], []
    for spec in model.specs:
        floors += [spec.floor] * spec.size
        positive += [spec.positive] * spec.size
    return jnp.asarray(floors, dtype), jnp.asarray(positive)


def _linear_start(model, v, i, w, valid):
    """Variable projection over the model's grid of nonlinear parameters theta.

    With basis currents phi_j = gate(v; theta) h_j(v) and weights u = w^2, the normal equations
    of every grid point come from two matrix products over the n points:
    A_ab(theta) = sum_n gate^2 (u h_a h_b) and b_a(theta) = sum_n gate (u h_a i), i.e.
    (G, n) @ (n, m(m+1)/2) and (G, n) @ (n, m). Each A a = b (Jacobi-equilibrated, unrolled
    Cholesky) gives the amplitudes and RSS = sum u i^2 - a.b; the best grid point whose
    parameters are finite and respect the model's positivity constraints is kept.

    Args:
      v, i, w: (n,) voltages [V], currents [A], weights [1/A] (0 at masked points).
      valid: (n,) bool, the points in use.

    Returns:
      (k,) starting parameter vector [SI]; NaN entries when no grid point is admissible.
    """
    grid = model.grid(v, valid)  # (G, q)
    gate = model.gate(grid, v)  # (G, n)
    h = model.features(v)
    m = len(h)
    u = w * w
    pairs = [(a, b) for a in range(m) for b in range(a, m)]
    gram = (gate * gate) @ jnp.stack([u * h[a] * h[b] for a, b in pairs], axis=-1)
    rhs = gate @ jnp.stack([u * h[a] * i for a in range(m)], axis=-1)  # (G, m)
    entry = {pair: gram[:, c] for c, pair in enumerate(pairs)}  # A_ab, each (G,)
    d = [jnp.sqrt(entry[a, a]) for a in range(m)]
    d = [jnp.where(x > 0, x, 1.0) for x in d]
    equilibrated = [[entry[min(a, b), max(a, b)] / (d[a] * d[b]) for b in range(m)]
                    for a in range(m)]
    amplitudes = spd_solve_entries(equilibrated, [rhs[:, a] / d[a] for a in range(m)])
    amplitudes = [x / d_a for x, d_a in zip(amplitudes, d)]
    rss = jnp.sum(u * i * i) - sum(x * rhs[:, a] for a, x in enumerate(amplitudes))
    x = model.flatten(model.from_linear(jnp.stack(amplitudes, axis=-1), grid))  # (G, k)
    _, positive = _param_arrays(model, x.dtype)
    admissible = jnp.all(jnp.isfinite(x) & (~positive | (x > 0)), axis=-1) & jnp.isfinite(rss)
    rss = jnp.where(admissible, rss, jnp.inf)
    # argmin as two plain reductions (a variadic argmin reduce vectorises poorly on CPU)
    grid_index = jnp.arange(rss.shape[0])
    best = jnp.min(jnp.where(rss == jnp.min(rss), grid_index, rss.shape[0] - 1))
    return jnp.where(admissible[best], x[best], jnp.nan)


def _physical(model, problem, theta):
    """Internal parameters theta -> physical x [SI] (log-scaled for positive parameters)."""
    _, positive = _param_arrays(model, theta.dtype)
    scale = problem["scale"]
    return jnp.where(positive, scale * jnp.exp(jnp.where(positive, theta, 0.0)), scale * theta)


def _residual(model, problem):
    """theta (k,) -> weighted residuals (n,) of one recording (0 at unused points)."""
    def residual(theta):
        f = model.current(model.unflatten(_physical(model, problem, theta)), problem["v"])
        return jnp.where(problem["valid"], problem["w"] * (problem["i"] - f), 0.0)
    return residual


def _prepare(model, has_sigma, v, i, sigma, mask):
    """One recording (arrays (n,)) -> the problem the solver sees: masked data, weights,
    internal scale and starting point theta0 (see the module docstring)."""
    dtype = i.dtype
    valid = mask & jnp.isfinite(v) & jnp.isfinite(i)
    if has_sigma:
        valid = valid & jnp.isfinite(sigma) & (sigma > 0)
    n_valid = jnp.sum(valid)
    v0 = jnp.where(valid, v, 0.0)
    i0 = jnp.where(valid, i, 0.0)
    i_scale = jnp.sqrt(jnp.sum(i0 * i0) / jnp.maximum(n_valid, 1))
    i_scale = jnp.where(i_scale > 0, i_scale, 1.0)
    w = jnp.where(valid, 1.0 / (jnp.where(valid, sigma, 1.0) if has_sigma else i_scale), 0.0)

    floors, positive = _param_arrays(model, dtype)
    if model.has_linear_form:
        x0 = _linear_start(model, v0, i0, w, valid)
    else:
        x0 = model.start_vector(dtype)
    ok = jnp.isfinite(x0) & (x0 != 0) & (~positive | (x0 > 0))
    scale = jnp.where(ok, jnp.abs(x0), floors)
    x0 = jnp.where(ok, x0, scale)
    theta0 = jnp.where(positive, 0.0, x0 / scale)
    return dict(v=v0, i=i0, w=w, valid=valid, n_valid=n_valid, scale=scale, theta0=theta0)


def _finish(model, has_sigma, problem, solved):
    """Covariance, derived quantities, status and information criteria of one solved recording;
    ``solved`` is what a solver's ``finish`` returns. Returns a dict of arrays."""
    theta, n_steps, status, r, jac = solved
    dtype = theta.dtype
    k = model.n_params
    _, positive = _param_arrays(model, dtype)
    valid, w, n_valid, scale = problem["valid"], problem["w"], problem["n_valid"], problem["scale"]
    x = _physical(model, problem, theta)
    chi2 = jnp.sum(r * r)
    w_safe = jnp.where(valid, w, 1.0)
    rss = jnp.sum(jnp.where(valid, (r / w_safe) ** 2, 0.0))
    # the solver's Jacobian is d r / d theta; d psi / d theta = x / scale for log-scaled
    # parameters and 1 otherwise, with psi = x / scale
    jac = jac / jnp.where(positive, x / scale, 1.0)[None, :]
    dof = n_valid - k
    s2 = jnp.where(dof > 0, chi2 / jnp.maximum(dof, 1), jnp.nan) if not has_sigma else 1.0
    # The covariance is kept in units of the scale (cov_psi, O(1)): in SI, var(p) ~ 1e-39
    # (m^3/s)^2 would underflow float32. FitResult.covariance converts on demand.
    inverse, singular = gram_inverse(jac, 64 * jnp.finfo(dtype).eps)
    cov_psi = s2 * inverse

    too_few = n_valid < k
    status = jnp.where(too_few, _solver.TOO_FEW_POINTS, status)
    status = jnp.where((status == _solver.CONVERGED) & ~jnp.all(jnp.isfinite(x)),
                       _solver.NON_FINITE, status)
    status = jnp.where((status == _solver.CONVERGED) & singular, _solver.SINGULAR, status)
    failed = (status != _solver.CONVERGED) & (status != _solver.MAX_STEPS)
    x = jnp.where(failed, jnp.nan, x)
    cov_psi = jnp.where(failed, jnp.nan, cov_psi)

    params = model.unflatten(x)
    stderr = model.unflatten(jnp.sqrt(jnp.diag(cov_psi)) * scale)
    derived_fn = lambda x: model.derived(model.unflatten(x))  # noqa: E731
    derived = derived_fn(x)
    if derived:
        jac_d = jax.jacfwd(derived_fn)(x)
        for key, value in derived.items():
            g = jnp.reshape(jac_d[key], (-1, k)) * scale  # d derived / d psi
            var = jnp.einsum("ak,kl,al->a", g, cov_psi, g)
            params[key] = value
            stderr[key] = jnp.reshape(jnp.sqrt(var), jnp.shape(value))

    n = n_valid.astype(dtype)
    ic_loss = chi2 if has_sigma else rss
    log_like = n * jnp.log(ic_loss / n)
    big = jnp.finfo(dtype).max
    vmin = jnp.min(jnp.where(valid, problem["v"], big))
    vmax = jnp.max(jnp.where(valid, problem["v"], -big))
    return dict(
        params=params, stderr=stderr, cov_scaled=cov_psi, param_scale=scale,
        loss=jnp.where(failed, jnp.nan, chi2 if has_sigma else rss),
        rmse=jnp.where(failed, jnp.nan, jnp.sqrt(rss / n)),
        aic=jnp.where(failed, jnp.nan, log_like + 2 * k),
        bic=jnp.where(failed, jnp.nan, log_like + k * jnp.log(n)),
        n_steps=n_steps, status=status, n_points=n_valid,
        v_range=jnp.stack([vmin, vmax]),
    )


CHUNK = 128
# Batches of at most this many recordings (per device) are compiled, on CPU, with XLA's backend
# optimisation off: that saves 0.5-1.5 s of the first call's compilation, which dominates for
# such batches, at a run time of under 0.1 s (several times the optimised program's).
# Larger batches get the fully optimised program, whose run time matters.
QUICK_COMPILE_MAX = 1024
_QUICK_OPTIONS = {"xla_backend_optimization_level": 0}


def fit_one(model, method, max_steps, has_sigma, v, i, sigma, mask):
    """Fit one recording (arrays of shape (n,)); returns a dict of arrays (no batch dims)."""
    problem = _prepare(model, has_sigma, v, i, sigma, mask)
    solved = _solver.SOLVERS[method](_residual(model, problem), problem["theta0"], max_steps)
    return _finish(model, has_sigma, problem, solved)


# Iteration limits of the solver stages of a large batch (the last one is max_steps).
STAGE_LIMITS = (4, 16)


def _staged(model, method, max_steps, has_sigma, v, i, sigma, mask):
    """Fit the (B, n) recordings of one device with the solver run in stages.

    A vmapped while loop runs until the slowest member of its chunk is done, so with chunks in
    input order a few slow recordings would hold up many. Instead every recording is prepared
    and started; then, per stage, the recordings are sorted with the unfinished first and run in
    chunks up to the stage's iteration limit (``STAGE_LIMITS``, then ``max_steps``). Chunks of
    finished recordings exit at once, and the slow ones share chunks with each other. Each
    recording's iterations are exactly those of ``fit_one``: only the grouping changes.
    """
    solver = _solver.SOLVERS[method]

    def chunked(fn, *xs):
        return jax.lax.map(lambda args: fn(*args), xs, batch_size=CHUNK)

    problems = chunked(functools.partial(_prepare, model, has_sigma), v, i, sigma, mask)
    states = chunked(lambda p: solver.init(_residual(model, p), p["theta0"]), problems)
    limits = jnp.asarray([min(x, max_steps) for x in STAGE_LIMITS] + [max_steps])

    def stage(k, carry):
        problems, states, order = carry
        perm = jnp.argsort(states["done"], stable=True)  # unfinished (False) first
        problems, states, order = jax.tree_util.tree_map(lambda x: x[perm],
                                                         (problems, states, order))
        states = chunked(lambda p, s: solver.run(_residual(model, p), s, limits[k]),
                         problems, states)
        return problems, states, order

    order = jnp.arange(v.shape[0])
    problems, states, order = jax.lax.fori_loop(0, len(limits), stage, (problems, states, order))
    inverse = jnp.argsort(order)
    problems, states = jax.tree_util.tree_map(lambda x: x[inverse], (problems, states))
    return chunked(lambda p, s: _finish(model, has_sigma, p, solver.finish(_residual(model, p), s)),
                   problems, states)


def _fit_batch(model, method, max_steps, has_sigma, n_devices, v, i, sigma, mask):
    """Fit the leading axis of (B, n) arrays.

    The batch is split into ``n_devices`` shards (one per device, vmapped, so that GSPMD keeps
    them on their devices). A shard of at most ``CHUNK`` recordings is one vmapped ``fit_one``;
    a larger one is fitted in stages (``_staged``) so that the few slow recordings do not hold
    up the rest.
    """
    per_device = v.shape[0] // n_devices

    def shard(v, i, sigma, mask):
        if per_device <= CHUNK:  # one chunk: no loop around it (a smaller program to compile)
            return jax.vmap(functools.partial(fit_one, model, method, max_steps, has_sigma))(
                v, i, sigma, mask)
        return _staged(model, method, max_steps, has_sigma, v, i, sigma, mask)

    split = [x.reshape((n_devices, per_device) + x.shape[1:]) for x in (v, i, sigma, mask)]
    out = jax.vmap(shard)(*split)
    return jax.tree_util.tree_map(lambda x: x.reshape((-1,) + x.shape[2:]), out)


_STATIC = (0, 1, 2, 3, 4)
fit_batch = jax.jit(_fit_batch, static_argnums=_STATIC)
fit_batch_quick = jax.jit(_fit_batch, static_argnums=_STATIC, compiler_options=_QUICK_OPTIONS)


def compiled_fit(batch_size, n_devices):
    """The jitted batch fit for a padded batch of ``batch_size`` over ``n_devices`` devices:
    ``fit_batch_quick`` for small batches on CPU, else ``fit_batch``."""
    small = batch_size // n_devices <= QUICK_COMPILE_MAX
    return fit_batch_quick if small and jax.default_backend() == "cpu" else fit_batch


def cache_size():
    """Number of compiled batch fits held (both variants): grows by one per new bucket."""
    return fit_batch._cache_size() + fit_batch_quick._cache_size()
