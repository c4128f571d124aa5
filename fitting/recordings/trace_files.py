"""Whole current traces for ``fitting.fit_traces`` from files: CSV tables of time, voltage and
current; the sweeps of ABF, NWB and WinWCP recordings with their command as the voltage; the
folder of Beattie et al. (2018) (``traces.read_beattie2018``). In SI.

A trace table names the unit of every column (as the I-V tables, ``formats.table``)::

    time_ms,voltage_mV,current_nA             one cell
    t [s],V (mV),cell1 [pA],cell2 [pA]        several cells under one protocol

exactly one time column (s, ms, us), one voltage column and one or more current columns; the
times must be uniformly spaced (``fit_traces`` refuses them otherwise, naming the sample). A
recording's sweeps are cells of one protocol, labelled ``file:sweep N``. All files read together
must share the sampling (the same times): one batched fit takes cells of equal length.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.formats.table import read_text, records
from fitting.recordings.model import ReadOptions
from fitting.recordings.units import canonical_unit, exponent, split_header, to_si, unit_info

__all__ = ["read_trace_table", "read_traces"]


def _roles(path: str, line: int, header: list) -> tuple:
    """(time column, voltage column, current columns [(index, name, exponent)], time exponent,
    voltage exponent) of a trace table's header."""
    time, volt, amps = [], [], []
    for col, text in enumerate(header):
        name, unit = split_header(text)
        symbol = canonical_unit(unit, ("time",)) if unit is not None else None
        info = unit_info(unit) if unit is not None else None
        if symbol is not None:
            time.append((col, exponent(symbol)))
        elif info is not None and info[0] == "voltage":
            volt.append((col, info[2]))
        elif info is not None and info[0] == "current":
            amps.append((col, name or text, info[2]))
        else:
            raise InputError(f"column {text!r} names no time, voltage or current unit; label "
                             "it like 'time_ms', 'voltage [mV]' or 'current (nA)'", path=path,
                             line=line, column=col + 1)
    if len(time) != 1 or len(volt) != 1 or not amps:
        raise InputError(f"a trace table needs one time column (s, ms, us), one voltage column "
                         f"and at least one current column; found {len(time)}, {len(volt)} and "
                         f"{len(amps)}", path=path, line=line)
    return time[0][0], volt[0][0], amps, time[0][1], volt[0][1]


def read_trace_table(path: str | os.PathLike) -> dict:
    """One CSV trace table (see the module).

    Returns:
      dict ``t`` (T,) [s], ``v`` (C, T) [V], ``i`` (C, T) [A], ``labels`` (C,).

    Raises:
      InputError: a header without units, a non-numeric cell (line and column named), fewer
        than 3 samples.
    """
    path = os.fspath(path)
    rows = records(path, read_text(path))
    if len(rows) < 4:
        raise InputError("a trace table needs a header and at least 3 samples", path=path)
    (line, header), body = rows[0], rows[1:]
    t_col, v_col, amps, t_exp, v_exp = _roles(path, line, header)
    values = np.full((len(body), len(header)), np.nan)
    for k, (number, cells) in enumerate(body):
        if len(cells) != len(header):
            raise InputError(f"{len(cells)} cells where the header has {len(header)}", path=path,
                             line=number)
        for col, cell in enumerate(cells):
            try:
                values[k, col] = float(cell) if cell != "" else np.nan
            except ValueError:
                raise InputError(f"non-numeric value {cell!r}", path=path, line=number,
                                 column=col + 1) from None
    t = to_si(values[:, t_col], t_exp)
    if not np.all(np.isfinite(t)) or not np.all(np.isfinite(values[:, v_col])):
        raise InputError("every sample needs its time and voltage (an empty or infinite cell "
                         "in those columns)", path=path)
    v = to_si(values[:, v_col], v_exp)
    i = np.stack([to_si(values[:, col], e) for col, _, e in amps])
    return dict(t=t - t[0], v=np.broadcast_to(v, i.shape).copy(), i=i,
                labels=[name if len(amps) > 1 or not _generic(name) else os.path.basename(path)
                        for _, name, _ in amps])


GENERIC = {"i", "im", "current", "imembrane", "i_m", "membrane current"}


def _generic(name: str) -> bool:
    """Whether a current column's name says nothing about the cell ('current', 'I'): a table
    of one such column is labelled by its file name instead."""
    return name.strip().lower() in GENERIC or not name.strip()


