"""Lack of fit: the runs test of the residual signs in voltage order (issue 23).

Inside the compiled fit (``statistics.finish``). The signs of the residuals in voltage
order: a model of the right shape leaves them in random order; a wrong shape (an ohmic line
through an inward rectifier) leaves long runs of one sign (arched residuals). The exact
one-sided p-value of the Wald-Wolfowitz runs test, P(R <= r_observed | n+, n-), with
P(R = 2m) = 2 C(n+ - 1, m - 1) C(n- - 1, m - 1) / C(n, n+) and
P(R = 2m + 1) = [C(n+ - 1, m - 1) C(n- - 1, m) + C(n+ - 1, m) C(n- - 1, m - 1)] / C(n, n+)
(A. Wald & J. Wolfowitz, Ann. Math. Stat. 11, 147 (1940), doi:10.1214/aoms/1177731909).
``FitResult.lack_of_fit`` holds it; below ``LACK_OF_FIT_ALPHA`` the summary and the command
warn. NaN where the fit is not usable, or exact to rounding (no noise to order).
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["LACK_OF_FIT_ALPHA", "lack_of_fit_warning", "runs_test"]

LACK_OF_FIT_ALPHA = 0.01  # runs-test p-value below which the residuals are called arched


def _log_choose(n, k):
    """log C(n, k), -inf where k < 0 or k > n (arrays)."""
    ok = (k >= 0) & (k <= n)
    n_, k_ = jnp.where(ok, n, 1.0), jnp.where(ok, k, 0.0)
    value = (jax.scipy.special.gammaln(n_ + 1) - jax.scipy.special.gammaln(k_ + 1)
             - jax.scipy.special.gammaln(n_ - k_ + 1))
    return jnp.where(ok, value, -jnp.inf)


def runs_test(v: Any, r: Any, valid: Any) -> Any:
    """Exact one-sided p-value of too few runs of residual signs in voltage order (traceable).

    Args:
      v: (n,) voltages (any scale); r: (n,) residuals; valid: (n,) bool, the points used.

    Returns:
      scalar P(R <= observed runs) under random order of the signs; 1 where all signs agree
      or fewer than 2 points carry a sign.
    """
    dtype = jnp.result_type(r)
    order = jnp.argsort(jnp.where(valid, v, jnp.inf))  # used points first, by voltage
    signed = (valid & (r != 0))[order]
    s = jnp.where(r[order] > 0, 1, -1)
    # runs over the signed points only: compare each signed point with the previous signed one
    idx = jnp.arange(s.shape[0])
    last = jax.lax.cummax(jnp.where(signed, idx, -1))
    prev = jnp.concatenate([jnp.array([-1]), last[:-1]])
    changes = jnp.sum(signed & (prev >= 0) & (s != s[jnp.maximum(prev, 0)]))
    n_pos = jnp.sum(signed & (s > 0)).astype(dtype)
    n_neg = jnp.sum(signed & (s < 0)).astype(dtype)
    runs = (changes + 1).astype(dtype)
    n = n_pos + n_neg
    m = jnp.arange(1, s.shape[0] // 2 + 2, dtype=dtype)
    total = _log_choose(n, n_pos)
    even = jnp.log(2.0) + _log_choose(n_pos - 1, m - 1) + _log_choose(n_neg - 1, m - 1) - total
    odd = jnp.logaddexp(_log_choose(n_pos - 1, m - 1) + _log_choose(n_neg - 1, m),
                        _log_choose(n_pos - 1, m) + _log_choose(n_neg - 1, m - 1)) - total
    p = (jnp.sum(jnp.where(2 * m <= runs, jnp.exp(even), 0.0))
         + jnp.sum(jnp.where(2 * m + 1 <= runs, jnp.exp(odd), 0.0)))
    return jnp.where((n_pos > 0) & (n_neg > 0), jnp.minimum(p, 1.0), 1.0).astype(dtype)


def lack_of_fit_warning(p_value: float) -> str:
    """The one-line warning of a runs-test p-value below ``LACK_OF_FIT_ALPHA``, else ""."""
    if not (np.isfinite(p_value) and p_value < LACK_OF_FIT_ALPHA):
        return ""
    return (f"lack of fit: the residuals keep their sign over runs of neighbouring voltages "
            f"(runs test p = {p_value:.2g}): the model's shape does not follow the data (or "
            f"the noise of neighbouring points is correlated)")
