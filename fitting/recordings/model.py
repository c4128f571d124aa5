"""What a voltage-clamp recording is, whatever file it came from: typed, frozen dataclasses.

A :class:`Recording` holds its :class:`Sweep` s (current [A], command [V], epoch table) and
says where each number came from: the :class:`Channel` of the current, the channel of the
command, and which source gives the membrane voltage (``voltage_source``):

* ``"epochs"``: the levels of the epoch table (an ABF's header, or the table read off an NWB
  stimulus series), the command DAC's protocol;
* ``"dac"``: the command waveform sample by sample;
* ``"adc"``: a recorded voltage (an ABF's ``command_channel``, WinWCP's Vm; two-electrode
  recordings measure the membrane voltage this way), averaged over the analysis window.
  ``Recording.recorded_voltage`` says what that channel records: the command ("command", which
  must then sit flat at the table's levels) or the membrane potential ("membrane", an ABF's
  ``voltage_channel``: never flat, the clamp is imperfect; the table still locates the epochs).

Every array is in SI (A, V) and every time in samples at ``Recording.rate`` [Hz]. Readers of
file formats (``fitting.recordings.formats``) make these; analyses (step I-V, protocols) read
them, never a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.units import to_si, unit_info

__all__ = ["Channel", "Epoch", "EpochTables", "ReadOptions", "Recording", "Sweep"]


@dataclass(frozen=True)
class Channel:
    """One signal of a file.

    Attributes:
      index: the channel's index in the file (an ABF's ADC or DAC number; for NWB the
        recording's index, for neo the index among the current channels).
      name: the channel's name as stored (ABF ``adcNames``, an NWB electrode, a neo name).
      unit: the unit label as stored, or None.
      scale: SI units per stored unit (1e-12 for "pA"); NaN where the unit is unknown.
      kind: "current", "voltage" or "other" (by the unit).
      source: "adc" (recorded) or "dac" (applied, a command).
    """

    index: int
    name: str
    unit: str | None
    scale: float
    kind: Literal["current", "voltage", "other"]
    source: Literal["adc", "dac"]

    @classmethod
    def of(cls, index: int, name: Any, unit: Any, source: Literal["adc", "dac"]) -> Channel:
        """The channel of a stored unit label: its kind and scale read from the label."""
        label = None if unit is None else str(unit).replace("\x00", "").strip() or None
        info = unit_info(label) if label is not None else None
        return cls(int(index), str(name), label, float(to_si(1.0, info[2])) if info else np.nan,
                   info[0] if info else "other", source)


@dataclass(frozen=True)
class Epoch:
    """One segment of a sweep's protocol: samples ``start <= k < stop``.

    Attributes:
      index: position in the sweep's epoch table (0: the holding segment before the first
        epoch, as pyabf's ``sweepEpochs``).
      start, stop: first sample and one past the last [samples from the sweep's start].
      level: [V] a step's level; a ramp's target, the level at its end (a ramp starts from
        the level of the epoch before it).
      type: "Step" or "Ramp" (pyabf's names; other protocol shapes keep pyabf's name).
    """

    index: int
    start: int
    stop: int
    level: float
    type: str


EpochTables = Sequence[tuple[Epoch, ...]]  # per sweep, its epoch table


@dataclass(frozen=True, eq=False)
class Sweep:
    """One sweep: arrays of shape (n_samples,).

    Attributes:
      index: the sweep's number in the recording (0-based).
      current: [A] the membrane current.
      command: [V] the command waveform (applied, or recorded where the file keeps no other).
      epochs: the sweep's epoch table, one :class:`Epoch` per segment.
      recorded: [V] the recorded voltage when the recording's ``voltage_source`` is "adc",
        else None.
    """

    index: int
    current: np.ndarray
    command: np.ndarray
    epochs: tuple[Epoch, ...]
    recorded: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Recording:
    """The sweeps of one voltage-clamp recording, in SI, with where they came from.

    Attributes:
      path: the file.
      format: the format's name ("abf", "nwb", or neo's IO class such as "WinWcpIO").
      rate: [Hz] the sampling rate.
      sweeps: the sweeps, in order.
      current: the channel of the current.
      command: the channel of the command (an ABF's DAC, an NWB stimulus, a recorded Vm), or
        None where the file does not name one.
      voltage_source: "epochs", "dac" or "adc" (module docstring): what gives V.
      voltage: the recorded channel that gives V when ``voltage_source`` is "adc", else None.
      recorded_voltage: what ``voltage`` records: "command" (a recorded command) or "membrane"
        (the membrane potential V_m of a two-electrode clamp; module docstring).
      channels: every channel of the file that was listed (ADCs, then DACs), or ().
      units: the unit labels used: ``current``, ``command`` (and ``recorded_command``).
      user_lists: the Clampex user lists that name a parameter (ABF; else []).
      command_check: how the command was confirmed (a note), or None.
      provenance: the reader's own description, e.g. ``channel`` (how the format names the
        current's channel: an ABF's ADC index, an NWB electrode, a neo channel name) and
        ``recording`` (an NWB or neo recording's name).
      probe: (ADC index, per-sweep samples [V]) of the first other ADC that records a voltage
        (mV first), read with the sweeps when no voltage channel is named (the clamp check of a
        two-electrode recording, without a second read of the file); None: none, or not read.
    """

    path: str
    format: str
    rate: float
    sweeps: tuple[Sweep, ...]
    current: Channel
    command: Channel | None
    voltage_source: Literal["epochs", "dac", "adc"]
    voltage: Channel | None = None
    channels: tuple[Channel, ...] = ()
    units: dict[str, Any] = field(default_factory=dict)
    user_lists: list[dict[str, Any]] = field(default_factory=list)
    command_check: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    recorded_voltage: Literal["command", "membrane"] = "command"
    probe: tuple[int, tuple[np.ndarray, ...]] | None = None

    @property
    def currents(self) -> list[np.ndarray]:
        """Per sweep, the current [A]."""
        return [s.current for s in self.sweeps]

    @property
    def commands(self) -> list[np.ndarray]:
        """Per sweep, the command [V]."""
        return [s.command for s in self.sweeps]

    @property
    def epochs(self) -> list[tuple[Epoch, ...]]:
        """Per sweep, its epoch table."""
        return [s.epochs for s in self.sweeps]

    @property
    def recorded(self) -> list[np.ndarray] | None:
        """Per sweep, the recorded voltage [V] that gives V ("adc"), else None."""
        return [s.recorded for s in self.sweeps] if self.voltage_source == "adc" else None


@dataclass(frozen=True)
class ReadOptions:
    """What a format's ``read(path, options)`` is told (None: the file's own choice).

    Attributes:
      channel: the current's channel (an ABF's ADC index; an NWB recording's index; a neo
        file's index among its current channels).
      current_unit, voltage_unit: unit labels overriding the file's.
      command_channel: an ABF's ADC channel that records the command (then the voltage source
        is "adc"); refused by formats without such channels.
      voltage_channel: an ABF's ADC channel that records the membrane potential V_m (a
        two-electrode clamp): the step voltage is V_m's mean over the window, the epoch table
        of the command still locates the step. Not together with ``command_channel``.

    Raises:
      InputError: both channels named, or an empty unit label (it would name no unit).
    """

    channel: int = 0
    current_unit: str | None = None
    voltage_unit: str | None = None
    command_channel: int | None = None
    voltage_channel: int | None = None

    def __post_init__(self) -> None:
        if self.command_channel is not None and self.voltage_channel is not None:
            raise InputError("command_channel (--command-channel: an ADC recording the command) "
                             "and voltage_channel (--voltage-channel: an ADC recording the "
                             "membrane potential) name two voltages; give one")
        for name in ("current_unit", "voltage_unit"):
            label = getattr(self, name)
            if label is not None and not str(label).strip():
                raise InputError(f"{name} {label!r} (--{name.replace('_', '-')}) names no "
                                 "unit: leave it out to use the file's label")
