"""The files of a command: inputs (folders expanded into their recordings, each file once,
read with the recording options), outputs checked before any work, the provenance written
with them and the report of files that could not be read."""

from __future__ import annotations

import argparse
import os
import sys

from fitting.cli.calculators import UsageError
from fitting.cli.progress import progress_bar
from fitting.outputs.results import RESULT_FORMATS
from fitting.recordings.formats.registry import written_by_ionjax

__all__ = ["EXIT_FILE_REFUSED", "EXIT_NO_RESULT", "check_output_formats", "check_paths", "expand_folders",
           "provenance", "read_recordings", "recording_options", "refuse_overwrite",
           "report_notes", "report_skipped"]

EXIT_NO_RESULT = 3  # every recording was refused: the results file holds no number
EXIT_FILE_REFUSED = 4  # a file could not be analysed (named on stderr and in --out as refused);
# the other files' results are written


def _same_file(a, b) -> bool:
    """Whether two paths name one file (through links too)."""
    if os.path.realpath(str(a)) == os.path.realpath(str(b)):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def refuse_overwrite(inputs: list, outputs) -> None:
    """Refuse, before any work, an output that is one of the ``inputs`` (files as read, folders
    expanded): one ``UsageError`` line naming the file. The one check of fit, iv and analyze."""
    for out in outputs:
        if out is not None and any(_same_file(out, path) for path in inputs):
            raise UsageError(f"{out}: output path is also an input; refusing to overwrite it")


def expand_folders(paths: list, outputs=()) -> list:
    """The input paths with each folder replaced by its files (sorted, not hidden, not
    recursive, not ionjax's results and figures), each file once (a note names a repeated
    one); an ``outputs`` path that is one of them is refused (``refuse_overwrite``)."""
    out, seen = [], set()
    for path in paths:
        files = [path]
        if os.path.isdir(path):
            files = [os.path.join(path, f) for f in sorted(os.listdir(path))
                     if not f.startswith(".") and os.path.isfile(os.path.join(path, f))
                     and not written_by_ionjax(os.path.join(path, f))]
            if not files:
                raise UsageError(f"{path}: the folder holds no recordings or tables")
        for file in files:
            real = os.path.realpath(str(file))
            if real in seen:
                print(f"ionjax: note: {file} is given twice; read once", file=sys.stderr)
                continue
            seen.add(real)
            out.append(file)
    refuse_overwrite(out, outputs)
    return out


def check_paths(inputs: list, outputs) -> None:
    """Refuse an output that is also an input, and inputs that do not exist."""
    refuse_overwrite(inputs, outputs)
    for path in inputs:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file")


def recording_options(args: argparse.Namespace):
    """The ``RecordingOptions`` of the parsed arguments."""
    from fitting.protocols.base import RECORDING_FIELDS, RecordingOptions

    return RecordingOptions(**{name: getattr(args, name, None) for name in RECORDING_FIELDS
                               if name != "compensation"}, compensation=args.compensation)


def read_recordings(files: list, options, *, outputs=(), progress: bool = True):
    """The files as one IVData (R, n_max) with the requested corrections
    (``fitting.protocols.steady_iv.read_steps``); notes of the reading on stderr."""
    from fitting.protocols.steady_iv import notes, read_steps

    check_paths(files, outputs)
    data = read_steps(files, options, progress_bar(progress, "reading", "file"))
    report_notes(notes(data, options.channel is not None))
    return data


def report_notes(pairs: list) -> None:
    """Each distinct note of a reading once on stderr, with the number of files it concerns:
    ``ionjax: note: a.abf: ...`` for one file, ``ionjax: note (600 files, a.abf ... z.abf):
    ...`` for several (the results table keeps each file's notes).

    Args:
      pairs: (file, note) pairs (``fitting.protocols.steady_iv.notes``).
    """
    files = {}
    for source, text in pairs:
        files.setdefault(text, []).append(source)
    for text, sources in files.items():
        if sources == [""]:  # a note of the whole reading
            print(f"ionjax: note: {text}", file=sys.stderr)
        elif len(sources) == 1:
            print(f"ionjax: note: {sources[0]}: {text}", file=sys.stderr)
        else:
            span = ", ".join(sources) if len(sources) == 2 else f"{sources[0]} ... {sources[-1]}"
            print(f"ionjax: note ({len(sources)} files, {span}): {text}", file=sys.stderr)


def check_output_formats(out: str | None, plot: str | None, *others: str | None) -> None:
    """Refuse output names whose format is not written, and outputs that are folders or lie
    in no writable folder, before any work or any file (``others``: more output files)."""
    if out is not None and os.path.splitext(str(out))[1].lower() not in RESULT_FORMATS:
        raise UsageError(f"{out}: results must be {', '.join(RESULT_FORMATS)}")
    for path in (out, plot, *others):
        if path is None:
            continue
        folder = os.path.dirname(os.path.abspath(str(path)))
        if os.path.isdir(str(path)):
            raise UsageError(f"{path}: is a folder, not an output file")
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise UsageError(f"{path}: cannot write there (no such folder, or not writable)")
    if plot is not None:
        from fitting.cli.plot import (
            supported_formats,  # matplotlib: only when a plot is asked
        )

        ext = os.path.splitext(str(plot))[1].lower().lstrip(".")
        if ext not in supported_formats():
            raise UsageError(f"{plot}: figure format {ext or '(none)'!r} is not one of "
                             f"{', '.join(sorted(supported_formats()))}")


def report_skipped(data) -> int:
    """Name each file that could not be read on stderr; the exit status for the run."""
    skipped = data.metadata.get("skipped", [])
    for item in skipped:
        print(f"ionjax: error: {item['error']}", file=sys.stderr)
    if skipped:
        print(f"ionjax: error: {len(skipped)} file(s) not read; results above are for the "
              f"others", file=sys.stderr)
    return 2 if skipped else 0


def provenance(args: argparse.Namespace, data) -> dict:
    """What produced an output: version, command, settings, and each source's corrections."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("ionjax")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        release = "unknown"
    settings = {k: v for k, v in vars(args).items()
                if k not in ("run", "debug", "no_progress", "files") and v is not None}
    sources = data.metadata.get("sources", [data.metadata])
    return {"ionjax_version": release, "command": "ionjax " + args.command,
            "settings": settings, "sources": sources,
            "skipped": data.metadata.get("skipped", [])}
