"""Least-squares solvers for one recording, written to be vmapped over a batch.

Both work on an internal, well-scaled parameter vector theta (see ``fitting.engine.problem``) and a
residual function r(theta) of fixed length n (masked points contribute 0). They never raise: the
outcome is a status code. Each is a ``Solver`` of three pure functions (init, run up to an
iteration limit, finish), so that a large batch can be run in stages (``fitting.engine.driver``).

* ``levenberg_marquardt``: damped Gauss-Newton with Nielsen's damping update, the Jacobian by
  forward-mode autodiff (k is small), and the k x k normal equations solved after Jacobi
  equilibration. Converges quadratically on these small, smooth problems.
* ``lbfgs``: optax's L-BFGS with its zoom line search on 0.5 |r|^2, for general losses.

References: K. Levenberg, Q. Appl. Math. 2, 164 (1944); D.W. Marquardt, J. SIAM 11, 431 (1963),
doi:10.1137/0111030; H.B. Nielsen, IMM-REP-1999-05 (DTU, 1999) damping update; J. Nocedal &
S.J. Wright, Numerical Optimization, 2nd ed. (2006), ch. 7 and 10.
"""

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from fitting.engine.linalg import spd_solve
from fitting.engine.status import Status

__all__ = ["SOLVERS", "Solver", "lbfgs", "levenberg_marquardt", "tolerances"]

# Levenberg-Marquardt settings
LM_LAMBDA0 = 1e-3  # initial damping (relative to the equilibrated J^T J, whose diagonal is 1)
LM_NU0 = 2.0  # initial factor by which the damping grows after a rejected step (Nielsen)
LM_LAMBDA_MAX = 1e16  # damping beyond this: no step can lower the cost; the Jacobian is singular
LM_MIN_SHRINK = 1.0 / 3.0  # the damping shrinks at most by this factor after an accepted step
MAX_STEP = 5.0  # trust bound on one step in the scaled parameters (a factor e^5 when log-scaled)
# convergence tolerances, in units of the precision's machine epsilon
FTOL_EPS = 64  # relative cost change below FTOL_EPS * eps
XTOL_SQRT_EPS = 8  # relative step below XTOL_SQRT_EPS * sqrt(eps)
GTOL_SQRT_EPS = 1e-2  # cosine of residual and Jacobian columns below GTOL_SQRT_EPS * sqrt(eps)


def tolerances(dtype: Any) -> Any:
    """(ftol, xtol) for relative loss change and relative step size, by precision."""
    eps = jnp.finfo(dtype).eps
    return FTOL_EPS * eps, XTOL_SQRT_EPS * jnp.sqrt(eps)


def _linearise(residual, theta):
    """Residual and its Jacobian (n, k) by forward mode (XLA shares the primal with the JVPs)."""
    return residual(theta), jax.jacfwd(residual)(theta)


def _half_sq(r):
    return 0.5 * jnp.sum(r * r)


class Solver(NamedTuple):
    """A solver as three pure functions, so that a batch can run it in resumable stages:

    * ``init(residual, theta0) -> state``: a pytree with at least ``step`` (iterations so far)
      and ``done`` (converged or given up);
    * ``run(residual, state, limit) -> state``: iterate while not done and step < limit (``limit``
      may be traced);
    * ``finish(residual, state) -> (theta, n_steps, status, r, jac)``: the estimate, iterations,
      status code, and residual (n,) and Jacobian (n, k) at the estimate.

    ``residual`` maps theta (k,) to r (n,). Nothing raises: the outcome is the status code.
    """

    init: Callable
    run: Callable
    finish: Callable

    def __call__(self, residual, theta0, max_steps):
        """Solve from theta0 in one go: ``finish(run(init(theta0), max_steps))``."""
        return self.finish(residual, self.run(residual, self.init(residual, theta0), max_steps))


def _lm_init(residual, theta0):
    dtype = theta0.dtype
    r0, j0 = _linearise(residual, theta0)
    cost0 = _half_sq(r0)
    # Every scalar of the state is tied to the data (``like``), so that under vmap the whole
    # carry is batched from the start: the while-loop batching rule then traces the body once
    # instead of again for each carry it finds batched.
    like = jnp.where(jnp.isnan(cost0), 0, 0)
    return dict(theta=theta0, r=r0, jac=j0, cost=cost0, lam=(like + LM_LAMBDA0).astype(dtype),
                nu=(like + LM_NU0).astype(dtype), step=like, done=like != 0,
                status=like + Status.MAX_STEPS)


