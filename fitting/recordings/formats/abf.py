"""Step I-V curves from Axon ABF voltage-clamp recordings (read with pyabf, an optional extra).

One I-V point per sweep: the voltage is the command level of the test step, the current a
statistic of the measured current over a window of that step. The test step is the epoch whose
level changes across sweeps (the first such epoch of pyabf's ``abf.sweepEpochs``, leaving out the
holding segments pyabf adds before and after the epoch table), or the epoch given by index.

Windows are relative to the step: "60%" is a fraction of the step duration, "2.5ms" or a number
[s] a time after the step onset. Sample k of the step (t = k / rate after onset, k = 0 at the
first sample of the epoch) is used if start <= t < end, so ("2.5ms", "7.5ms") at 2 kHz takes
samples 5..14. Skip capacitive transients at the step onset (>= 2.5 ms at 2 kHz is typical).

Clampex "user list" protocols vary a parameter by a list that pyabf ignores, and the header's
enable flag does not say whether it was applied; a command drawn from a stimulus file has no
epochs at all (refused). When a list names a parameter, the epoch table is checked against the
command recorded on an ADC channel (``command_channel``, or any other channel with a voltage unit)
or, lacking one, against the current's capacitive transients; the list's values are applied when
that is what the recording shows, and the file is refused otherwise (see ``_command``).

Corrections (see ``fitting.recordings.corrections`` for the physics and order): series resistance with
the total current, then the liquid junction potential, then leak subtraction. ``leak="ramp"``
fits I = g V + b to the sweep's ramp epochs against the command waveform (``sweepC``, or the
recorded command) and subtracts it at the step's command level, sweep by sweep; a leak fitted in
command coordinates is unaffected by the LJP (a common shift), and the small R_s drop of the leak
current during the ramp is neglected.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from fitting.recordings.corrections import DEFAULT_TEMPERATURE
from fitting.recordings.data import IVData
from fitting.recordings.errors import InputError, reading, require_file
from fitting.recordings.formats.abf_command import check_transients, protocol_checks, verify, waveform
from fitting.recordings.formats.abf_dac import command_dac, probe_adc
from fitting.recordings.formats.abf_header import check_section_map
from fitting.recordings.formats.abf_sweeps import read_sweeps
from fitting.recordings.model import Channel, Epoch, ReadOptions, Recording, Sweep
from fitting.recordings.stepiv import check_statistic, membrane_probe, step_iv
from fitting.recordings.units import checked_unit, quantity_of, to_si, unit_info

__all__ = ["iv", "iv_from_abf", "load_abf", "read", "sniff"]

MAGIC = (b"ABF ", b"ABF2")


def sniff(head: bytes, name: str) -> bool:
    """Whether a file is an ABF: its first bytes say so, whatever its name, or it is named
    ``.abf`` and does not start as an HDF5 (NWB) file does."""
    return head[:4] in MAGIC or (os.path.splitext(name)[1].lower() == ".abf"
                                 and not head.startswith(b"\x89HDF"))


def load_abf(path: str | os.PathLike) -> Any:
    """Open an ABF file with pyabf, turning every failure into an InputError."""
    path = os.fspath(path)
    require_file(path)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic not in MAGIC:
        raise InputError(f"not an ABF file (it starts with {magic!r}, not b'ABF ' or b'ABF2')",
                         path=path)
    printing = np.get_printoptions()  # pyabf sets numpy's print options for the whole process
    try:
        import pyabf
    except ImportError as exc:
        raise ImportError("reading ABF files needs pyabf: pip install 'ionjax[abf]'") from exc
    finally:
        np.set_printoptions(**printing)
    check_section_map(path)  # before pyabf allocates what a damaged map says
    with reading(path, "ABF"):  # pyabf warns on odd headers, raises anything on a bad file
        # the header alone: the channels a reading needs are read from the file by
        # fitting.recordings.formats.abf_sweeps.channel_data
        return pyabf.ABF(path, loadData=False)


def _channel(path, abf, index, what):
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or \
            not 0 <= index < abf.channelCount:
        raise InputError(f"{what} {index} does not exist; the file has channels "
                         f"0..{abf.channelCount - 1} ({', '.join(map(str, abf.adcNames))})",
                         path=path)
    return int(index)


def _channels(abf):
    """The file's ADC channels, then its DAC channels."""
    adcs = [Channel.of(c, abf.adcNames[c], abf.adcUnits[c], "adc")
            for c in range(abf.channelCount)]
    dacs = [Channel.of(c, name, unit, "dac") for c, (name, unit) in
            enumerate(zip(getattr(abf, "dacNames", ()), getattr(abf, "dacUnits", ())))]
    return tuple(adcs + dacs)


