"""The differentiable point neuron of notebook 07 (``notebooks/neuron_model.py``).

Gradients of a voltage-trace loss with respect to g_na, g_k and p_ca are checked against central
finite differences of the same discrete simulation (so the reference is exact up to the
difference quotient's own error), in float64 and float32. Physical checks: resting potential,
Ca2+ accumulation during spikes with the Nernst E_Ca following it, [Ca]_in > 0.

Tolerances (measured on a 30 ms, 25 us-step trace with two spikes; loss ~ 244 mV^2):
* float64: relative step h = 1e-5 of each parameter. The central difference has a truncation
  error ~ C h^2 (measured 9e-5 relative at h = 1e-3 and 9e-7 at 1e-4, so ~ 9e-9 at 1e-5) and a
  rounding error ~ eps * loss / (h * |grad|) ~ 1.1e-16 * 244 / (1e-5 * 150) ~ 2e-8 for the
  smallest gradient (p_ca). Measured agreement: 9e-9 (g_na), 1e-8 (g_k), 1.3e-8 (p_ca)
  relative. Asserted: rtol = 1e-6 (about 100x margin; a wrong chain-rule term would be off by
  far more).
* float32: the reference is the float64 finite difference (a float32 difference quotient with
  any usable step is dominated by truncation or rounding). The float32 gradient carries the
  rounding of 1200 steps (eps = 6e-8) amplified where spike timing is sensitive; measured
  relative deviation 5e-5 (g_na), 4e-5 (g_k), 2e-5 (p_ca). Asserted: rtol = 2e-3 (margin for
  other hardware's float32 exp/log) and no NaN or inf in the traces or the gradient.
"""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))
import neuron_model as nm  # noqa: E402

DT = 2.5e-5           # s
T_STOP = 0.03         # s
AMPLITUDE = 0.1       # A/m^2 = 10 uA/cm^2
NAMES = ("g_na", "g_k", "p_ca")


def _loss_fn(dtype):
    """Loss of relative parameter factors theta (g_na, g_k, p_ca) vs a target trace [mV^2]."""
    stim = nm.step_current(AMPLITUDE, T_STOP, DT, t_on=0.002, dtype=dtype)
    target = nm.simulate(nm.default_params(dtype), stim, DT)["v"]
    start = nm.default_params(dtype, g_na=1150.0, g_k=380.0, p_ca=3e-6)

    def loss(theta):
        params = dict(start)
        for k, name in enumerate(NAMES):
            params[name] = start[name] * theta[k]
        v = nm.simulate(params, stim, DT)["v"]
        return jnp.mean(((v - target) / 1e-3) ** 2)

    return jax.jit(loss)


@pytest.fixture(scope="module")
def reference():
    """float64 autodiff gradient and central finite differences at theta = 1."""
    loss = _loss_fn(jnp.float64)
    theta = jnp.ones(3, jnp.float64)
    grad = np.asarray(jax.jit(jax.grad(loss))(theta))
    h = 1e-5
    fd = np.array([(loss(theta.at[k].add(h)) - loss(theta.at[k].add(-h))) / (2 * h)
                   for k in range(3)])
    return grad, fd


def test_float64_gradient_matches_central_differences(reference):
    grad, fd = reference
    assert np.all(np.isfinite(grad))
    assert np.all(np.abs(grad) > 1.0), grad  # the loss depends on all three parameters
    np.testing.assert_allclose(grad, fd, rtol=1e-6)


def test_float32_gradient_is_finite_and_close(reference):
    _, fd = reference
    loss = _loss_fn(jnp.float32)
    value, grad = jax.value_and_grad(loss)(jnp.ones(3, jnp.float32))
    assert value.dtype == jnp.float32 and grad.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(grad)))
    np.testing.assert_allclose(np.asarray(grad, float), fd, rtol=2e-3)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64], ids=["float32", "float64"])
