"""A recording of sweeps from any file, through the format registry: what the protocol analyses
read (``checked_sweeps``) and what ``fitting.read`` takes its step I-V from. For an ABF, a
command from a stimulus file or a user list the recording cannot confirm is refused and an
applied user list rebuilds the command from the epoch table (``fitting.recordings.formats.abf``).
Every protocol's currents pass the one plausibility rule of ``fitting.recordings.plausibility``
(over every sample of every sweep) before any analysis.
"""

import os

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.formats.registry import Format, lookup
from fitting.recordings.model import ReadOptions, Recording
from fitting.recordings.plausibility import check_current_unit, current_problem

__all__ = ["check_currents", "checked_sweeps", "read_recording", "refuse_command_channel"]


def refuse_command_channel(fmt: Format, path: str, command_channel: object,
                           voltage_channel: object = None) -> None:
    """Refuse ``command_channel`` or ``voltage_channel`` for a format whose voltages are not ADC
    channels."""
    for name, value in (("command_channel", command_channel),
                        ("voltage_channel", voltage_channel)):
        if value is not None and not fmt.command_channel:
            raise InputError(f"{name} names an ABF channel; a {fmt.name.upper()} file's "
                             "command is its stimulus series", path=path)


def check_currents(rec: Recording) -> Recording:
    """``rec`` if its currents (every sample) are plausible in the unit read, with the file's
    label and configuration (``fitting.recordings.plausibility``); else an InputError."""
    membrane = rec.recorded_voltage == "membrane"
    values = np.concatenate(rec.currents) if rec.sweeps else np.zeros(0)
    check_current_unit(rec.path, values, rec.current.unit, rec.units.get("current"),
                       what=f"channel {rec.current.index} ({rec.current.name.strip()})",
                       membrane=membrane)
    problem = current_problem(values, rec.units.get("current"), label=rec.current.unit,
                              membrane=membrane)
    if problem:
        raise InputError(f"the recording: {problem}", path=rec.path)
    return rec


def read_recording(path: str | os.PathLike, options: ReadOptions = ReadOptions()) -> Recording:
    """The ``Recording`` of a file of sweeps, read by its format's reader.

    Raises:
      InputError: a table or another file without sweeps, and every refusal of the reader.
    """
    path = os.fspath(path)
    fmt = lookup(path)
    if fmt.kind != "sweeps":
        raise InputError(f"a protocol analysis reads recordings of sweeps (ABF, NWB, WinWCP), "
                         f"not {fmt.name} files", path=path)
    refuse_command_channel(fmt, path, options.command_channel, options.voltage_channel)
    return check_currents(fmt.load().read(path, options))


def checked_sweeps(path: str | os.PathLike, channel: int,
                   current_unit: str | None) -> Recording:
    """Every sweep of a recording, as the protocol readers take it.

    Args:
      path: an ABF, NWB or WinWCP file (any registered format of sweeps).
      channel: the current's ADC channel (ABF), the recording's index (NWB: electrodes and
        protocols in the file's order), the index among the current channels (neo).
      current_unit: a unit label overriding the file's.
    """
    return read_recording(path, ReadOptions(channel=channel, current_unit=current_unit))
