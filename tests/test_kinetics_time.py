"""Gating in time (ionjax._src.kinetics) against independent references.

* scipy's ``solve_ivp`` (BDF, rtol 1e-10) on the ODEs dx/dt = alpha (1 - x) - beta x, integrated
  segment by segment over the same zero-order-hold protocol: the staircase of Beattie et al.
  (2018) at full resolution, the whole 8 s protocol held in 10 ms blocks, and 100 ms of the sine
  wave at full resolution. Tolerance: 1e-6 of the largest open probability (the issue's bound on
  the current, I = g P_o (V - E), relative to its largest value).
* The identity between the paper's two Hodgkin-Huxley gates a r and the equivalent four-state
  Markov scheme (the product chain), which exercises the matrix-exponential path independently.
* Closed forms: steady states, a single step's exponential relaxation.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import ionjax

scipy_io = pytest.importorskip("scipy.io")
solve_ivp = pytest.importorskip("scipy.integrate").solve_ivp

DT = 1e-4  # 0.1 ms
# Cell 5 of Beattie et al. (2018), Table F1 (p1..p8 in 1/ms and 1/mV)
P = np.array([2.26e-4, 0.0699, 3.45e-5, 0.05462, 0.0873, 8.91e-3, 5.15e-3, 0.03158])


def _rates(v, p=P):
    """k1..k4 [1/s] of the paper's model at v [V]."""
    s = 1e3  # 1/ms -> 1/s and 1/mV -> 1/V
    return (ionjax.rate_exponential(v, p[0] * s, p[1] * s),
            ionjax.rate_exponential(v, p[2] * s, -p[3] * s),
            ionjax.rate_exponential(v, p[4] * s, p[5] * s),
            ionjax.rate_exponential(v, p[6] * s, -p[7] * s))


def _open(v, p=P, dtype=jnp.float64):
    k1, k2, k3, k4 = _rates(jnp.asarray(v, dtype), jnp.asarray(p, dtype))
    zero = jnp.zeros((), dtype)
    return ionjax.gate_trace(k1, k2, DT, zero) * ionjax.gate_trace(k4, k3, DT, zero)


def _reference(v):
    """Open probability a r by solve_ivp (BDF) over each constant-voltage segment of ``v`` [V]."""
    k = np.stack([np.asarray(x) for x in _rates(jnp.asarray(v))], -1)
    edges = np.concatenate([[0], np.flatnonzero(np.diff(v) != 0) + 1, [len(v)]])
    y, out = np.zeros(2), np.zeros(len(v))
    for start, end in zip(edges[:-1], edges[1:]):
        c = k[start]
        jac = [[-c[0] - c[1], 0.0], [0.0, -c[2] - c[3]]]
        sol = solve_ivp(lambda t, y: [c[0] * (1 - y[0]) - c[1] * y[0], c[3] * (1 - y[1]) - c[2] * y[1]],
                        (0, (end - start) * DT), y, method="BDF", rtol=1e-10, atol=1e-14,
                        t_eval=np.arange(end - start + 1) * DT, jac=lambda t, y: jac)
        out[start:end] = sol.y[0, :-1] * sol.y[1, :-1]
        y = sol.y[:, -1]
    return out


@pytest.fixture
def protocol(shared_data):
    """The sine-wave protocol [V], 80,000 samples at 0.1 ms."""
    return scipy_io.loadmat(shared_data / "beattie2018" / "sine_wave_protocol.mat")["T"][:, 0] * 1e-3


def test_staircase_matches_bdf(protocol):
    v = protocol[:30000]  # the steps before the sine wave (7 segments)
    ours, ref = np.asarray(_open(v)), _reference(v)
    assert np.abs(ours - ref).max() <= 1e-6 * np.abs(ref).max()


def test_whole_protocol_in_10ms_blocks_matches_bdf(protocol):
    v = np.repeat(protocol[::100], 100)  # 800 constant segments over the whole 8 s
    ours, ref = np.asarray(_open(v)), _reference(v)
    assert np.abs(ours - ref).max() <= 1e-6 * np.abs(ref).max()


def test_sine_wave_at_full_resolution_matches_bdf(protocol):
    v = protocol[40000:41000]  # 100 ms of the sine: the voltage changes at every sample
    ours, ref = np.asarray(_open(v)), _reference(v)
    assert np.abs(ours - ref).max() <= 1e-6 * np.abs(ref).max()


def test_float32_stays_within_1e_5_of_float64(protocol):
    o64 = _open(protocol)
    o32 = _open(protocol, dtype=jnp.float32)
    assert o32.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(o32 - o64))) <= 1e-5 * float(jnp.max(o64))