def test_trace_dtype_and_no_nan(dtype):
    stim = nm.step_current(AMPLITUDE, 0.1, DT, t_on=0.005, dtype=dtype)   # 4000 steps
    trace = nm.simulate(nm.default_params(dtype), stim, DT)
    for name, x in trace.items():
        assert x.dtype == dtype, name
        assert np.all(np.isfinite(np.asarray(x))), name
    assert np.all(np.asarray(trace["ca"]) > 0)


def test_resting_potential_between_e_k_and_e_leak():
    p = nm.default_params(jnp.float64)
    rest = float(nm.simulate(p, jnp.zeros(4000), DT)["v"][-1])  # 100 ms, no stimulus
    assert float(p["e_k"]) < rest < float(p["e_leak"])
    assert abs(rest - (-0.065)) < 1e-3                            # HH's -65 mV
    # without the Ca2+ channel it is the classic HH rest, -65.0 mV
    no_ca = nm.default_params(jnp.float64, p_ca=0.0)
    assert abs(float(nm.simulate(no_ca, jnp.zeros(4000), DT)["v"][-1]) + 0.065) < 2e-4


def test_calcium_accumulates_during_spikes_and_e_ca_follows():
    p = nm.default_params(jnp.float64)
    stim = nm.step_current(AMPLITUDE, 0.1, DT, t_on=0.01, t_off=0.05, dtype=jnp.float64)
    trace = nm.simulate(p, stim, DT)
    v, ca, e_ca = (np.asarray(trace[k]) for k in ("v", "ca", "e_ca"))
    before = slice(0, int(0.01 / DT))
    assert int(nm.spike_count(trace["v"])) >= 2
    assert np.all(ca > 0)
    assert abs(ca[before].mean() - float(p["ca_rest"])) < 0.1 * float(p["ca_rest"])
    peak = ca.argmax()
    assert ca[peak] > 20 * ca[before].mean()                 # [Ca]_in rises many-fold
    assert v[:peak].max() > 0.0                               # ... after spikes
    # each spike raises [Ca]_in: it increases across the first spike's upstroke
    first = int(np.argmax(v > 0.0))
    assert ca[first + int(0.004 / DT)] > 5 * ca[first - int(0.001 / DT)]
    # E_Ca is the Nernst potential of the current [Ca]_in, and falls as Ca2+ accumulates
    np.testing.assert_allclose(e_ca, np.asarray(nm.calcium_reversal(trace["ca"], p)), rtol=1e-12)
    assert e_ca[peak] < e_ca[before].mean() - 0.03           # by > 30 mV here
    # after the stimulus, first-order removal brings [Ca]_in back toward rest
    assert ca[-1] < 0.5 * ca[peak]


def test_ghk_current_and_flux_balance_agree():
    """I_Ca (ghk_current, in the voltage equation) equals zF (efflux - influx) (ghk_fluxes, in
    the Ca2+ balance): the two equations use one consistent current."""
    import ionjax as ij

    v = jnp.linspace(-0.1, 0.06, 33)
    t = nm.TEMPERATURE
    i = ij.ghk_current(v, 2e-6, 1e-3, 2.0, 2, temperature=t)
    influx, efflux = ij.ghk_fluxes(v, 2e-6, 1.0, 2.0, 2, temperature=t)
    np.testing.assert_allclose(np.asarray(i), np.asarray(2 * ij.FARADAY * (efflux * 1e-3 - influx)),
                               rtol=1e-12, atol=1e-18)


def test_population_vmap_matches_single_runs():
    g_na = jnp.array([900.0, 1200.0, 1500.0])
    pop = nm.population_params(3, jnp.float64, g_na=g_na)
    stim = nm.step_current(AMPLITUDE, 0.1, DT, t_on=0.002, dtype=jnp.float64)
    traces = nm.simulate_population(pop, stim, DT)
    assert traces["v"].shape == (3, stim.size)
    assert np.all(np.diff(np.asarray(nm.spike_count(traces["v"]))) >= 0)  # more g_na, more spikes
    one = nm.simulate(nm.default_params(jnp.float64, g_na=1500.0), stim, DT)
    np.testing.assert_allclose(np.asarray(traces["v"][2]), np.asarray(one["v"]), rtol=1e-10,
                               atol=1e-12)
