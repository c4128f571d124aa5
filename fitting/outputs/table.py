"""The tidy table of ``ionjax analyze``: one row per file x item x quantity, as CSV, JSON,
Parquet or NWB."""

from __future__ import annotations

import csv
import math

from fitting.outputs.atomic import atomic_path
from fitting.outputs.columns import json_safe, strict_json, write_parquet
from fitting.outputs.nwb import write_nwb
from fitting.recordings.formats.table import TIDY_FIELDS

__all__ = ["FIELDS", "fit_rows", "make_row", "write_table"]

FIELDS = TIDY_FIELDS


def make_row(path, item, quantity: str, unit: str, value, stderr=math.nan, interval=None,
             status=0) -> dict:
    """One tidy row: ``file``, ``item`` (sweep, "mean" or route), ``quantity``, its SI
    ``unit``, ``value``, ``stderr``, the 95% interval's ``lower``/``upper`` (NaN if none) and
    ``status`` (a ``fitting.Status`` or its code, as its name; "" for none). A row without a
    finite value is never marked usable: CONVERGED or MAX_STEPS with no number becomes
    NON_FINITE (every number is right or refused)."""
    from fitting.engine.status import Status, usable

    lower, upper = (math.nan, math.nan) if interval is None else interval
    if status != "" and usable(int(status)) and not math.isfinite(float(value)):
        status = Status.NON_FINITE
    return dict(file=str(path), item=item, quantity=quantity, unit=unit,
                value=float(value), stderr=float(stderr), lower=float(lower),
                upper=float(upper), status=Status(int(status)).name if status != "" else "")


def fit_rows(path, item, res, index, intervals: dict, extra=()) -> list:
    """Rows of recording ``index`` of a FitResult: its free parameters, then derived quantities
    (e.g. permeability ratios); a vector parameter gives one row per reported element, named by
    the model (``p_Na``, ``P_Na/P_K``)."""
    import numpy as np

    rows, status = [], res.status[index]
    for name in res.params:
        unit = res.model.spec_of(name).si_unit or "1"
        value, err = np.asarray(res.params[name])[index], np.asarray(res.stderr[name])[index]
        iv = intervals.get(name)
        if np.ndim(value) == 0:
            interval = None if iv is None else (iv.lower[index], iv.upper[index])
            rows.append(make_row(path, item, name, unit, value, err, interval, status))
            continue
        labels = res.model.element_labels(name, value.shape[-1])
        for j in res.model.reported_elements(name, value.shape[-1]):
            interval = None if iv is None else (np.asarray(iv.lower)[index][j],
                                                np.asarray(iv.upper)[index][j])
            rows.append(make_row(path, item, labels[j], unit, value[j], err[j], interval,
                                 status))
    return rows + [make_row(path, item, q, u, x, status=status) for q, u, x in extra]


def write_table(out: str, rows: list, files=(), provenance: dict | None = None) -> None:
    """The rows as CSV, JSON, Parquet or NWB by the extension of ``out`` (the same columns)."""
    clean = json_safe(rows)  # a non-finite number (NaN, an open interval's end) is None
    ext = out.lower().rsplit(".", 1)[-1]
    if ext == "parquet":
        return write_parquet(out, clean, provenance)
    if ext == "nwb":
        return write_nwb(out, clean, files=files, provenance=provenance,
                         description="ionjax analyze results")
    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as handle:
            if out.lower().endswith(".csv"):
                writer = csv.DictWriter(handle, fieldnames=FIELDS)
                writer.writeheader()
                writer.writerows([{k: ("" if v is None else v) for k, v in r.items()}
                                  for r in clean])
            else:
                handle.write(strict_json(dict(rows=clean), indent=1))
