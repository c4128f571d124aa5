"""Columns of results files, whatever the format: JSON-safe values, typed columns (Parquet,
NWB), the CSV provenance line and the Parquet writer. Imports nothing of ``fitting`` but the
atomic writes."""

from __future__ import annotations

import json

import numpy as np

from fitting.outputs.atomic import atomic_path
from fitting.recordings.formats.table import PROVENANCE

__all__ = ["PROVENANCE", "json_safe", "provenance_lines", "strict_json", "typed_columns",
           "write_parquet"]


def json_safe(obj: object) -> object:
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


def strict_json(obj: object, indent: int | None = None) -> str:
    """``obj`` as strict JSON text (``json_safe``: non-finite numbers as null; never a NaN or
    Infinity token): the one JSON writer of ``fitting``."""
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False)


def provenance_lines(provenance: dict | None) -> str:
    """The provenance as one ``# provenance: {json}`` comment line for CSV files."""
    return "" if not provenance else \
        PROVENANCE + strict_json(provenance) + "\n"


def typed_columns(rows: list) -> dict:
    """Column name -> values of one type, for typed formats (Parquet, NWB): floats (a missing
    number NaN), integers, or strings (a column of mixed types, e.g. the tidy ``item``: sweep
    numbers and "mean", is strings; None is "")."""
    keys = list(rows[0]) if rows else ["label", "status"]
    columns = {}
    for key in keys:
        values = [r.get(key) for r in rows]
        numeric = all(v is None or isinstance(v, (int, float, np.number)) and
                      not isinstance(v, bool) for v in values)
        if numeric and any(isinstance(v, float) or v is None for v in values):
            columns[key] = np.array([np.nan if v is None else float(v) for v in values])
        elif numeric:
            columns[key] = np.array(values, dtype=np.int64)
        else:
            columns[key] = ["" if v is None else str(v) for v in values]
    return columns


def write_parquet(path, rows: list, provenance: dict | None = None) -> None:
    """``rows`` (dicts, one per recording) as a Parquet file (pandas and pyarrow: extra
    ``tables``), the provenance as JSON in the file's key-value metadata (``ionjax``)."""
    try:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError("Parquet output needs pandas and pyarrow: pip install "
                          "'ionjax[tables]'") from exc
    table = pa.Table.from_pandas(pd.DataFrame(typed_columns(rows)), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"ionjax"] = strict_json(provenance or {}).encode()
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)
