"""Nernst potential, driving force and electrochemical potential."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ionjax as ij
import reference as ref
from ionjax.units import celsius, mV


def test_seed_worked_numbers():
    """E_K for 140/5 mM at 37 degC is about -89 mV; E scales as 1/z; Ca2+ half of K+."""
    e_k = ij.nernst_potential(140.0, 5.0, 1, temperature=celsius(37.0))
    assert float(e_k) / mV == pytest.approx(-89.06, abs=0.005)
    e_ca = ij.nernst_potential(140.0, 5.0, 2, temperature=celsius(37.0))
    assert float(e_ca) == pytest.approx(float(e_k) / 2, rel=1e-15)
    e_cl = ij.nernst_potential(140.0, 5.0, -1, temperature=celsius(37.0))
    assert float(e_cl) == pytest.approx(-float(e_k), rel=1e-15)


def test_nernst_matches_50_digit_reference_on_a_grid():
    worst = 0.0
    for t in (273.15, 295.15, 310.15, 330.0):
        for z in (-2, -1, 1, 2, 3):
            for c_in in (1e-5, 0.1, 4.0, 140.0, 500.0):
                for c_out in (1e-5, 2.0, 140.0, 140.0 * (1 + 1e-9), 500.0):
                    got = float(ij.nernst_potential(c_in, c_out, z, temperature=t))
                    want = ref.nernst(c_in, c_out, z, t)
                    if want == 0:
                        assert got == 0.0
                        continue
                    worst = max(worst, float(abs((got - want) / want)))
    assert worst < 1e-13


def test_matches_neuron_published_values():
    """NEURON's unit tests (test/unit_tests/test_eion.py): hh defaults nai 10, nao 140 mM,
    celsius 6.3: ena = 63.55150321937486 mV; from ena = 50 mV, nai = 17.554820246530547 mM and
    nao = 79.7501757545304 mM (NEURON 8+ uses the exact CODATA 2018 R and F, as ionjax does)."""
    t = 6.3 + 273.15
    assert float(ij.nernst_potential(10.0, 140.0, 1, temperature=t)) / mV == pytest.approx(
        63.55150321937486, rel=1e-12)
    v_t = float(ij.thermal_voltage(temperature=t))
    assert 140.0 * np.exp(-0.050 / v_t) == pytest.approx(17.554820246530547, rel=1e-12)
    assert 10.0 * np.exp(0.050 / v_t) == pytest.approx(79.7501757545304, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(log_c=st.floats(-5, 2.7), z=st.sampled_from([-3, -2, -1, 1, 2, 3]), t=st.floats(250, 350))
def test_equal_concentrations_give_zero(log_c, z, t):
    c = 10.0**log_c
    assert float(ij.nernst_potential(c, c, z, temperature=t)) == 0.0


@settings(max_examples=100, deadline=None)
@given(log_c_in=st.floats(-5, 2.7), log_c_out=st.floats(-5, 2.7),
       v=st.floats(-0.3, 0.3, allow_subnormal=False),
       z=st.sampled_from([-2, -1, 1, 2]))
def test_driving_force_is_zf_times_v_minus_e(log_c_in, log_c_out, v, z):
    c_in, c_out, t = 10.0**log_c_in, 10.0**log_c_out, 300.0
    dmu = ij.electrochemical_driving_force(c_in, c_out, v, z, temperature=t)
    e = ref.nernst(c_in, c_out, z, t)
    want = z * ref.F * (ref.mp.mpf(v) - e)
    scale = abs(z) * float(ref.F) * (abs(v) + abs(float(e))) + 1e-300
    assert abs(float(dmu) - float(want)) <= 1e-13 * scale
    # and it is the difference of the electrochemical potentials in and out (mu0 cancels)
    mu_in = ij.electrochemical_potential(c_in, v, z, temperature=t, mu0=-3.0e4)
    mu_out = ij.electrochemical_potential(c_out, 0.0, z, temperature=t, mu0=-3.0e4)
    # each mu carries |mu0| = 3e4 J/mol, so the difference is exact to ~1e-16 * 3e4 J/mol
    assert float(mu_in - mu_out) == pytest.approx(float(dmu), rel=1e-9, abs=1e-9 * scale + 1e-10)


def test_electrochemical_potential_definition():
    mu = ij.electrochemical_potential(10.0, -0.07, 2, temperature=300.0, mu0=100.0)
    want = 100 + ref.R * 300 * ref.mp.log(10) + 2 * ref.F * ref.mp.mpf(-0.07)
    assert float(mu) == pytest.approx(float(want), rel=1e-14)


def test_thermal_voltage_and_driving_potential():
    assert float(ij.thermal_voltage(temperature=298.15)) == pytest.approx(
        float(ref.R * ref.mp.mpf("298.15") / ref.F), rel=1e-15)
    assert float(ij.driving_potential(-0.06, -0.09)) == pytest.approx(0.03, rel=1e-14)


def test_dtype_is_preserved_and_temperature_never_promotes():
    c = jnp.asarray([1.0, 10.0], jnp.float32)
    e = ij.nernst_potential(c, jnp.float32(5.0), 1, temperature=np.float64(310.15))
    assert e.dtype == jnp.float32
    assert ij.thermal_voltage(temperature=jnp.float32(300.0)).dtype == jnp.float32
    assert ij.electrochemical_driving_force(c, c, jnp.float32(0.01), 1,
                                            temperature=300.0).dtype == jnp.float32


@pytest.mark.parametrize("args", [(-1e-3, 5.0, 1, 300.0), (140.0, -1.0, 1, 300.0),
                                  (0.0, 0.0, 1, 300.0), (140.0, 5.0, 0, 300.0),
                                  (140.0, 5.0, 1, -3.0)])
def test_non_physical_input_gives_nan_inside_jit(args):
    c_in, c_out, z, t = args
    assert np.isnan(jax.jit(lambda a, b: ij.nernst_potential(a, b, z, temperature=t))(c_in, c_out))
    assert np.isnan(jax.jit(lambda a, b: ij.electrochemical_driving_force(
        a, b, 0.0, z, temperature=t))(c_in, c_out))
    grad = jax.grad(lambda a: ij.nernst_potential(a, c_out, z, temperature=t))(c_in)
    assert not np.isfinite(grad) or np.isnan(grad) or grad == 0.0


def test_gradients_are_exact():
    g = jax.grad(lambda c_in: ij.nernst_potential(c_in, 5.0, 1, temperature=300.0))(140.0)
    assert float(g) == pytest.approx(-float(ref.R * 300 / ref.F) / 140.0, rel=1e-14)


@pytest.mark.parametrize("z", [1, 2, -1, -2])
def test_an_ion_absent_from_one_side_has_an_infinite_nernst_potential(z):
    """E = RT/(zF) ln(c_out/c_in): c_in = 0 gives +inf for cations, -inf for anions; c_out = 0
    the opposite (issue 27); the driving force RT ln(c_in/c_out) + zFv is -inf / +inf."""
    t = 295.15
    nernst = jax.jit(lambda a, b: ij.nernst_potential(a, b, z, temperature=t))
    force = jax.jit(lambda a, b: ij.electrochemical_driving_force(a, b, -0.06, z, temperature=t))
    for dtype in (np.float64, np.float32):
        c_in, c_out = dtype([0.0, 140.0, 0.0]), dtype([5.0, 0.0, 0.0])
        e, dmu = nernst(c_in, c_out), force(c_in, c_out)
        assert e.dtype == dtype and dmu.dtype == dtype
        assert e[0] == np.sign(z) * np.inf and e[1] == -np.sign(z) * np.inf and np.isnan(e[2])
        assert dmu[0] == -np.inf and dmu[1] == np.inf and np.isnan(dmu[2])
    # the limit, approached: 1e-300 mM inside already gives E = +17.5 V / z
    tiny = float(ij.nernst_potential(1e-300, 5.0, z, temperature=t))
    assert tiny == pytest.approx(float(ref.nernst(1e-300, 5.0, z, t)), rel=1e-13)
    assert np.sign(tiny) == np.sign(z) and abs(tiny) > 17.0 / abs(z)
    # an activity of 0 is still refused by the electrochemical potential (mu0 + RT ln a)
    assert np.isnan(ij.electrochemical_potential(0.0, 0.0, z, temperature=t))
