"""Currents of gated channels (ionjax.gated_ohmic_current, ionjax.gated_ghk_current), the exact
step against diffrax, and the simulator against the authors' published loss (Beattie et al. 2018).

References used, each independent of the code under test:
* closed forms: a gate's relaxation x(t) = x_inf + (x0 - x_inf) exp(-t / tau) at constant
  voltage, the GHK current written out with numpy (Hille 2001 eq. 14.5), zero current at the
  Nernst potential;
* diffrax's Tsit5 with a PID step-size controller (rtol 1e-12), told the sample edges as jumps;
* the log-likelihood each cell's maximum-likelihood parameters reached in the authors' own code
  (CVODE, MATLAB), from their supplementary repository (tests/beattie_reference.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ionjax
from beattie_reference import (
    CELLS, LOG_LIKELIHOOD, MAXIMUM_LIKELIHOOD, R0, TEMPERATURE_C, e_k_authors, log_likelihood,
    sine_wave_midpoint)

scipy_io = pytest.importorskip("scipy.io")

DT = 1e-4  # 0.1 ms
TEMPERATURE = 273.15 + 21.4
CELL5 = np.asarray(MAXIMUM_LIKELIHOOD["16713110"])


def _rates(v, p):
    """k1..k4 [1/s] of the paper's model at v [V] for parameters p (1/ms, 1/mV)."""
    s = 1e3
    return (ionjax.rate_exponential(v, p[0] * s, p[1] * s),
            ionjax.rate_exponential(v, p[2] * s, -p[3] * s),
            ionjax.rate_exponential(v, p[4] * s, p[5] * s),
            ionjax.rate_exponential(v, p[6] * s, -p[7] * s))


@jax.jit
def _open(v, p, r0=0.0):
    """Open probability a r of the paper's model over a protocol v [V], a from 0, r from r0."""
    k1, k2, k3, k4 = _rates(v, p)
    zero = jnp.zeros((), v.dtype)
    return ionjax.gate_trace(k1, k2, DT, zero) * ionjax.gate_trace(k4, k3, DT, zero + r0)


@pytest.fixture
def protocol_mv(shared_data):
    """The sine-wave protocol [mV], 80,000 samples at 0.1 ms."""
    return scipy_io.loadmat(shared_data / "beattie2018" / "sine_wave_protocol.mat")["T"][:, 0]


def test_ohmic_current_follows_the_closed_form_relaxation_at_constant_voltage():
    v = np.full(4000, 0.02)  # +20 mV for 400 ms, gates from 0 (a r from a hold at -80 mV)
    k1, k2, k3, k4 = (float(k[0]) for k in _rates(jnp.asarray(v), jnp.asarray(CELL5)))
    t = np.arange(v.size) * DT
    a = k1 / (k1 + k2) * (1 - np.exp(-(k1 + k2) * t))
    r = k4 / (k3 + k4) * (1 - np.exp(-(k3 + k4) * t))
    g, e_k = CELL5[8] * 1e-6, -0.0884
    expected = g * a * r * (v - e_k)
    p_open = _open(jnp.asarray(v), jnp.asarray(CELL5))
    got = ionjax.gated_ohmic_current(jnp.asarray(v), p_open, g, e_k)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12 * np.abs(expected).max())
    # after many time constants (tau_a is about 1 s here; the exact step takes any dt: 50 ms):
    # the steady state g a_inf r_inf (v - E)
    k = [jnp.full(2000, x) for x in (k1, k2, k3, k4)]
    zero = jnp.zeros(())
    p_open = ionjax.gate_trace(k[0], k[1], 0.05, zero) * ionjax.gate_trace(k[3], k[2], 0.05, zero)
    steady = g * k1 / (k1 + k2) * k4 / (k3 + k4) * (0.02 - e_k)
    np.testing.assert_allclose(ionjax.gated_ohmic_current(0.02, p_open[-1], g, e_k), steady,
                               rtol=1e-12)


