"""Tests of ionjax._src.permeation against closed forms and published values.

Published data used (25 degC):

* Viscosity of water 0.8903 mPa s (the value of Robinson & Stokes, Electrolyte Solutions, 2nd
  ed., 1959) and 0.6913 mPa s at 37 degC (CRC Handbook).
* Limiting diffusion coefficients of ions (Robinson & Stokes appendix 6.2 / CRC Handbook "Ionic
  conductivity and diffusion at infinite dilution"): Li+ 1.029, Na+ 1.334, K+ 1.957,
  Cl- 2.032 (units of 1e-9 m^2/s), and the Stokes radii Robinson & Stokes derive from them
  (table 6.2): Li+ 2.38, Na+ 1.84, K+ 1.25, Cl- 1.21 A (three digits: rtol 3e-3).

Everything else is checked against closed forms evaluated here with literal CODATA numbers.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ionjax import (
    access_current,
    access_resistance,
    diffusion_limited_fraction,
    stokes_einstein_diffusion,
    stokes_radius,
    viscosity_scaled_conductance,
    walden_conductance,
)

K_B = 1.380649e-23  # J/K
F = 96485.33212  # C/mol
T25 = 298.15
ETA25 = 0.8903e-3  # Pa s
PS = 1e-12


# ----------------------------------------------------------------------------- Stokes-Einstein


def test_stokes_einstein_closed_form():
    # A 1 A sphere in water (eta = 0.89 mPa s) at 25 degC: D = kT/(6 pi eta r) = 2.45e-9 m^2/s.
    expected = K_B * T25 / (6 * math.pi * 0.89e-3 * 1e-10)
    d = stokes_einstein_diffusion(1e-10, 0.89e-3, temperature=T25)
    np.testing.assert_allclose(d, expected, rtol=1e-14)
    assert 1e-9 < float(d) < 1e-8  # "of order 1e-9 m^2/s"
    np.testing.assert_allclose(d, 2.4537e-9, rtol=1e-4)


def test_stokes_einstein_scaling():
    r = jnp.array([1e-10, 2e-10, 5e-10])
    d = stokes_einstein_diffusion(r, ETA25, temperature=T25)
    np.testing.assert_allclose(d * r, d[0] * r[0], rtol=1e-14)  # D ~ 1/r
    d2 = stokes_einstein_diffusion(r, 2 * ETA25, temperature=T25)
    np.testing.assert_allclose(d2, d / 2, rtol=1e-14)  # D ~ 1/eta
    # 25 -> 37 degC in water: D scales as T/eta.
    d37 = stokes_einstein_diffusion(r, 0.6913e-3, temperature=310.15)
    np.testing.assert_allclose(d37 / d, (310.15 / T25) * (ETA25 / 0.6913e-3), rtol=1e-14)


@pytest.mark.parametrize("diffusion, radius_angstrom", [
    (1.029e-9, 2.38),  # Li+
    (1.334e-9, 1.84),  # Na+
    (1.957e-9, 1.25),  # K+
    (2.032e-9, 1.21),  # Cl-
])
def test_stokes_radius_robinson_stokes(diffusion, radius_angstrom):
    r = stokes_radius(diffusion, ETA25, temperature=T25)
    np.testing.assert_allclose(r, radius_angstrom * 1e-10, rtol=3e-3)
    # and the round trip
    np.testing.assert_allclose(stokes_einstein_diffusion(r, ETA25, temperature=T25), diffusion,
                               rtol=1e-14)


# ----------------------------------------------------------------------------- viscosity


def test_walden_identity():
    eta = jnp.array([0.5, 0.89, 1.0, 1.78, 3.0]) * 1e-3
    g = walden_conductance(20 * PS, 0.89e-3, eta)
    np.testing.assert_allclose(g * eta, 20 * PS * 0.89e-3, rtol=1e-14)  # g eta = const
    np.testing.assert_allclose(walden_conductance(20 * PS, 0.89e-3, 1.78e-3), 10 * PS,
                               rtol=1e-14)  # doubling eta halves g


def test_viscosity_scaled_conductance_limits():
    g_ref, eta_ref = 20 * PS, 0.89e-3
    eta = jnp.array([0.89e-3, 1.335e-3, 1.78e-3, 4.45e-3])
    # phi = 1: Walden; phi = 0: independent of viscosity (gating/barrier limited).
    np.testing.assert_allclose(viscosity_scaled_conductance(g_ref, eta_ref, eta),
                               g_ref * eta_ref / eta, rtol=1e-14)
    np.testing.assert_allclose(
        viscosity_scaled_conductance(g_ref, eta_ref, eta, diffusion_limited_fraction=0.0),
        g_ref, rtol=1e-14)
    # Doubling viscosity halves a diffusion-limited conductance.
    np.testing.assert_allclose(viscosity_scaled_conductance(g_ref, eta_ref, 2 * eta_ref),
                               g_ref / 2, rtol=1e-14)
    # Half diffusion-limited, doubled viscosity: 1/g = (0.5 * 2 + 0.5)/g_ref -> g = g_ref / 1.5.
    np.testing.assert_allclose(
        viscosity_scaled_conductance(g_ref, eta_ref, 2 * eta_ref, diffusion_limited_fraction=0.5),
        g_ref / 1.5, rtol=1e-14)
    # Unchanged viscosity leaves g unchanged for every phi.
    phi = jnp.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(
        viscosity_scaled_conductance(g_ref, eta_ref, eta_ref, diffusion_limited_fraction=phi),
        g_ref, rtol=1e-14)


def test_series_resistance_is_linear_in_viscosity():
    # 1/g - 1/g_ref = phi (eta/eta_ref - 1) / g_ref: a straight line in eta through eta_ref.
    g_ref, eta_ref, phi = 30 * PS, 1e-3, 0.3
    eta = jnp.linspace(1e-3, 5e-3, 9)
    g = viscosity_scaled_conductance(g_ref, eta_ref, eta, diffusion_limited_fraction=phi)
    np.testing.assert_allclose(1 / g - 1 / g_ref, phi * (eta / eta_ref - 1) / g_ref, rtol=1e-12,
                               atol=1e-12 / g_ref)


def test_diffusion_limited_fraction_from_viscosity_experiment():
    # 20 pS -> 15 pS when eta doubles: 1/g rose by (20/15 - 1) = 1/3 of 1/g_ref over a doubling.
    np.testing.assert_allclose(diffusion_limited_fraction(20 * PS, 15 * PS, 1e-3, 2e-3), 1 / 3,
                               rtol=1e-14)
    np.testing.assert_allclose(diffusion_limited_fraction(20 * PS, 10 * PS, 1e-3, 2e-3), 1.0,
                               rtol=1e-14)
    np.testing.assert_allclose(diffusion_limited_fraction(20 * PS, 20 * PS, 1e-3, 3e-3), 0.0,
                               atol=1e-15)
    phi = jnp.array([0.0, 0.25, 0.8, 1.0])
    g = viscosity_scaled_conductance(20 * PS, 1e-3, 2.5e-3, diffusion_limited_fraction=phi)
    np.testing.assert_allclose(diffusion_limited_fraction(20 * PS, g, 1e-3, 2.5e-3), phi,
                               atol=1e-14)
    assert np.isnan(diffusion_limited_fraction(20 * PS, 15 * PS, 1e-3, 1e-3))


# ----------------------------------------------------------------------------- pore mouth


def test_access_current_closed_form():
    # r = 0.3 nm, D = 1.33e-9 m^2/s, c = 150 mM, z = 1: I = 2 pi r z F D c ~ 36 pA.
    expected = 2 * math.pi * 0.3e-9 * 1 * F * 1.33e-9 * 150.0
    i = access_current(150.0, 0.3e-9, 1.33e-9, 1)
    np.testing.assert_allclose(i, expected, rtol=1e-10)
    np.testing.assert_allclose(i / PS, 36.3, rtol=2e-3)
    # Disk (Berg & Purcell): 4 r D c instead of 2 pi r D c.
    np.testing.assert_allclose(access_current(150.0, 0.3e-9, 1.33e-9, 1, geometry="disk"),
                               4 * 0.3e-9 * F * 1.33e-9 * 150.0, rtol=1e-10)
    # Linear in c, r, D; signed with z.
    np.testing.assert_allclose(access_current(jnp.array([15.0, 150.0]), 0.3e-9, 1.33e-9, -2),
                               [-2 * expected / 10, -2 * expected], rtol=1e-10)
    with pytest.raises(ValueError):
        access_current(150.0, 0.3e-9, 1.33e-9, 1, geometry="cone")


def test_access_current_viscosity_via_stokes_einstein():
    # Composition: D from Stokes-Einstein; doubling viscosity halves the access current.
    def i_max(eta):
        d = stokes_einstein_diffusion(1.84e-10, eta, temperature=T25)
        return access_current(150.0, 0.3e-9, d, 1)

    np.testing.assert_allclose(i_max(2 * ETA25), i_max(ETA25) / 2, rtol=1e-14)


def test_access_resistance_hall():
    # R = rho / (4 r): rho = 0.8 Ohm m, r = 1 nm -> 2e8 Ohm.
    np.testing.assert_allclose(access_resistance(1e-9, 0.8), 0.8 / 4e-9, rtol=1e-15)
    r = jnp.array([0.3e-9, 1e-9, 3e-9])
    np.testing.assert_allclose(access_resistance(r, 0.8) * r, 0.2, rtol=1e-14)


# ----------------------------------------------------------------------------- numerics


def test_invalid_input_gives_nan():
    assert np.isnan(stokes_einstein_diffusion(0.0, ETA25, temperature=T25))
    assert np.isnan(stokes_einstein_diffusion(-1e-10, ETA25, temperature=T25))
    assert np.isnan(stokes_einstein_diffusion(1e-10, 0.0, temperature=T25))
    assert np.isnan(stokes_einstein_diffusion(1e-10, ETA25, temperature=0.0))
    assert np.isnan(stokes_radius(0.0, ETA25, temperature=T25))
    assert np.isnan(stokes_radius(1e-9, -1e-3, temperature=T25))
    assert np.isnan(walden_conductance(20 * PS, 0.0, 1e-3))
    assert np.isnan(walden_conductance(20 * PS, 1e-3, -1e-3))
    assert np.isnan(walden_conductance(-20 * PS, 1e-3, 1e-3))
    assert np.isnan(viscosity_scaled_conductance(20 * PS, 1e-3, 2e-3,
                                                 diffusion_limited_fraction=1.5))
    assert np.isnan(viscosity_scaled_conductance(20 * PS, 1e-3, 0.0))
    assert np.isnan(access_current(150.0, 0.0, 1.33e-9, 1))
    assert np.isnan(access_current(150.0, 0.3e-9, 0.0, 1))
    assert np.isnan(access_current(-1.0, 0.3e-9, 1.33e-9, 1))
    assert np.isnan(access_resistance(0.0, 0.8))
    assert np.isnan(access_resistance(1e-9, 0.0))
    # inside jit, elementwise
    out = jax.jit(lambda r: stokes_einstein_diffusion(r, ETA25, temperature=T25))(
        jnp.array([1e-10, -1e-10]))
    assert np.isfinite(out[0]) and np.isnan(out[1])


def test_jit_and_grad():
    # d D / d r = -D / r; d g / d eta = -g_ref eta_ref / eta^2 (phi = 1); finite everywhere.
    r = 1.84e-10
    d_dr = jax.jit(jax.grad(lambda r: stokes_einstein_diffusion(r, ETA25, temperature=T25)))(r)
    d = stokes_einstein_diffusion(r, ETA25, temperature=T25)
    np.testing.assert_allclose(d_dr, -d / r, rtol=1e-12)

    def g(eta, phi):
        return viscosity_scaled_conductance(20 * PS, 1e-3, eta, diffusion_limited_fraction=phi)

    dg_deta, dg_dphi = jax.jit(jax.grad(g, argnums=(0, 1)))(2e-3, 1.0)
    np.testing.assert_allclose(dg_deta, -20 * PS * 1e-3 / 2e-3**2, rtol=1e-12)
    # d g / d phi = -g_ref (eta/eta_ref - 1) / (phi eta/eta_ref + 1 - phi)^2 = -20 pS / 4 at phi=1
    np.testing.assert_allclose(dg_dphi, -20 * PS / 4, rtol=1e-12)
    di_dc = jax.grad(lambda c: access_current(c, 0.3e-9, 1.33e-9, 1))(150.0)
    np.testing.assert_allclose(di_dc, 2 * math.pi * 0.3e-9 * F * 1.33e-9, rtol=1e-10)
    dphi = jax.grad(diffusion_limited_fraction, argnums=1)(20 * PS, 15 * PS, 1e-3, 2e-3)
    np.testing.assert_allclose(dphi, -20 * PS / (15 * PS) ** 2, rtol=1e-12)
    dr = jax.grad(access_resistance)(1e-9, 0.8)
    np.testing.assert_allclose(dr, -0.8 / (4 * 1e-18), rtol=1e-12)


def test_float32_preserved_and_accurate():
    f32 = jnp.float32
    t = np.float64(T25)  # a NumPy float64 temperature must not promote
    z = np.int64(1)
    d = stokes_einstein_diffusion(f32(1.84e-10), f32(ETA25), temperature=t)
    assert d.dtype == jnp.float32
    np.testing.assert_allclose(d, K_B * T25 / (6 * math.pi * ETA25 * 1.84e-10), rtol=1e-6)
    r = stokes_radius(f32(1.334e-9), f32(ETA25), temperature=t)
    assert r.dtype == jnp.float32
    np.testing.assert_allclose(r, 1.84e-10, rtol=3e-3)
    g = walden_conductance(f32(20e-12), f32(1e-3), f32(2e-3))
    assert g.dtype == jnp.float32
    np.testing.assert_allclose(g, 10e-12, rtol=1e-6)
    g = viscosity_scaled_conductance(f32(20e-12), f32(1e-3), f32(2e-3),
                                     diffusion_limited_fraction=0.5)
    assert g.dtype == jnp.float32
    np.testing.assert_allclose(g, 20e-12 / 1.5, rtol=1e-6)
    assert diffusion_limited_fraction(f32(20e-12), f32(15e-12), f32(1e-3),
                                      f32(2e-3)).dtype == jnp.float32
    i = access_current(f32(150.0), f32(0.3e-9), f32(1.33e-9), z)
    assert i.dtype == jnp.float32
    np.testing.assert_allclose(i, 2 * math.pi * 0.3e-9 * F * 1.33e-9 * 150.0, rtol=1e-6)
    ra = access_resistance(f32(1e-9), f32(0.8))
    assert ra.dtype == jnp.float32
    np.testing.assert_allclose(ra, 2e8, rtol=1e-6)
