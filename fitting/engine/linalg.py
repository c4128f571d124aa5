"""Unrolled dense linear algebra for the tiny symmetric positive definite systems of a fit.

The normal equations of an I-V fit are k x k with k <= ~8. Written as explicit scalar operations
on the matrix entries (a Python loop unrolled at trace time), a Cholesky factorisation becomes a
few dozen elementwise operations that vectorise across a vmapped batch and compile quickly,
unlike batched LAPACK-style calls (see ``bench/bench_fit.py`` for the fit they serve). A
matrix that is not positive definite gives NaN (the callers treat that as a rejected step or a
singular fit).
"""

from typing import Any

import jax.numpy as jnp

__all__ = ["gram_inverse", "spd_solve", "spd_solve_entries"]

_UNROLL_MAX = 12


def _cholesky(a):
    """Lower Cholesky factor of a k x k matrix given as nested lists of equal-shape arrays."""
    k = len(a)
    low = [[None] * k for _ in range(k)]
    for j in range(k):
        diag = a[j][j] - sum((low[j][m] ** 2 for m in range(j)), jnp.zeros_like(a[0][0]))
        low[j][j] = jnp.sqrt(jnp.where(diag > 0, diag, jnp.nan))
        for i in range(j + 1, k):
            off = a[i][j] - sum((low[i][m] * low[j][m] for m in range(j)),
                                jnp.zeros_like(a[0][0]))
            low[i][j] = off / low[j][j]
    return low


def _substitute(low, b):
    k = len(low)
    y = []
    for i in range(k):
        y.append((b[i] - sum((low[i][m] * y[m] for m in range(i)), jnp.zeros_like(b[0])))
                 / low[i][i])
    x = [None] * k
    for i in reversed(range(k)):
        x[i] = (y[i] - sum((low[m][i] * x[m] for m in range(i + 1, k)), jnp.zeros_like(b[0])))\
            / low[i][i]
    return x


def spd_solve_entries(a: Any, b: Any) -> Any:
    """Solve a x = b entrywise: ``a`` a k x k nested list and ``b`` a list of k arrays, all of one
    shape (one system per element). Returns the list of the k solution arrays."""
    return _substitute(_cholesky(a), b)


def spd_solve(a: Any, b: Any) -> Any:
    """Solve a x = b for symmetric positive definite a (..., k, k), b (..., k)."""
    k = a.shape[-1]
    if k == 0:  # nothing left free (a profile of a one-parameter model)
        return b
    if k > _UNROLL_MAX:
        return jnp.linalg.solve(a, b[..., None])[..., 0]
    entries = [[a[..., i, j] for j in range(k)] for i in range(k)]
    return jnp.stack(spd_solve_entries(entries, [b[..., i] for i in range(k)]), axis=-1)


def gram_inverse(jac: Any, rtol: Any) -> Any:
    """(J^T J)^{-1} of an (n, k) Jacobian through its QR factors, without forming J^T J.

    Columns are equilibrated to unit norm, factored by modified Gram-Schmidt applied twice (so Q
    is orthogonal to working precision), and (J^T J)^{-1} = D^-1 R^-1 R^-T D^-1. Going through R
    keeps the condition number of J instead of squaring it.

    Args:
      jac: (n, k) Jacobian.
      rtol: a diagonal entry of R below ``rtol`` (relative to the unit column norm) marks the
        columns as linearly dependent: the parameters are not identifiable.

    Returns:
      ((k, k) inverse, singular flag); the inverse is NaN when singular.
    """
    n, k = jac.shape
    norm = jnp.sqrt(jnp.sum(jac * jac, axis=0))
    zero_column = norm <= 0
    q = [jac[:, j] / jnp.where(zero_column[j], 1.0, norm[j]) for j in range(k)]
    r = [[jnp.zeros((), jac.dtype)] * k for _ in range(k)]
    for j in range(k):
        vec = q[j]
        for _ in range(2):  # "twice is enough" (Kahan, Parlett)
            for m in range(j):
                coef = jnp.dot(q[m], vec)
                r[m][j] = r[m][j] + coef
                vec = vec - coef * q[m]
        r[j][j] = jnp.sqrt(jnp.dot(vec, vec))
        q[j] = vec / jnp.where(r[j][j] > 0, r[j][j], 1.0)
    diag = jnp.stack([r[j][j] for j in range(k)])
    singular = jnp.any(diag <= rtol) | jnp.any(zero_column)
    # R^{-1} by back substitution, column by column (upper triangular)
    inv = [[jnp.zeros((), jac.dtype)] * k for _ in range(k)]
    for j in range(k):
        inv[j][j] = 1.0 / r[j][j]
        for i in reversed(range(j)):
            inv[i][j] = -sum((r[i][m] * inv[m][j] for m in range(i + 1, j + 1)),
                             jnp.zeros((), jac.dtype)) / r[i][i]
    r_inv = jnp.stack([jnp.stack(row) for row in inv])
    result = (r_inv @ r_inv.T) / norm[:, None] / norm[None, :]
    return jnp.where(singular, jnp.nan, result), singular
