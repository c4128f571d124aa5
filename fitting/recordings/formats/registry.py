"""Which reader a recording file needs: the one place that looks at a file's type.

ABF and NWB (HDF5) files are told by their first bytes, whatever their name; WinWCP by its
extension (read through neo, see ``fitting.recordings.formats.neo``); anything else is an I-V table (CSV).
Binary HEKA PatchMaster (``.dat``), AxoGraph, Igor, CED and Axon text (ATF) files are refused
with a conversion route (a text table named ``.dat`` is read as a table): neo opens some of
them, but no public voltage-clamp sample could be tried here, and a reader never tried would
print numbers no one has checked.
"""

import os

from fitting.recordings.errors import InputError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# extension -> the neo IO class that reads it (each tried on a real file in tests/test_formats)
NEO_FORMATS = {".wcp": "WinWcpIO"}
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
FORMATS = {"abf": "Axon ABF 1 and 2 (pyabf)", "nwb": "NWB icephys (pynwb)",
           ".wcp": "WinWCP (neo's WinWcpIO)", "table": "CSV / TSV I-V tables"}


def _magic(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except OSError:
        return b""


def _text(path):
    """Whether the file's first kilobyte is UTF-8 text without NUL bytes."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not a character cut at the kilobyte's end
            return False
    return b"\x00" not in head


def format_of(path):
    """"abf", "nwb", "neo" or "table" for a recording file.

    Raises:
      InputError: a format that is refused (``REFUSED``), with its conversion route.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    magic = _magic(path)
    if magic[:4] in (b"ABF ", b"ABF2"):  # the content decides, whatever the name
        return "abf"
    if magic == HDF5_MAGIC:
        return "nwb"
    # these formats are binary by definition; a ".dat" may be a text table
    if ext in REFUSED and (ext != ".dat" or magic[:3] == b"DAT" or not _text(path)):
        raise InputError(REFUSED[ext], path=path)
    if ext in (".abf", ".nwb"):  # the reader names what the file is instead
        return ext[1:]
    if ext in NEO_FORMATS:
        return "neo"
    return "table"


NOT_INPUT = (".json", ".parquet", ".png", ".pdf", ".svg", ".md", ".toml")


def written_by_ionjax(path):
    """Whether ``path`` is an output of ionjax, or a file no reader takes, which a folder's
    listing leaves out: results and figures (JSON, Parquet, images), a CSV whose first line is
    ionjax's provenance comment, an NWB file holding ionjax results (a copy of its source)."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in NOT_INPUT:
        return True
    if ext == ".csv":
        with open(path, "rb") as handle:
            return handle.read(14) == b"# provenance: "
    if _magic(path) == HDF5_MAGIC:
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