def _lm_run(residual, state, limit):
    dtype = state["theta"].dtype
    ftol, xtol = tolerances(dtype)
    gtol = jnp.sqrt(jnp.finfo(dtype).eps) * GTOL_SQRT_EPS
    tiny = jnp.finfo(dtype).tiny

    def body(s):
        g = s["jac"].T @ s["r"]
        h = s["jac"].T @ s["jac"]
        d = jnp.sqrt(jnp.maximum(jnp.diag(h), tiny))
        h_eq = h / d[:, None] / d[None, :]
        a = h_eq + s["lam"] * jnp.eye(h.shape[0], dtype=dtype)
        delta = -spd_solve(a, g / d)
        # trust bound: at most MAX_STEP in the scaled parameters (a factor e^MAX_STEP for
        # log-scaled ones) per iteration, so one wild Gauss-Newton step cannot run away
        # (initial=0: a profile of a one-parameter model leaves no parameter free)
        biggest = jnp.max(jnp.abs(delta), initial=0.0)
        delta = delta * jnp.minimum(1.0, MAX_STEP / jnp.maximum(biggest, tiny))
        delta = delta / d
        theta_new = s["theta"] + delta
        r_new, j_new = _linearise(residual, theta_new)  # one fused pass; kept if accepted
        cost_new = _half_sq(r_new)
        predicted = -(g @ delta) - 0.5 * delta @ (h @ delta)
        rho = (s["cost"] - cost_new) / jnp.maximum(predicted, tiny)
        accept = jnp.isfinite(cost_new) & (cost_new <= s["cost"])
        small_step = jnp.linalg.norm(delta) <= xtol * (jnp.linalg.norm(s["theta"]) + xtol)
        small_change = (s["cost"] - cost_new) <= ftol * s["cost"]
        # first-order optimality: r is orthogonal to every column of J (to rounding)
        col_norm = jnp.sqrt(jnp.diag(h))
        cosine = jnp.max(jnp.abs(g) / jnp.maximum(col_norm * jnp.sqrt(2 * s["cost"]), tiny),
                         initial=0.0)
        # a step below xtol ends the fit even when rejected (MINPACK's xtol test): at the optimum
        # in float32 the cost is only known to rounding, so tiny steps may all be "uphill"
        converged = small_step | (accept & small_change) | (cosine <= gtol) | (s["cost"] <= tiny)
        lam_accept = s["lam"] * jnp.maximum(LM_MIN_SHRINK, 1.0 - (2.0 * rho - 1.0) ** 3)
        gave_up = s["lam"] > LM_LAMBDA_MAX
        return dict(
            theta=jnp.where(accept, theta_new, s["theta"]), r=jnp.where(accept, r_new, s["r"]),
            jac=jnp.where(accept, j_new, s["jac"]),
            cost=jnp.where(accept, cost_new, s["cost"]),
            lam=jnp.where(accept, lam_accept, s["lam"] * s["nu"]),
            nu=jnp.where(accept, LM_NU0, 2.0 * s["nu"]),
            step=s["step"] + 1,
            done=converged | gave_up,
            status=jnp.where(converged, Status.CONVERGED,
                             jnp.where(gave_up, Status.SINGULAR, Status.MAX_STEPS)),
        )

    def cond(s):
        return (~s["done"]) & (s["step"] < limit)

    return jax.lax.while_loop(cond, body, state)


def _lm_finish(residual, s):
    status = jnp.where(jnp.all(jnp.isfinite(s["theta"])) & jnp.isfinite(s["cost"]),
                       s["status"], Status.NON_FINITE)
    return s["theta"], s["step"], status, s["r"], s["jac"]


# Levenberg-Marquardt on 0.5 |residual(theta)|^2 (see the module docstring);
# levenberg_marquardt(residual, theta0, max_steps) -> (theta, n_steps, status, r (n,), J (n, k)).
levenberg_marquardt = Solver(_lm_init, _lm_run, _lm_finish)


def _lbfgs_parts(residual, dtype):
    import optax  # here, not at the top: ~0.1 s of every process, and only L-BFGS needs it

    def loss(theta):
        return _half_sq(residual(theta))

    return loss, optax.lbfgs(), jnp.sqrt(jnp.finfo(dtype).eps)


def _lbfgs_init(residual, theta0):
    _, opt, _ = _lbfgs_parts(residual, theta0.dtype)
    like = jnp.where(jnp.isnan(jnp.sum(theta0)), 0, 0)  # batched under vmap, as in _lm_init
    return dict(theta=theta0, opt=opt.init(theta0), step=like, done=like != 0)


def _lbfgs_run(residual, state, limit):
    import optax

    loss, opt, gtol = _lbfgs_parts(residual, state["theta"].dtype)
    value_and_grad = optax.value_and_grad_from_state(loss)

    def body(s):
        value, grad = value_and_grad(s["theta"], state=s["opt"])
        updates, opt_state = opt.update(grad, s["opt"], s["theta"], value=value, grad=grad,
                                        value_fn=loss)
        done = jnp.max(jnp.abs(grad)) <= gtol * (1.0 + value)
        return dict(theta=optax.apply_updates(s["theta"], updates), opt=opt_state,
                    step=s["step"] + 1, done=done)

    def cond(s):
        return (~s["done"]) & (s["step"] < limit)

    return jax.lax.while_loop(cond, body, state)


def _lbfgs_finish(residual, s):
    finite = jnp.all(jnp.isfinite(s["theta"]))
    status = jnp.where(~finite, Status.NON_FINITE,
                       jnp.where(s["done"], Status.CONVERGED, Status.MAX_STEPS))
    return (s["theta"], s["step"], status) + _linearise(residual, s["theta"])


# optax.lbfgs (zoom line search) on 0.5 |residual(theta)|^2, converged when the gradient's
# infinity norm falls below sqrt(eps) (1 + the loss); returns what levenberg_marquardt returns.
lbfgs = Solver(_lbfgs_init, _lbfgs_run, _lbfgs_finish)


SOLVERS = {"lm": levenberg_marquardt, "lbfgs": lbfgs}
