"""Small dense linear solves written element-wise, for use inside loops.

``jnp.linalg.solve`` lowers to a LAPACK custom call on the CPU. A batched LAPACK call nested in
a fit's while loops once left XLA's CPU runtime waiting forever (the Markov steps' matrix
exponential, 2026-12-07; ``tests/test_markov_step.py``), so the solvers that run inside loops
(``pnp``'s block-tridiagonal Newton steps) use this unrolled elimination instead: for the
k x k blocks there (k = species + 1, a handful) it is as fast and holds no library call.
"""

import jax.numpy as jnp

__all__ = ["small_solve"]


def small_solve(a, b):
    """x with a x = b, by Gaussian elimination with partial pivoting unrolled over n.

    Args:
      a: (..., n, n) matrices, n small (the loops are unrolled at trace time).
      b: (..., n, r) right-hand sides.

    Returns:
      x, (..., n, r); inf or NaN where a is singular (as LAPACK's).
    """
    n = a.shape[-1]
    m = jnp.concatenate([a, b], axis=-1)
    rows = jnp.arange(n)
    for k in range(n):
        size = jnp.where(rows >= k, jnp.abs(m[..., :, k]), -1.0)
        pivot = jnp.argmax(size, axis=-1)  # (...,)
        row_k = m[..., k, :]
        row_p = jnp.take_along_axis(m, pivot[..., None, None], axis=-2)[..., 0, :]
        m = jnp.where((rows == pivot[..., None])[..., None], row_k[..., None, :], m)
        m = m.at[..., k, :].set(row_p)
        factor = jnp.where(rows > k, m[..., :, k] / m[..., k, k][..., None], 0.0)
        m = m - factor[..., :, None] * m[..., k, None, :]
    x = [None] * n
    for k in reversed(range(n)):
        acc = m[..., k, n:]
        for j in range(k + 1, n):
            acc = acc - m[..., k, j, None] * x[j]
        x[k] = acc / m[..., k, k, None]
    return jnp.stack(x, axis=-2)