def _read_sweeps(path, abf, channel, dac, adcs, current_unit, voltage_unit=None):
    """Per-sweep current [A], command [V] of DAC ``dac``, epoch tables, units, and
    {adc: per-sweep recorded voltage [V]} of each ADC channel of ``adcs``."""
    i_unit, i_exp = checked_unit(path, current_unit or abf.adcUnits[channel], "current",
                                 f"channel {channel} ({abf.adcNames[channel]})")
    r_units = {a: checked_unit(path, voltage_unit or abf.adcUnits[a], "voltage",
                               f"channel {a} ({str(abf.adcNames[a]).strip()})") for a in adcs}
    what = "the command waveform" + ("" if dac == channel else f" (DAC {dac})")
    current, command, epochs, recorded = [], [], [], {a: [] for a in adcs}
    for y, table, wave, label, others in read_sweeps(abf, channel, dac, adcs, path):
        if table is None or not len(table.p1s):
            raise InputError(f"no epoch table for channel {channel}: cannot locate the test step",
                             path=path)
        c_unit, c_exp = checked_unit(path, voltage_unit or label, "voltage", what)
        current.append(to_si(y, i_exp))
        command.append(to_si(wave, c_exp))
        epochs.append(tuple(Epoch(k, p1, p2, level, kind) for k, (p1, p2, level, kind) in
                            enumerate(zip(table.p1s, table.p2s,
                                          to_si(table.levels, c_exp).tolist(), table.types))))
        for a in adcs:
            recorded[a].append(to_si(others[a], r_units[a][1]))
    if len({len(e) for e in epochs}) != 1:
        raise InputError("the epoch table differs in length between sweeps", path=path)
    units = {"current": i_unit, "command": c_unit}
    return current, command, recorded, epochs, units, {a: u for a, (u, _) in r_units.items()}


def _named(path, abf, options, channel):
    """The ADC channels named by ``command_channel`` and ``voltage_channel`` (or None)."""
    named = []
    for value, what in ((options.command_channel, "command_channel"),
                        (options.voltage_channel, "voltage_channel")):
        if value is not None:
            value = _channel(path, abf, value, what)
            if value == channel:
                raise InputError(f"{what} {value} is the current's channel; it names the ADC "
                                 "that records a voltage", path=path)
        named.append(value)
    return named


def _recording(path, abf, options):
    """(Recording, epoch-slot count) of an open ABF: the command DAC chosen
    (``fitting.recordings.formats.abf_dac``) and checked against the recording
    (``fitting.recordings.formats.abf_command``), the voltage from the epoch table or from a
    recorded ADC channel: ``options.command_channel`` (a recorded command) or
    ``options.voltage_channel`` (the membrane potential, the epochs still from the table)."""
    channel = _channel(path, abf, options.channel, "channel")
    amps = [f"{c} ({str(abf.adcNames[c]).strip()})" for c in range(abf.channelCount)
            if quantity_of(abf.adcUnits[c]) == "current"]
    if options.current_unit is None and quantity_of(abf.adcUnits[channel]) == "voltage" and amps:
        raise InputError(f"channel {channel} ({str(abf.adcNames[channel]).strip()}) records a "
                         f"voltage, not the current; channel(s) {', '.join(amps)} hold a "
                         "current: give channel= (--channel) one of them", path=path)
    command_channel, membrane = _named(path, abf, options, channel)
    dac, dac_note = command_dac(path, abf, channel)
    lists, slots, probe = protocol_checks(path, abf, channel, command_channel, dac=dac,
                                          membrane=membrane)
    other = None if membrane is not None or command_channel is not None else probe_adc(
        path, abf, channel, options.voltage_unit)
    adcs = [a for a in dict.fromkeys((probe, membrane, other)) if a is not None]
    current, command, recorded, epochs, units, r_units = _read_sweeps(
        path, abf, channel, dac, adcs, options.current_unit, options.voltage_unit)
    if probe is not None:
        units["recorded_command"] = r_units[probe]
    scale = to_si(1.0, unit_info(units["command"])[2])
    epochs, check = verify(path, abf, dac, lists, slots, epochs, recorded.get(probe), probe,
                           scale, given=command_channel is not None)
    if command_channel is None and check and "applied" in check:
        command = [waveform(table, len(c)) for table, c in zip(epochs, command)]
    source = membrane if membrane is not None else command_channel
    if membrane is not None:
        units["membrane_potential"] = r_units[membrane]
    channels = _channels(abf)
    dacs = [c for c in channels if c.source == "dac" and c.index == dac]
    sweeps = tuple(Sweep(s, current[s], command[s], epochs[s],
                         None if source is None else recorded[source][s])
                   for s in range(len(current)))
    rec = Recording(
        path=path, format="abf", rate=float(abf.dataRate), sweeps=sweeps,
        current=channels[channel], command=dacs[0] if dacs else None,
        voltage_source="epochs" if source is None else "adc",
        voltage=None if source is None else channels[source], channels=channels,
        units=units, user_lists=lists, command_check=check,
        recorded_voltage="membrane" if membrane is not None else "command",
        probe=None if other is None else (other, tuple(recorded[other])),
        provenance={"channel": channel, "dac": dac, "dac_choice": dac_note,
                    "abf_version": getattr(abf, "abfVersionString", None)})
    return rec, slots


