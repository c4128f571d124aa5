"""An ABF2 header's section map checked against the file before pyabf parses it.

An ABF2 file begins with a map of its sections (protocol, ADC, DAC, epochs, strings, data, ...):
for each, the 512-byte block where it starts, the bytes of one entry and the entry count, from
byte 76, 16 bytes per section (uint32, uint32, int64, little-endian). pyabf allocates what the
map says before it reads: a damaged map (a count of 7.7e8 DAC entries) made it ask for tens of
gigabytes and the process was killed for memory. A section that runs past the end of the file
is refused here, in one line naming it. ABF1 headers have no such map.
"""

from __future__ import annotations

import os
import struct

from fitting.recordings.errors import InputError

__all__ = ["SECTIONS", "check_section_map"]

SECTIONS = ("protocol", "ADC", "DAC", "epoch", "ADC-per-DAC", "epoch-per-DAC", "user list",
            "stats region", "math", "strings", "data", "tag", "scope", "delta", "voice tag",
            "synch array", "annotation", "stats")


def check_section_map(path: str | os.PathLike) -> None:
    """Refuse an ABF2 file whose section map puts a section past the end of the file.

    Raises:
      InputError: one line naming the section, where the map ends it and the file's size.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        head = handle.read(76 + 16 * len(SECTIONS))
    if head[:4] != b"ABF2" or len(head) < 76 + 16 * len(SECTIONS):
        return  # ABF1, or too short: pyabf's own error names it
    for k, name in enumerate(SECTIONS):
        block, width, count = struct.unpack_from("<IIq", head, 76 + 16 * k)
        end = block * 512 + width * count
        if count < 0 or (count and end > size):
            raise InputError(f"the header's map puts the {name} section ({count} entries of "
                             f"{width} bytes from byte {block * 512}) past the end of the file "
                             f"({size} bytes): a damaged header or a file cut short", path=path)
