"""Clampex "user list" protocols and DAC waveform sources, read from the ABF header itself.

A user list replaces one protocol parameter (often an epoch level) by a list of values, one per
sweep. pyabf builds ``sweepC`` and ``sweepEpochs`` from the epoch table alone, so for such a
protocol the command it reports is not the one applied. pyabf 2.3 exposes ``userListEnable`` but
does not read it reliably: for ABF1 it reads int32 words over the int16 fields, mixing
``nULEnable`` with ``nULParamToVary`` (the HCN2 sample, whose list is disabled, shows
[0, 0, 34, 0]); for ABF2 it reports a list as enabled whenever a parameter is named, ignoring the
enable flag. This module reads the flags from the header bytes:

* ABF1 (header "ABF ", version >= 1.6): int16 nULEnable[4] at byte 3360, int16
  nULParamToVary[4] at 3368 (group 12 of the 6144-byte header).
* ABF2 (header "ABF2"): the UserListSection (section map entry at byte 172: uint32 block index,
  uint32 entry size, int64 entry count; blocks of 512 bytes), entries of int16 nListNum,
  nULEnable, nULParamToVary, nULRepeat.

The enable flag is not the truth either: Clampex has applied lists whose flag reads 0 (pyABF's
``user-list-durations.abf`` sample) and ignored others (the HCN2 sample). ``fitting.recordings.formats.abf_command``
therefore checks the epoch table against the recorded command, or the current's transients, when
a list names a parameter. The list's values are kept for that check: ABF1 stores them as text,
char sULParamValueList[4][256] at byte 3376; ABF2 keeps them in its strings section (read by
pyabf as ``abf.userList``, first list only).

Parameter codes (ABFFIO): 11 + n is the first epoch-level code and 11 + 2n the first
epoch-duration code, n the number of epoch slots (10 in ABF1 and in ABF2 files with 4 DACs, 50 in
those with 8). ``describe_parameter`` decodes them.

``waveform_sources`` reads each DAC's nWaveformEnable and nWaveformSource (0 none, 1 epoch table,
2 stimulus file): ABF1 int16[2] at bytes 2296 and 2300; ABF2 DACSection entries (map entry at byte
108) at entry offsets 40 and 42.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

__all__ = ["describe_parameter", "enabled_user_lists", "epoch_slots", "named_user_lists",
           "user_lists", "waveform_sources"]

_BLOCK = 512


def user_lists(handle: BinaryIO) -> list[dict]:
    """The user lists declared in an ABF header.

    Args:
      handle: a binary file object positioned anywhere (it is seeked).

    Returns:
      list of dicts {"list": index, "enabled": bool, "parameter": int code of the varied
      parameter, "values": list of floats (ABF1; None in ABF2, where pyabf reads them)}
      (empty for files without a user-list group).

    Raises:
      ValueError: if the header is not an ABF header or is truncated.
    """
    handle.seek(0)
    magic = handle.read(4)
    if magic == b"ABF ":
        version = struct.unpack("<f", _read(handle, 4, 4))[0]
        if version < 1.6 - 1e-6:
            return []
        enable = struct.unpack("<4h", _read(handle, 3360, 8))
        param = struct.unpack("<4h", _read(handle, 3368, 8))
        return [{"list": k, "enabled": bool(e), "parameter": p,
                 "values": _values(_read(handle, 3376 + 256 * k, 256)) if p > 0 else None}
                for k, (e, p) in enumerate(zip(enable, param))]
    if magic == b"ABF2":
        block, size, count = struct.unpack("<IIq", _read(handle, 172, 16))
        lists = []
        for k in range(count if size >= 8 else 0):
            entry = _read(handle, block * _BLOCK + k * size, 8)
            num, enable, param, _ = struct.unpack("<4h", entry)
            lists.append({"list": num, "enabled": bool(enable), "parameter": param,
                          "values": None})
        return lists
    raise ValueError(f"not an ABF header (starts with {magic!r})")


def _values(raw):
    """The numbers of a comma-separated user-list text (None if any item is not a number)."""
    items = [x.strip() for x in raw.split(b"\x00")[0].decode("latin-1").split(",")]
    try:
        return [float(x) for x in items if x]
    except ValueError:
        return None


def waveform_sources(handle: BinaryIO) -> list[tuple[bool, int]]:
    """Per DAC: (enabled, source) with source 0 none, 1 epoch table, 2 stimulus file.

    Returns [] for ABF1 files older than version 1.6 (no such fields).
    """
    handle.seek(0)
    magic = handle.read(4)
    if magic == b"ABF ":
        if struct.unpack("<f", _read(handle, 4, 4))[0] < 1.6 - 1e-6:
            return []
        enable = struct.unpack("<2h", _read(handle, 2296, 4))
        source = struct.unpack("<2h", _read(handle, 2300, 4))
        return [(bool(e), s) for e, s in zip(enable, source)]
    if magic == b"ABF2":
        block, size, count = struct.unpack("<IIq", _read(handle, 108, 16))
        return [(bool(e), s) for e, s in
                (struct.unpack("<2h", _read(handle, block * _BLOCK + k * size + 40, 4))
                 for k in range(count if size >= 44 else 0))]
    raise ValueError(f"not an ABF header (starts with {magic!r})")


def epoch_slots(handle: BinaryIO) -> int:
    """Number of epoch slots the parameter codes count with: 10, or 50 for 8-DAC ABF2 files."""
    return 50 if len(waveform_sources(handle)) > 4 else 10


def describe_parameter(code: int, slots: int) -> tuple[str, int] | None:
    """("level" | "duration", Clampex epoch index, A = 0) of a user-list code, or None."""
    first = 11 + slots
    if first <= code < first + slots:
        return "level", code - first
    if first + slots <= code < first + 2 * slots:
        return "duration", code - first - slots
    return None


def _read(handle, offset, size):
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise ValueError(f"ABF header truncated at byte {offset}")
    return data


def enabled_user_lists(path: str | os.PathLike) -> list[dict]:
    """The enabled user lists of the ABF file at ``path`` (see ``user_lists``)."""
    with open(path, "rb") as handle:
        return [entry for entry in user_lists(handle) if entry["enabled"]]


def named_user_lists(path: str | os.PathLike) -> tuple[list[dict], int]:
    """The lists of the file at ``path`` that are enabled or name a parameter, and the number
    of epoch slots their codes count with."""
    with open(path, "rb") as handle:
        return ([entry for entry in user_lists(handle)
                 if entry["enabled"] or entry["parameter"] > 0], epoch_slots(handle))
