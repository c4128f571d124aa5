"""Which DAC commands the voltage of an ABF's current: channels paired by what the protocol
drives, not by index.

pyabf pairs ADC c with DAC c (``setSweep(s, channel=c)`` gives DAC c's ``sweepC`` and epoch
table). Two-electrode voltage-clamp amplifiers break that pairing: the common ABF1 layout
records V_m on ADC 0 (mV) and the current on ADC 1 (nA), with the voltage command on DAC 0 (mV)
and a current command on DAC 1 (nA). The command of the current on ADC ``channel`` is:

1. DAC ``channel`` when its unit is a voltage (as pyabf pairs them; a paired recording's second
   cell has its own command);
2. else the one DAC with a voltage unit whose epochs step across sweeps (a level that changes),
   or, when none steps, the one DAC with a voltage unit;
3. else DAC ``channel`` (the reader then refuses its unit, naming it).

Several voltage DACs that step, none of them DAC ``channel``, are refused as ambiguous. An ABF1
header holds the epoch tables of DACs 0 and 1 only. ``probe_adc`` names the ADC that records
V_m in such a layout when no voltage channel is given (read with the sweeps, for the clamp
check).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.units import checked_unit, quantity_of

__all__ = ["command_dac", "probe_adc"]


def _label(text: Any) -> str:
    return str(text).replace("\x00", "").strip()


def _dacs(abf) -> list[tuple[int, str, str]]:
    """(index, name, unit) of the DACs whose epoch table pyabf can read."""
    units = list(getattr(abf, "dacUnits", None) or ())
    names = list(getattr(abf, "dacNames", None) or ()) + [""] * len(units)
    count = len(units)
    if getattr(abf, "abfVersion", {}).get("major") == 1:
        count = min(count, 2)  # ABF1: epoch tables for DACs 0 and 1 only
    return [(d, _label(names[d]), _label(units[d])) for d in range(count)]


def _enabled(abf, dac: int) -> bool:
    header = getattr(abf, "_headerV1", None) or getattr(abf, "_dacSection", None)
    flags = getattr(header, "nWaveformEnable", None)
    return bool(flags[dac]) if flags is not None and dac < len(flags) else True


def _steps(abf, dac: int) -> bool:
    """Whether DAC ``dac``'s epoch table puts a step at levels that change across sweeps."""
    import pyabf

    if not _enabled(abf, dac):
        return False
    tables = pyabf.waveform.EpochTable(abf, dac).epochWaveformsBySweep
    if len(tables) < 2 or len({len(t.levels) for t in tables}) != 1:
        return False
    levels = np.array([t.levels for t in tables], dtype=float)
    steps = np.array([kind == "Step" for kind in tables[0].types])
    return bool(np.any((np.ptp(levels, axis=0) > 0) & steps))


def command_dac(path: str, abf: Any, channel: int) -> tuple[int, str | None]:
    """(DAC index, note) of the command of the current on ADC ``channel`` (module docstring);
    the note says why a DAC other than ``channel`` was chosen, else None.

    Raises:
      InputError: several voltage DACs step and none is DAC ``channel``.
    """
    dacs = _dacs(abf)
    voltage = [d for d in dacs if quantity_of(d[2]) == "voltage"]
    if any(d[0] == channel for d in voltage) or not voltage:
        return channel, None
    stepping = [d for d in voltage if _steps(abf, d[0])]
    if len(stepping) > 1:
        raise InputError(f"DAC {channel}, paired with the current's channel {channel}, is not a "
                         "voltage command and DACs "
                         f"{', '.join(str(d[0]) for d in stepping)} all step a voltage: which "
                         "one clamps this current is ambiguous", path=path)
    if stepping or len(voltage) == 1:
        dac, name, unit = (stepping or voltage)[0]
        other = next((d for d in dacs if d[0] == channel), None)
        why = "the DAC whose epochs step" if stepping else "the only DAC with a voltage unit"
        held = f"; DAC {channel} holds {other[2] or 'no unit'!r}" if other else ""
        return dac, f"command: DAC {dac} ({name or 'unnamed'}, {unit}), {why}{held}"
    return channel, None


def probe_adc(path: str, abf: Any, channel: int, voltage_unit: str | None = None) -> int | None:
    """The first ADC but ``channel`` whose unit is a voltage (mV first), to be read along as
    the ``Recording.probe`` (one read of the file); None: none, or none with a unit
    (``voltage_unit``, else the channel's own) that reads as a voltage."""
    found = [c for c in range(abf.channelCount) if c != channel and
             quantity_of(abf.adcUnits[c]) == "voltage"]
    for c in sorted(found, key=lambda c: str(abf.adcUnits[c]).strip() != "mV"):
        try:
            checked_unit(path, voltage_unit or abf.adcUnits[c], "voltage", f"channel {c}")
        except InputError:
            continue
        return c
    return None
