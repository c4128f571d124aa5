"""Reading recordings: one entry point for a file (``read``, also ``fitting.read``), one for
several (``read_files``).

``read`` asks the format registry (``fitting.recordings.formats.registry``) for the file's
format: a format of sweeps (ABF, NWB, WinWCP, or any registered one) gives a step I-V, one point
per sweep (the format's own ``iv``, e.g. ``iv_from_abf``, or
``fitting.recordings.stepiv.recording_iv`` of its ``Recording``); a table format is read as it
stands. The corrections are applied in the physical order (series resistance, liquid junction
potential, leak). ``read_files`` reads several files into one IVData of shape (R, n_max),
padded with NaN, whose labels name file and recording.
"""

import os
from collections.abc import Callable, Iterable
from typing import Any

from fitting.recordings.corrections import DEFAULT_TEMPERATURE, correct
from fitting.recordings.data import IVData, stack
from fitting.recordings.errors import InputError
from fitting.recordings.formats.registry import lookup
from fitting.recordings.model import ReadOptions
from fitting.recordings.stepiv import recording_iv
from fitting.recordings.sweeps import refuse_command_channel

__all__ = ["read", "read_files"]

ABF_OPTIONS = ("channel", "window", "statistic", "epoch", "command_channel", "voltage_channel")


def read(path: str | os.PathLike, *, leak: Any = None, ljp: Any = None,
         series_resistance: float | None = None, compensation: float = 0.0,
         temperature: float = DEFAULT_TEMPERATURE, voltage_unit: str | None = None,
         current_unit: str | None = None, **abf_options: Any) -> IVData:
    """One recording file as IVData [V, A], corrected.

    Args:
      path: a recording (ABF, NWB, WinWCP or another registered format of sweeps: one I-V
        point per sweep, see ``iv_from_abf``) or a CSV table.
      leak, ljp, series_resistance, compensation, temperature: the corrections, as in
        ``fitting.io.correct`` (``leak="ramp"`` only for recordings of sweeps).
      voltage_unit, current_unit: override the units the file states (see ``read_csv`` and
        ``iv_from_abf``), e.g. "mV" for a column headed ``voltage_V`` that holds mV numbers.
      **abf_options: ``channel``, ``window``, ``statistic``, ``epoch``, ``command_channel``,
        ``voltage_channel`` of ``iv_from_abf`` (None: the reader's default); they name nothing
        in a table and are ignored there. For NWB and neo files ``channel`` is the recording
        (``recording=`` of ``iv_from_nwb``: default all); ``command_channel`` and
        ``voltage_channel`` are refused.

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
    fmt = lookup(path)
    module = fmt.load()
    if fmt.kind == "table":
        if isinstance(leak, str) and leak == "ramp":
            raise InputError("leak 'ramp' needs a recording with its sweeps (ABF, NWB); for a "
                             "table use a voltage range", path=path)
        options = ReadOptions(voltage_unit=voltage_unit, current_unit=current_unit)  # checked
        return correct(module.read(path, options), **corrections)
    refuse_command_channel(fmt, os.fspath(path), abf_options.get("command_channel"),
                           abf_options.get("voltage_channel"))
    ReadOptions(command_channel=abf_options.get("command_channel"),
                voltage_channel=abf_options.get("voltage_channel"), current_unit=current_unit,
                voltage_unit=voltage_unit)  # refuses both channels, empty units
    if not fmt.command_channel:
        abf_options.pop("command_channel", None)
        abf_options.pop("voltage_channel", None)
    units = dict(voltage_unit=voltage_unit, current_unit=current_unit)
    if hasattr(module, "iv"):  # the format's own step I-V
        return module.iv(path, **abf_options, **units, **corrections)
    reading = {k: abf_options.pop(k) for k in ("channel", "command_channel", "voltage_channel")
               if k in abf_options}
    return recording_iv(module.read(path, ReadOptions(**reading, **units)), **abf_options,
                        **corrections)


def _file_labels(path, iv):
    """'file.abf:label' for each recording of ``iv`` ('file.csv' alone for one unnamed one)."""
    base = os.path.basename(os.fspath(path))
    stem = os.path.splitext(base)[0]
    names = list(iv.labels)
    if len(names) == 1 and names[0] in (stem, "0"):
        names = [""]
    return [f"{base}:{name}" if name else base for name in names]


def _read_or_error(job: tuple) -> tuple[IVData | None, Exception | None]:
    """(IVData, None) of ``read(path, **options)``, or (None, the exception) when it cannot be
    read; a worker's task in ``read_files``."""
    path, options = job
    try:
        return read(path, **options), None
    except (InputError, OSError, ValueError) as exc:
        return None, exc


def read_files(paths: Iterable[str | os.PathLike], *,
               progress: Callable[[int, int], None] | None = None, skip_bad: bool = False,
               workers: int | None = None, **options: Any) -> IVData:
    """Several recording files as one IVData of shape (R, n_max), padded with NaN.

    Args:
      paths: the files, each read with ``read(path, **options)``; in a pool of processes when
        there are many (``fitting.recordings.parallel``), the result in the files' order and
        equal to reading them one by one.
      progress: optional callable ``progress(done, total)`` after each file.
      skip_bad: False: the first unreadable file raises. True: unreadable files are left out
        and listed in ``metadata["skipped"]`` as {"path", "error"} (an error still when no file
        can be read).
      workers: reading processes (None: the cores this process may use, or the environment's
        ``IONJAX_READ_WORKERS``; 1: read here).

    Returns:
      IVData whose labels are ``file:recording`` (the file name alone for a file of one
      unnamed recording) and whose ``metadata["sources"]`` holds each file's metadata.
    """
    from fitting.recordings.parallel import map_ordered

    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(f"read_files takes a list of files; got the single path {paths!r} "
                        "(use read for one file)")
    paths = list(paths)
    items, labels, skipped = [], [], []
    jobs = [(path, options) for path in paths]
    for path, (iv, error) in zip(paths, map_ordered(_read_or_error, jobs, workers=workers,
                                                    progress=progress)):
        if error is not None:
            if not skip_bad:
                raise error
            skipped.append({"path": os.fspath(path), "error": str(error)})
        else:
            items.append(iv)
            labels += _file_labels(path, iv)
    if not items:
        raise InputError("no file could be read: " + "; ".join(s["error"] for s in skipped))
    data = stack(items, labels=labels)
    return data.replace(metadata=dict(data.metadata, skipped=skipped)) if skipped else data
