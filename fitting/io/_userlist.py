"""Clampex "user list" protocols, read from the ABF header itself.

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
"""

import struct

_BLOCK = 512


def user_lists(handle):
    """The user lists declared in an ABF header.

    Args:
      handle: a binary file object positioned anywhere (it is seeked).

    Returns:
      list of dicts {"list": index, "enabled": bool, "parameter": int code of the varied
      parameter} (empty for files without a user-list group).

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
        return [{"list": k, "enabled": bool(e), "parameter": p}
                for k, (e, p) in enumerate(zip(enable, param))]
    if magic == b"ABF2":
        block, size, count = struct.unpack("<IIq", _read(handle, 172, 16))
        lists = []
        for k in range(count if size >= 8 else 0):
            entry = _read(handle, block * _BLOCK + k * size, 8)
            num, enable, param, _ = struct.unpack("<4h", entry)
            lists.append({"list": num, "enabled": bool(enable), "parameter": param})
        return lists
    raise ValueError(f"not an ABF header (starts with {magic!r})")


def _read(handle, offset, size):
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise ValueError(f"ABF header truncated at byte {offset}")
    return data


def enabled_user_lists(path):
    """The enabled user lists of the ABF file at ``path`` (see ``user_lists``)."""
    with open(path, "rb") as handle:
        return [entry for entry in user_lists(handle) if entry["enabled"]]
