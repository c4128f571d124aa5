"""Steady Poisson-Nernst-Planck solver (ionjax._src.pnp) against independent truths.

* the constant-field limit (Debye length >> L, no fixed charge): the GHK current and voltage;
* equilibrium: zero current at the Nernst potential;
* a charged pore with Debye length < L: an independent scipy.integrate.solve_bvp solution of the
  same boundary-value problem (and second-order convergence towards it);
* implicit-function-theorem gradients against central finite differences; float32; jit + vmap.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import ionjax
from ionjax._src.constants import FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY
from ionjax._src.pnp import pnp_steady
from pnp_reference import solve_bvp_currents

T = 298.15
AREA = 1e-18  # m^2
EPS_R = 80.0


def debye_length(z, c):
    """Debye length [m] of a bath with concentrations c [mol/m^3] and valences z."""
    return np.sqrt(VACUUM_PERMITTIVITY * EPS_R * GAS_CONSTANT * T
                   / (FARADAY**2 * np.sum(np.asarray(z) ** 2 * np.asarray(c))))


@functools.partial(jax.jit, static_argnames="n_grid")
def solve(v, z, d, c_in, c_out, fixed, length, n_grid):
    return pnp_steady(v, z, d, c_in, c_out, length=length, area=AREA, temperature=T,
                      permittivity=EPS_R, fixed_charge=fixed, n_grid=n_grid)


# --- constant-field (GHK) limit --------------------------------------------------------------

def test_ghk_limit_one_species():
    """Debye length >> L: PNP current = GHK current with p A = D A / L. Scharfetter-Gummel is
    exact for a linear potential, so the remaining difference is the physical space-charge
    correction ~ (L / Debye length)^2 on every grid; it scales with the concentration."""
    length, d = 1e-9, np.array([2e-9])
    z, c_in, c_out = np.array([1.0]), np.array([1e-5]), np.array([3e-5])
    assert debye_length(z, c_out) > 1000 * length
    v = jnp.array([-0.12, -0.03, 0.0, 0.04, 0.15])
    ghk = ionjax.ghk_current(v, d[0] / length * AREA, c_in[0], c_out[0], 1, temperature=T)
    errors = []
    for n_grid in (8, 32, 128):
        s = solve(v, z, d, c_in, c_out, None, length, n_grid)
        assert bool(jnp.all(s.converged))
        errors.append(np.max(np.abs(np.asarray(s.current[:, 0] / ghk - 1))))
    assert max(errors) <= 1e-6, errors
    # the difference is the space-charge correction: ten times the charge, ten times the error
    s10 = solve(v, z, d, 10 * c_in, 10 * c_out, None, length, 32)
    ghk10 = 10 * ghk
    ratio = np.max(np.abs(np.asarray(s10.current[:, 0] / ghk10 - 1))) / errors[1]
    assert 7 < ratio < 13, ratio


def test_ghk_voltage_two_species():
    """Zero-current voltage of K+ and Cl- with different D equals the GHK voltage, p = D/L."""
    length = 1e-9
    z, d = np.array([1.0, -1.0]), np.array([1.96e-9, 0.7e-9])
    c_in, c_out = np.array([140e-7, 10e-7]), np.array([5e-7, 120e-7])
    assert debye_length(z, c_in + c_out) > 1000 * length

    def total(v):
        return float(solve(jnp.asarray(v), z, d, c_in, c_out, None, length, 32).total)

    v0 = brentq(total, -0.1, 0.1, xtol=1e-14, rtol=1e-14)
    expected = float(ionjax.ghk_voltage(d / length, c_in, c_out, z, temperature=T))
    assert abs(v0 - expected) < 1e-8, (v0, expected)


# --- equilibrium -----------------------------------------------------------------------------

@pytest.mark.parametrize("zz, c_in, c_out", [(2.0, 0.1, 2.0), (-1.0, 150.0, 10.0)])
def test_zero_current_at_nernst(zz, c_in, c_out):
    """At E = (RT/zF) ln(c_out/c_in) the current vanishes to rounding, whatever the space charge
    (single species, so the pore is far from electroneutral)."""
    z, d = np.array([zz]), np.array([1e-9])
    c_in, c_out = np.array([c_in]), np.array([c_out])
    e = float(ionjax.nernst_potential(c_in[0], c_out[0], zz, temperature=T))
    s = solve(jnp.array([e, e + 0.02]), z, d, c_in, c_out, None, 5e-9, 64)
    assert bool(jnp.all(s.converged))
    i_eq, i_off = np.asarray(s.total)
    assert abs(i_eq) <= 1e-11 * abs(i_off), (i_eq, i_off)


# --- charged pore against solve_bvp ----------------------------------------------------------

L_PORE = 5e-9
Z2, D2 = np.array([1.0, -1.0]), np.array([1.96e-9, 2.03e-9])
CIN2, COUT2 = np.array([100.0, 100.0]), np.array([20.0, 20.0])
Q_PORE = -300.0  # mM of elementary charges, peak of the fixed-charge profile


def fixed_profile(x_hat, amplitude=Q_PORE):
    return amplitude * np.sin(np.pi * x_hat) ** 2


def bvp_currents(v):
    """Per-species currents [A] of the charged pore from scipy's solve_bvp (pnp_reference)."""
    return solve_bvp_currents(v, Z2, D2, CIN2, COUT2, fixed_profile, length=L_PORE, area=AREA,
                              temperature=T, permittivity=EPS_R)


