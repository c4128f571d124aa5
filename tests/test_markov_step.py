"""The exact step of a Markov scheme, expm(Q dt) - I (ionjax._src.kinetics), against mpmath.

The step is summed by scaling and squaring in its departure from the identity (no LAPACK call:
XLA's CPU runtime hung on the batched LU of a Pade approximant nested in the fit's loops, a test
here keeps the compiled trace free of custom calls). References: mpmath's ``expm`` at 40 digits
for the value and, for the derivative, the Frechet derivative L(X, V) as the top-right block of
expm([[X, V], [0, X]]) (Higham, Functions of Matrices, 2008, eq. 3.16).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ionjax
from ionjax._src.kinetics import _expm_minus_identity

mpmath = pytest.importorskip("mpmath")
mpmath.mp.dps = 40

NORMS = [1e-10, 1e-4, 0.3, 0.5, 0.51, 1.0, 37.0, 1e3, 1e6, 1e9]


def _generator(norm, seed, n=4):
    """A random generator (columns summing to 0) scaled to the 1-norm ``norm``."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.8)
    np.fill_diagonal(q, 0.0)
    q -= np.diag(q.sum(axis=0))
    return q * norm / np.abs(q).sum(axis=0).max()


def _mp_minus_identity(x):
    e = mpmath.expm(mpmath.matrix(x.tolist())) - mpmath.eye(x.shape[0])
    return np.array(e.tolist(), dtype=float)


@pytest.mark.parametrize("norm", NORMS)
def test_the_step_equals_mpmath_to_float64_rounding(norm):
    x = _generator(norm, seed=int(np.log10(norm) * 10) % 997)
    got = np.asarray(_expm_minus_identity(jnp.asarray(x)))
    want = _mp_minus_identity(x)
    # departure from I relative to its size: the Taylor sum rounds at a few ulps and each of the
    # s = log2(|X|_1 / 0.5) squarings doubles a column-sum error (a stochastic matrix keeps it):
    # bound 2^s eps, at least 64 eps (the Pade approximant of jax.scipy.linalg.expm that this
    # replaced was 1.4e-13 off at |X|_1 = 1e3 and NaN at 1e6)
    bound = _bound(norm, np.float64)
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= bound * scale, (norm, np.abs(got - want).max() / scale)


def _bound(norm, dtype):
    """2^s eps (s squarings), at least 64 eps."""
    squarings = max(0.0, np.ceil(np.log2(norm / 0.5)))
    return np.finfo(dtype).eps * max(64.0, 2.0 ** squarings)


@pytest.mark.parametrize("norm", [1e-6, 0.7, 200.0])
def test_float32_keeps_its_relative_precision(norm):
    x = _generator(norm, seed=3).astype(np.float32)
    got = _expm_minus_identity(jnp.asarray(x))
    assert got.dtype == jnp.float32
    want = _mp_minus_identity(x.astype(float))
    error = np.abs(np.asarray(got, float) - want).max() / np.abs(want).max()
    assert error <= _bound(norm, np.float32), error


@pytest.mark.parametrize("norm", [1e-3, 0.6, 50.0])
def test_the_derivative_is_the_frechet_derivative(norm):
    x, v = _generator(norm, seed=5), _generator(norm, seed=6)
    _, tangent = jax.jvp(_expm_minus_identity, (jnp.asarray(x),), (jnp.asarray(v),))
    n = x.shape[0]
    block = np.block([[x, v], [np.zeros((n, n)), x]])
    want = _mp_minus_identity(block)[:n, n:]
    assert np.abs(np.asarray(tangent) - want).max() <= 1e-12 * np.abs(want).max()


def test_beyond_forty_squarings_is_nan_not_a_number():
    assert np.all(np.isnan(_expm_minus_identity(jnp.asarray(_generator(1e12, seed=1)))))
    assert np.all(np.isfinite(_expm_minus_identity(jnp.asarray(_generator(1e11, seed=1)))))


def test_a_saturated_scheme_lands_on_its_steady_state():
    """Rates far faster than dt: expm(Q dt) p0 is p_inf whatever p0 (columns of the step + I)."""
    q = _generator(1e8, seed=9)
    step = np.asarray(_expm_minus_identity(jnp.asarray(q))) + np.eye(4)
    p_inf = np.asarray(ionjax.markov_steady_state(jnp.asarray(q)))
    np.testing.assert_allclose(step, np.repeat(p_inf[:, None], 4, axis=1), atol=1e-12)


def test_the_compiled_trace_calls_no_library_kernel():
    """No custom call (LAPACK) inside a trace: it runs nested in the fit's while loops, where
    the batched LU of jax.scipy.linalg.expm left XLA's CPU runtime waiting forever."""
    q = jnp.asarray(np.stack([_generator(10.0, seed=s) for s in range(50)]))
    p0 = jnp.array([1.0, 0.0, 0.0, 0.0])
    text = jax.jit(lambda q: ionjax.markov_trace(q, 1e-4, p0)).lower(q).as_text()
    assert "custom_call" not in text


def _mp_steady_state(q):
    """Q p = 0, sum p = 1 at 40 digits (mpmath's LU with the first row replaced)."""
    a = mpmath.matrix(q.tolist())
    for j in range(q.shape[0]):
        a[0, j] = 1
    b = mpmath.matrix([1] + [0] * (q.shape[0] - 1))
    return np.array(mpmath.lu_solve(a, b).tolist(), dtype=float)[:, 0]


@pytest.mark.parametrize("seed", range(4))
def test_steady_state_keeps_each_occupancy_relative_precision_in_a_stiff_scheme(seed):
    """Rates from 1e-6 to 1e8 per s: occupancies as small as 1e-12 to float64 rounding."""
    rng = np.random.default_rng(seed)
    n = 5
    q = np.exp(rng.uniform(np.log(1e-6), np.log(1e8), (n, n)))
    np.fill_diagonal(q, 0.0)
    q -= np.diag(q.sum(axis=0))
    want = _mp_steady_state(q)
    got = np.asarray(ionjax.markov_steady_state(jnp.asarray(q)))
    np.testing.assert_allclose(got, want, rtol=1e-13)
    got32 = ionjax.markov_steady_state(jnp.asarray(q, jnp.float32))
    np.testing.assert_allclose(np.asarray(got32, float), want, rtol=2e-6)
    assert "custom_call" not in jax.jit(ionjax.markov_steady_state).lower(jnp.asarray(q)).as_text()


def test_steady_state_of_a_reducible_scheme_is_not_a_number():
    q = np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # states 1, 2 absorbing
    assert not np.all(np.isfinite(ionjax.markov_steady_state(jnp.asarray(q))))


def test_steady_state_gradient_is_exact():
    from jax.test_util import check_grads
    q = _generator(50.0, seed=11)
    check_grads(ionjax.markov_steady_state, (jnp.asarray(q),), order=2, modes=("fwd", "rev"))
