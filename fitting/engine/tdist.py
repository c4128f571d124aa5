"""Student's t quantile on the host, in NumPy: no program is compiled to look one up.

The two-sided probability A(t | nu) = P(|T| <= t) of Student's t with nu (integer) degrees of
freedom has closed forms (Abramowitz & Stegun 26.7.3-26.7.4), with theta = arctan(t / sqrt(nu)),
c = cos^2 theta:

    nu = 1:     A = 2 theta / pi
    nu odd:     A = (2 / pi) [theta + sin theta cos theta (1 + 2/3 c + 2*4/(3*5) c^2 + ...
                               + 2*4...(nu-3) / (3*5...(nu-2)) c^((nu-3)/2))]
    nu even:    A = sin theta (1 + 1/2 c + 1*3/(2*4) c^2 + ... + 1*3...(nu-3) / (2*4...(nu-2))
                               c^((nu-2)/2))

Sums of positive terms: no cancellation. ``t_quantile`` solves A = level by Newton's method from the
Cornish-Fisher expansion (by bisection in theta for nu < 5) for nu <= ``EXACT_DOF``; above it, the
expansion itself in 1/nu about the normal quantile z (A&S 26.7.5, four terms), whose
truncation error there is below 1e-12 (``tests/test_tdist.py`` checks both against scipy).
A leaf: NumPy and the standard library only.
"""

import functools
import math
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = ["EXACT_DOF", "normal_quantile", "t_quantile", "two_sided_probability"]

EXACT_DOF = 1000  # up to here the closed form; above, Cornish-Fisher


def two_sided_probability(t: Any, dof: int) -> np.ndarray:
    """P(|T| <= t) for Student's t with ``dof`` (a positive integer) degrees of freedom.

    Args:
      t: array of t values (>= 0).
      dof: degrees of freedom, an integer >= 1.

    Returns:
      array of the shape of ``t``.
    """
    nu = int(dof)
    if nu < 1:
        raise ValueError(f"dof must be an integer >= 1, got {dof}")
    theta = np.arctan(np.asarray(t, float) / math.sqrt(nu))
    return _probability(theta, nu)


def _probability(theta, nu):
    c, s = np.cos(theta) ** 2, np.sin(theta)
    odd = nu % 2
    m = (nu - 3) // 2 + 1 if odd else (nu - 2) // 2 + 1  # number of terms in the bracket
    k = np.arange(1, m)
    ratios = (2 * k) / (2 * k + 1) if odd else (2 * k - 1) / (2 * k)
    coef = np.concatenate([[1.0], np.cumprod(ratios)])  # 1, 2/3, 2*4/(3*5), ...
    series = np.polynomial.polynomial.polyval(c, coef) if m > 0 else np.zeros_like(c)
    if odd:
        bracket = theta + (s * np.cos(theta) * series if nu > 1 else 0.0)
        return 2.0 / math.pi * bracket
    return s * series


def normal_quantile(level: float) -> float:
    """Two-sided normal quantile z with P(|Z| <= z) = level."""
    return NormalDist().inv_cdf(0.5 * (1.0 + float(level)))


def t_quantile(level: float, dof: Any) -> np.ndarray:
    """Two-sided Student t quantile: t with P(|T| <= t) = ``level`` for ``dof`` degrees of
    freedom.

    Args:
      level: the confidence level, in (0, 1).
      dof: an integer or an integer array (>= 1; entries below 1 give NaN).

    Returns:
      float array of the shape of ``dof``.
    """
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    dof = np.asarray(dof)
    out = np.full(dof.shape, np.nan)
    for nu in np.unique(dof[dof >= 1]):
        out[dof == nu] = _quantile(float(level), int(nu))
    return out if out.ndim else out[()]


@functools.lru_cache(maxsize=4096)
def _quantile(level, nu):
    z = normal_quantile(level)
    g = ((z ** 3 + z) / 4,
         (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
         (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
         (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
    t = z + sum(gk / nu ** (k + 1) for k, gk in enumerate(g))  # Cornish-Fisher
    if nu > EXACT_DOF:
        return t
    if nu < 5:  # the expansion is poor here: bisection in theta, A's terms are few
        lo, hi = 0.0, math.pi / 2
        for _ in range(60):  # the interval halves to ~1e-18 rad
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if _probability(np.asarray(mid), nu) < level else (lo, mid)
        return math.sqrt(nu) * math.tan(0.5 * (lo + hi))
    # Newton on A(t) = level from the expansion: dA/dt = 2 f(t), f the t density
    log_norm = (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)
                - 0.5 * math.log(nu * math.pi))
    for _ in range(20):
        a = float(_probability(np.asarray(math.atan(t / math.sqrt(nu))), nu))
        step = (a - level) / (2 * math.exp(log_norm - (nu + 1) / 2 * math.log1p(t * t / nu)))
        t -= step
        if abs(step) <= 1e-15 * t:
            break
    return t
