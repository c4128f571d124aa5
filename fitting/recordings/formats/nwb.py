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

import os

import numpy as np

from fitting.recordings.errors import InputError, reading, require_file
from fitting.recordings.epochs import epoch_tables
from fitting.recordings.formats.abf import checked_unit
from fitting.recordings.units import to_si


def _open(path):
    """(io, nwbfile) of a readable NWB file; every failure an InputError."""
    require_file(path)
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic != b"\x89HDF\r\n\x1a\n":
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


def _slice(path, ref, what):
    """Values of a (start, count, series) reference in the series' unit, and the series:
    data * conversion + offset (a conversion that is a power of ten divides exactly, so
    -70 stored in mV is -0.07 V to the last bit, as from an ABF)."""
    start, count, series = ref
    data = series.data
    stop = len(data) if count < 0 else start + count
    conversion = float(series.conversion)
    if not (np.isfinite(conversion) and conversion > 0):
        raise InputError(f"the {what} series {series.name!r} has conversion {conversion!r}: "
                         "not a positive factor to its unit", path=path)
    values = np.asarray(data[start:stop], float)
    if values.ndim != 1 or values.size < 2:
        raise InputError(f"the {what} series {series.name!r} is not one-dimensional with two "
                         f"samples or more (shape {values.shape})", path=path)
    power = round(np.log10(conversion))
    values = values / 10.0 ** -power if power < 0 and conversion == 10.0 ** power else \
        values * conversion
    return values + float(getattr(series, "offset", 0.0) or 0.0), series


RATES = (100.0, 1e7)  # [Hz] the sampling rates of patch-clamp recordings


def _rate(path, series, start, count):
    if series.rate is not None:
        rate = float(series.rate)
    else:
        t = np.asarray(series.timestamps[start:start + count], float)
        steps = np.diff(t)
        if steps.size == 0 or not np.all(steps > 0) or np.ptp(steps) > 1e-6 * np.median(steps):
            raise InputError(f"series {series.name!r} is not sampled at a uniform rate",
                             path=path)
        rate = 1.0 / float(np.median(steps))
    if not RATES[0] <= rate <= RATES[1]:  # NaN included
        raise InputError(f"series {series.name!r} is sampled at {rate:g} Hz: not a patch-clamp "
                         f"rate ({RATES[0]:g} Hz to {RATES[1]:g} Hz)", path=path)
    return rate


def _unit(path, series, override, quantity):
    """(quantity, unit, decimal exponent) of a series' unit (or its override), checked."""
    unit, exp = checked_unit(path, override or series.unit, quantity, f"series {series.name!r}")
    return quantity, unit, exp


def recordings(path):
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


def describe(group):
    return group["electrode"] + (f" ({group['protocol']})" if group["protocol"] else "")


def nwb_sweeps(path, channel=0, current_unit=None, voltage_unit=None):
    """The sweeps of recording ``channel`` (an index into ``recordings(path)``: electrodes and
    protocols in the file's order) as the protocol readers take them.

    Returns:
      dict: ``current`` and ``command`` (per-sweep arrays [A], [V]), ``epochs`` (per-sweep
      (p1s, p2s, levels [V], types) read off the commands), ``rate`` [Hz], ``units``,
      ``channel``, ``format`` "nwb", ``recording`` (its description), ``user_lists`` (empty)
      and ``command_check`` ("stimulus series").
    """
    path = os.fspath(path)
    io, nwb = _open(path)
    try:
        groups = _group(path, nwb)
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or \
                not 0 <= channel < len(groups):
            listing = "; ".join(f"{k}: {describe(g)}" for k, g in enumerate(groups))
            raise InputError(f"recording {channel!r} does not exist; the file has {listing}",
                             path=path)
        return _read_group(path, groups[int(channel)], current_unit, voltage_unit)
    finally:
        io.close()


def _read_group(path, group, current_unit, voltage_unit):
    current, command, rates, i_units, quantum = [], [], set(), set(), 0.0
    for stim, resp in group["rows"]:
        if stim is None or stim[2] is None or stim[0] < 0:
            raise InputError(f"{describe(group)}: a sweep has no stimulus (command) series; the "
                             "command voltage is needed", path=path)
        i, r_series = _slice(path, resp, "response")
        v, s_series = _slice(path, stim, "stimulus")
        _, i_sym, i_exp = _unit(path, r_series, current_unit, "current")
        _, _, v_exp = _unit(path, s_series, voltage_unit, "voltage")
        if len(i) != len(v):
            raise InputError(f"{describe(group)}: a response and its stimulus differ in length "
                             f"({len(i)}, {len(v)} samples)", path=path)
        rates.add(_rate(path, r_series, resp[0], len(i)))
        rates.add(_rate(path, s_series, stim[0], len(v)))
        current.append(to_si(i, i_exp))
        command.append(to_si(v, v_exp))
        if np.issubdtype(s_series.data.dtype, np.integer):  # whole codes of the conversion
            quantum = max(quantum, float(to_si(float(s_series.conversion), v_exp)))
        i_units.add(i_sym)
    if len(rates) != 1:
        raise InputError(f"{describe(group)}: the sweeps are sampled at different rates "
                         f"{sorted(rates)} Hz", path=path)
    units = {"current": i_units.pop() if len(i_units) == 1 else sorted(i_units),
             "command": "V"}
    return dict(current=current, command=command,
                epochs=epoch_tables(path, command, quantum=quantum), rate=rates.pop(),
                units=units, channel=group["electrode"], format="nwb",
                recording=describe(group), user_lists=[], command_check="stimulus series")


def iv_from_nwb(path, *, recording=None, window=("60%", "95%"), statistic="mean", epoch=None,
                leak=None, ljp=None, series_resistance=None, compensation=0.0,
                temperature=None, current_unit=None, voltage_unit=None):
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
    from fitting.recordings.corrections import DEFAULT_TEMPERATURE
    from fitting.recordings.data import stack
    from fitting.recordings.stepiv import check_statistic, step_iv

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
        sweeps = [_read_group(path, g, current_unit, voltage_unit) for g in chosen]
    finally:
        io.close()
    items, failed = [], []
    for r in sweeps:
        metadata = {"source": path, "format": "nwb", "recording": r["recording"],
                    "voltage_source": "stimulus series (epoch table read off the command)",
                    "user_lists": [], "command_check": r["command_check"]}
        try:
            items.append(step_iv(
                path, r, window=window, statistic=statistic, epoch=epoch, leak=leak, ljp=ljp,
                series_resistance=series_resistance, compensation=compensation,
                temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
                label=r["recording"], metadata=metadata))
        except InputError as exc:  # one recording's protocol is no step I-V: the others stay
            failed.append(f"recording {r['recording']}: {exc.message}")
    if not items:
        raise InputError("; ".join(failed), path=path)
    data = items[0] if len(items) == 1 else stack(items)
    metadata = dict(data.metadata, format="nwb", source=path)
    return data.replace(metadata=dict(metadata, skipped_recordings=failed) if failed else
                        metadata)
