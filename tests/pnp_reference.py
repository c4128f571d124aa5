"""Independent reference for the steady Poisson-Nernst-Planck (PNP) problem: scipy's collocation
boundary-value solver ``scipy.integrate.solve_bvp`` (4th-order Lobatto IIIA, adaptive mesh).

It shares nothing with ``ionjax.pnp_steady`` but the physical constants and the problem
statement (same geometry and signs): a pore of length L [m] and cross-section A [m^2], inside
bath at x = 0, outside bath at x = L, membrane potential v = phi(0) - phi(L) [V], flux positive
along +x (outward). For species s = 1..S with valence z_s, diffusion coefficient D_s [m^2/s]:

    J_s = -D_s (dc_s/dx + z_s c_s F/(RT) dphi/dx),   dJ_s/dx = 0,
    -eps0 eps_r d^2 phi/dx^2 = F (sum_s z_s c_s + fixed(x)),
    c_s(0) = c_in,s,  c_s(L) = c_out,s,  phi(0) = v,  phi(L) = 0,

concentrations in mol/m^3 (= mM), ``fixed`` the permanent charge density / F [mol/m^3]. The
current of species s is I_s = A F z_s J_s [A] (positive outward).

Solved in reduced form, x_hat = x/L, c_hat = c/c0 (c0 = the largest bath concentration),
psi = F phi/(RT), as the first-order system y = (psi, dpsi/dx_hat, c_hat_1..c_hat_S) with the S
constant reduced fluxes J_hat_s = J_s L/(D_s c0) as unknown parameters:

    psi' = dpsi,   dpsi' = -kappa^2 (sum_s z_s c_hat_s + fixed/c0),
    c_hat_s' = -J_hat_s - z_s c_hat_s dpsi,   kappa^2 = F^2 c0 L^2/(eps0 eps_r R T),

2 + S first-order equations, S parameters, 2 + 2S boundary conditions.
"""

import numpy as np
from scipy.integrate import solve_bvp

from ionjax._src.constants import FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY


def solve_bvp_pnp(v, z, d, c_in, c_out, fixed_fn, *, length, area, temperature, permittivity,
                  tol=1e-10, nodes=2001, guess=None):
    """Per-species currents [A] (S,) and the scipy solution (reduced variables, see module doc).

    Args:
      v: membrane potential phi(0) - phi(L) [V], scalar.
      z, d, c_in, c_out: valences, diffusion coefficients [m^2/s], inside and outside bath
        concentrations [mol/m^3], each (S,), any S >= 1.
      fixed_fn: callable x_hat (array in [0, 1]) -> permanent charge / F [mol/m^3], same shape;
        None for no fixed charge.
      length [m], area [m^2], temperature [K], permittivity (relative, eps_r): keyword-only.
      tol: ``solve_bvp``'s relative residual tolerance (boundary conditions to tol/100).
      nodes: initial uniform mesh size (ignored with ``guess``).
      guess: a solution returned by an earlier call on the same problem at another voltage (or
        other parameters): its mesh and profiles start the solver (warm start), the potential
        shifted linearly to the new v.

    Raises RuntimeError when ``solve_bvp`` does not converge.
    """
    z, d = np.asarray(z, float), np.asarray(d, float)
    c_in, c_out = np.asarray(c_in, float), np.asarray(c_out, float)
    vt = GAS_CONSTANT * temperature / FARADAY
    c0 = max(c_in.max(), c_out.max())
    k2 = FARADAY * c0 * length**2 / (VACUUM_PERMITTIVITY * permittivity * vt)
    psi_in = v / vt

    def rhs(x, y, p):
        dpsi, c = y[1], y[2:]
        rho = z @ c + (0.0 if fixed_fn is None else fixed_fn(x) / c0)
        return np.vstack([dpsi, -k2 * rho, -p[:, None] - z[:, None] * c * dpsi])

    def bc(ya, yb, p):
        return np.concatenate([[ya[0] - psi_in, yb[0]], ya[2:] - c_in / c0, yb[2:] - c_out / c0])

    if guess is None:
        x = np.linspace(0.0, 1.0, nodes)
        y = np.vstack([psi_in * (1 - x), -psi_in + 0 * x,
                       (c_in[:, None] + (c_out - c_in)[:, None] * x) / c0])
        p = np.zeros(len(z))
    else:
        x, y, p = guess.x, guess.y.copy(), guess.p
        shift = psi_in - y[0, 0]
        y[0] += shift * (1 - x)
        y[1] -= shift
    sol = solve_bvp(rhs, bc, x, y, p=p, tol=tol, bc_tol=tol / 100, max_nodes=200000)
    if sol.status != 0:
        raise RuntimeError(f"solve_bvp at v = {v} V: {sol.message}")
    return area * FARADAY * z * sol.p * d * c0 / length, sol


def solve_bvp_currents(v, z, d, c_in, c_out, fixed_fn, *, length, area, temperature,
                       permittivity, tol=1e-10, nodes=2001):
    """Per-species currents I_s = A F z_s J_s [A] (S,) at the scalar voltage v [V], from a cold
    start (linear potential and concentrations); arguments as in ``solve_bvp_pnp``."""
    return solve_bvp_pnp(v, z, d, c_in, c_out, fixed_fn, length=length, area=area,
                         temperature=temperature, permittivity=permittivity, tol=tol,
                         nodes=nodes)[0]


def solve_bvp_iv(voltages, z, d, c_in, c_out, fixed_fn, *, length, area, temperature,
                 permittivity, tol=1e-10, nodes=2001, warm_start=True):
    """Per-species currents [A] (len(voltages), S) of a voltage sweep, in the given order; with
    ``warm_start`` each solve starts from the previous voltage's solution (the first from a cold
    start), otherwise every solve starts cold."""
    out, sol = [], None
    for v in voltages:
        current, new = solve_bvp_pnp(v, z, d, c_in, c_out, fixed_fn, length=length, area=area,
                                     temperature=temperature, permittivity=permittivity,
                                     tol=tol, nodes=nodes, guess=sol)
        sol = new if warm_start else None
        out.append(current)
    return np.array(out)