def _product_chain(k1, k2, k3, k4):
    """The four-state Markov scheme equivalent to the gates a (k1 up, k2 down) and r (k4 up,
    k3 down): state 2 a + r, so the open state (a = 1, r = 1) is state 3."""
    transitions, which = [], []
    for r in (0, 1):
        transitions += [(r, 2 + r), (2 + r, r)]
        which += [0, 1]
    for a in (0, 1):
        transitions += [(2 * a, 2 * a + 1), (2 * a + 1, 2 * a)]
        which += [3, 2]
    rates = jnp.stack([k1, k2, k3, k4], -1)[..., jnp.array(which)]
    return ionjax.markov_generator(rates, tuple(transitions), 4)


def test_markov_product_chain_equals_the_two_gates(protocol):
    v = jnp.asarray(protocol)
    q = _product_chain(*_rates(v))
    p = ionjax.markov_trace(q, DT, jnp.array([1.0, 0.0, 0.0, 0.0]))
    np.testing.assert_allclose(p[:, 3], _open(protocol), atol=1e-12)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-12)
    assert float(p.min()) > -1e-12


def test_markov_steady_state_is_the_product_of_the_gates_steady_states():
    v = jnp.linspace(-0.12, 0.06, 7)
    k1, k2, k3, k4 = _rates(v)
    p_inf = ionjax.markov_steady_state(_product_chain(k1, k2, k3, k4))
    a_inf, _ = ionjax.gate_steady_state(k1, k2)
    r_inf, _ = ionjax.gate_steady_state(k4, k3)
    np.testing.assert_allclose(p_inf[:, 3], a_inf * r_inf, rtol=1e-10)
    np.testing.assert_allclose(p_inf.sum(-1), 1.0, rtol=1e-12)


def test_one_step_is_the_exponential_relaxation_whatever_tau():
    alpha, beta = jnp.array([3.0, 4e5, 1e-3]), jnp.array([1.0, 1e5, 2e-3])
    x_inf, tau = ionjax.gate_steady_state(alpha, beta)
    x = ionjax.gate_trace(jnp.stack([alpha] * 3, -1), jnp.stack([beta] * 3, -1), DT, 0.25)
    for n in (1, 2):
        np.testing.assert_allclose(x[:, n], x_inf + (0.25 - x_inf) * np.exp(-n * DT / tau), rtol=1e-13)
    np.testing.assert_allclose(x_inf, alpha / (alpha + beta), rtol=1e-15)
    np.testing.assert_allclose(tau, 1 / (alpha + beta), rtol=1e-15)


def test_batched_cells_equal_one_by_one_and_gradients_are_exact(protocol):
    v = jnp.asarray(protocol[29000:31000])
    ps = jnp.stack([jnp.asarray(P), jnp.asarray(P) * 1.1])
    batched = jax.vmap(lambda p: _open(v, p))(ps)
    np.testing.assert_allclose(batched[1], _open(v, ps[1]), rtol=1e-14)
    # in log space, as a fit sees them (a finite-difference step must not make a rate negative)
    # (jit: the same checks, on a compiled function instead of op-by-op dispatch)
    check_grads(jax.jit(lambda logp: _open(v, jnp.exp(logp))[::50]), (jnp.log(jnp.asarray(P)),), order=1,
                modes=("fwd", "rev"), atol=1e-6, rtol=1e-6)


def test_invalid_input_is_nan_not_a_number():
    assert np.isnan(ionjax.rate_exponential(0.0, -1.0, 10.0))
    assert np.isnan(ionjax.rate_boltzmann(0.0, 1.0, 0.0, 0.0))
    assert np.all(np.isnan(ionjax.gate_steady_state(0.0, 0.0)))
    assert np.all(np.isnan(ionjax.gate_trace(jnp.ones(3), jnp.ones(3), -DT, 0.0)))
    assert np.all(np.isnan(ionjax.markov_generator(jnp.array([1.0, -1.0]), ((0, 1), (1, 0)), 2)))
    with pytest.raises(ValueError, match="not between two"):
        ionjax.markov_generator(jnp.array([1.0]), ((0, 0),), 2)


def test_boltzmann_rate_saturates_at_its_maximum():
    k = ionjax.rate_boltzmann(jnp.array([-1.0, -0.02, 1.0]), 50.0, -0.02, 0.01)
    np.testing.assert_allclose(k, [0.0, 25.0, 50.0], atol=1e-12)
