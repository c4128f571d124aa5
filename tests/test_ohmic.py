"""Ohmic channels and the conductance-weighted reversal potential."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ionjax as ij


def test_ohmic_current_and_macroscopic_conductance():
    g = ij.macroscopic_conductance(100, 20e-12)
    assert float(g) == pytest.approx(2e-9, rel=1e-15)
    assert float(ij.ohmic_current(-0.08, g, 0.0)) == pytest.approx(-160e-12, rel=1e-14)
    assert np.isnan(ij.macroscopic_conductance(-1.0, 20e-12))


@settings(max_examples=100, deadline=None)
@given(n=st.integers(1, 10**6), gamma=st.floats(1e-13, 1e-10), e=st.floats(-0.1, 0.1))
def test_reversal_is_independent_of_the_number_of_open_channels(n, gamma, e):
    g = ij.macroscopic_conductance(n, gamma)
    assert float(ij.ohmic_current(e, g, e)) == 0.0
    # two ions: scaling both conductances by the number of open channels leaves E_rev unchanged
    g_ions = jnp.array([1.0, 0.3]) * gamma
    e_ions = jnp.array([-0.09, 0.06])
    assert float(ij.reversal_potential(n * g_ions, e_ions)) == pytest.approx(
        float(ij.reversal_potential(g_ions, e_ions)), rel=1e-13, abs=1e-16)


@settings(max_examples=100, deadline=None)
@given(g=st.lists(st.floats(1e-12, 1e-8), min_size=2, max_size=5),
       e=st.lists(st.floats(-0.1, 0.1), min_size=5, max_size=5))
def test_multi_ion_reversal_between_extremes_and_toward_the_more_conductive_ion(g, e):
    g = np.array(g)
    e = np.array(e[: len(g)])
    e_rev = float(ij.reversal_potential(g, e))
    assert e.min() - 1e-15 <= e_rev <= e.max() + 1e-15
    assert e_rev == pytest.approx(np.sum(g * e) / np.sum(g), rel=1e-12, abs=1e-17)
    more = g.copy()
    more[0] *= 10
    assert abs(float(ij.reversal_potential(more, e)) - e[0]) <= abs(e_rev - e[0]) + 1e-15


def test_nicotinic_receptor_like_na_k_channel():
    """Equal Na and K conductances reverse midway between E_Na and E_K (near 0 mV)."""
    t = 295.15
    e = jnp.array([ij.nernst_potential(10.0, 145.0, 1, temperature=t),
                   ij.nernst_potential(140.0, 5.0, 1, temperature=t)])
    e_rev = ij.reversal_potential(jnp.array([1.0, 1.0]) * 1e-9, e)
    assert float(e_rev) == pytest.approx(float(e.mean()), rel=1e-14)
    assert abs(float(e_rev)) < 0.01


def test_reversal_axis_nan_and_grad():
    g = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    e = jnp.array([-0.09, 0.05])
    out = ij.reversal_potential(g, e)
    assert out.shape == (2,) and np.isnan(out[1])
    assert np.isnan(ij.reversal_potential(jnp.array([-1.0, 2.0]), e))
    np.testing.assert_allclose(ij.reversal_potential(g.T, e[:, None], axis=0), out, equal_nan=True)
    grad = jax.grad(lambda g: ij.reversal_potential(g, e))(jnp.array([1.0, 1.0]))
    np.testing.assert_allclose(grad, (e - e.mean()) / 2.0, rtol=1e-14)


def test_chord_conductance_of_an_ohmic_current():
    i = ij.ohmic_current(0.02, 3e-9, -0.07)
    assert float(ij.chord_conductance(i, 0.02, -0.07)) == pytest.approx(3e-9, rel=1e-14)


def test_float32_preserved():
    v = jnp.linspace(-0.1, 0.1, 5, dtype=jnp.float32)
    assert ij.ohmic_current(v, 1e-9, 0.0).dtype == jnp.float32
    assert ij.reversal_potential(jnp.ones(2, jnp.float32), jnp.ones(2, jnp.float32)).dtype == jnp.float32
