"""Voltage-clamp sweeps of the formats read through neo (extra ``neo``): one neo segment per
sweep, the current the first channel with a current unit (or the ``recording``-th), the command
the first channel with a voltage unit.

Only formats tried on a real voltage-clamp file are read (``FORMATS``:
WinWCP). Their command is a recorded voltage (WinWCP keeps Vm, not the protocol), so the epochs
are read off it at ``RECORDED_TOLERANCE`` (noise must stay under it, steps exceed it), and the
step voltage is the recorded command's mean over the window, as for an ABF's
``command_channel``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fitting.recordings.corrections import DEFAULT_TEMPERATURE
from fitting.recordings.data import IVData
from fitting.recordings.epochs import epoch_tables
from fitting.recordings.errors import InputError, reading, require_file
from fitting.recordings.model import Channel, ReadOptions, Recording, Sweep
from fitting.recordings.stepiv import check_statistic, step_iv
from fitting.recordings.units import checked_unit, to_si, unit_info

__all__ = ["FORMATS", "iv", "iv_from_neo", "read", "sniff"]

# extension -> the neo IO class that reads it (each tried on a real file in tests/test_formats)
FORMATS = {".wcp": "WinWcpIO"}

RECORDED_TOLERANCE = 1e-3  # [V] a recorded command's noise stays under it, its steps exceed it


def _block(path, io_name):
    require_file(path)
    try:
        import neo.io
    except ImportError as exc:
        raise ImportError("reading this format needs neo: pip install 'ionjax[neo]'") from exc
    with reading(path, f"{io_name.removesuffix('IO')} (neo)"):
        return getattr(neo.io, io_name)(filename=path).read_block(lazy=False)


def sniff(head: bytes, name: str) -> bool:
    """Whether neo reads the file here: by its extension (``FORMATS``)."""
    return os.path.splitext(name)[1].lower() in FORMATS


def _channels(segment):
    """(name, quantity, exponent, values, rate, unit) of every channel of a segment's signals."""
    out = []
    for signal in segment.analogsignals:
        unit = str(signal.units.dimensionality)
        info = unit_info(unit)
        values = np.asarray(signal.magnitude, float)
        for c in range(values.shape[1]):
            name = str(signal.array_annotations.get("channel_names", [signal.name] * 99)[c])
            out.append((name, info and info[0], info and info[2], values[:, c],
                        float(signal.sampling_rate.rescale("Hz").magnitude), unit))
    return out


def _override(path, label, quantity, exp):
    """The decimal exponent of a unit override of ``quantity`` (or ``exp`` without one)."""
    return exp if label is None else checked_unit(path, label, quantity, f"{quantity}_unit")[1]


def read(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> Recording:
    """The sweeps of a neo-read file as a ``Recording`` (the format registry's reader): the
    current the ``options.channel``-th channel with a current unit, the command the first with a
    voltage unit, recorded: the voltage source is "adc" and the epochs are read off it.

    Raises:
      InputError: an unreadable file, no current or command channel, differing rates.
      ImportError: if neo is not installed (extra ``neo``).
    """
    path, channel = os.fspath(path), options.channel
    current_unit, voltage_unit = options.current_unit, options.voltage_unit
    io_name = FORMATS[os.path.splitext(path)[1].lower()]
    block = _block(path, io_name)
    if not block.segments:
        raise InputError("the file holds no sweeps", path=path)
    current, command, rates = [], [], set()
    for segment in block.segments:
        chans = _channels(segment)
        amps = [c for c in chans if c[1] == "current"]
        volts = [c for c in chans if c[1] == "voltage"]
        if not amps or not volts:
            found = ", ".join(f"{c[0]}" for c in chans) or "none"
            raise InputError("a voltage-clamp sweep needs a current and a recorded command "
                             f"voltage; the channels are {found}", path=path)
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or \
                not 0 <= channel < len(amps):
            listing = ", ".join(f"{k}: {c[0]}" for k, c in enumerate(amps))
            raise InputError(f"current channel {channel!r} does not exist; the current "
                             f"channels are {listing}", path=path)
        name, _, exp, values, rate, _ = amps[channel]
        current.append(to_si(values, _override(path, current_unit, "current", exp)))
        command.append(to_si(volts[0][3], _override(path, voltage_unit, "voltage",
                                                    volts[0][2])))
        rates.update((rate, volts[0][4]))
    if len(rates) != 1:
        raise InputError(f"the sweeps are sampled at different rates {sorted(rates)} Hz",
                         path=path)
    epochs = epoch_tables(path, command, RECORDED_TOLERANCE)
    voltage = Channel.of(0, volts[0][0], volts[0][5], "adc")
    return Recording(
        path=path, format=io_name, rate=rates.pop(),
        sweeps=tuple(Sweep(s, i, v, e, v) for s, (i, v, e) in enumerate(zip(current, command,
                                                                             epochs))),
        current=Channel.of(channel, name, amps[channel][5], "adc"), command=voltage,
        voltage_source="adc", voltage=voltage,
        units={"current": current_unit or "A", "command": "V", "recorded_command": "V"},
        command_check=f"recorded command ({volts[0][0]})",
        provenance={"channel": name, "recording": name})


def iv_from_neo(path, *, recording=0, window=("60%", "95%"), statistic="mean", epoch=None,
                leak=None, ljp=None, series_resistance=None, compensation=0.0,
                temperature=None, current_unit=None, voltage_unit=None) -> IVData:
    """The step I-V of a recording in a format read through neo (``FORMATS``), one point per
    sweep, in SI: the step voltage is the recorded command's mean over the window.

    Args:
      path: the file.
      recording: index of the current channel among the channels with a current unit.
      window, statistic, epoch, leak, ljp, series_resistance, compensation, temperature,
        current_unit, voltage_unit: as ``iv_from_abf`` (``epoch`` indexes the table read off
        the recorded command: 0 is the holding before its first step).

    Returns:
      IVData of shape (n_sweeps,).

    Raises:
      InputError: an unreadable file, no current or command channel, and every refusal of the
        step I-V.
      ImportError: if neo is not installed (extra ``neo``).
    """
    path = os.fspath(path)
    check_statistic(statistic)
    rec = read(path, ReadOptions(recording, current_unit, voltage_unit))
    metadata = {"source": path, "format": rec.format, "channel": rec.provenance["channel"],
                "voltage_source": f"{rec.command_check}, mean over the window",
                "user_lists": [], "command_check": rec.command_check}
    return step_iv(rec, window=window, statistic=statistic, epoch=epoch, leak=leak, ljp=ljp,
                   series_resistance=series_resistance, compensation=compensation,
                   temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
                   label=os.path.splitext(os.path.basename(path))[0], metadata=metadata)


def iv(path: str | os.PathLike, *, channel: Any = None, **options: Any) -> IVData:
    """``fitting.read``'s step I-V: ``iv_from_neo`` with ``channel`` naming the recording."""
    return iv_from_neo(path, **options, **({} if channel is None else {"recording": channel}))
