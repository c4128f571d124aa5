"""Fit results to JSON, CSV, Parquet or NWB files (SI values, units named in every key): one
row per recording, the columns of ``fitting.engine.table.records`` in every format."""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from fitting.engine.table import records as _records
from fitting.outputs.atomic import write_text
from fitting.outputs.columns import (PROVENANCE, json_safe, provenance_lines, strict_json,
                                     typed_columns, write_parquet)
from fitting.outputs.nwb import write_nwb

__all__ = ["PROVENANCE", "RESULT_FORMATS", "json_safe", "provenance_lines", "typed_columns",
           "write_parquet", "write_results"]

RESULT_FORMATS = (".json", ".csv", ".parquet", ".nwb")


def write_results(path, res, labels, reversal, files=(), provenance: dict | None = None,
                  extra: dict | None = None, intervals=None, text: dict | None = None) -> None:
    """Write one record per recording to ``path`` (.json, .csv, .parquet or .nwb), atomically,
    in SI units, the same columns in every format (``fitting.engine.table.records``).

    Keys carry the SI unit of each parameter's ``ParamSpec`` (``g_S``, ``e_rev_V``,
    ``p_m^3/s``, ``rmse_A``; a user ``Model``'s units too); ``e_rev_fit_V`` is
    ``fitting.reversal_potential`` with its delta-method standard error.

    Args:
      path: output file, ``.json``, ``.csv``, ``.parquet`` (extra ``tables``) or ``.nwb``
        (extra ``nwb``; a copy of the source when it is one NWB file, see
        ``fitting.outputs.nwb``).
      res: a FitResult.
      labels: one name per recording.
      reversal: ``fitting.reversal_potential(res)``.
      files: the input files, recorded in the JSON document.
      provenance: optional dict of what produced the results (settings, corrections of each
        source, software version); the JSON document keeps it under "provenance", a CSV file
        as its first line, a ``# provenance: {json}`` comment (``read_csv`` skips comments).
      extra: optional dict key -> array of the batch shape: more columns (keys carrying their
        unit), e.g. the data's own zero crossing ``e_rev_measured_V``.
      intervals: optional ``fitting.profile_intervals(res, ...)``: lower and upper columns.
      text: optional dict key -> one string per recording, e.g. ``source`` and
        ``corrections`` (JSON).
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
    rows = _records(res, labels, reversal, extra, intervals, text)
    ext = os.path.splitext(str(path))[1].lower()
    if ext == ".json":
        doc = {"model": res.model.name,
               "units": "SI; each key ends with its SI unit (e.g. g_S, p_m^3/s); loss: RSS [A^2] without "
                        "sigma, chi^2 (dimensionless) with it; aicc, aic, bic: from the loss in "
                        "SI (compare differences between models only)",
               "files": [str(f) for f in files], "provenance": json_safe(provenance or {}),
               "recordings": rows}
        write_text(path, strict_json(doc, indent=2) + "\n")
    elif ext == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["label", "status"])
        writer.writeheader()
        writer.writerows(rows)
        write_text(path, provenance_lines(provenance) + buffer.getvalue())
    elif ext == ".parquet":
        write_parquet(path, rows, provenance)
    elif ext == ".nwb":
        write_nwb(path, rows, files=files, provenance=provenance,
                  description=f"ionjax fit results ({res.model.name})")
    else:
        raise ValueError(f"{path}: results must be {', '.join(RESULT_FORMATS)}")
