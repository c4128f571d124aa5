"""I-V tables as CSV: unit-labelled headers, wide and long layouts (written by ``fitting.outputs.iv_table``).

Every column header carries its unit, and the unit decides what the column holds::

    voltage_mV,current_pA          one recording
    V (mV),cell1 [pA],cell2 [pA]   wide: one voltage column, one current column per recording
    recording,voltage_mV,current_nA    long: rows grouped by the ``recording`` (or ``cell``) column

Values are converted to SI (V, A) on reading. An empty cell is a missing point (NaN, masked by
``fitting.fit``); anything else that is not a number is an error located by line and column.
Long-format recordings of different lengths are padded with NaN into one (R, n_max) array.
Lines starting with ``#`` are comments. The delimiter is a comma, or a tab or semicolon when the
header has one of those and no comma.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np

from fitting.recordings.data import IVData, pad_rows
from fitting.recordings.errors import InputError
from fitting.recordings.model import ReadOptions
from fitting.recordings.plausibility import (
    check_current_unit,
    check_plausible,
    current_limit,
)
from fitting.recordings.units import (
    ACCEPTED,
    override_unit,
    split_header,
    to_si,
    unit_info,
)

__all__ = ["PROVENANCE", "TIDY_FIELDS", "VOLTAGE_NAMES", "read", "read_csv", "read_text",
           "records", "sniff"]

# the comment line holding a results file's provenance (JSON), written by fitting.outputs
PROVENANCE = "# provenance: "
# the columns of the tidy results table of ``ionjax analyze`` (fitting.outputs.table): such a
# CSV is an output of ionjax, never an input
TIDY_FIELDS = ("file", "item", "quantity", "unit", "value", "stderr", "lower", "upper", "status",
               "notes")

_LABEL_COLUMNS = ("recording", "cell")
VOLTAGE_NAMES = ("v", "voltage", "v_m", "vm", "potential", "v_cmd", "vcmd", "command")
_CURRENT_NAMES = ("i", "current", "i_m", "im")
_GENERIC_NAMES = ("",) + VOLTAGE_NAMES + _CURRENT_NAMES


def sniff(head: bytes, name: str) -> bool:
    """Whether a file's first kilobyte ``head`` is UTF-8 text without NUL bytes (a table may be
    named anything: the registry reads every file no other format claims as a table)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not a character cut at the kilobyte's end
            return False
    return b"\x00" not in head


