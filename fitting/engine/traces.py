"""``fit_traces``: gating models fitted to whole voltage-clamp traces, many cells in one call.

For cell c with samples (t_n, V_n, I_n), used points M (the mask), noise sigma_c and reversal
E_c, the parameters x (rates, sensitivities, g of a ``fitting.models.trace.TraceModel``)
minimise the Gaussian negative log-likelihood of the paper (Beattie et al. 2018),

    loss = |M|/2 ln(2 pi sigma_c^2) + chi^2 / 2,   chi^2 = sum_{n in M} ((I_n - I(t_n; x)) / sigma_c)^2,

(sigma in A; the paper's values, sigma in nA, are larger by |M| ln(1e9): compare chi^2)

by the engine's Levenberg-Marquardt (``fitting.engine.solvers``) on theta = ln(x / x_start):
every parameter is positive and fitted in log space, the Jacobian by forward mode through the
associative scan of the exact gating steps. Cells x starts run as one vmapped, jitted program:
every start is iterated ``screen_steps`` times on every ``screen_every``-th sample (the exact
steps hold for any sample interval; the coarse problem only ranks the starts), the best of each cell (lowest chi^2 among the
starts whose rates lie inside the plausibility bounds, else the lowest) is iterated to
convergence. g of every start is first set by linear least squares (the current is linear in g).

Statuses (``Status``): CONVERGED / MAX_STEPS are usable; NON_FINITE; SINGULAR (the Jacobian's
columns are dependent to 64 eps); UNIDENTIFIABLE (a parameter's 95% Wald interval spans more
than a factor 10 either way, se(ln x) > ln 10 / 1.96: the data do not pin it down);
OUT_OF_RANGE (a rate's fastest value over the protocol's voltages leaves ``RATE_BOUNDS``,
1.67e-5..1000 per ms: the optimum is implausible and refused). Unusable fits carry NaN parameters; the
solver's answer stays in ``estimate``. Standard errors: se(x) = x se(ln x), (J^T J)^{-1} of the
sigma-weighted Jacobian in ln x.
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fitting.engine import compiled, solvers, trace_inputs
from fitting.engine.linalg import gram_inverse
from fitting.engine.status import Status, usable
from fitting.engine.trace_result import WALD_DECADE, TraceFitResult
from fitting.models.trace import RATE_BOUNDS, TraceModel, beattie2018

__all__ = ["fit_traces", "sample_starts", "step_edge_mask"]

SCREEN_STEPS = 30  # iterations of every start before the best of each cell is kept
SCREEN_EVERY = 10  # the screening fits every 10th sample (1 ms steps of a 0.1 ms recording)
# cells solved one after another (True: lax.map) or vectorised (False: vmap): lax.map is 1.75x
# faster on 9 real cells on a CPU (bench/bench_trace_cells.py). The program holds no library
# (LAPACK) call: a batched LU inside these loops once left XLA's CPU runtime waiting forever
# (tests/test_trace_markov_fit.py::test_the_fit_program_calls_no_library_kernel)
IN_SEQUENCE = True
# the authors' prior (Beattie et al. 2018): rates 1e-7..1e3 per ms, sensitivities 1e-7..0.4 per mV
PRIOR_RATE = (1e-4, 1e6)  # [1/s]
PRIOR_SENSITIVITY = (1e-4, 400.0)  # [1/V]


def step_edge_mask(v: Any, dt: float, *, duration: float = 5e-3, jump: float = 2e-3,
                   lead: int = 2) -> np.ndarray:
    """True at the points to fit: False for ``duration`` after each step edge of the command.

    An edge is a change of more than ``jump`` [V] between consecutive samples (a sampled sine
    wave moves far less per sample); ``duration / dt`` points starting ``lead`` samples before
    the first sample at the new level (the filtered transient starts early) are left out. For
    the sine-wave protocol of Beattie et al. this gives the kept ranges of the dataset's README
    ([0, 2499), [2549, 2999), ...).

    Args:
      v: command voltages [V], shape (..., T); dt: sample interval [s].
    Returns:
      bool array of the shape of ``v``.
    """
    v = np.asarray(v, float)
    width = int(round(duration / dt))
    keep = np.ones(v.shape, bool)
    edges = np.abs(np.diff(v, axis=-1)) > jump  # edge between n - 1 and n at index n - 1
    for index in zip(*np.nonzero(edges)):
        *lead_idx, n = index
        start = max(n + 1 - lead, 0)  # n + 1: the first sample at the new level
        keep[tuple(lead_idx) + (slice(start, start + width),)] = False
    return keep


def sample_starts(model: TraceModel, n: int, v_min: float, v_max: float, *,
                  seed: int = 0) -> np.ndarray:
    """``n`` starting points (n, k) [SI] drawn from the authors' prior (rates log-uniform in
    1e-7..1e3 per ms, sensitivities uniform in 1e-7..0.4 per mV), kept only where each rate's
    fastest value over [v_min, v_max] [V] lies within ``RATE_BOUNDS``; g is set later by least
    squares (1 here)."""
    rng = np.random.default_rng(seed)
    m, found = len(model.rates), []
    lo, hi = np.log(RATE_BOUNDS[0]), np.log(RATE_BOUNDS[1])
    for _ in range(10000 * max(n, 1)):
        if len(found) == n:
            break
        a = np.exp(rng.uniform(np.log(PRIOR_RATE[0]), np.log(PRIOR_RATE[1]), m))
        b = rng.uniform(PRIOR_SENSITIVITY[0], PRIOR_SENSITIVITY[1], m)
        x = np.concatenate([np.stack([a, b], 1).ravel(), [1.0]])
        logk = model.fastest_log_rates(x, v_min, v_max)
        if np.all((logk > lo) & (logk < hi)):
            found.append(x)
    if len(found) < n:
        raise ValueError(f"no start within the rate bounds over [{v_min:g}, {v_max:g}] V: is the "
                         "protocol in volts?")
    return np.array(found)


def _norm(cell):
    """1 / |w i| over the used points: the solver sees residuals whose squares sum to O(1), so
    that its trust bound (``solvers.MAX_STEP`` equilibrated units) allows real steps; 80,000
    points of I / sigma ~ 100 would otherwise bound each step to ~1e-5 in ln x."""
    size = jnp.sqrt(jnp.sum(jnp.where(cell["valid"], cell["i"] * cell["w"], 0.0) ** 2))
    return 1.0 / jnp.where(size > 0, size, 1.0)


def _residual_fn(model, dt, cell, scale):
    """theta (k,) -> sigma-weighted residuals (T,) of one cell times ``_norm`` (0 at unused
    points)."""
    norm = _norm(cell)

    def residual(theta):
        x = scale * jnp.exp(theta)
        f = model.current(x, cell["v"], dt, cell["e_rev"])
        return jnp.where(cell["valid"], (cell["i"] - f) * cell["w"], 0.0) * norm
    return residual


def _start(model, dt, cell, x0):
    """Scale (k,) and theta0 of one start: g by linear least squares given the gating."""
    unit = x0.at[-1].set(1.0)
    shape = model.current(unit, cell["v"], dt, cell["e_rev"]) * cell["w"]
    shape = jnp.where(cell["valid"], shape, 0.0)
    g = jnp.sum(shape * cell["i"] * cell["w"]) / jnp.sum(shape * shape)
    g = jnp.where(jnp.isfinite(g) & (g > 0), g, 1e-9)
    return unit.at[-1].set(g), jnp.zeros_like(x0)


def _decimated(cell, q):
    """Every q-th sample of a cell (the screening problem: q times cheaper, same shape)."""
    return {k: (a[::q] if k in ("v", "i", "w", "valid") else a) for k, a in cell.items()}


def _solve(model, dt, screen, q, max_steps, cell, starts):
    """One cell (arrays (T,)) from starts (S, k): screen all on every q-th sample, finish the
    best on all samples."""
    coarse = _decimated(cell, q)

    def init(x0):
        scale, theta0 = _start(model, dt * q, coarse, x0)
        residual = _residual_fn(model, dt * q, coarse, scale)
        state = solvers.levenberg_marquardt.init(residual, theta0)
        return scale, solvers.levenberg_marquardt.run(residual, state, screen)

    scales, states = jax.vmap(init)(starts)
    x = scales * jnp.exp(states["theta"])
    inside = jax.vmap(lambda xs: _inside(model, xs, cell))(x)
    cost = jnp.where(jnp.isfinite(states["cost"]), states["cost"], jnp.inf)
    best = jnp.argmin(jnp.where(jnp.any(inside), jnp.where(inside, cost, jnp.inf), cost))
    residual = _residual_fn(model, dt, cell, x[best])
    state = solvers.levenberg_marquardt.init(residual, jnp.zeros_like(x[best]))
    state = solvers.levenberg_marquardt.run(residual, state, max_steps)
    theta, steps, status, r, jac = solvers.levenberg_marquardt.finish(residual, state)
    norm = _norm(cell)
    return _statistics(model, cell, x[best] * jnp.exp(theta), steps, status, r / norm,
                       jac / norm, best, cost / _norm(coarse) ** 2)


def _inside(model, x, cell):
    k_min, k_max = model.rate_extremes(x, cell["v_min"], cell["v_max"])
    return (k_min >= RATE_BOUNDS[0]) & (k_max <= RATE_BOUNDS[1])


def _statistics(model, cell, x, steps, status, r, jac, best, screened):
    """Covariance of ln x, standard errors, statuses and the loss of one solved cell."""
    dtype = x.dtype
    inverse, singular = gram_inverse(jac, 64 * jnp.finfo(dtype).eps)  # jac is d r / d ln x
    se_log = jnp.sqrt(jnp.diag(inverse))
    singular = singular | ~jnp.all(jnp.isfinite(jac))
    status = jnp.where(jnp.all(cell["i"] == 0), Status.NO_SIGNAL, status)
    # the plausibility bounds first: an implausible optimum is refused as such, whether or not
    # the data pin it down (a rate beyond them often leaves its gate instantaneous: singular)
    status = jnp.where((usable(status) | (status == Status.SINGULAR)) & ~_inside(model, x, cell),
                       Status.OUT_OF_RANGE, status)
    status = jnp.where(usable(status) & singular, Status.SINGULAR, status)
    status = jnp.where(usable(status) & jnp.any(se_log > WALD_DECADE), Status.UNIDENTIFIABLE,
                       status)
    k_min, k_max = model.rate_extremes(x, cell["v_min"], cell["v_max"])
    chi2 = jnp.sum(r * r)
    n = jnp.sum(cell["valid"])
    sigma = 1.0 / jnp.max(cell["w"])
    loss = 0.5 * n * jnp.log(2 * jnp.pi * sigma ** 2) + 0.5 * chi2
    return dict(x=x, cov_log=inverse, se=x * se_log, status=status, n_steps=steps, chi2=chi2,
                loss=loss, n_valid=n, rate_min=k_min, rate_max=k_max, start=best,
                screened=screened)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4, 5))
def _fit_batch(model, dt, screen, q, max_steps, in_sequence, cells, starts):
    """Every cell's ``_solve``: vectorised (vmap), or one cell after another (lax.map) where
    ``in_sequence``: a vectorised Levenberg-Marquardt loop runs until its slowest cell stops,
    every cell paying for each iteration, while on a CPU each cell's 80,000-sample problem
    already fills the vector units."""
    solve = functools.partial(_solve, model, dt, screen, q, max_steps)
    if in_sequence:
        return jax.lax.map(lambda pair: solve(*pair), (cells, starts))
    return jax.vmap(solve)(cells, starts)


def cells_in_sequence() -> bool:
    """Whether ``fit_traces`` solves the cells one after another (``IN_SEQUENCE``)."""
    return bool(IN_SEQUENCE)


def fit_traces(t: Any, v: Any, i: Any, *, model: TraceModel | None = None,
               temperature: Any = None, e_rev: Any = None, mask: Any = None,
               sigma: Any = None, sigma_window: float = 0.2, starts: Any = 8, seed: int = 0,
               screen_steps: int = SCREEN_STEPS, screen_every: int = SCREEN_EVERY,
               max_steps: int = 300, max_noise: float = trace_inputs.MAX_NOISE,
               min_noise: float = trace_inputs.MIN_NOISE) -> TraceFitResult:
    """Fit a gating model to whole current traces of many cells in one batched call.

    Args:
      t: sample times [s], shape (T,), uniformly spaced, sampled faster than 100 Hz.
      v: command voltages [V], shape (T,) (one protocol for every cell) or (C, T) ((1, T) too).
      i: currents [A], shape (T,) (one cell) or (C, T); its noise SD (``trace_inputs.noise_sd``)
        at most ``max_noise``.
      model: a ``TraceModel`` (``fitting.models.trace``); default ``beattie2018()``.
      temperature: [K] (200..400 K), scalar or (C,): E_rev of each cell by Nernst for the
        model's ion.
      e_rev: [V], scalar or (C,), instead of ``temperature``.
      mask: bool (T,) or (C, T), True = fit the point (``step_edge_mask``); NaN points are
        left out too.
      sigma: noise SD [A], scalar or (C,); default the SD of each cell's first ``sigma_window``
        seconds (ddof 1, NaN/inf samples left out; the channels closed at the holding potential).
      starts: the number of starting points from the prior (an int >= 1; ``sample_starts``,
        ``seed``), or explicit starts (S, k) or (C, S, k) [SI] in ``model.param_names`` order.
      screen_steps, max_steps: Levenberg-Marquardt iterations of every start (on every
        ``screen_every``-th sample), then of the best (on all samples).
      max_noise: the largest plausible noise SD of ``i`` [A] (1 nA, whole-cell patch clamp;
        raise it for a two-electrode clamp): beyond it ``i`` is refused as a unit slip.
      min_noise: the smallest plausible noise SD [A] of the ``sigma_window`` (0.1 pA, the
        headstage's own noise; used where ``sigma`` is None): below it ``i`` is refused as a
        unit slip (1000x too small). 0 for a noise-free simulation.

    Raises:
      ValueError: one line naming the argument, its unit and the likely slip
        (``fitting.engine.trace_inputs``), before anything is compiled.

    Returns:
      ``TraceFitResult`` with params, stderr, covariance, loss, status per cell; summary().
    """
    model = beattie2018() if model is None else model
    if not isinstance(model, TraceModel):
        raise TypeError(f"model must be a fitting.models.trace.TraceModel; got "
                        f"{type(model).__name__}")
    t, v, i, valid, dt = trace_inputs.check_arrays(t, v, i, mask, max_noise=max_noise)
    n_cells = i.shape[0]
    starts = trace_inputs.check_starts(starts, n_cells, model.param_names)
    with jax.enable_x64(True):  # Nernst in float64 (in float32 E_K moved the loss by 0.7)
        e_rev = trace_inputs.reversal(model, temperature, e_rev, n_cells)
    if np.any(valid.sum(axis=1) <= model.n_params):
        bad = int(np.argmin(valid.sum(axis=1)))
        raise ValueError(f"cell {bad} has {int(valid[bad].sum())} usable points (mask, NaN) for "
                         f"{model.n_params} parameters")
    if not isinstance(starts, int):
        trace_inputs.check_start_rates(model, starts, v)
    if sigma is None:
        sigma = trace_inputs.window_sigma(t, i, valid, sigma_window, min_noise=min_noise)
    sigma = trace_inputs.check_sigma(sigma, i, valid, max_noise)
    if isinstance(starts, int):
        starts = np.broadcast_to(sample_starts(model, starts, float(np.nanmin(v)),
                                               float(np.nanmax(v)), seed=seed),
                                 (n_cells, starts, model.n_params))
    cells = dict(v=np.nan_to_num(v),
                 i=np.where(valid, i, 0.0), w=np.broadcast_to(1.0 / sigma[:, None], i.shape),
                 valid=valid, e_rev=e_rev, v_min=np.nanmin(v, axis=1), v_max=np.nanmax(v, axis=1))
    # float64: a loss of 80,000 points; the persistent cache keeps the compiled program
    with jax.enable_x64(True), compiled.persistent_cache():
        cells = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64)
                                       if a.dtype != bool else jnp.asarray(a), cells)
        out = _fit_batch(model, dt, int(screen_steps), int(screen_every), int(max_steps),
                         cells_in_sequence(), cells, jnp.asarray(starts, jnp.float64))
        out = jax.tree_util.tree_map(np.asarray, out)
        cells = jax.tree_util.tree_map(np.asarray, cells)
    return TraceFitResult(model=model, out=out, sigma=sigma, e_rev=e_rev, dt=dt, cells=cells)
