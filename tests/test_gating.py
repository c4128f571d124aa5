"""Boltzmann open probability."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ionjax as ij
import reference as ref


def test_closed_form_and_half_point():
    mp = ref.mp
    for v, v_half, slope in [(-0.03, -0.04, 0.006), (0.0, 0.02, -0.01), (-0.04, -0.04, 0.005)]:
        want = 1 / (1 + mp.exp((mp.mpf(v_half) - mp.mpf(v)) / mp.mpf(slope)))
        assert float(ij.boltzmann(v, v_half, slope)) == pytest.approx(float(want), rel=1e-14)


def test_extremes_are_finite_in_float32_with_finite_gradients():
    v = jnp.asarray([-10.0, -0.2, 0.2, 10.0], jnp.float32)
    p = ij.boltzmann(v, jnp.float32(0.0), jnp.float32(0.001))
    assert p.dtype == jnp.float32
    np.testing.assert_array_equal(p, [0.0, 0.0, 1.0, 1.0])
    g = jax.vmap(jax.grad(ij.boltzmann, argnums=(0, 1, 2)), in_axes=(0, None, None))(
        v, jnp.float32(0.0), jnp.float32(0.001))
    assert all(np.all(np.isfinite(x)) for x in g)


def test_gating_charge_from_slope():
    slope = float(ref.R * 298 / ref.F) / 4  # a 4-e0 gating charge
    assert float(ij.gating_charge_from_slope(slope, temperature=298.0)) == pytest.approx(4.0, rel=1e-14)
