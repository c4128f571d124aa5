"""Steady one-dimensional Poisson-Nernst-Planck (PNP) electrodiffusion through a membrane pore.

Geometry and signs: a pore of length L [m] and cross-section A [m^2] along x, with the inside
bath at x = 0 and the outside bath at x = L. The membrane potential is v = phi(0) - phi(L)
[V]; the solver sets phi(0) = v and phi(L) = 0. A flux is positive along +x (outward), so the
current I = A F sum_s z_s J_s is positive for an outward flow of positive charge, as in
``ghk_current``.

Equations (SI): for each species s with valence z_s and diffusion coefficient D_s [m^2/s],

    J_s = -D_s (dc_s/dx + z_s c_s d(phi_hat)/dx),   phi_hat = F phi / (RT),   dJ_s/dx = 0,
    -eps0 eps_r d^2 phi/dx^2 = F (sum_s z_s c_s + fixed_charge),

with Dirichlet data c_s(0) = c_in,s, c_s(L) = c_out,s, phi(0) = v, phi(L) = 0. ``fixed_charge``
[mol/m^3 of elementary charges] is the permanent charge density divided by F.

Reduced form: x_hat = x/L, c_hat = c/c0 with c0 = max(c_in, c_out) over the species, and
psi = phi_hat (potential in units of the thermal voltage RT/F). Then

    J_hat_s = -(dc_hat_s/dx_hat + z_s c_hat_s dpsi/dx_hat)   (J_s = D_s c0 J_hat_s / L),
    d^2 psi/dx_hat^2 = -kappa^2 (sum_s z_s c_hat_s + fixed_charge/c0),
    kappa^2 = F^2 c0 L^2 / (eps0 eps_r R T)   (= (L / debye length)^2 up to the ionic strength).

Discretization on n_grid uniform cells (nodes x_i = i L/N): Scharfetter-Gummel fluxes, exact
for a constant flux in a constant field (hence exactly GHK when the potential is linear),

    J_hat_{s,i+1/2} h = B(t) c_hat_{s,i} - B(-t) c_hat_{s,i+1},   t = z_s (psi_{i+1} - psi_i),

with the Bernoulli function B(t) = t/(e^t - 1) (``ghk.f_pair``: accurate, finite and with
finite derivatives for every t in float32 and float64), and the three-point Poisson stencil
psi_{i-1} - 2 psi_i + psi_{i+1} + h^2 kappa^2 rho_hat_i = 0 at interior nodes. Both are second
order in h. The unknowns are the interior psi_i and the Slotboom (electrochemical) variables
eta_{s,i} = ln c_hat_{s,i} + z_s psi_i, so c_hat = exp(eta - z psi) stays positive. Newton's
method (every update scaled to at most 2 in psi and eta) starts from the constant-field solution
(linear potential, GHK concentration profile). Each node's equations involve its neighbours
only, so the Jacobian is block tridiagonal with (S+1) x (S+1) blocks: it is built from 3(S+1)
Jacobian-vector products (nodes coloured mod 3) and solved by block elimination with pivoting
inside the blocks, O(N (S+1)^3) per step instead of O((N (S+1))^3) dense.

Gradients come from the implicit function theorem (``jax.lax.custom_root``: one block solve with
the Jacobian at the solution, refined once), not from differentiating the Newton iterations.

References: D.L. Scharfetter & H.K. Gummel, IEEE Trans. Electron Dev. 16, 64 (1969),
doi:10.1109/T-ED.1969.16566; D. Chen, J. Lear & R.S. Eisenberg, Biophys. J. 72, 97 (1997),
doi:10.1016/S0006-3495(97)78650-8; Goldman (1943) doi:10.1085/jgp.27.1.37.
"""

import functools
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ionjax._src._common import (as_float, check_concrete, is_concrete, nan_unless,
                                  valid_temperature)
from ionjax._src.constants import FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY
from ionjax._src.ghk import f_pair
from ionjax._src.small_linalg import small_solve
from ionjax._src.validation import (MAX_CONCENTRATION, MAX_LENGTH, MAX_VOLTAGE,
                                    NEUTRALITY_RTOL)

_MAX_ITERATIONS = 60
_MAX_STEP = 2.0  # largest Newton update of psi and eta (thermal voltages)


