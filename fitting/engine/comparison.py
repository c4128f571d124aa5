"""Model comparison: candidate models fitted to the same recordings, ranked by AIC, AICc or
BIC per recording, with Akaike (or Schwarz) weights."""

import dataclasses
from typing import Any

import numpy as np

from fitting.engine.batch import fit
from fitting.engine.result import FitResult
from fitting.engine.status import usable

__all__ = ["Comparison", "compare"]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Models ranked by an information criterion (lower is better), per recording.

    Attributes:
      names: model labels, in the order given.
      aic, bic, aicc: (n_models, *batch) criteria.
      criterion: "aicc", "aic" or "bic".
      delta: criterion minus the best one per recording.
      weights: Akaike (or Schwarz) weights exp(-delta/2) / sum exp(-delta/2).
      best: index (into ``names``) of the best model per recording; -1 where no model has the
        criterion.
      results: the FitResults, in the order given.
    """

    names: tuple
    aic: np.ndarray
    bic: np.ndarray
    criterion: str
    delta: np.ndarray
    weights: np.ndarray
    best: np.ndarray
    results: tuple
    aicc: np.ndarray = None

    def __str__(self):
        label = {"aicc": "AICc", "aic": "AIC", "bic": "BIC"}[self.criterion]
        lines = [f"{'model':<16} {'AICc':>12} {'AIC':>12} {'BIC':>12} {'d' + label:>10} "
                 f"{'weight':>8}"]
        def mean(a):  # over the recordings where the model was fitted; NaN if none
            finite = np.asarray(a, float)[np.isfinite(a)]
            return finite.mean() if finite.size else np.nan

        def cell(x, width, spec):
            return f"{x:>{width}{spec}}" if np.isfinite(x) else f"{'-':>{width}}"

        # means over the recordings where every model that has the criterion somewhere has it,
        # so rows compare (a model refused everywhere shows '-' and does not empty the table)
        score = np.asarray({"aicc": self.aicc, "aic": self.aic, "bic": self.bic}[self.criterion],
                           float)
        score = score.reshape(len(self.names), -1)
        present = np.any(np.isfinite(score), axis=1)
        common = np.all(np.isfinite(score[present]), axis=0).reshape(np.shape(self.best))
        means = [[mean(np.where(common & present[m], a[m], np.nan)) for a in
                  (self.aicc, self.aic, self.bic, self.delta, self.weights)]
                 for m in range(len(self.names))]
        order = np.argsort([row[3] if np.isfinite(row[3]) else np.inf for row in means])
        for m in order:
            aicc, aic, bic, delta, weight = means[m]
            lines.append(f"{self.names[m]:<16} {cell(aicc, 12, '.4f')} {cell(aic, 12, '.4f')} "
                         f"{cell(bic, 12, '.4f')} {cell(delta, 10, '.4f')} "
                         f"{cell(weight, 8, '.3f')}")
        lines.append("(criteria from the RSS in A^2, or chi^2 with sigma: compare differences "
                     "only; '-': not available, the fit was refused or, for AICc, n <= k + 1)")
        if np.ndim(self.best):
            lines.append("(means over recordings)")
        return "\n".join(lines)


def _check_same_data(names, results):
    """Criteria compare fits of the same data only: refuse results that differ in batch shape,
    weighting (sigma or not), or, where both fits were made, points used or voltage range."""
    if not results:
        raise ValueError("compare needs at least one fitted result or model")
    first = results[0]
    for name, res in zip(names[1:], results[1:]):
        why = None
        if res.batch_shape != first.batch_shape:
            why = f"batch shapes {first.batch_shape} and {res.batch_shape}"
        elif res.weighted != first.weighted:
            why = "one was fitted with sigma and the other without"
        else:
            both = np.asarray(usable(first.status)) & np.asarray(usable(res.status))
            same_n = np.asarray(first.n_points) == np.asarray(res.n_points)
            same_v = np.all(np.asarray(first.v_range) == np.asarray(res.v_range), axis=-1)
            if not np.all((same_n & same_v) | ~both):
                why = "they used different points (counts or voltage ranges differ)"
        if why:
            raise ValueError(f"cannot compare {names[0]!r} and {name!r}: {why}; information "
                             "criteria rank models fitted to the same data")


def compare(candidates: Any, v: Any = None, i: Any = None, *, criterion: str = "aicc",
            **fit_kwargs: Any) -> Comparison:
    """Rank models fitted to the same data by AIC or BIC.

    Args:
      candidates: a dict label -> FitResult (or -> model), or a sequence of them. Models are
        fitted first with ``fitting.fit(model, v, i, **fit_kwargs)``.
      v, i: the data, needed only when models (not results) are given.
      criterion: "aicc" (default: AIC with the small-sample correction, which I-V curves of
        10-20 points need), "aic" or "bic".

    Returns:
      ``Comparison`` (printable table; per-recording ``best``, ``delta`` and ``weights``).
    """
    if criterion not in ("aicc", "aic", "bic"):
        raise ValueError(f"criterion must be 'aicc', 'aic' or 'bic'; got {criterion!r}")
    items = candidates.items() if isinstance(candidates, dict) else \
        [(getattr(c, "model", c).name, c) for c in candidates]
    names, results = [], []
    for name, item in items:
        if not isinstance(item, FitResult):
            if v is None or i is None:
                raise ValueError("pass v and i to compare models that are not fitted yet")
            item = fit(item, v, i, **fit_kwargs)
        names.append(str(name))
        results.append(item)
    if len(set(names)) != len(names):
        raise ValueError(f"model labels must be unique; got {names} (pass a dict)")
    _check_same_data(names, results)
    aic = np.stack([np.asarray(r.aic, float) for r in results])
    bic = np.stack([np.asarray(r.bic, float) for r in results])
    aicc = np.stack([np.asarray(r.aicc, float) for r in results])
    score = {"aicc": aicc, "aic": aic, "bic": bic}[criterion]
    filled = np.where(np.isfinite(score), score, np.inf)
    delta = score - filled.min(axis=0)
    weights = np.exp(-0.5 * np.where(np.isfinite(delta), delta, np.inf))
    total = weights.sum(axis=0)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1.0), np.nan)
    best = np.where(np.any(np.isfinite(score), axis=0), np.argmin(filled, axis=0), -1)
    return Comparison(tuple(names), aic, bic, criterion, delta, weights, best, tuple(results),
                      aicc)
