"""Voltage-clamp sweeps of an NWB file (Neurodata Without Borders, read with pynwb: extra ``nwb``).

A sweep is a response (``VoltageClampSeries``, the current) with its stimulus
(``VoltageClampStimulusSeries``, the command), each the slice of a series that a row of the
``intracellular_recordings`` table names (``TimeSeriesReference``: start, count, series), or,
in a file without that table, a whole series of ``acquisition`` paired with the stimulus of the
same electrode and sweep number. Values are ``data * conversion + offset`` in the series' unit,
per series (each sweep may have its own gain). Current-clamp rows are left out.

The sweeps form recordings: one per electrode (one cell) and protocol, the protocol being the
row's ``sequential_recordings`` entry (its ``stimulus_type``) or the table's own
``stimulus_type`` column where a converter put one. The epochs come from the command itself
(``fitting.recordings.epochs``): NWB keeps the waveform, not the protocol.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fitting.recordings.corrections import DEFAULT_TEMPERATURE
from fitting.recordings.data import IVData, stack
from fitting.recordings.epochs import epoch_tables
from fitting.recordings.errors import InputError, reading, require_file
from fitting.recordings.formats.nwb_series import common_rate, series_rate, series_values
from fitting.recordings.model import Channel, ReadOptions, Recording, Sweep
from fitting.recordings.stepiv import check_statistic, step_iv
from fitting.recordings.units import checked_unit, to_si

__all__ = ["iv", "iv_from_nwb", "read", "recordings", "sniff"]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def sniff(head: bytes, name: str) -> bool:
    """Whether a file is NWB: it starts as an HDF5 file, whatever its name, or it is named
    ``.nwb`` and is not an ABF by its content."""
    return head[:8] == HDF5_MAGIC or (os.path.splitext(name)[1].lower() == ".nwb"
                                      and head[:4] not in (b"ABF ", b"ABF2"))


def _open(path):
    """(io, nwbfile) of a readable NWB file; every failure an InputError."""
    require_file(path)
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic != HDF5_MAGIC:
        raise InputError(f"not an NWB (HDF5) file (it starts with {magic[:4]!r}); NWB files in "
                         "Zarr are not read", path=path)
    try:
        from pynwb import NWBHDF5IO
    except ImportError as exc:
        raise ImportError("reading NWB files needs pynwb: pip install 'ionjax[nwb]'") from exc
    with reading(path, "NWB"):
        io = NWBHDF5IO(path, "r", load_namespaces=True)
        return io, io.read()


def _kind(series):
    return type(series).__name__


def _table_rows(nwb):
    """(electrode, stimulus ref, response ref, run, protocol) per intracellular recording."""
    table = nwb.intracellular_recordings
    if table is None or len(table) == 0:
        return None
    cats = table.category_tables
    labels = _protocols(nwb, len(table))
    rows = []
    for k in range(len(table)):
        stim = cats["stimuli"]["stimulus"][k] if "stimuli" in cats else None
        resp = cats["responses"]["response"][k]
        electrode = cats["electrodes"]["electrode"][k]
        rows.append((electrode, stim, resp) + labels[k])
    return rows


def _protocols(nwb, n):
    """Per intracellular-recordings row, (run, protocol): the row's sequential recording (one
    run of a protocol) and its stimulus type, or, without that table, a converter's own
    ``sequence`` and ``stimulus_type`` columns; None where the file says nothing."""
    table = nwb.intracellular_recordings
    labels = [str(x) for x in table["stimulus_type"][:]] if "stimulus_type" in table.colnames \
        else [None] * n
    runs = [str(x) for x in table["sequence"][:]] if "sequence" in table.colnames \
        else list(labels)
    seq, sim = nwb.icephys_sequential_recordings, nwb.icephys_simultaneous_recordings
    if seq is not None and sim is not None and len(seq):
        groups = sim.to_dataframe(index=True)["recordings"].tolist()
        frame = seq.to_dataframe(index=True)
        for s, (kind, members) in enumerate(zip(frame["stimulus_type"],
                                                frame["simultaneous_recordings"])):
            for simultaneous in np.ravel(members):
                for row in np.ravel(groups[int(simultaneous)]):
                    labels[int(row)], runs[int(row)] = str(kind), ("sequential", s)
    return list(zip(runs, labels))


def _acquisition_rows(path, nwb):
    """Rows for a file without the icephys tables: whole series, paired by electrode and sweep."""
    responses = [s for s in nwb.acquisition.values() if _kind(s) == "VoltageClampSeries"]
    stimuli = [s for s in nwb.stimulus.values() if _kind(s) == "VoltageClampStimulusSeries"]
    rows = []
    for r in responses:
        same = [s for s in stimuli if s.electrode is r.electrode]
        numbered = [s for s in same if r.sweep_number is not None and
                    s.sweep_number == r.sweep_number]
        order = [x for x in responses if x.electrode is r.electrode].index(r)
        stim = numbered[0] if numbered else (same[order] if order < len(same) else None)
        rows.append((r.electrode, (0, -1, stim) if stim is not None else None, (0, -1, r),
                     None, None))
    return rows


def recordings(path: str | os.PathLike) -> list[dict]:
    """The voltage-clamp recordings of an NWB file, in the order of first appearance: a list of
    dicts ``electrode`` (name), ``protocol`` (stimulus type or None) and ``sweeps`` (count)."""
    path = os.fspath(path)
    io, nwb = _open(path)
    try:
        return [dict(electrode=g["electrode"], protocol=g["protocol"], sweeps=len(g["rows"]))
                for g in _group(path, nwb)]
    finally:
        io.close()


def _group(path, nwb):
    """The recordings: the voltage-clamp sweeps of one electrode in one run of a protocol (a
    protocol run twice on a cell gives "protocol #1" and "protocol #2")."""
    rows = _table_rows(nwb) or _acquisition_rows(path, nwb)
    groups = {}
    for electrode, stim, resp, run, protocol in rows:
        if resp is None or _kind(resp[2]) != "VoltageClampSeries":
            continue  # current clamp, I=0: no I-V
        groups.setdefault((electrode.name, run, protocol), []).append((stim, resp))
    if not groups:
        raise InputError("no voltage-clamp recording (VoltageClampSeries) in the file", path=path)
    runs = {}
    for e, _, p in groups:
        runs[(e, p)] = runs.get((e, p), 0) + 1
    out, seen = [], {}
    for (e, _, p), r in groups.items():
        seen[(e, p)] = seen.get((e, p), 0) + 1
        label = p if runs[(e, p)] == 1 else f"{p} #{seen[(e, p)]}"
        out.append(dict(electrode=e, protocol=label, rows=r))
    return out


def describe(group: dict) -> str:
    """A recording's name: its electrode, and its protocol where the file names one."""
    return group["electrode"] + (f" ({group['protocol']})" if group["protocol"] else "")