class PNPSolution(NamedTuple):
    """Steady PNP solution; ``...`` is the shape of ``v``, S the number of species, N n_grid.

    Attributes:
      current: per-species current I_s = A F z_s J_s [A], (..., S); positive = outward.
      total: total current sum_s I_s [A], (...).
      x: node positions [m], (N+1,), x = 0 inside, x = L outside.
      phi: potential at the nodes [V], (..., N+1); phi[0] = v, phi[-1] = 0.
      c: concentrations at the nodes [mol/m^3], (..., N+1, S).
      converged: whether Newton's last update fell below its tolerance, (...), bool.
      iterations: Newton iterations used, (...), int.
    """

    current: jax.Array
    total: jax.Array
    x: jax.Array
    phi: jax.Array
    c: jax.Array
    converged: jax.Array
    iterations: jax.Array


def _profile_fraction(k, x):
    """(e^{k x} - 1)/(e^k - 1) for x in [0, 1], without overflow or 0/0 (x at k = 0).

    This is the constant-field concentration profile c = c_in + (c_out - c_in) * fraction."""
    small = jnp.abs(k) < 1e-6
    k = jnp.where(small, 1.0, k)
    negative = jnp.expm1(k * x) / jnp.expm1(k)
    positive = jnp.exp(k * (x - 1)) * jnp.expm1(-k * x) / jnp.expm1(-k)
    return jnp.where(small, x, jnp.where(k < 0, negative, positive))


def _unpack(u, psi_in, z, c_in, c_out):
    """Interior unknowns u = (psi, eta) (N-1, S+1) -> psi (N+1,) and c_hat (N+1, S), with the
    boundary values psi = (psi_in, 0) and c_hat = (c_in, c_out) exact."""
    zero = jnp.zeros((1,), u.dtype)
    psi = jnp.concatenate([psi_in[None], u[:, 0], zero])
    c = jnp.concatenate([c_in[None], jnp.exp(u[:, 1:] - z * u[:, :1]), c_out[None]])
    return psi, c


def _cell_fluxes(psi, c, z):
    """Scharfetter-Gummel fluxes h J_hat (N, S): B(t) c_i - B(-t) c_{i+1},
    t = z (psi_{i+1} - psi_i)."""
    b_plus, b_minus = f_pair(z * (psi[1:] - psi[:-1])[:, None])
    return b_plus * c[:-1] - b_minus * c[1:]


def _residual(u, psi_in, z, c_in, c_out, fixed, h2k2):
    """Scaled discrete equations (N-1, S+1): Poisson (h^2 times) and flux continuity."""
    psi, c = _unpack(u, psi_in, z, c_in, c_out)
    flux = _cell_fluxes(psi, c, z)
    rho = c[1:-1] @ z + fixed
    poisson = psi[:-2] - 2 * psi[1:-1] + psi[2:] + h2k2 * rho
    return jnp.concatenate([poisson[:, None], flux[1:] - flux[:-1]], axis=1)


def _blocks(apply, shape, dtype):
    """Block-tridiagonal matrix (lower, diag, upper), each (M, K, K), of a linear map ``apply``
    on (M, K) arrays whose row i depends on rows i-1, i, i+1 only: rows coloured i mod 3, one
    evaluation per colour and component (3K in all, whatever M). lower[i] = d out_i / d u_{i-1},
    upper[i] = d out_i / d u_{i+1}; lower[0] and upper[M-1] are zero."""
    m, k = shape
    rows = jnp.arange(m)
    colour = jnp.arange(3)[:, None, None, None] == (rows % 3)[None, None, :, None]
    component = jnp.arange(k)[None, :, None, None] == jnp.arange(k)[None, None, None, :]
    basis = (colour & component).astype(dtype).reshape(3 * k, m, k)
    out = jax.vmap(apply)(basis).reshape(3, k, m, k)  # [colour, column component, row, row comp]

    def pick(offset):  # (M, K row component, K column component)
        return jnp.swapaxes(out[(rows + offset) % 3, :, rows, :], 1, 2)

    first, last = (rows == 0)[:, None, None], (rows == m - 1)[:, None, None]
    return jnp.where(first, 0.0, pick(-1)), pick(0), jnp.where(last, 0.0, pick(1))