def read(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> IVData:
    """The format registry's reader: ``read_csv`` with the options' unit overrides."""
    return read_csv(path, voltage_unit=options.voltage_unit, current_unit=options.current_unit)


def read_text(path: str | os.PathLike) -> str:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not a UTF-8 text file ({exc.reason} at byte {exc.start})",
                         path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None


def _provenance(text):
    """The ``# provenance: {json}`` line of a table ionjax wrote, and the corrections it
    records (applied to these numbers already: ``correct`` refuses to apply them again)."""
    for line in text.splitlines():
        if line.startswith(PROVENANCE):
            try:
                provenance = json.loads(line[len(PROVENANCE):])
            except ValueError:
                return {}
            if not isinstance(provenance, dict):
                return {}
            done = list(provenance.get("corrections") or [])
            for source in provenance.get("sources") or []:
                if isinstance(source, dict):
                    done += list(source.get("corrections") or [])
            done = [c for c in done if isinstance(c, dict) and "name" in c]
            return {"provenance": provenance, "corrections": done}
        if line.strip() and not line.startswith("#"):
            break
    return {}


def records(path: str | os.PathLike, text: str) -> list:
    """(line number, cells) of the non-empty, non-comment records, and the delimiter."""
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")), "")
    delimiter = next((d for d in ("\t", ";") if d in first and "," not in first), ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    records = []
    try:
        for cells in reader:
            if not cells or (cells[0].startswith("#")) or not any(c.strip() for c in cells):
                continue
            records.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from None
    return records


def _parse_header(path, line, cells):
    """Column roles: ('label' | 'voltage' | 'current', name, unit, exponent) per column."""
    columns = []
    for col, header in enumerate(cells, start=1):
        where = dict(path=path, line=line, column=col)
        if header.lower() in _LABEL_COLUMNS:
            columns.append(("label", header, None, None))
            continue
        name, unit = split_header(header)
        info = unit_info(unit) if unit is not None else None
        if info is None:
            what = "has no unit" if unit is None else f"has unknown unit {unit!r}"
            raise InputError(f"column {header!r} {what}; label it like 'voltage_mV' or "
                             f"'current [pA]' (accepted units: {ACCEPTED})", **where)
        quantity, unit, exponent = info
        wrong = _CURRENT_NAMES if quantity == "voltage" else VOLTAGE_NAMES
        if name.lower() in wrong:
            raise InputError(f"column {header!r} is named like a "
                             f"{'current' if quantity == 'voltage' else 'voltage'} but its unit "
                             f"{unit} is a {quantity} unit", **where)
        if quantity == "current" and any(c[0] == "current" and c[1] == (name or header)
                                         for c in columns):
            raise InputError(f"column name {name or header!r} appears twice: each recording "
                             "needs its own name", **where)
        columns.append((quantity, name or header, unit, exponent))
    return columns


def _layout(path, line, columns):
    """(label column, voltage column, current columns) indices, checking the layout."""
    labels = [k for k, c in enumerate(columns) if c[0] == "label"]
    volts = [k for k, c in enumerate(columns) if c[0] == "voltage"]
    amps = [k for k, c in enumerate(columns) if c[0] == "current"]
    where = dict(path=path, line=line)
    if len(volts) != 1:
        raise InputError(f"need exactly one voltage column; found {len(volts)} "
                         f"(accepted units: {ACCEPTED})", **where)
    if not amps:
        raise InputError(f"no current column (accepted units: {ACCEPTED})", **where)
    if len(labels) > 1:
        raise InputError("more than one recording/cell column", column=labels[1] + 1, **where)
    if labels and len(amps) > 1:
        raise InputError("a long table (with a recording column) takes one current column; "
                         f"found {len(amps)}", column=amps[1] + 1, **where)
    return (labels[0] if labels else None), volts[0], amps


def _number(path, line, col, cell, header):
    if cell == "":
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        raise InputError(f"non-numeric value {cell!r} in column {header!r}", path=path,
                         line=line, column=col) from None
    if math.isinf(value):
        raise InputError(f"infinite value {cell!r} in column {header!r}", path=path, line=line,
                         column=col)
    return value


def read_csv(path: str | os.PathLike, *, voltage_unit: str | None = None,
             current_unit: str | None = None) -> IVData:
    """Read an I-V table with unit-labelled columns into SI units.

    Args:
      path: CSV file. Headers name their unit: ``voltage_mV``, ``voltage [mV]``, ``V (mV)``,
        ``current (nA)``, ... Voltage units V, mV, uV (µV); current units A, mA, uA (µA), nA,
        pA, fA. Layouts: one voltage column and one current column (1-d data); one voltage
        column and several current columns (wide: one recording per current column, labelled by
        the column name); or a ``recording`` / ``cell`` column with one voltage and one current
        column (long: rows grouped by recording in order of first appearance, padded with NaN to
        the longest recording).
      voltage_unit, current_unit: override the unit of the voltage column or of every current
        column (e.g. "mV" for a column headed ``voltage_V`` that holds mV numbers).

    Values that cannot be a voltage-clamp I-V in the unit they are read in (voltages beyond
    +-0.5 V or spanning under 1 mV, currents beyond +-1 uA or all below 1 fA) are refused with
    the likely unit named: a mislabelled column is the usual cause.

    Returns:
      IVData with v [V] and i [A] of shape (n,) or (R, n); metadata holds ``source``,
      ``format`` ("csv"), ``layout`` ("single" | "wide" | "long"), ``columns`` and ``units``.

    Raises:
      InputError: missing or unreadable file; empty file or header only; a column without a
        known unit (naming it and listing the accepted units); a non-numeric cell (with its line
        and column); a row with more cells than the header; an empty recording name; an
        implausible unit.
    """
    path = os.fspath(path)
    overrides = {}
    for quantity, label, option in (("voltage", voltage_unit, "voltage_unit"),
                                    ("current", current_unit, "current_unit")):
        if label is not None:
            try:
                overrides[quantity] = override_unit(label, quantity, option)
            except ValueError as exc:
                raise InputError(str(exc), path=path) from None
    text = read_text(path)
    found = records(path, text)
    if not found:
        raise InputError("empty file: expected a header like 'voltage_mV,current_pA' and data "
                         "rows", path=path)
    (header_line, header), rows = found[0], found[1:]
    columns = _parse_header(path, header_line, header)
    labels = [c[2] for c in columns]  # the file's own labels, before any override
    columns = [(c[0], c[1]) + overrides[c[0]] if c[0] in overrides else c for c in columns]
    label_col, v_col, i_cols = _layout(path, header_line, columns)
    if not rows:
        raise InputError("header but no data rows", path=path, line=header_line)

    table, names = [], []
    for line, cells in rows:
        if len(cells) < len(columns) or any(cells[len(columns):]):
            raise InputError(f"row has {len(cells)} cells but the header has {len(columns)} "
                             "columns", path=path, line=line,
                             column=min(len(cells), len(columns)) + 1)
        if label_col is not None:
            if not cells[label_col]:
                raise InputError("empty recording name", path=path, line=line,
                                 column=label_col + 1)
            names.append(cells[label_col])
        table.append([math.nan if k == label_col else
                      _number(path, line, k + 1, cells[k], header[k])
                      for k in range(len(columns))])
    table = np.array(table, dtype=float).reshape(len(rows), len(columns))
    for k in [v_col, *i_cols]:
        table[:, k] = to_si(table[:, k], columns[k][3])
    for k in [v_col, *i_cols]:
        if not np.any(np.isfinite(table[:, k])):
            raise InputError(f"column {header[k]!r} holds no number", path=path)
    check_current_unit(path, table[:, i_cols], labels[i_cols[0]], columns[i_cols[0]][2],
                       what=f"column {header[i_cols[0]]!r}")
    for quantity, cols in (("voltage", [v_col]), ("current", i_cols)):
        unit = columns[cols[0]][2]
        problem = check_plausible(table[:, cols], quantity, unit,
                                  override=f"{quantity}_unit= (--{quantity}-unit)",
                                  limit=current_limit(labels[cols[0]]) if
                                  quantity == "current" else None)
        if problem:
            raise InputError(f"column {header[cols[0]]!r}: {problem}", path=path)

    metadata = {"source": path, "format": "csv", "columns": header,
                "units": {header[k]: columns[k][2] for k in [v_col, *i_cols]},
                "unit_overrides": {q: u for q, (u, _) in overrides.items()}}
    metadata.update(_provenance(text))
    stem = os.path.splitext(os.path.basename(path))[0]
    if label_col is not None:
        rows_of = {}
        for r, name in enumerate(names):  # one pass: linear in the number of rows
            rows_of.setdefault(name, []).append(r)
        order, groups = list(rows_of), list(rows_of.values())
        v = pad_rows([table[g, v_col] for g in groups])
        i = pad_rows([table[g, i_cols[0]] for g in groups])
        return IVData(v, i, order, dict(metadata, layout="long"))
    if len(i_cols) == 1:
        name = columns[i_cols[0]][1]
        label = stem if name.lower() in _GENERIC_NAMES else name
        return IVData(table[:, v_col], table[:, i_cols[0]], [label],
                      dict(metadata, layout="single"))
    i = table[:, i_cols].T
    return IVData(np.broadcast_to(table[:, v_col], i.shape), i,
                  [columns[k][1] for k in i_cols], dict(metadata, layout="wide"))
