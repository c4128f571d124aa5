"""Which reader a recording file needs: the registry of file formats, and the one place that
looks at a file's type.

A format is a module with ``sniff(head: bytes, name: str) -> bool`` (does the file's first
kilobyte, or its name, say it is this format?) and ``read(path, options: ReadOptions)``,
registered with one line naming the module by string (so that listing the formats imports no
pyabf, pynwb or neo)::

    register("abf", "fitting.recordings.formats.abf", kind="sweeps", description="...")

A format of ``kind`` "sweeps" reads a ``Recording`` (``fitting.read`` gives its step I-V: the
module's own ``iv(path, **options)`` where it has one, else
``fitting.recordings.stepiv.recording_iv``); one of ``kind`` "table" reads an I-V table
straight into ``IVData``. The formats are asked in the order registered; a file no format
claims is read as a table (``DEFAULT``), except the binary files of ``REFUSED``: HEKA
PatchMaster (``.dat``), AxoGraph, Igor, CED and Axon text (ATF) files are refused with a
conversion route (a text table named ``.dat`` is read as a table): neo opens some of them, but
no public voltage-clamp sample could be tried here, and a reader never tried would print
numbers no one has checked.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from fitting.recordings.errors import InputError

__all__ = ["DEFAULT", "FORMATS", "Format", "REFUSED", "format_of", "lookup", "register",
           "unregister", "written_by_ionjax"]

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ROUTE = "convert the recording to NWB (neuroconv, or the acquisition software's export) or ABF"
REFUSED = {  # binary files of these extensions: formats no real voltage-clamp sample was tried on
    ".dat": "HEKA PatchMaster .dat files are not read (no public sample could be tested): "
            "export the series to NWB (PatchMaster's File > Export, or the x-to-nwb / "
            "ipfx converters) or to ABF, and read that",
    ".axgd": f"AxoGraph files are not read (no voltage-clamp sample could be tested): {_ROUTE}",
    ".axgx": f"AxoGraph files are not read (no voltage-clamp sample could be tested): {_ROUTE}",
    ".ibw": f"Igor waves are not read (no voltage-clamp sample could be tested): {_ROUTE}",
    ".pxp": f"Igor experiments are not read (no voltage-clamp sample could be tested): {_ROUTE}",
    ".smr": f"CED Spike2 files are not read (no voltage-clamp sample could be tested): {_ROUTE}",
    ".smrx": f"CED Spike2 files are not read (no voltage-clamp sample could be tested): {_ROUTE}",
    ".cfs": f"CED Signal files are not read (no voltage-clamp sample could be tested): {_ROUTE}",
    ".atf": "Axon Text Files are not read (they hold traces without their protocol): read the "
            "ABF recording itself, or export the I-V as a CSV table",
}


@dataclass(frozen=True)
class Format:
    """A registered file format.

    Attributes:
      name: the format's name ("abf"), what ``format_of`` returns.
      module: the dotted name of the module holding ``sniff`` and ``read`` (imported on use).
      kind: "sweeps" (``read`` gives a ``Recording``) or "table" (``read`` gives ``IVData``).
      description: one line for people.
      command_channel: whether ``command_channel=`` names something in this format (an ABF's
        ADC channel recording the command).
    """

    name: str
    module: str
    kind: Literal["sweeps", "table"]
    description: str
    command_channel: bool = False

    def load(self) -> ModuleType:
        """The format's module."""
        return importlib.import_module(self.module)


FORMATS: dict[str, Format] = {}
DEFAULT = "table"  # the format of a file that no format claims


def register(name: str, module: str, *, kind: Literal["sweeps", "table"], description: str,
             command_channel: bool = False) -> Format:
    """Add a format (asked after those registered before it); returns its entry."""
    if kind not in ("sweeps", "table"):
        raise ValueError(f"a format's kind is 'sweeps' or 'table'; got {kind!r}")
    if name in FORMATS:
        raise ValueError(f"format {name!r} is already registered")
    FORMATS[name] = Format(name, module, kind, description, command_channel)
    return FORMATS[name]


def unregister(name: str) -> None:
    """Remove a format added with ``register``."""
    del FORMATS[name]


register("abf", "fitting.recordings.formats.abf", kind="sweeps",
         description="Axon ABF 1 and 2 (pyabf)", command_channel=True)
register("nwb", "fitting.recordings.formats.nwb", kind="sweeps",
         description="NWB icephys (pynwb)")
register("neo", "fitting.recordings.formats.neo", kind="sweeps",
         description="WinWCP (neo's WinWcpIO)")
register("table", "fitting.recordings.formats.table", kind="table",
         description="CSV / TSV I-V tables")


def _head(path, size=1024):
    """The file's first ``size`` bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return None


def lookup(path: str | os.PathLike) -> Format:
    """The format of a recording file: the first registered format whose ``sniff`` claims it,
    else ``DEFAULT`` (a table).

    Raises:
      InputError: a format that is refused (``REFUSED``), with its conversion route.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    head = _head(path)
    known = b"" if head is None else head
    for fmt in FORMATS.values():
        if fmt.name != DEFAULT and fmt.load().sniff(known, path):
            return fmt
    table = FORMATS[DEFAULT]
    # these formats are binary by definition; a ".dat" may be a text table
    if ext in REFUSED and (ext != ".dat" or known[:3] == b"DAT" or head is None
                           or not table.load().sniff(known, path)):
        raise InputError(REFUSED[ext], path=path)
    return table


def format_of(path: str | os.PathLike) -> str:
    """The name of a recording file's format ("abf", "nwb", "neo", "table", ...).

    Raises:
      InputError: a format that is refused (``REFUSED``), with its conversion route.
    """
    return lookup(path).name


NOT_INPUT = (".json", ".parquet", ".png", ".pdf", ".svg", ".md", ".toml")


def written_by_ionjax(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an output of ionjax, or a file no reader takes, which a folder's
    listing leaves out: results and figures (JSON, Parquet, images), a CSV whose first line is
    ionjax's provenance comment or the header of ``ionjax analyze``'s tidy table, an NWB file holding ionjax results (a copy of its source)."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in NOT_INPUT:
        return True
    if ext == ".csv":
        from fitting.recordings.formats.table import PROVENANCE, TIDY_FIELDS

        with open(path, "rb") as handle:
            first = handle.readline().decode("utf-8", "replace").strip()
        # the tidy header, with or without its last column (notes, since issue 23)
        return first.startswith(PROVENANCE.strip()) or first in (
            ",".join(TIDY_FIELDS), ",".join(TIDY_FIELDS[:-1]))
    if _head(path, 8) == HDF5_MAGIC:
        try:
            import h5py
        except ImportError:
            return False
        try:
            with h5py.File(path, "r") as f:
                return "processing/icephys/ionjax_results" in f
        except OSError:
            return False
    return False