def _block_solve(blocks, b):
    """Solve the block-tridiagonal system (``_blocks``) for b (M, K): block Gaussian elimination
    (the block Thomas algorithm), partial pivoting inside each K x K block (``small_solve``:
    no LAPACK call in the Newton loop), O(M K^3)."""
    lower, diag, upper = blocks
    k = b.shape[1]

    def forward(carry, rows):
        x_prev, y_prev = carry
        lo, d, up, rhs = rows
        both = small_solve(d - lo @ x_prev,
                           jnp.concatenate([up, (rhs - lo @ y_prev)[:, None]], axis=1))
        return (both[:, :-1], both[:, -1]), (both[:, :-1], both[:, -1])

    init = (jnp.zeros((k, k), b.dtype), jnp.zeros((k,), b.dtype))
    _, (xs, ys) = jax.lax.scan(forward, init, (lower, diag, upper, b))

    def backward(x_next, rows):
        x, y = rows
        out = y - x @ x_next
        return out, out

    _, solution = jax.lax.scan(backward, jnp.zeros((k,), b.dtype), (xs, ys), reverse=True)
    return solution


def _newton(f, u0):
    """Damped Newton iteration on f(u) = 0 (u of shape (N-1, S+1)); returns (u, (error, its))."""
    tol = jnp.sqrt(jnp.finfo(u0.dtype).eps)

    def step(state):
        u, it, _ = state
        residual, linear = jax.linearize(f, u)
        du = _block_solve(_blocks(linear, u.shape, u.dtype), -residual)
        error = jnp.max(jnp.abs(du))
        scale = jnp.minimum(1.0, _MAX_STEP / error)
        return u + scale * du, it + 1, error  # a NaN error stops the loop, unconverged

    def keep_going(state):
        _, it, error = state
        return (it < _MAX_ITERATIONS) & (error > tol)

    init = (u0, jnp.asarray(0), jnp.asarray(jnp.inf, u0.dtype))
    u, it, error = jax.lax.while_loop(keep_going, step, init)
    # floating aux only: custom_root's JVP gives aux tangents of the aux dtype
    return u, ((error <= tol).astype(u.dtype), it.astype(u.dtype))


def _refined_solve(matvec, b):
    """x with matvec(x) = b for a block-tridiagonal linear map: the block solve and one step of
    iterative refinement against ``matvec`` itself."""
    blocks = _blocks(matvec, b.shape, b.dtype)
    x = _block_solve(blocks, b)
    return x + _block_solve(blocks, b - matvec(x))


def _tangent_solve(g, y):
    """Solve the linearized system g(x) = y (implicit differentiation). As a
    ``custom_linear_solve`` its transpose (reverse mode) is the same solve of the transposed map,
    which is block tridiagonal too."""
    return jax.lax.custom_linear_solve(g, y, _refined_solve, transpose_solve=_refined_solve)


def _check_neutral_baths(z, c_in, c_out):
    """Host side, on concrete baths: ValueError unless each is electroneutral to
    ``NEUTRALITY_RTOL`` (|sum z c| <= rtol sum |z| c). A bath with a concentration <= 0 or not
    finite is invalid input instead, NaN like every other (not checked here)."""
    z = np.asarray(z, float)
    for label, c in (("c_in", c_in), ("c_out", c_out)):
        c = np.asarray(c, float)
        if not np.all(np.isfinite(c) & (c > 0)):  # an invalid bath gives NaN (see Returns)
            continue
        net, total = float(np.sum(z * c)), float(np.sum(np.abs(z) * c))
        if np.isfinite(net) and abs(net) > NEUTRALITY_RTOL * total:
            raise ValueError(f"the {label} bath is not electroneutral: sum z c = {net:g} mol/m^3 "
                             f"({100 * abs(net) / total:.3g} % of sum |z| c); list every ion of "
                             "the solution, permeant or not")


