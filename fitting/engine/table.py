"""Fit results as a table: one row per recording, SI values, the unit in every column name.

The one place that names the columns; the JSON, CSV, Parquet and NWB outputs of
``fitting.io.write_results`` and ``FitResult.to_dataframe`` all take their rows from here:
``label``, ``status`` (code), ``message``, each reported parameter ``<name>_<unit>`` with its
``<name>_stderr_<unit>`` (``g_S``, ``e_rev_V``, ``p_Na_m^3/s``, ...), ``e_rev_fit_V`` (where the
fitted current crosses zero, when that is not a parameter), ``rmse_A``, ``loss``, ``aicc``,
``aic``, ``bic``, then any extra columns, ``n_points``, ``n_masked`` and any text columns
(source, corrections); with profile intervals, ``<name>_lower_<unit>`` and
``<name>_upper_<unit>`` follow each standard error. A number that does not
exist (a failed fit) is None.
"""

from typing import Any

import numpy as np

from fitting.engine.status import Status

__all__ = ["records"]


def _column(x, n):
    """A result leaf as an (n, m) float64 host array, converted once for all rows. Float32
    results are rounded to 9 significant digits (enough to give back the same float32, and no
    more: not the 17 of a double), so the written digits are the ones the computation has."""
    a = np.asarray(x)
    if a.dtype == np.float32:  # the double nearest to the 9-digit decimal, exactly
        a = np.array([float(f"{v:.9g}") for v in a.astype(np.float64).ravel().tolist()])
    return np.asarray(a, float).reshape(n, -1)


def _columns(res, reversal, n, extra=None, intervals=None):
    """key -> (n,) float column, keys carrying the SI unit; built once (export in linear time)."""
    columns, intervals = {}, intervals or {}
    for name in res.params:
        unit = res.model.spec_of(name).si_unit
        suffix = f"_{unit}" if unit else ""
        values, errors = _column(res.params[name], n), _column(res.stderr[name], n)
        labels = res.model.element_labels(name, values.shape[1])
        bounds = intervals.get(name)
        for j in res.model.reported_elements(name, values.shape[1]):
            key = labels[j].replace("[", "_").replace("]", "")
            columns[f"{key}{suffix}"] = values[:, j]
            columns[f"{key}_stderr{suffix}"] = errors[:, j]
            if bounds is not None:
                columns[f"{key}_lower{suffix}"] = _column(bounds.lower, n)[:, j]
                columns[f"{key}_upper{suffix}"] = _column(bounds.upper, n)[:, j]
    e_rev = _column(reversal.value, n)[:, 0]
    if not np.array_equal(columns.get("e_rev_V"), e_rev, equal_nan=True):  # not a parameter
        columns["e_rev_fit_V"] = e_rev
        columns["e_rev_fit_stderr_V"] = _column(reversal.stderr, n)[:, 0]
    for key, unit in (("rmse", "_A"), ("loss", ""), ("aicc", ""), ("aic", ""), ("bic", "")):
        columns[key + unit] = _column(getattr(res, key), n)[:, 0]
    for key, values in (extra or {}).items():
        columns[key] = _column(values, n)[:, 0]
    return columns


def records(res: Any, labels: Any, reversal: Any, extra: Any | None = None,
            intervals: Any | None = None, text: Any | None = None) -> list[dict[str, Any]]:
    """One dict per recording; numbers that do not exist (a failed fit) are None.

    Args:
      res: a FitResult.
      labels: one name per recording (a missing one is the row's index).
      reversal: ``fitting.reversal_potential(res)``.
      extra: optional dict key -> array of the batch shape: more columns.
      intervals: optional ``fitting.profile_intervals(res, ...)``: ``<name>_lower_<unit>`` and
        ``<name>_upper_<unit>`` after each parameter's standard error.
      text: optional dict key -> one string per recording (e.g. its source file and
        corrections), the last columns.
    """
    status = np.asarray(res.status).ravel()
    n = status.size
    if n == 0:
        return []
    columns = _columns(res, reversal, n, extra, intervals)
    finite = {key: np.isfinite(col) for key, col in columns.items()}
    values = {key: col.tolist() for key, col in columns.items()}
    n_points = np.asarray(res.n_points).ravel().tolist()
    n_masked = np.asarray(res.n_masked).ravel().tolist()
    rows = []
    for k, code in enumerate(status.tolist()):
        row = {"label": labels[k] if k < len(labels) else str(k), "status": code,
               "message": Status(code).message}
        row.update({key: values[key][k] if finite[key][k] else None for key in columns})
        row["n_points"], row["n_masked"] = n_points[k], n_masked[k]
        row.update({key: str(values[k]) for key, values in (text or {}).items()})
        rows.append(row)
    return rows