def pore(v, n_grid, amplitude=Q_PORE, d=D2):
    fixed = fixed_profile(np.linspace(0.0, 1.0, n_grid + 1), amplitude)
    return solve(jnp.asarray(v), Z2, d, CIN2, COUT2, fixed, L_PORE, n_grid)


def test_charged_pore_against_solve_bvp():
    assert debye_length(Z2, CIN2) < L_PORE / 4
    v = np.array([0.05, -0.08])
    reference = np.array([bvp_currents(vi) for vi in v])
    errors = {}
    for n_grid in (128, 512):
        s = pore(v, n_grid)
        assert bool(jnp.all(s.converged))
        errors[n_grid] = np.max(np.abs(np.asarray(s.current) / reference - 1))
    assert errors[512] <= 1e-5, errors
    # second-order convergence: 4x finer grid, ~16x smaller error
    assert 12 < errors[128] / errors[512] < 20, errors


# --- derivatives, float32, batching ----------------------------------------------------------

def test_gradients_against_finite_differences():
    """Central differences with relative steps ~1e-5 have truncation error ~1e-10 relative and
    rounding error ~1e-16/1e-5 = 1e-11; rtol 1e-6 leaves margin."""
    n_grid, v0, d0, q0 = 48, 0.03, jnp.asarray(D2), Q_PORE

    def total(v, d, q):
        fixed = q * jnp.sin(jnp.pi * jnp.linspace(0.0, 1.0, n_grid + 1)) ** 2
        return pnp_steady(v, Z2, d, CIN2, COUT2, length=L_PORE, area=AREA, temperature=T,
                          permittivity=EPS_R, fixed_charge=fixed, n_grid=n_grid).total

    total = jax.jit(total)
    gv, gd, gq = jax.jit(jax.grad(total, argnums=(0, 1, 2)))(v0, d0, q0)
    hv, hq = 1e-5, 1e-3
    fd_v = (total(v0 + hv, d0, q0) - total(v0 - hv, d0, q0)) / (2 * hv)
    fd_q = (total(v0, d0, q0 + hq) - total(v0, d0, q0 - hq)) / (2 * hq)
    fd_d = []
    for k in range(2):
        step = 1e-5 * d0[k]
        e = jnp.zeros(2).at[k].set(step)
        fd_d.append((total(v0, d0 + e, q0) - total(v0, d0 - e, q0)) / (2 * step))
    np.testing.assert_allclose(gv, fd_v, rtol=1e-6)
    np.testing.assert_allclose(gq, fd_q, rtol=1e-6)
    np.testing.assert_allclose(gd, np.array(fd_d), rtol=1e-6)
    # forward mode agrees with reverse mode
    np.testing.assert_allclose(jax.jacfwd(total)(v0, d0, q0), gv, rtol=1e-10)


def test_float32_values_and_gradients():
    n_grid = 48
    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    fixed = fixed_profile(np.linspace(0.0, 1.0, n_grid + 1))

    def total(v):
        return pnp_steady(v, f32(Z2), f32(D2), f32(CIN2), f32(COUT2), length=L_PORE, area=AREA,
                          temperature=T, fixed_charge=f32(fixed), n_grid=n_grid).total

    v = f32([-0.1, 0.0, 0.02, 0.12])
    values = jax.jit(jax.vmap(total))(v)
    grads = jax.jit(jax.vmap(jax.grad(total)))(v)
    assert values.dtype == jnp.float32 and grads.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(values))) and bool(jnp.all(jnp.isfinite(grads)))
    reference = pore(np.asarray(v, np.float64), n_grid).total
    np.testing.assert_allclose(values, reference, rtol=1e-4)


def test_jit_vmap_matches_loop():
    v = np.array([-0.1, 0.0, 0.07])
    batched = pore(v, 32)
    for k, vk in enumerate(v):
        one = pore(vk, 32)
        np.testing.assert_allclose(batched.current[k], one.current, rtol=1e-12)
        np.testing.assert_allclose(batched.phi[k], one.phi, rtol=1e-12, atol=1e-15)
    assert batched.phi.shape == (3, 33) and batched.c.shape == (3, 33, 2)
    np.testing.assert_allclose(batched.phi[:, 0], v, rtol=1e-14)
    np.testing.assert_allclose(batched.c[:, -1], np.broadcast_to(COUT2, (3, 2)))