def _solve(v, z, diffusion, c_in, c_out, fixed, length, area, temperature, permittivity,
           n_grid):
    """The steady PNP problem for one scalar v; arguments already cast (see ``pnp_steady``)."""
    thermal = GAS_CONSTANT * temperature / FARADAY
    c0 = jnp.maximum(jnp.max(c_in), jnp.max(c_out))
    kappa2 = FARADAY * c0 * length**2 / (VACUUM_PERMITTIVITY * permittivity * thermal)
    h = 1.0 / n_grid
    psi_in, cin_hat, cout_hat, fixed_hat = v / thermal, c_in / c0, c_out / c0, fixed / c0

    def f(u):
        return _residual(u, psi_in, z, cin_hat, cout_hat, fixed_hat, h * h * kappa2)

    # constant-field initial guess (not differentiated: custom_root differentiates f only)
    x = jnp.linspace(0.0, 1.0, n_grid + 1, dtype=v.dtype)[1:-1]
    psi0 = jax.lax.stop_gradient(psi_in) * (1 - x)
    frac = _profile_fraction(z * jax.lax.stop_gradient(psi_in), x[:, None])
    eta0 = jnp.log(cin_hat + (cout_hat - cin_hat) * frac) + z * psi0[:, None]
    u0 = jax.lax.stop_gradient(jnp.concatenate([psi0[:, None], eta0], axis=1))

    u, (converged, iterations) = jax.lax.custom_root(f, u0, _newton, _tangent_solve,
                                                     has_aux=True)
    psi, c_hat = _unpack(u, psi_in, z, cin_hat, cout_hat)
    flux_hat = jnp.mean(_cell_fluxes(psi, c_hat, z), axis=0) / h  # J_hat, constant in x
    current = area * FARADAY * z * diffusion * c0 * flux_hat / length
    return current, psi * thermal, c_hat * c0, converged > 0, iterations.astype(int)