def test_ghk_current_of_the_open_fraction_against_the_written_out_formula():
    v = np.linspace(-0.12, 0.06, 37)
    p_open, perm, c_in, c_out = 0.3, 2e-14, 130.0, 4.0  # m^3/s, mM
    got = ionjax.gated_ghk_current(v, p_open, perm, c_in, c_out, 1, temperature=TEMPERATURE)
    f, r = 1.602176634e-19 * 6.02214076e23, 1.380649e-23 * 6.02214076e23  # SI 2019, exact
    u = f * v / (r * TEMPERATURE)
    with np.errstate(invalid="ignore", divide="ignore"):
        ghk = perm * f * u * (c_in - c_out * np.exp(-u)) / (1 - np.exp(-u))
    expected = p_open * np.where(v == 0, perm * f * (c_in - c_out), ghk)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.all((np.sign(got) == np.sign(v - float(ionjax.nernst_potential(
        c_in, c_out, 1, temperature=TEMPERATURE)))) | (got == 0))


def test_both_currents_vanish_at_the_nernst_potential_whatever_the_gates():
    e_k = ionjax.nernst_potential(130.0, 4.0, 1, temperature=TEMPERATURE)
    p_open = jnp.linspace(0.0, 1.0, 11)
    ghk = ionjax.gated_ghk_current(e_k, p_open, 1e-14, 130.0, 4.0, 1, temperature=TEMPERATURE)
    ohmic = ionjax.gated_ohmic_current(e_k, p_open, 1e-7, e_k)
    scale = float(ionjax.ghk_current(0.0, 1e-14, 130.0, 4.0, 1, temperature=TEMPERATURE))
    assert np.abs(ghk).max() <= 1e-13 * abs(scale)
    assert np.all(ohmic == 0.0)


def test_gradients_are_the_closed_form_partial_derivatives():
    v, p_open = jnp.array([-0.1, 0.0, 0.04]), jnp.array([0.1, 0.5, 0.9])

    def total(g, e_rev):
        return jnp.sum(ionjax.gated_ohmic_current(v, p_open, g, e_rev))

    d_g, d_e = jax.grad(total, argnums=(0, 1))(2e-7, -0.088)
    np.testing.assert_allclose(d_g, float(jnp.sum(p_open * (v + 0.088))), rtol=1e-14)
    np.testing.assert_allclose(d_e, -2e-7 * float(jnp.sum(p_open)), rtol=1e-14)
    # d/dP_open of the GHK form is the open channels' current itself
    d_open = jax.grad(lambda x: ionjax.gated_ghk_current(0.04, x, 1e-14, 130.0, 4.0, 1,
                                                         temperature=TEMPERATURE))(0.3)
    np.testing.assert_allclose(
        d_open, ionjax.ghk_current(0.04, 1e-14, 130.0, 4.0, 1, temperature=TEMPERATURE), rtol=1e-14)


def test_float32_current_stays_within_1e_5_of_float64(protocol_mv):
    v64 = jnp.asarray(protocol_mv * 1e-3)
    v32 = v64.astype(jnp.float32)
    g, e_k = CELL5[8] * 1e-6, -0.0884
    i64 = ionjax.gated_ohmic_current(v64, _open(v64, jnp.asarray(CELL5)), g, e_k)
    i32 = ionjax.gated_ohmic_current(v32, _open(v32, jnp.asarray(CELL5, jnp.float32)),
                                     jnp.float32(g), jnp.float32(e_k))
    assert i32.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(i32 - i64))) <= 1e-5 * float(jnp.max(jnp.abs(i64)))
    o32 = _open(v32, jnp.asarray(CELL5, jnp.float32))
    ghk32 = ionjax.gated_ghk_current(v32, o32, jnp.float32(1e-14), jnp.float32(130.0),
                                     jnp.float32(4.0), 1, temperature=jnp.float32(TEMPERATURE))
    ghk64 = ionjax.gated_ghk_current(v64, _open(v64, jnp.asarray(CELL5)), 1e-14, 130.0, 4.0, 1,
                                     temperature=TEMPERATURE)
    assert ghk32.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(ghk32 - ghk64))) <= 1e-5 * float(jnp.max(jnp.abs(ghk64)))