def _sweeps(path: str, options: ReadOptions) -> dict:
    """A recording's sweeps as cells: the current and its command (see the module)."""
    from fitting.recordings.sweeps import read_recording

    rec = read_recording(path, options)
    lengths = {s.current.size for s in rec.sweeps}
    if len(lengths) != 1:
        raise InputError(f"the sweeps differ in length ({sorted(lengths)} samples): whole-trace "
                         "fits take sweeps of one protocol", path=path)
    if any(s.command is None for s in rec.sweeps):
        raise InputError("no command waveform in the file: a trace fit needs the voltage of "
                         "every sample", path=path)
    n = lengths.pop()
    name = os.path.basename(path)
    return dict(t=np.arange(n) / rec.rate, v=np.stack([s.command for s in rec.sweeps]),
                i=np.stack([s.current for s in rec.sweeps]),
                labels=[f"{name}:sweep {k}" for k in range(len(rec.sweeps))])


def _beattie(path: str) -> dict:
    from fitting.recordings.traces import read_beattie2018

    d = read_beattie2018(path)
    return dict(t=d["t"], v=np.broadcast_to(d["v"], d["i"].shape).copy(), i=d["i"],
                labels=[str(c) for c in d["cells"]], temperature=d["temperature"])


def _one(path: str, options: ReadOptions) -> dict:
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "sine_wave_protocol.mat")):
            return _beattie(path)
        raise InputError("a folder of trace files is read file by file (give its files), or "
                         "the dataset folder of Beattie et al. 2018", path=path)
    if not os.path.isfile(path):
        raise InputError("no such file", path=path)
    if path.lower().endswith((".csv", ".tsv", ".txt")):
        return read_trace_table(path)
    if path.lower().endswith(".mat"):
        folder = os.path.dirname(os.path.dirname(os.path.abspath(path)))
        if os.path.isfile(os.path.join(folder, "sine_wave_protocol.mat")):
            cell = os.path.splitext(os.path.basename(path))[0].rsplit("_", 1)[-1]
            raise InputError(f"a cell of the Beattie et al. 2018 dataset: give the dataset "
                             f"folder and pick it, ionjax traces {folder} --cells {cell}",
                             path=path)
        raise InputError("a MATLAB file is read only as part of the Beattie et al. 2018 dataset "
                         "folder; write traces as a CSV table (time_ms,voltage_mV,cell [nA])",
                         path=path)
    return _sweeps(path, options)


def read_traces(paths: Any, options: ReadOptions = ReadOptions()) -> dict:
    """The cells of every file, stacked for one ``fit_traces`` call.

    Args:
      paths: files (CSV trace tables, recordings) and Beattie et al.'s dataset folder.
      options: how recordings are read (``channel``, ``current_unit``).

    Returns:
      dict ``t`` (T,) [s], ``v`` (C, T) [V], ``i`` (C, T) [A], ``labels`` (C,), ``files``
      (C,) the path each cell came from and ``temperature`` (C,) [K] (NaN where the file does
      not record one).

    Raises:
      InputError: an unreadable file, or files whose sampling differs (their times named).
    """
    parts = [(os.fspath(p), _one(os.fspath(p), options)) for p in paths]
    (first, ref), t = parts[0], parts[0][1]["t"]
    for path, d in parts[1:]:
        if d["t"].size != t.size or not np.allclose(d["t"], t, rtol=1e-6, atol=0):
            raise InputError(f"its sampling ({d['t'].size} samples, every "
                             f"{np.median(np.diff(d['t'])) * 1e3:.4g} ms) differs from "
                             f"{first}'s ({t.size}, every {np.median(np.diff(t)) * 1e3:.4g} ms): "
                             "one fit takes traces of one length and rate", path=path)
    temps = [d.get("temperature", np.full(len(d["labels"]), np.nan)) for _, d in parts]
    labels = [label for _, d in parts for label in d["labels"]]
    if len(set(labels)) < len(labels):  # the same column names in two files: name the file
        labels = [f"{os.path.basename(path)}:{label}" for path, d in parts
                  for label in d["labels"]]
    return dict(t=t, v=np.concatenate([d["v"] for _, d in parts]),
                i=np.concatenate([d["i"] for _, d in parts]),
                labels=labels, files=[path for path, d in parts for _ in d["labels"]],
                temperature=np.concatenate(temps))