def pnp_steady(v, z, diffusion, c_in, c_out, *, length, area, temperature, permittivity=80.0,
               fixed_charge=None, n_grid=128):
    """Steady 1-D Poisson-Nernst-Planck current and profiles through a pore (see module doc).

    Solves J_s = -D_s (c_s' + z_s c_s F phi'/(RT)), J_s' = 0, -eps0 eps_r phi'' =
    F (sum_s z_s c_s + fixed_charge) on 0 < x < L with c_s(0) = c_in, c_s(L) = c_out,
    phi(0) = v, phi(L) = 0, by Scharfetter-Gummel finite volumes and Newton's method.

    Args:
      v: membrane potential phi_in - phi_out [V], |v| <= 1 V (``MAX_VOLTAGE``: no membrane
        holds a volt; -50 is -50 mV passed as volts); any shape (solved independently per
        element).
      z: valences (S,), integers (0 allowed for a neutral solute).
      diffusion: diffusion coefficients in the pore (S,) [m^2/s], > 0 and <= 1e-7
        (``MAX_DIFFUSION``; an aqueous ion's is ~1e-9, 2e-5 is cm^2/s passed as m^2/s).
      c_in, c_out: bath concentrations at x = 0 (inside) and x = L (outside) (S,) [mol/m^3],
        > 0 and <= 1e4 (10 M); each bath electroneutral, sum_s z_s c_s = 0 (checked on concrete
        values, see Raises).
      length: pore length L [m], <= 1e-4 m (100 um); keyword-only, like the rest.
      area: pore cross-section A [m^2].
      temperature: [K], 200..400 K (liquid water).
      permittivity: relative permittivity eps_r of the pore medium (default 80, water).
      fixed_charge: None, or the permanent charge density / F [mol/m^3 of elementary charges]:
        a scalar, the node values (n_grid+1,) or the cell values (n_grid,) (averaged onto
        nodes). The two end nodes hold the baths' values, so node weights there are unused.
      n_grid: number of uniform cells N (static), >= 2. Accuracy needs the cell L/N well
        below the shortest Debye length in the pore (of the baths, and of |fixed_charge| taken
        as a 1:1 salt): N >= 2 L / lambda_D keeps the current within ~1e-3 (second order in
        L/N; ``fitting.PNPChannel`` refuses coarser grids). ``converged`` reports Newton's
        convergence on the grid, not the grid's accuracy.

    Returns:
      ``PNPSolution`` (current [A] (..., S), total [A] (...), x [m] (N+1,), phi [V] (..., N+1),
      c [mol/m^3] (..., N+1, S), converged, iterations). For small L/(Debye length) and no fixed
      charge the current tends to ``ghk_current`` with p = D A / L [m^3/s]. NaN, and
      ``converged`` False, where an input is invalid (a concentration, D, L, A or eps_r
      <= 0 or not finite, a non-integer valence; traced, a concentration above 10 M, L above
      100 um, T outside 200..400 K, |v| > 1 V, which concrete values raise, see Raises) or
      Newton did not converge (at most 60 iterations); the gradient there is NaN too.
      Differentiable (implicit function theorem) w.r.t. every floating input.

    Raises:
      ValueError: (at trace time) z, diffusion, c_in, c_out not all of shape (S,), n_grid < 2,
        or a fixed_charge of another length than n_grid or n_grid + 1; and, when z, c_in and
        c_out are concrete (not traced inside jit or grad), a bath that is not electroneutral
        (|sum z c| > 1e-6 sum |z| c): it has lost an ion, and its Poisson boundary data would
        charge the bath; and a concrete temperature, length, concentration or v outside its
        bound (``check_concrete``: the message of ``validate_inputs`` names the slip: 37 K,
        "did you mean 37 degC (310.15 K)?"; v=-50, mV passed as volts; a diffusion above 1e-7
        m^2/s, cm^2/s passed as m^2/s). Inside jit these checks
        are the caller's (``fitting.PNPChannel`` does them) and the result is NaN.
    """
    if fixed_charge is None:
        fixed_charge = 0.0
    shapes = [np.shape(a) for a in (z, diffusion, c_in, c_out)]  # lists too
    if len(set(shapes)) != 1 or len(shapes[0]) != 1:
        raise ValueError(f"z, diffusion, c_in and c_out must each hold one value per species, "
                         f"shape (S,); got shapes {shapes}")
    if isinstance(n_grid, bool) or not isinstance(n_grid, numbers.Integral) or n_grid < 2:
        raise ValueError(f"n_grid must be an integer >= 2; got {n_grid!r}")
    if jnp.ndim(fixed_charge) > 1 or (jnp.ndim(fixed_charge) == 1 and jnp.shape(
            fixed_charge)[0] not in (n_grid, n_grid + 1)):
        raise ValueError(f"fixed_charge must be a scalar, the {n_grid} cell values or the "
                         f"{n_grid + 1} node values; got shape {jnp.shape(fixed_charge)}")
    if is_concrete((z, c_in, c_out)):
        _check_neutral_baths(z, c_in, c_out)
    check_concrete(temperature=temperature, length=length, c_in=c_in, c_out=c_out, v=v,
                   diffusion=diffusion)
    v, d, c_in, c_out, fixed, z, length, area, t, eps_r = as_float(
        v, diffusion, c_in, c_out, fixed_charge,
        config=(z, length, area, temperature, permittivity))
    if fixed.ndim and fixed.shape[-1] == n_grid:
        fixed = 0.5 * (fixed[..., :-1] + fixed[..., 1:])
    elif fixed.ndim:
        fixed = fixed[..., 1:-1]
    fixed = jnp.broadcast_to(fixed, (n_grid - 1,))
    solve = functools.partial(_solve, z=z, diffusion=d, c_in=c_in, c_out=c_out, fixed=fixed,
                              length=length, area=area, temperature=t, permittivity=eps_r,
                              n_grid=n_grid)
    current, phi, c, converged, iterations = jax.vmap(solve)(v.reshape(-1))
    positive = jnp.concatenate([c_in, c_out, d, jnp.stack([t, length, area, eps_r])])
    valid = (jnp.all((positive > 0) & jnp.isfinite(positive)) & jnp.all(z == jnp.round(z))
             & jnp.all(jnp.isfinite(fixed)) & valid_temperature(t) & (length <= MAX_LENGTH)
             & jnp.all(jnp.concatenate([c_in, c_out]) <= MAX_CONCENTRATION))
    # an unconverged solve gives NaN, never its last iterate; |v| > 1 V is mV passed as volts
    ok = valid & converged & (jnp.abs(v.reshape(-1)) <= MAX_VOLTAGE)
    converged = ok
    shape = v.shape
    # times NaN, not a select: the gradient of a refused current is NaN too, not 0
    current = current * jnp.where(ok, 1.0, jnp.nan)[:, None].astype(current.dtype)
    current = current.reshape(shape + current.shape[1:])
    phi = nan_unless(ok[:, None], phi).reshape(shape + phi.shape[1:])
    c = nan_unless(ok[:, None, None], c).reshape(shape + c.shape[1:])
    return PNPSolution(
        current=current, total=jnp.sum(current, axis=-1), x=length * jnp.linspace(
            0.0, 1.0, n_grid + 1, dtype=v.dtype), phi=phi, c=c,
        converged=converged.reshape(shape), iterations=iterations.reshape(shape))
