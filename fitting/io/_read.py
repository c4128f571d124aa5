"""Reading recordings by file type: one entry point for a file, one for several.

``read`` picks the reader by the extension (``.abf``: a step I-V extracted by ``iv_from_abf``;
anything else: an I-V table read by ``read_csv``) and applies the corrections in the physical
order (series resistance, liquid junction potential, leak). ``read_files`` reads several files
into one IVData of shape (R, n_max), padded with NaN, whose labels name file and recording.
"""

import os

from fitting.io._abf import iv_from_abf
from fitting.io._corrections import DEFAULT_TEMPERATURE, correct
from fitting.io._csv import read_csv
from fitting.io._data import stack
from fitting.io._errors import InputError

ABF_OPTIONS = ("channel", "window", "statistic", "epoch", "command_channel", "current_unit")


def read(path, *, leak=None, ljp=None, series_resistance=None, compensation=0.0,
         temperature=DEFAULT_TEMPERATURE, **abf_options):
    """One recording file as IVData [V, A], corrected.

    Args:
      path: an ``.abf`` file (one I-V point per sweep, see ``iv_from_abf``) or a CSV table.
      leak, ljp, series_resistance, compensation, temperature: the corrections, as in
        ``fitting.io.correct`` (``leak="ramp"`` only for ABF files).
      **abf_options: ``channel``, ``window``, ``statistic``, ``epoch``, ``command_channel``,
        ``current_unit`` of ``iv_from_abf``; they name nothing in a table and are ignored there.

    Returns:
      IVData.

    Raises:
      InputError: unreadable file, bad option or implausible correction.
    """
    unknown = set(abf_options) - set(ABF_OPTIONS)
    if unknown:
        raise TypeError(f"read() got unknown options {sorted(unknown)}")
    corrections = dict(leak=leak, ljp=ljp, series_resistance=series_resistance,
                       compensation=compensation, temperature=temperature)
    if os.fspath(path).lower().endswith(".abf"):
        return iv_from_abf(path, **abf_options, **corrections)
    if isinstance(leak, str) and leak == "ramp":
        raise InputError("leak 'ramp' needs an ABF file (the ramp is in the raw sweeps); for a "
                         "table use a voltage range", path=path)
    return correct(read_csv(path), **corrections)


def _file_labels(path, iv):
    """'file.abf:label' for each recording of ``iv`` ('file.csv' alone for one unnamed one)."""
    base = os.path.basename(os.fspath(path))
    stem = os.path.splitext(base)[0]
    names = list(iv.labels)
    if len(names) == 1 and names[0] in (stem, "0"):
        names = [""]
    return [f"{base}:{name}" if name else base for name in names]


def read_files(paths, *, progress=None, **options):
    """Several recording files as one IVData of shape (R, n_max), padded with NaN.

    Args:
      paths: the files, read in order with ``read(path, **options)``.
      progress: optional callable ``progress(done, total)`` after each file.

    Returns:
      IVData whose labels are ``file:recording`` (the file name alone for a file of one
      unnamed recording) and whose ``metadata["sources"]`` holds each file's metadata.
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(f"read_files takes a list of files; got the single path {paths!r} "
                        "(use read for one file)")
    paths = list(paths)
    items, labels = [], []
    for k, path in enumerate(paths):
        iv = read(path, **options)
        items.append(iv)
        labels += _file_labels(path, iv)
        if progress is not None:
            progress(k + 1, len(paths))
    return stack(items, labels=labels)
