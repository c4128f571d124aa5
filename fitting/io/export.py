"""Fit results to JSON or CSV files (SI values, units named in every key)."""

import csv
import io
import json
import os

import numpy as np

from fitting.engine.status import Status
from fitting.io.atomic import write_text


def _column(x, n):
    """A result leaf as an (n, m) float64 host array, converted once for all rows. Float32
    results are rounded to 9 significant digits (enough to give back the same float32, and no
    more: not the 17 of a double), so the written digits are the ones the computation has."""
    a = np.asarray(x)
    if a.dtype == np.float32:  # the double nearest to the 9-digit decimal, exactly
        a = np.array([float(f"{v:.9g}") for v in a.astype(np.float64).ravel().tolist()])
    return np.asarray(a, float).reshape(n, -1)


def _columns(res, reversal, n, extra=None):
    """key -> (n,) float column, keys carrying the SI unit; built once (export in linear time)."""
    columns = {}
    for name in res.params:
        unit = res.model.spec_of(name).si_unit
        suffix = f"_{unit}" if unit else ""
        values, errors = _column(res.params[name], n), _column(res.stderr[name], n)
        labels = res.model.element_labels(name, values.shape[1])
        for j in res.model.reported_elements(name, values.shape[1]):
            key = labels[j].replace("[", "_").replace("]", "")
            columns[f"{key}{suffix}"] = values[:, j]
            columns[f"{key}_stderr{suffix}"] = errors[:, j]
    e_rev = _column(reversal.value, n)[:, 0]
    if not np.array_equal(columns.get("e_rev_V"), e_rev, equal_nan=True):  # not a parameter
        columns["e_rev_fit_V"] = e_rev
        columns["e_rev_fit_stderr_V"] = _column(reversal.stderr, n)[:, 0]
    for key, unit in (("rmse", "_A"), ("loss", ""), ("aicc", ""), ("aic", ""), ("bic", "")):
        columns[key + unit] = _column(getattr(res, key), n)[:, 0]
    for key, values in (extra or {}).items():
        columns[key] = _column(values, n)[:, 0]
    return columns


def _records(res, labels, reversal, extra=None):
    """One dict per recording; numbers that do not exist (a failed fit) are None."""
    status = np.asarray(res.status).ravel()
    n = status.size
    if n == 0:
        return []
    columns = _columns(res, reversal, n, extra)
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
        rows.append(row)
    return rows


def json_safe(obj):
    """A JSON-strict copy of metadata: NumPy numbers and arrays as Python ones, tuples as
    lists, non-finite floats as None, other objects as their str."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj if obj is None or isinstance(obj, str) else str(obj)


PROVENANCE = "# provenance: "


def provenance_lines(provenance):
    """The provenance as one ``# provenance: {json}`` comment line for CSV files."""
    return "" if not provenance else \
        PROVENANCE + json.dumps(json_safe(provenance), allow_nan=False) + "\n"


def write_results(path, res, labels, reversal, files=(), provenance=None, extra=None):
    """Write one record per recording to ``path`` (.json or .csv), atomically, in SI units.

    Keys carry the SI unit of each parameter's ``ParamSpec`` (``g_S``, ``e_rev_V``,
    ``p_m^3/s``, ``rmse_A``; a user ``Model``'s units too); ``e_rev_fit_V`` is
    ``fitting.reversal_potential`` with its delta-method standard error.

    Args:
      path: output file, ``.json`` or ``.csv``.
      res: a FitResult.
      labels: one name per recording.
      reversal: ``fitting.reversal_potential(res)``.
      files: the input files, recorded in the JSON document.
      provenance: optional dict of what produced the results (settings, corrections of each
        source, software version); the JSON document keeps it under "provenance", a CSV file
        as its first line, a ``# provenance: {json}`` comment (``read_csv`` skips comments).
      extra: optional dict key -> array of the batch shape: more columns (keys carrying their
        unit), e.g. the data's own zero crossing ``e_rev_measured_V``.
    """
    from fitting.engine.inference import reversal_potential  # jax: only when writing results

    if np.shape(reversal.value) != tuple(res.batch_shape):
        raise ValueError(f"reversal has shape {np.shape(reversal.value)}, the results "
                         f"{tuple(res.batch_shape)}: pass fitting.reversal_potential(res)")
    own = reversal_potential(res)
    if not (np.allclose(reversal.value, own.value, rtol=1e-6, atol=0, equal_nan=True) and
            np.allclose(reversal.stderr, own.stderr, rtol=1e-6, atol=0, equal_nan=True)):
        raise ValueError("reversal is not fitting.reversal_potential(res) of these results")
    for key, values in (extra or {}).items():
        if np.shape(values) != tuple(res.batch_shape):
            raise ValueError(f"extra column {key!r} has shape {np.shape(values)}, the results "
                             f"{tuple(res.batch_shape)}")
    rows = _records(res, labels, reversal, extra)
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".json":
        doc = {"model": res.model.name,
               "units": "SI (V, A, S, m^3/s); keys carry their unit; loss: RSS [A^2] without "
                        "sigma, chi^2 (dimensionless) with it; aicc, aic, bic: from the loss in "
                        "SI (compare differences between models only)",
               "files": [str(f) for f in files], "provenance": json_safe(provenance or {}),
               "recordings": rows}
        write_text(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    elif ext == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["label", "status"])
        writer.writeheader()
        writer.writerows(rows)
        write_text(path, provenance_lines(provenance) + buffer.getvalue())
    else:
        raise ValueError(f"{path}: results must be .json or .csv")
