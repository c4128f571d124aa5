"""Fit results to JSON or CSV files (SI values, units named in every key)."""

import csv
import io
import json
import os

import numpy as np

from fitting.engine.status import Status
from fitting.io.atomic import write_text


def _records(res, labels, reversal):
    status = np.asarray(res.status).ravel()
    n = status.size
    rows = []
    for k in range(n):
        row = {"label": labels[k] if k < len(labels) else str(k), "status": int(status[k]),
               "message": Status(int(status[k])).message}
        for name in res.params:
            unit = res.model.spec_of(name).si_unit
            values = np.asarray(res.params[name], float).reshape(n, -1)[k]
            errors = np.asarray(res.stderr[name], float).reshape(n, -1)[k]
            suffix = f"_{unit}" if unit else ""
            for j, (x, e) in enumerate(zip(values, errors)):
                key = name if values.size == 1 else f"{name}_{j}"
                row[f"{key}{suffix}"] = float(x)
                row[f"{key}_stderr{suffix}"] = float(e)
        row["e_rev_fit_V"] = float(np.asarray(reversal.value, float).ravel()[k])
        row["e_rev_fit_stderr_V"] = float(np.asarray(reversal.stderr, float).ravel()[k])
        for key, unit in (("rmse", "_A"), ("loss", ""), ("aic", ""), ("bic", "")):
            row[key + unit] = float(np.asarray(getattr(res, key), float).ravel()[k])
        row["n_points"] = int(np.asarray(res.n_points).ravel()[k])
        row["n_masked"] = int(np.asarray(res.n_masked).ravel()[k])
        rows.append(row)
    return rows


def write_results(path, res, labels, reversal, files=()):
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
    """
    rows = _records(res, labels, reversal)
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".json":
        doc = {"model": res.model.name, "units": "SI (V, A, S, m^3/s); keys carry their unit",
               "files": [str(f) for f in files], "recordings": rows}
        write_text(path, json.dumps(doc, indent=2, allow_nan=True) + "\n")
    elif ext == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        write_text(path, buffer.getvalue())
    else:
        raise ValueError(f"{path}: results must be .json or .csv")
