"""Reading recordings by file type: one entry point for a file, one for several.

``read`` picks the reader by the file's type (``format_of``: an ABF, NWB or neo-readable
recording gives a step I-V, one point per sweep, through ``iv_from_abf``, ``iv_from_nwb`` or
``iv_from_neo``; anything else is an I-V table read by ``read_csv``) and applies the corrections in the physical
order (series resistance, liquid junction potential, leak). ``read_files`` reads several files
into one IVData of shape (R, n_max), padded with NaN, whose labels name file and recording.
"""

import os

from fitting.recordings.formats.abf import iv_from_abf
from fitting.recordings.corrections import DEFAULT_TEMPERATURE, correct
from fitting.recordings.formats.table import read_csv
from fitting.recordings.data import stack
from fitting.recordings.errors import InputError
from fitting.recordings.formats.registry import format_of

ABF_OPTIONS = ("channel", "window", "statistic", "epoch", "command_channel")


def read(path, *, leak=None, ljp=None, series_resistance=None, compensation=0.0,
         temperature=DEFAULT_TEMPERATURE, voltage_unit=None, current_unit=None, **abf_options):
    """One recording file as IVData [V, A], corrected.

    Args:
      path: a recording (ABF, NWB, or a format of ``fitting.io.FORMATS`` read through neo;
        one I-V point per sweep, see ``iv_from_abf``) or a CSV table.
      leak, ljp, series_resistance, compensation, temperature: the corrections, as in
        ``fitting.io.correct`` (``leak="ramp"`` only for recordings of sweeps).
      voltage_unit, current_unit: override the units the file states (see ``read_csv`` and
        ``iv_from_abf``), e.g. "mV" for a column headed ``voltage_V`` that holds mV numbers.
      **abf_options: ``channel``, ``window``, ``statistic``, ``epoch``, ``command_channel`` of
        ``iv_from_abf`` (None: the reader's default); they name nothing in a table and are
        ignored there. For NWB and neo files ``channel`` is the recording (``recording=`` of
        ``iv_from_nwb``: default all), and ``command_channel`` is refused.

    Returns:
      IVData.

    Raises:
      InputError: unreadable file, bad option or implausible correction.
    """
    unknown = set(abf_options) - set(ABF_OPTIONS)
    if unknown:
        raise TypeError(f"read() got unknown options {sorted(unknown)}")
    abf_options = {k: v for k, v in abf_options.items() if v is not None}  # None: the default
    corrections = dict(leak=leak, ljp=ljp, series_resistance=series_resistance,
                       compensation=compensation, temperature=temperature)
    units = dict(voltage_unit=voltage_unit, current_unit=current_unit)
    kind = format_of(path)
    if kind == "abf":
        return iv_from_abf(path, **abf_options, **units, **corrections)
    if kind in ("nwb", "neo"):
        return _read_other(kind, path, abf_options, units, corrections)
    if isinstance(leak, str) and leak == "ramp":
        raise InputError("leak 'ramp' needs a recording with its sweeps (ABF, NWB); for a "
                         "table use a voltage range", path=path)
    return correct(read_csv(path, **units), **corrections)


def _read_other(kind, path, options, units, corrections):
    """NWB or neo: the step I-V with the options that name something there."""
    if options.get("command_channel") is not None:
        raise InputError(f"command_channel names an ABF channel; a {kind.upper()} file's "
                         "command is its stimulus series", path=path)
    options = {k: v for k, v in options.items() if k != "command_channel"}
    if "channel" in options:
        options["recording"] = options.pop("channel")
    if kind == "nwb":
        from fitting.recordings.formats.nwb import iv_from_nwb as reader
    else:
        from fitting.recordings.formats.neo import iv_from_neo as reader
    return reader(path, **options, **units, **corrections)


def _file_labels(path, iv):
    """'file.abf:label' for each recording of ``iv`` ('file.csv' alone for one unnamed one)."""
    base = os.path.basename(os.fspath(path))
    stem = os.path.splitext(base)[0]
    names = list(iv.labels)
    if len(names) == 1 and names[0] in (stem, "0"):
        names = [""]
    return [f"{base}:{name}" if name else base for name in names]


def read_files(paths, *, progress=None, skip_bad=False, **options):
    """Several recording files as one IVData of shape (R, n_max), padded with NaN.

    Args:
      paths: the files, read in order with ``read(path, **options)``.
      progress: optional callable ``progress(done, total)`` after each file.
      skip_bad: False: the first unreadable file raises. True: unreadable files are left out
        and listed in ``metadata["skipped"]`` as {"path", "error"} (an error still when no file
        can be read).

    Returns:
      IVData whose labels are ``file:recording`` (the file name alone for a file of one
      unnamed recording) and whose ``metadata["sources"]`` holds each file's metadata.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(f"read_files takes a list of files; got the single path {paths!r} "
                        "(use read for one file)")
    paths = list(paths)
    items, labels, skipped = [], [], []
    for k, path in enumerate(paths):
        try:
            iv = read(path, **options)
        except (InputError, OSError, ValueError) as exc:
            if not skip_bad:
                raise
            skipped.append({"path": os.fspath(path), "error": str(exc)})
        else:
            items.append(iv)
            labels += _file_labels(path, iv)
        if progress is not None:
            progress(k + 1, len(paths))
    if not items:
        raise InputError("no file could be read: " + "; ".join(s["error"] for s in skipped))
    data = stack(items, labels=labels)
    return data.replace(metadata=dict(data.metadata, skipped=skipped)) if skipped else data