def read(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> Recording:
    """The sweeps of recording ``options.channel`` (an index into ``recordings(path)``:
    electrodes and protocols in the file's order) as a ``Recording`` (the format registry's
    reader): the current from the response series, the command from the stimulus series, the
    voltage source the epoch table read off the command ("epochs").

    Raises:
      InputError: not an NWB file, no such recording, a sweep without its stimulus, bad units.
      ImportError: if pynwb is not installed (extra ``nwb``).
    """
    path, channel = os.fspath(path), options.channel
    io, nwb = _open(path)
    try:
        groups = _group(path, nwb)
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or \
                not 0 <= channel < len(groups):
            listing = "; ".join(f"{k}: {describe(g)}" for k, g in enumerate(groups))
            raise InputError(f"recording {channel!r} does not exist; the file has {listing}",
                             path=path)
        return _read_group(path, groups[int(channel)], int(channel), options.current_unit,
                           options.voltage_unit)
    finally:
        io.close()


def _read_group(path, group, index, current_unit, voltage_unit):
    current, command, rates, i_units, quantum = [], [], set(), set(), 0.0
    stored = {}
    for stim, resp in group["rows"]:
        if stim is None or stim[2] is None or stim[0] < 0:
            raise InputError(f"{describe(group)}: a sweep has no stimulus (command) series; the "
                             "command voltage is needed", path=path)
        i, r_series = series_values(path, resp, "response")
        v, s_series = series_values(path, stim, "stimulus")
        i_sym, i_exp = checked_unit(path, current_unit or r_series.unit, "current",
                                    f"series {r_series.name!r}")
        v_exp = checked_unit(path, voltage_unit or s_series.unit, "voltage",
                             f"series {s_series.name!r}")[1]
        if len(i) != len(v):
            raise InputError(f"{describe(group)}: a response and its stimulus differ in length "
                             f"({len(i)}, {len(v)} samples)", path=path)
        rates.add(series_rate(path, r_series, resp[0], len(i)))
        rates.add(series_rate(path, s_series, stim[0], len(v)))
        current.append(to_si(i, i_exp))
        command.append(to_si(v, v_exp))
        if np.issubdtype(s_series.data.dtype, np.integer):  # whole codes of the conversion
            quantum = max(quantum, float(to_si(float(s_series.conversion), v_exp)))
        i_units.add(i_sym)
        stored.setdefault("current", r_series.unit), stored.setdefault("command", s_series.unit)
    rate = common_rate(path, describe(group), rates)
    units = {"current": i_units.pop() if len(i_units) == 1 else sorted(i_units),
             "command": "V"}
    epochs = epoch_tables(path, command, quantum=quantum)
    return Recording(
        path=path, format="nwb", rate=rate,
        sweeps=tuple(Sweep(s, i, v, e) for s, (i, v, e) in enumerate(zip(current, command,
                                                                          epochs))),
        current=Channel.of(index, group["electrode"], stored["current"], "adc"),
        command=Channel.of(index, group["electrode"], stored["command"], "dac"),
        voltage_source="epochs", units=units, command_check="stimulus series",
        provenance={"channel": group["electrode"], "recording": describe(group)})


def iv_from_nwb(path, *, recording=None, window=("60%", "95%"), statistic="mean", epoch=None,
                leak=None, ljp=None, series_resistance=None, compensation=0.0,
                temperature=None, current_unit=None, voltage_unit=None) -> IVData:
    """The step I-V of every voltage-clamp recording of an NWB file (one point per sweep), in SI.

    Each electrode (one cell) and protocol is a recording; their I-Vs are stacked, padded with
    NaN. The test step, window, statistic, leak ("ramp" fits each sweep's ramp epochs against
    the stored command) and corrections are those of ``iv_from_abf``, with the epochs read off
    the stimulus series (``fitting.recordings.epochs``: index 0 is the holding before the first
    change of the command), so the same recording gives the same I-V from either file.

    Args:
      path: the .nwb file (HDF5).
      recording: None (all that hold a step I-V: a recording of another protocol, e.g. a seal
        test, is left out and named in ``metadata["skipped_recordings"]``; an error when none
        does), or the index, electrode name or protocol (stimulus type; "iv" matches "iv #1"
        and "iv #2") of the recordings to read (see ``recordings``).
      window, statistic, epoch, leak, ljp, series_resistance, compensation, temperature,
        current_unit, voltage_unit: as ``iv_from_abf`` (temperature [K], default 295.15 K;
        a unit override reads the series' data * conversion in that unit instead of the
        series' own, for a file written with a wrong conversion).

    Returns:
      IVData of shape (n_recordings, n_sweeps_max) (a single recording: (n_sweeps,), with
      its metadata), labels ``electrode`` or ``electrode (protocol)``; several recordings'
      metadata are in ``metadata["sources"]``.

    Raises:
      InputError: not an NWB file, no voltage-clamp recording, a sweep without its stimulus, an
        unknown recording, and every refusal of the step I-V (``iv_from_abf``).
      ImportError: if pynwb is not installed (extra ``nwb``).
    """
    path = os.fspath(path)
    check_statistic(statistic)
    if isinstance(recording, (bool, float)):
        raise InputError(f"recording must be an index, an electrode or a protocol name; got "
                         f"{recording!r}", path=path)
    io, nwb = _open(path)  # once for every recording
    try:
        groups = _group(path, nwb)
        chosen = [g for k, g in enumerate(groups)
                  if recording is None or recording in (k, g["electrode"], g["protocol"],
                                                        str(g["protocol"]).split(" #")[0])]
        if not chosen:
            listing = "; ".join(f"{k}: {describe(g)}" for k, g in enumerate(groups))
            raise InputError(f"recording {recording!r} does not exist; the file has {listing}",
                             path=path)
        recs = [_read_group(path, g, groups.index(g), current_unit, voltage_unit)
                for g in chosen]
    finally:
        io.close()
    items, failed = [], []
    for rec in recs:
        name = rec.provenance["recording"]
        metadata = {"source": path, "format": "nwb", "recording": name,
                    "voltage_source": "stimulus series (epoch table read off the command)",
                    "user_lists": [], "command_check": rec.command_check}
        try:
            items.append(step_iv(
                rec, window=window, statistic=statistic, epoch=epoch, leak=leak, ljp=ljp,
                series_resistance=series_resistance, compensation=compensation,
                temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
                label=name, metadata=metadata))
        except InputError as exc:  # one recording's protocol is no step I-V: the others stay
            failed.append(f"recording {name}: {exc.message}")
    if not items:
        raise InputError("; ".join(failed), path=path)
    data = items[0] if len(items) == 1 else stack(items)
    metadata = dict(data.metadata, format="nwb", source=path)
    return data.replace(metadata=dict(metadata, skipped_recordings=failed) if failed else
                        metadata)


def iv(path: str | os.PathLike, *, channel: Any = None, **options: Any) -> IVData:
    """``fitting.read``'s step I-V: ``iv_from_nwb`` with ``channel`` naming the recording."""
    return iv_from_nwb(path, recording=channel, **options)
