"""``ionjax._src.small_linalg.small_solve`` (the element-wise solve used inside pnp's Newton loop)
against NumPy's LAPACK solve, and pnp's compiled current free of library calls."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ionjax
from ionjax._src.small_linalg import small_solve


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_equals_lapack_on_batches_that_need_pivoting(n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((40, n, n))
    if n > 1:
        a[:, 0, 0] = 0.0  # no solve without a row exchange
    a[1] *= 1e-9  # scale does not matter
    b = rng.standard_normal((40, n, 3))
    got = np.asarray(small_solve(jnp.asarray(a), jnp.asarray(b)))
    want = np.linalg.solve(a, b)
    cond = np.linalg.cond(a)[:, None, None]
    assert np.all(np.abs(got - want) <= 1e-13 * cond * np.abs(want).max(axis=(1, 2),
                                                                       keepdims=True))


def test_float32_stays_float32_and_singular_is_not_a_number():
    a = jnp.asarray(np.eye(3) + 0.1, jnp.float32)
    x = small_solve(a, jnp.ones((3, 1), jnp.float32))
    assert x.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(a, float) @ np.asarray(x, float), 1.0, rtol=1e-6)
    assert not np.all(np.isfinite(small_solve(jnp.ones((2, 2)), jnp.ones((2, 1)))))


def test_the_pnp_current_calls_no_library_kernel():
    """Its Newton loop (and the implicit-function derivative) holds no custom call: a batched
    LAPACK call nested in loops once hung XLA's CPU runtime (tests/test_markov_step.py)."""
    def current(v):
        return ionjax.pnp_steady(v, [1, -1], [1e-9, 1e-9], [140.0, 140.0], [140.0, 140.0],
                                 length=1e-9, area=1e-18, temperature=295.15,
                                 n_grid=16).total
    for f in (current, jax.grad(lambda v: current(v).sum())):
        text = jax.jit(jax.vmap(f)).lower(jnp.linspace(-0.1, 0.05, 8)).as_text()
        assert "custom_call" not in text
