"""``ionjax analyze FILE... --protocol NAME``: protocol analyses of voltage-clamp recordings.

The command parses, calls the protocol's API (``fitting.protocols.<name>``: ``extract`` ->
``analyse``, whose ``Analysis.text`` it prints) and writes: the tidy table
(``fitting.outputs.table``: one row per file x sweep (or route) x quantity, with columns
``file``, ``item``, ``quantity``, ``unit`` (SI), ``value``, ``stderr``, ``lower``/``upper``
(95% profile-likelihood interval where one is computed), ``status`` (a ``fitting.Status``
name) and ``notes`` (what concerns the row: its sweep's refusal, its file's warnings;
``with_notes``); CSV, JSON, Parquet or NWB by the extension of ``--out``), the figure (one
panel per file, drawn by the protocol) and the protocol's own files (the ramp's ``--iv-out``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from fitting.cli import interrupt
from fitting.cli.arguments import options_of
from fitting.cli.calculators import UsageError
from fitting.cli.inputs import (EXIT_FILE_REFUSED, EXIT_NO_RESULT, check_output_formats,
                                check_paths, refuse_overwrite, report_notes)
from fitting.cli.main import EXIT_BAD_INPUT
from fitting.cli.progress import progress_bar
from fitting.outputs.table import write_table

__all__ = ["COMMAND", "cmd_analyze", "refused_row", "with_notes"]


def _check_outputs(files: list, out: str | None, iv_out: str | None,
                   plot: str | None) -> None:
    """Refuse outputs that cannot be written: one ``UsageError`` line, before anything is
    read or written (``check_output_formats``: formats, folders)."""
    check_output_formats(out, plot)
    if iv_out is not None:
        if not iv_out.lower().endswith(".csv"):
            raise UsageError(f"{iv_out}: --iv-out writes a .csv table")
        check_output_formats(None, None, iv_out)
    outputs = [x for x in (out, iv_out, plot) if x is not None]
    if len({os.path.realpath(x) for x in outputs}) < len(outputs):
        raise UsageError("--out, --iv-out and --plot must be different files")
    if len(files) > 1 and iv_out is not None:
        raise UsageError("--iv-out takes the curves of one file; analyze one ramp file at a time")
    refuse_overwrite(files, outputs)


def cmd_analyze(args: argparse.Namespace) -> int:
    """``ionjax analyze``: run the protocol on each file (or on all together), print, write."""
    from fitting.engine.status import Status, usable
    from fitting.protocols.registry import get_protocol

    protocol = get_protocol(args.protocol)
    options = options_of(protocol, args)
    iv_out = getattr(args, "iv_out", None)
    _check_outputs(args.files, args.out, iv_out, args.plot)
    analyses, reading, refused = [], [], []  # refused: (file, the one-line reason)
    if protocol.together:
        check_paths(args.files, (args.out, args.plot))
        data = protocol.extract(args.files, options,
                                progress_bar(not args.no_progress, "reading", "file"))
        from fitting.protocols.steady_iv import notes

        reading = notes(data, options.channel is not None)
        report_notes(reading)
        refused += [(s["path"], s["error"] or f"{s['path']}: could not be read") for s in
                    getattr(data, "metadata", {}).get("skipped", [])]  # read_files left out
        for _, why in refused:
            print(f"ionjax: error: {why}", file=sys.stderr)
        analyses.append(protocol.analyse(data, options))
        print(analyses[-1].text)
    else:
        for path in args.files:
            try:
                analyses.append(protocol.run(path, options))
            except Exception as exc:  # one file's failure; the others go on
                if len(args.files) == 1 or args.debug:
                    raise
                refused.append((path, _reason(exc, args)))
                print(f"ionjax: error: {refused[-1][1]}", file=sys.stderr)
                continue
            finally:
                interrupt.check()
            print(analyses[-1].text)
        if not analyses:  # every file refused, each named above
            return EXIT_BAD_INPUT
    rows = with_notes([row for analysis in analyses for row in protocol.rows(analysis)],
                      analyses, reading) + [refused_row(p, why) for p, why in refused]
    if args.out is not None:
        write_table(args.out, rows, files=args.files)
        print(f"results written to {args.out}")
    if args.plot is not None:
        from fitting.cli.plot import protocol_figure

        protocol_figure(protocol.draw, [p for a in analyses for p in a.panels], args.plot)
        print(f"figure written to {args.plot}")
    if protocol.write_extra is not None:
        for line in protocol.write_extra(analyses, options):
            print(line)
    if refused:
        print(f"ionjax: error: {len(refused)} of {len(args.files)} files refused (named above); "
              "the others' results are written", file=sys.stderr)
        return EXIT_FILE_REFUSED
    if not any(row["status"] and usable(Status[row["status"]]) for row in rows):
        print("ionjax: error: no usable result (see the status column)", file=sys.stderr)
        return EXIT_NO_RESULT
    return 0


def _reason(exc: Exception, args: argparse.Namespace) -> str:
    """The one line (``fitting.cli.main.one_line``, in the command's options) of a file's
    failure, never empty: the exception's type where it says nothing."""
    from fitting.cli.main import one_line

    parser_options = {"--" + name.replace("_", "-") for name in vars(args)}
    return one_line(exc, parser_options).strip() or f"{type(exc).__name__} (no message)"


def refused_row(path, reason: str) -> dict:
    """The table row of a file that could not be analysed: no value, no status, ``quantity``
    "refused" and the reason (one line, never empty) in ``notes``."""
    if not reason.strip():
        raise ValueError(f"{path}: a refusal needs its reason")
    nan = float("nan")
    return {"file": str(path), "item": "file", "quantity": "refused", "unit": "", "value": nan,
            "stderr": nan, "lower": nan, "upper": nan, "status": "", "notes": reason}


_SAID = ("refused (", "not available (", "warning: ")  # report lines that are notes
_SWEEP = re.compile(r"\bsweep (\d+)\b")


def with_notes(rows: list, analyses: list, reading: list) -> list:
    """Each row with ``notes``: what concerns that row, one string, "; "-separated ("" for
    none), each note said once:

    * the report's refusals and warnings (its lines holding "refused (", "not available (" or
      "warning: "): a line naming "sweep N" goes to the rows of item N of the file(s) it names,
      a line naming no sweep to every row of its file(s) (a line naming no file: every file's);
    * the notes of the file's reading (``reading``: (file, note) pairs; "" for the whole
      reading), on every row of the file;
    * a row without a value (e.g. ``STALLED``) that no line of its sweep explains: its status's
      message.
    """
    from fitting.engine.status import Status, usable

    whole, per_sweep, known = {}, {}, []
    for analysis in analyses:
        sources = analysis.source if isinstance(analysis.source, (list, tuple)) else [
            analysis.source]
        lines = [line.strip() for line in analysis.text.splitlines()
                 if any(key in line for key in _SAID)]
        names = [str(source) for source in sources]
        known += names
        for line in lines:  # a line naming files is theirs; one naming none, every file's
            named = [n for n in names if n in line or os.path.basename(n) in line]
            sweeps = _SWEEP.findall(line)
            for name in named or names:
                for sweep in sweeps:
                    per_sweep.setdefault((name, sweep), []).append(line)
                if not sweeps:
                    whole.setdefault(name, []).append(line)
    for source, note in reading:
        for key in (dict.fromkeys(known) if source == "" else [str(source)]):
            whole.setdefault(key, []).append(note)
    out = []
    for row in rows:
        own = per_sweep.get((row["file"], str(row["item"])), [])
        lines = whole.get(row["file"], []) + own
        if row["status"] and not usable(Status[row["status"]]) and not own:
            lines = lines + [Status[row["status"]].message]
        out.append({**row, "notes": "; ".join(dict.fromkeys(lines))})
    return out


COMMAND = {"analyze": cmd_analyze}
