"""Writing I-V tables as CSV that ``fitting.recordings.formats.table.read_csv`` reads back:
unit-labelled headers, the wide or long layout, a provenance comment, atomic replacement."""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from fitting.outputs.atomic import write_text
from fitting.outputs.columns import provenance_lines
from fitting.recordings.data import IVData
from fitting.recordings.errors import InputError
from fitting.recordings.formats.table import VOLTAGE_NAMES
from fitting.recordings.units import from_si, split_header

__all__ = ["write_csv"]

_UNIT_SETS = {"mV/pA": (("mV", -3), ("pA", -12)), "mV/nA": (("mV", -3), ("nA", -9)),
              "SI": (("V", 0), ("A", 0))}


def _cell(x):
    return "" if not np.isfinite(x) else repr(float(x))


def _wide_labels_ok(labels, unit):
    """True if every label survives as a '<label>_<unit>' current column header, uniquely."""
    for label in labels:
        name, found = split_header(f"{label}_{unit}")
        if name != label or found != unit or label.lower() in VOLTAGE_NAMES:
            return False
    return len(set(labels)) == len(labels)


def write_csv(path: str | os.PathLike, iv: IVData, *, units: str = "mV/pA") -> None:
    """Write IVData as a unit-labelled CSV table that ``read_csv`` reads back, atomically.

    1-d data gives columns ``voltage_mV,<label>_pA`` (``current_pA`` if the label would not read
    back as a current column name); 2-d data whose rows share their voltages
    gives the wide layout (one current column per recording); other data the long layout
    (``recording,voltage_mV,current_pA``, NaN padding left out). NaN is written as an empty
    cell. Corrections and sources in ``iv.metadata`` go into a first ``# provenance: {json}``
    comment line. The table is written to a temporary file in the same folder, then renamed over
    ``path``, so a reader never sees a half-written file.

    Args:
      path: output file.
      iv: IVData of shape (n,) or (R, n).
      units: "mV/pA" (default), "mV/nA" (two-electrode currents: a table of microamperes
        labelled nA reads back as plausible, ``fitting.recordings.plausibility``) or "SI"
        (V and A).

    Returns:
      None.
    """
    if units not in _UNIT_SETS:
        raise InputError(f"units must be one of {sorted(_UNIT_SETS)}; got {units!r}")
    if iv.v.ndim > 2:
        raise InputError(f"write_csv takes 1-d or 2-d data; got shape {iv.shape}")
    (vu, v_exp), (iu, i_exp) = _UNIT_SETS[units]
    v, i = np.atleast_2d(from_si(iv.v, v_exp)), np.atleast_2d(from_si(iv.i, i_exp))
    out = io.StringIO()
    provenance = {k: iv.metadata[k] for k in ("ionjax_version", "command", "settings",
                                              "corrections", "sources", "files", "skipped")
                  if iv.metadata.get(k)}
    out.write(provenance_lines(provenance))
    writer = csv.writer(out, lineterminator="\n")
    shared = np.array_equal(v, np.broadcast_to(v[0], v.shape), equal_nan=True)
    named = _wide_labels_ok(iv.labels, iu)
    if iv.v.ndim == 1 or (shared and named):
        currents = [f"{label}_{iu}" for label in iv.labels] if named else [f"current_{iu}"]
        writer.writerow([f"voltage_{vu}"] + currents)
        for k in range(v.shape[1]):
            writer.writerow([_cell(v[0, k])] + [_cell(x) for x in i[:, k]])
    else:
        writer.writerow(["recording", f"voltage_{vu}", f"current_{iu}"])
        for label, v_row, i_row in zip(iv.labels, v, i):
            for x, y in zip(v_row, i_row):
                if np.isfinite(x) or np.isfinite(y):
                    writer.writerow([label, _cell(x), _cell(y)])
    write_text(path, out.getvalue())