def test_strongly_charged_pore_and_fixed_charge_shapes():
    """-3 M peak fixed charge in 10/100 mM baths (Debye length << L) at +-0.3 V: Newton converges
    in float64 and float32 (which agree to 1e-4); a single counter-ion species in that pore still
    carries zero current at its Nernst potential; cell values of the fixed charge act as the
    averages at interior nodes."""
    n_grid = 64
    fixed = fixed_profile(np.linspace(0.0, 1.0, n_grid + 1), -3000.0)
    c_in, c_out, v = np.array([10.0, 10.0]), np.array([100.0, 100.0]), np.array([-0.3, 0.0, 0.3])
    s64 = solve(jnp.asarray(v), Z2, D2, c_in, c_out, fixed, L_PORE, n_grid)
    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    s32 = solve(f32(v), f32(Z2), f32(D2), f32(c_in), f32(c_out), f32(fixed), L_PORE, n_grid)
    assert bool(jnp.all(s64.converged)) and bool(jnp.all(s32.converged))
    np.testing.assert_allclose(s32.current, s64.current, rtol=1e-4)
    e = float(ionjax.nernst_potential(10.0, 100.0, 1, temperature=T))
    s = solve(jnp.array([e, e + 0.02]), Z2[:1], D2[:1], c_in[:1], c_out[:1], fixed, L_PORE,
              n_grid)
    assert abs(float(s.total[0])) <= 1e-11 * abs(float(s.total[1]))
    cells = np.linspace(-600.0, -400.0, n_grid)
    nodes = np.concatenate([[0.0], 0.5 * (cells[1:] + cells[:-1]), [0.0]])
    totals = [float(solve(jnp.asarray(0.05), Z2, D2, CIN2, COUT2, f, L_PORE, n_grid).total)
              for f in (cells, nodes)]
    np.testing.assert_allclose(totals[0], totals[1], rtol=1e-12)


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [dict(area=-1e-18), dict(area=0.0), dict(temperature=np.inf),
                                    dict(diffusion=np.array([np.inf, 1e-9])),
                                    dict(permittivity=np.inf), dict(length=np.nan),
                                    dict(c_in=np.array([0.0, 100.0]))])
def test_invalid_inputs_give_nan_and_not_converged(change):
    kwargs = dict(length=L_PORE, area=AREA, temperature=T, permittivity=EPS_R, n_grid=16)
    args = dict(diffusion=D2, c_in=CIN2)
    for key in list(change):
        (args if key in args else kwargs)[key] = change[key]
    s = pnp_steady(jnp.array([0.03]), Z2, args["diffusion"], args["c_in"], COUT2, **kwargs)
    assert np.all(np.isnan(np.asarray(s.total))) and not bool(jnp.any(s.converged))


def test_unconverged_solve_has_nan_value_and_gradient():
    """A charge far beyond what Newton can reach from the constant field: the value is NaN and
    so is its gradient (a zero gradient would look like a stationary point)."""
    def total(v):
        return pnp_steady(v, Z2, D2, np.array([150.0, 150.0]), np.array([15.0, 15.0]),
                          length=L_PORE, area=AREA, temperature=T, n_grid=128,
                          fixed_charge=-2e4).total

    s = pnp_steady(jnp.asarray(0.5), Z2, D2, np.array([150.0, 150.0]), np.array([15.0, 15.0]),
                   length=L_PORE, area=AREA, temperature=T, n_grid=128, fixed_charge=-2e4)
    assert not bool(s.converged)
    assert np.isnan(float(total(0.5))) and np.isnan(float(jax.grad(total)(0.5)))


@pytest.mark.parametrize("change, message", [
    (dict(fixed_charge=np.array([0.0, -500.0, 0.0])), "cell values or the 17 node values"),
    (dict(fixed_charge=np.zeros((2, 17))), "got shape"),
    (dict(c_in=100.0), "one value per species"),
    (dict(z=np.array([1.0, -1.0, 2.0])), "one value per species"),
    (dict(n_grid=1), "n_grid must be an integer >= 2"),
])
def test_shape_errors_are_one_line(change, message):
    kwargs = dict(z=Z2, diffusion=D2, c_in=CIN2, c_out=COUT2, length=L_PORE, area=AREA,
                  temperature=T, n_grid=16)
    kwargs.update(change)
    with pytest.raises(ValueError, match=message):
        pnp_steady(0.03, **kwargs)
