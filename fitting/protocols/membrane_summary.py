"""The membrane test over its sweeps: a summary one bad sweep cannot move, the sweeps that
disagree with the rest, and how much the circuit's values depend on the decay's model.

The median, not a weighted mean. Inverse-variance weights 1 / SE_s^2 would be right if each
sweep's standard error SE_s (the decay fit's covariance, ``membrane_fit``) described its scatter;
on real cells it does not: the sweeps of pyABF's 171116sh_0011 scatter by 2.7% in R_t (robust
SD) where each claims 0.2%, with the decay fit's misfit 3 (and 1.6 on 18808025): the cell and
the pipette drift between sweeps, and the fitted model is not the cell. Weights would give the
summary to the few sweeps that claim the smallest errors, with a standard error far below the
scatter. An unweighted mean is moved by one sweep without bound (18808025: R_t 3465 MOhm, the
median 1893, one sweep at 44900 ± 35100). So, over the n usable sweeps x_s of a quantity,

    m = median(x_s),     spread  s = 1.4826 median(|x_s - m|)   (the SD for Gaussian scatter),
    SE(m) = sqrt(pi / 2) max(s, median(SE_s)) / sqrt(n),

the median's asymptotic standard error for Gaussian scatter (Kenney & Keeping 1962; efficiency
2 / pi), floored at the sweeps' own errors where they scatter less than they claim (MAD of
quantised samples can be 0). The spread is reported beside it: a breakdown point of 50%.

A sweep disagrees with the rest where it lies beyond the scatter of the others, its own error
and the median's: |x_s - m| > ``OUTLIER_Z`` sqrt(s^2 + SE_s^2 + SE(m)^2) (3.5, the modified
z-score's threshold of Iglewicz & Hoaglin 1993), with at least 3 sweeps. A sweep whose own
error is huge (a transient lost in noise) is not named; it cannot move the median.

Model dependence: both one and two exponentials are fitted to every sweep (``membrane_fit``);
the AICc chooses one. The other's circuit (its own R_a, R_m, C_m) and the chosen one's are
summarised the same way over the sweeps that both read, and a quantity is model-dependent where
the two medians differ by more than ``MODEL_Z`` combined standard errors:
|m_1 - m_2| > 2 sqrt(SE_1^2 + SE_2^2) (the errors of two readings of the same sweeps are
positively correlated, so this errs towards not flagging).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CIRCUIT", "MODEL_Z", "OUTLIER_Z", "Summary", "model_dependence", "summarise"]

OUTLIER_Z = 3.5  # sweeps beyond this many (spread (+) SEs) from the median are named
MODEL_Z = 2.0  # two models' medians further apart than this many combined SEs: model-dependent
CIRCUIT = ("access_resistance", "membrane_resistance", "capacitance")  # compared across models
_MAD_SD = 1.4826  # 1 / Phi^-1(3/4): the MAD of Gaussian scatter times this is its SD
_MEDIAN_SE = float(np.sqrt(np.pi / 2))  # SE(median) / (SD / sqrt(n)) for Gaussian scatter


class Summary(tuple):
    """One quantity over the sweeps: ``(median, stderr, n, spread, outliers)`` [SI]; outliers
    the indices of the sweeps that disagree with the rest (module). Unpacks as a tuple; the
    fields are also attributes."""

    __slots__ = ()

    def __new__(cls, median: float, stderr: float, n: int, spread: float,
                outliers: tuple) -> "Summary":
        return super().__new__(cls, (median, stderr, n, spread, outliers))

    median = property(lambda self: self[0])
    stderr = property(lambda self: self[1])
    n = property(lambda self: self[2])
    spread = property(lambda self: self[3])
    outliers = property(lambda self: self[4])


def summarise(values: np.ndarray, stderr: np.ndarray, ok: np.ndarray) -> Summary:
    """The median of one quantity over the sweeps, its standard error, the spread and the sweeps
    that disagree with the rest (see the module).

    Args:
      values: (S,) the quantity per sweep [SI]; stderr: (S,) their standard errors (NaN where
        unknown: taken as 0 in the outlier test, ignored in the error's floor).
      ok: (S,) bool, the usable sweeps.

    Returns:
      ``Summary``: NaN median, stderr and spread with no usable sweep; NaN stderr and spread
      with one; outliers only with 3 or more.
    """
    values, stderr = np.asarray(values, float), np.asarray(stderr, float)
    keep = np.asarray(ok, bool) & np.isfinite(values)
    x, n = values[keep], int(keep.sum())
    if n == 0:
        return Summary(np.nan, np.nan, 0, np.nan, ())
    m = float(np.median(x))
    if n == 1:
        return Summary(m, np.nan, 1, np.nan, ())
    spread = float(_MAD_SD * np.median(np.abs(x - m)))
    own = stderr[keep][np.isfinite(stderr[keep])]
    floor = float(np.median(own)) if own.size else 0.0
    se = _MEDIAN_SE * max(spread, floor) / np.sqrt(n)
    outliers = ()
    if n >= 3:
        own_se = np.where(np.isfinite(stderr), stderr, 0.0)
        with np.errstate(invalid="ignore"):
            width = np.sqrt(spread ** 2 + own_se ** 2 + se ** 2)
            far = keep & (np.abs(values - m) > OUTLIER_Z * width)
        outliers = tuple(int(s) for s in np.flatnonzero(far))
    return Summary(m, float(se), n, spread, outliers)


def model_dependence(chosen: Summary, other: Summary) -> tuple[float, float, bool]:
    """(ratio, its standard error, model-dependent) of the other model's median to the chosen
    one's: ratio = m_other / m_chosen, its SE by the delta method (independent errors), and
    True where |m_other - m_chosen| > ``MODEL_Z`` sqrt(SE_chosen^2 + SE_other^2). NaN ratio
    and False where either median is missing; an SE that is NaN (one sweep) flags nothing."""
    a, b = chosen.median, other.median
    if not (np.isfinite(a) and np.isfinite(b)) or a == 0:
        return np.nan, np.nan, False
    ratio = b / a
    se = abs(ratio) * np.hypot(chosen.stderr / a, other.stderr / b)
    combined = np.hypot(chosen.stderr, other.stderr)
    return float(ratio), float(se), bool(np.isfinite(combined) and abs(b - a) > MODEL_Z * combined)
