"""Is the epoch table the command that was applied? Checks for user lists pyabf ignores.

pyabf builds the command (``sweepC``, ``sweepEpochs``) from the epoch table alone. A Clampex
user list replaces an epoch's level or duration sweep by sweep, and its enable flag is no guide
(see ``fitting.recordings.formats.abf_userlist``). When a list names a parameter, or the caller names a channel
that records the command, the table is checked against what the recording shows:

* With a recorded command (``command_channel``, or else the first other ADC channel with a
  voltage unit): inside every step epoch of the table (its first and last max(3, 2%) samples left
  out) the recorded command must be flat (1st-99th percentile range <= 3 mV) and, after one
  common offset, at the table's level (within 3 mV).

  - flat and at the levels: the table is the command (a list, if any, was not applied);
  - flat but at other levels (a level list): the step's timing is right and its voltage is read
    from the recorded command, so ``command_channel`` is required;
  - not flat (a duration list shifted the epochs): the list's values are applied to the table
    (durations in samples, levels in the command's unit) and the check repeated; the file is
    refused unless the rebuilt table passes.

* Without one, a list flagged enabled is refused. A list flagged disabled that varies a duration
  is accepted only if, in every sweep where applying it would move the test step's onset, the
  current jumps at the table's onset (the largest sample-to-sample jump within 2 samples is >= 10
  times the sweep's median jump, and >= 5 times the jump where the list would put the onset);
  the step must change the command by >= 10 mV there. Other lists cannot be checked that way and
  are refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.formats.abf_userlist import describe_parameter, named_user_lists, waveform_sources
from fitting.recordings.model import Epoch, EpochTables as Tables
from fitting.recordings.units import quantity_of

__all__ = ["apply_list", "check_transients", "compare", "protocol_checks", "verify", "waveform"]

TOLERANCE = 3e-3      # [V] flatness and level agreement of the recorded command
EDGE_STEP = 10e-3     # [V] command change at a step edge whose transient is checked
TRANSIENT_RATIO = 10  # transient jump / median sample-to-sample jump


def protocol_checks(path: str, abf: Any, channel: int, command_channel: int | None, *,
                    dac: int | None = None, membrane: int | None = None) -> tuple[list[dict], int, int | None]:
    """(named user lists, epoch slots, channel that records the command or None); refuses a
    command drawn from a stimulus file. ``dac``: the command's DAC (default ``channel``);
    ``membrane``: an ADC recording V_m, never taken for a recorded command."""
    dac = channel if dac is None else dac
    try:
        with open(getattr(abf, "abfFilePath", path), "rb") as handle:
            sources = waveform_sources(handle)
        lists, slots = named_user_lists(getattr(abf, "abfFilePath", path))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the protocol flags of the header: {exc}",
                         path=path) from None
    if dac < len(sources) and sources[dac] == (True, 2):
        raise InputError(f"the command of channel {channel} (DAC {dac}) came from a stimulus file, not the "
                         "epoch table: a step I-V cannot be read from its epochs", path=path)
    if command_channel is not None or not lists:
        return lists, slots, command_channel
    voltages = [c for c in range(abf.channelCount) if c not in (channel, membrane) and
                quantity_of(abf.adcUnits[c]) == "voltage"]
    return lists, slots, (voltages[0] if voltages else None)


def _interior(p1, p2):
    margin = max(3, (p2 - p1) // 50)
    return p1 + margin, p2 - margin


def compare(recorded: Sequence[np.ndarray], epochs: Tables) -> tuple[str, int | None, int | None]:
    """("agrees" | "levels" | "timing", sweep, epoch) of the recorded command vs the tables.

    Args:
      recorded: per sweep, the recorded command [V] (arrays of the sweep's length).
      epochs: per sweep, its epoch table (``Epoch`` s, as pyabf's ``sweepEpochs``).
    """
    offsets, off_level = [], []
    for s, (table, r) in enumerate(zip(epochs, recorded)):
        for e in table:
            a, b = _interior(e.start, e.stop)
            if e.type != "Step" or b - a < 3:
                continue
            lo, hi = np.percentile(r[a:b], [1, 99])
            if hi - lo > TOLERANCE:
                return "timing", s, e.index
            offsets.append(np.median(r[a:b]) - e.level)
            off_level.append((s, e.index))
    if not offsets:
        return "agrees", None, None
    offsets = np.asarray(offsets)
    bad = np.flatnonzero(np.abs(offsets - np.median(offsets)) > TOLERANCE)
    if bad.size:
        return ("levels",) + off_level[bad[0]]
    return "agrees", None, None


def waveform(table: tuple[Epoch, ...], n: int) -> np.ndarray:
    """The command [V] of one sweep of ``n`` samples drawn from its epoch table (steps, ramps)."""
    wave = np.full(n, table[0].level, dtype=float)
    for k, e in enumerate(table):
        if e.type == "Ramp" and k > 0:
            wave[e.start:e.stop] = np.linspace(table[k - 1].level, e.level, e.stop - e.start,
                                               endpoint=False)
        else:
            wave[e.start:e.stop] = e.level
    return wave


def apply_list(epochs: Tables, kind: str, position: int, values: Sequence[float], scale: float) -> list[tuple[Epoch, ...]]:
    """Epoch tables with a list's values put into epoch ``position`` of each sweep.

    ``kind`` "duration" (values in samples: later epochs move, the last one ends at the sweep's
    end) or "level" (values times ``scale`` [V]). Sweep s takes values[s], the last value past
    the end of the list.
    """
    rebuilt = []
    for s, table in enumerate(epochs):
        table = list(table)
        value = values[min(s, len(values) - 1)]
        if kind == "level":
            table[position] = dataclasses.replace(table[position], level=value * scale)
        else:
            at = table[position]
            shift = int(round(value)) - (at.stop - at.start)
            end = table[-1].stop
            for k in range(position, len(table)):
                e = table[k]
                table[k] = dataclasses.replace(
                    e, start=min(e.start + (shift if k > position else 0), end),
                    stop=end if k == len(table) - 1 else min(e.stop + shift, end))
        rebuilt.append(tuple(table))
    return rebuilt


def _position(abf, channel, epoch):
    """Index in pyabf's ``sweepEpochs`` of Clampex epoch ``epoch`` (A = 0) of DAC ``channel``."""
    section = getattr(abf, "_epochPerDacSection", None)
    if section is None:  # ABF1: all ten slots are listed after the leading holding segment
        return epoch + 1
    numbers = [num for dac, num in zip(section.nDACNum, section.nEpochNum) if dac == channel]
    return numbers.index(epoch) + 1 if epoch in numbers else None


def _list_values(abf, entry):
    if entry["values"] is not None:
        return entry["values"]
    values = getattr(abf, "userList", None)  # ABF2: pyabf reads the first list's text
    if entry["list"] == 0 and isinstance(values, (list, tuple)) and values:
        return [float(x) for x in values]
    return None


def _describe(lists, slots):
    parts = []
    for entry in lists:
        decoded = describe_parameter(entry["parameter"], slots)
        what = (f"the {decoded[0]} of epoch {chr(65 + decoded[1])}" if decoded else
                f"parameter code {entry['parameter']}")
        flag = "enabled" if entry["enabled"] else "flagged disabled"
        parts.append(f"{what} ({flag})")
    return "a Clampex user list varying " + " and ".join(parts)


def verify(path: str, abf: Any, channel: int, lists: list[dict], slots: int, epochs: Tables,
           recorded: Sequence[np.ndarray] | None, probe: int | None, scale: float, given: bool) -> tuple[list[tuple[Epoch, ...]], str | None]:
    """Check the epoch tables against the recording; return (epochs, note).

    Args:
      lists, slots: the named user lists and the epoch-slot count (``named_user_lists``).
      epochs: per-sweep tables from pyabf; recorded: per-sweep recorded command [V] of channel
        ``probe`` or None; scale: [V] per command unit; given: whether the caller named the
        channel (``command_channel``), so that its levels may replace the table's.

    Returns:
      the tables to use (the list applied when that is what the recording shows) and a note for
      the metadata, or None when there was nothing to check.

    Raises:
      InputError: when the table cannot be trusted and the recording does not show the truth.
    """
    what = _describe(lists, slots) if lists else "the epoch table"
    if recorded is None:
        if any(entry["enabled"] for entry in lists):
            raise InputError(f"{what}, which pyabf ignores: its epoch table and sweepC may not "
                             "show the command that was applied. Pass command_channel= "
                             "(--command-channel; the ADC channel that records the command "
                             "potential)", path=path)
        return epochs, ("transients" if lists else None)
    verdict, sweep, k = compare(recorded, epochs)
    note = f"recorded command (channel {probe}) matches the epoch table"
    if verdict == "timing" and lists:
        for entry in lists:
            decoded = describe_parameter(entry["parameter"], slots)
            values = _list_values(abf, entry)
            position = _position(abf, channel, decoded[1]) if decoded else None
            if values and position is not None and position < len(epochs[0]):
                rebuilt = apply_list(epochs, decoded[0], position, values, scale)
                result = compare(recorded, rebuilt)
                if result[0] != "timing":
                    epochs, (verdict, sweep, k) = rebuilt, result
                    note = (f"recorded command (channel {probe}) matches the epoch table with "
                            f"{_describe([entry], slots)} applied")
                    break
    if verdict == "timing":
        raise InputError(f"the command recorded on channel {probe} departs from {what}: it is "
                         f"not constant within epoch {k} of sweep {sweep}, so the epochs do not "
                         "sit where the table puts them and the test step cannot be located"
                         + ("; a recorded membrane potential is never flat: name it with "
                            f"voltage_channel={probe} (--voltage-channel {probe})" if given
                            else ""), path=path)
    if verdict == "levels":
        if not given:
            raise InputError(f"the command recorded on channel {probe} departs from the levels "
                             f"of {what} (epoch {k} of sweep {sweep}): pass command_channel="
                             f"{probe} (--command-channel {probe}) to read the step voltage "
                             "from it", path=path)
        note = f"recorded command (channel {probe}) departs from the table's levels; used"
    return epochs, note


def _ratio(jumps, edge, typical):
    """Largest sample-to-sample jump within 2 samples of ``edge``, over the sweep's median jump
    ``typical``."""
    if not 2 <= edge < len(jumps) - 3:
        return 0.0
    return float(jumps[edge - 2:edge + 3].max() / max(typical, np.finfo(float).tiny))


def check_transients(path: str, abf: Any, channel: int, current: Sequence[np.ndarray],
                     epochs: Tables, k: int, lists: list[dict], slots: int) -> str:
    """Refuse unless the current's jumps put the test step where the table does, not where the
    list would (module docstring); returns the note for the metadata."""
    head = f"{_describe(lists, slots)}; no channel records the command"
    hypotheses = []
    for entry in lists:
        decoded = describe_parameter(entry["parameter"], slots)
        values = _list_values(abf, entry)
        position = _position(abf, channel, decoded[1]) if decoded else None
        if decoded is None or decoded[0] != "duration" or not values or position is None:
            raise InputError(f"{head}, so whether it was applied cannot be checked. Pass "
                             "command_channel=", path=path)
        hypotheses.append(apply_list(epochs, "duration", position, values, 1.0))
    judged = 0
    for s, table in enumerate(epochs):
        jumps = np.abs(np.diff(current[s]))
        onset = table[k].start
        onsets = {other[s][k].start for other in hypotheses} - {onset}
        if not onsets:
            continue  # the list would not move the step in this sweep
        if abs(table[k].level - table[k - 1].level) < EDGE_STEP:
            raise InputError(f"{head} and the test step of sweep {s} changes the command too "
                             "little to locate it by its transient. Pass command_channel=",
                             path=path)
        typical = np.median(jumps)
        ratio = _ratio(jumps, onset, typical)
        if not (ratio >= TRANSIENT_RATIO and
                all(ratio >= TRANSIENT_RATIO * _ratio(jumps, o, typical) / 2 for o in onsets)):
            raise InputError(f"{head} and the current does not show the test step's onset where "
                             f"the epoch table puts it (sample {onset} of sweep {s}) rather "
                             "than where the list would: the list may have been applied. Pass "
                             "command_channel=", path=path)
        judged += 1
    return (f"{_describe(lists, slots)} not applied: the current jumps at the table's test-step "
            f"onset, not at the list's, in the {judged} sweep(s) the list would change")