def read(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> Recording:
    """The sweeps of an ABF file as a ``Recording`` (the format registry's reader).

    A command from a stimulus file, or a user list the recording cannot confirm, is refused; an
    applied user list rebuilds the command waveform from the epoch table. The command is the DAC
    that drives the current's voltage (``fitting.recordings.formats.abf_dac``); the voltage
    source is the epoch table ("epochs"), or the ADC channel ``options.command_channel`` (a
    recorded command) or ``options.voltage_channel`` (a recorded membrane potential) ("adc");
    the recording lists the file's ADC and DAC channels.

    Raises:
      InputError: an unreadable file, a bad channel or unit, an unconfirmed command.
      ImportError: if pyabf is not installed.
    """
    path = os.fspath(path)
    return _recording(path, load_abf(path), options)[0]


def iv_from_abf(path, *, channel=0, window=("60%", "95%"), statistic="mean", epoch=None,
                leak=None, command_channel=None, ljp=None, series_resistance=None,
                compensation=0.0, temperature=DEFAULT_TEMPERATURE, current_unit=None,
                voltage_unit=None, voltage_channel=None) -> IVData:
    """Extract the step I-V curve of a voltage-clamp ABF file, one point per sweep, in SI.

    Args:
      path: the .abf file (ABF1 or ABF2).
      channel: ADC channel index of the membrane current. Its command is the DAC of the same
        index when that DAC's unit is a voltage, else the DAC that steps a voltage (two-electrode
        layouts: ``fitting.recordings.formats.abf_dac``); ``metadata["command_dac"]`` says which.
      window: (start, end) within the test step, each a fraction of the step ("60%"), a time
        after its onset ("2.5ms", "0.5 s") or a number [s]. Default ("60%", "95%"): steady state.
      statistic: "mean", "peak" (the sample of largest |I|, signed), "min" or "max" over the
        window.
      epoch: index of the test step in pyabf's ``abf.sweepEpochs`` (0 is the holding segment
        pyabf puts before Clampex epoch A, so A is 1, B is 2, ...); default: the first step
        epoch whose level changes across sweeps. In the HCN2 sample this picks 8 (epoch H, the
        test step after the -120 mV prepulse).
      leak: None; "ramp" (fit I = g V + b to each sweep's ramp epochs against the command
        waveform and subtract it at the step's command level); ("range", v_lo, v_hi) [V] (fit a
        line to the extracted points within that range of the corrected voltage); or
        (g_leak [S], e_leak [V]).
      command_channel: ADC channel index that records the command potential. If given, the
        step voltage is the mean of that channel over the window (and the ramp leak is fitted
        against it), after checking that the command sits where the epoch table puts the
        epochs. Needed for user lists that vary a level (their command pyabf cannot rebuild).
      voltage_channel: ADC channel index that records the membrane potential V_m (two-electrode
        clamp): the step voltage is V_m's mean over the window (the clamp is imperfect, so V_m is
        the better value); the epoch table still locates the step, and
        ``metadata["clamp_error"]`` gives the largest |V_m - V_cmd|. Not with
        ``command_channel`` or ``series_resistance`` (V_m carries no R_s drop).
      ljp: liquid junction potential: None, a number [V], or a (pipette, bath) pair of mappings
        ion -> mM for ``ionjax.liquid_junction_potential``. V_m = V_cmd - LJP.
      series_resistance: R_s [Ohm] or None; V_m = V_cmd - I_total R_s (1 - compensation), with
        the current before leak subtraction (the leak current flows through R_s too).
      compensation: compensated fraction of R_s, in [0, 1).
      temperature: [K] for an LJP computed from solutions; default 295.15 K (22 degC).
      current_unit: override the file's unit label of ``channel``, e.g. "pA" for a file
        labelled "A"; refused where the label's numbers are typical
        (``fitting.recordings.plausibility``).
      voltage_unit: override the unit of the command waveform (and of ``command_channel``).

    The step I-V is refused when its numbers cannot be a voltage-clamp I-V in the units read
    (voltages beyond +-0.5 V or spanning under 1 mV, currents beyond +-1 uA, +-100 uA for a
    two-electrode clamp): the message names the likely unit.

    Returns:
      IVData of shape (n_sweeps,): v [V], i [A], one label (the file name without extension),
      metadata with source, format, channel, sweeps, epoch, window (spec, seconds, samples),
      statistic, units as found, voltage_source, user_lists and corrections.

    Raises:
      InputError: missing, non-ABF or corrupt file; unknown units or a non-current channel; no
        step epoch that varies (pass ``epoch``); a window outside the step; an unknown
        statistic; a user list or stimulus file whose applied command the recording cannot
        confirm; leak="ramp" without a ramp.
      ImportError: if pyabf is not installed.
    """
    path = os.fspath(path)
    check_statistic(statistic)
    abf = load_abf(path)
    rec, slots = _recording(path, abf, ReadOptions(channel, current_unit, voltage_unit,
                                                   command_channel, voltage_channel))
    if rec.voltage_source != "adc":  # a probe's unit is not the step voltages'
        rec = dataclasses.replace(rec, units={k: u for k, u in rec.units.items()
                                              if k != "recorded_command"})
    channel, lists, check = rec.current.index, rec.user_lists, rec.command_check
    metadata = {
        "source": path, "format": "abf", "abf_version": rec.provenance["abf_version"],
        "channel": channel, "channel_name": rec.current.name,
        "command_channel": rec.voltage.index if rec.recorded_voltage == "command" and
        rec.voltage is not None else None,
        "voltage_channel": rec.voltage.index if rec.recorded_voltage == "membrane" else None,
        "command_dac": rec.provenance["dac"], "command_dac_choice": rec.provenance["dac_choice"],
        "voltage_source": "epoch table" if rec.voltage is None else
        f"recorded {'command' if rec.recorded_voltage == 'command' else 'membrane potential'} "
        f"(channel {rec.voltage.index}), mean over the window",
        "user_lists": lists, "command_check": check,
        "other_voltage_channels": [] if rec.voltage is not None else [
            f"{c.index} ({c.name.strip()}, {c.unit})" for c in rec.channels
            if c.source == "adc" and c.index != channel and c.kind == "voltage"],
        "other_current_channels": [f"{c.index} ({c.name.strip()})" for c in rec.channels
                                   if c.source == "adc" and c.index != channel and
                                   c.kind == "current"],
    }
    probe = membrane_probe(rec)
    if probe is not None:
        metadata["clamp_probe"] = probe[0]
    transients = (lambda k: check_transients(path, abf, rec.provenance["dac"], rec.currents, rec.epochs, k,
                                             lists, slots)) if check == "transients" else None
    return step_iv(rec, window=window, statistic=statistic, epoch=epoch, leak=leak, ljp=ljp,
                   series_resistance=series_resistance, compensation=compensation,
                   temperature=temperature, transients=transients,
                   label=_label(path, rec), metadata=metadata,
                   probe=None if probe is None else probe[1])


def _label(path, rec):
    """The file's name; the channel's when the file records more than one current (two cells
    of a paired recording must not share a label; ``read_files`` puts the file name first)."""
    currents = [c for c in rec.channels if c.source == "adc" and c.kind == "current"]
    return os.path.splitext(os.path.basename(path))[0] if len(currents) < 2 else \
        rec.current.name.strip()


iv = iv_from_abf  # ``fitting.read``'s step I-V of an ABF