def test_open_probability_outside_0_1_is_nan_not_a_current():
    i = ionjax.gated_ohmic_current(0.0, jnp.array([-0.2, 0.0, 1.0, 1.5]), 1e-7, -0.09)
    assert np.isnan(i[0]) and np.isnan(i[3]) and np.all(np.isfinite(i[1:3]))
    for p_open, c_in in ((2.0, 130.0), (0.5, -1.0)):  # impossible P_open; negative c_in
        assert np.isnan(ionjax.gated_ghk_current(0.0, p_open, 1e-14, c_in, 4.0, 1,
                                                 temperature=TEMPERATURE))


def _diffrax_gates(v, p, x0):
    """Both gates by diffrax (Tsit5, PID rtol 1e-12), time in samples, the voltage held over
    each sample [n, n + 1) (zero-order hold) and every sample edge a jump of the vector field.
    (Kvaerno5 agrees too, to 2e-10 at rtol 1e-12, but takes 60 times the steps on the sine: the
    model is not stiff at 0.1 ms, where the rates are below 0.03 per sample.)"""
    diffrax = pytest.importorskip("diffrax")
    k = jnp.stack(_rates(jnp.asarray(v), jnp.asarray(p)), -1) * DT  # per sample
    n = v.size

    def field(t, y, args):
        k1, k2, k3, k4 = k[jnp.clip(jnp.floor(t).astype(int), 0, n - 1)]
        return jnp.stack([k1 * (1 - y[0]) - k2 * y[0], k4 * (1 - y[1]) - k3 * y[1]])

    edges = np.flatnonzero(np.diff(v) != 0) + 1.0
    controller = diffrax.ClipStepSizeController(
        diffrax.PIDController(rtol=1e-12, atol=1e-14), jump_ts=jnp.asarray(edges))
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field), diffrax.Tsit5(), 0.0, float(n - 1), 0.5, jnp.asarray(x0),
        saveat=diffrax.SaveAt(ts=jnp.arange(n, dtype=float)), stepsize_controller=controller,
        max_steps=200_000)
    return np.asarray(sol.ys)


def test_gate_trace_equals_diffrax_on_the_beattie_protocol(protocol_mv):
    # the 7 steps before the sine, then 60 ms of sine (a new voltage every sample), from (0.05, 0.6)
    segment = protocol_mv[:30600] * 1e-3
    k1, k2, k3, k4 = _rates(jnp.asarray(segment), jnp.asarray(CELL5))
    ours = np.stack([ionjax.gate_trace(k1, k2, DT, 0.05), ionjax.gate_trace(k4, k3, DT, 0.6)], -1)
    ref = _diffrax_gates(segment, CELL5, (0.05, 0.6))
    assert np.abs(ours - ref).max() <= 1e-11, np.abs(ours - ref).max()


@pytest.mark.parametrize("cell", CELLS)
def test_authors_parameters_reach_the_authors_log_likelihood(shared_data, protocol_mv, cell):
    """ionjax's simulation with each cell's published maximum-likelihood parameters gives the
    log-likelihood the authors' CVODE code reported, to 2 units in 10^5..10^6: their loss, their
    E_K constants and kept samples, the sine followed at mid-sample as their continuous-time
    simulation does, a from 0 and r from 1 as their MexHH.c starts (tests/beattie_reference.py).
    Raising g by only 0.1% moves cell 5's by 174."""
    p = np.asarray(MAXIMUM_LIKELIHOOD[cell])
    recorded = scipy_io.loadmat(shared_data / "beattie2018" / "sine_wave" /
                                f"sine_wave_{cell}.mat")["T"][:, 0]
    v_hold = jnp.asarray(sine_wave_midpoint(protocol_mv) * 1e-3)
    e_k = e_k_authors(TEMPERATURE_C[cell]) * 1e-3
    p_open = _open(v_hold, jnp.asarray(p), R0)
    current = ionjax.gated_ohmic_current(jnp.asarray(protocol_mv * 1e-3), p_open, p[8] * 1e-6, e_k)
    simulated_na = np.asarray(current) * 1e9
    assert abs(log_likelihood(simulated_na, recorded) - LOG_LIKELIHOOD[cell]) <= 2.0
    if cell == "16713110":
        assert LOG_LIKELIHOOD[cell] - log_likelihood(simulated_na * 1.001, recorded) > 100
