"""``ionjax analyze FILE... --protocol NAME``: protocol analyses of voltage-clamp recordings.

The command parses, calls the protocol's API (``fitting.protocols.<name>``: ``extract`` ->
``analyse``, whose ``Analysis.text`` it prints) and writes: the tidy table
(``fitting.outputs.table``: one row per file x sweep (or route) x quantity, with columns
``file``, ``item``, ``quantity``, ``unit`` (SI), ``value``, ``stderr``, ``lower``/``upper``
(95% profile-likelihood interval where one is computed) and ``status`` (a ``fitting.Status``
name); CSV, JSON, Parquet or NWB by the extension of ``--out``), the figure (one panel per
file, drawn by the protocol) and the protocol's own files (the ramp's ``--iv-out``).
"""

from __future__ import annotations

import argparse
import os
import sys

from fitting.cli import interrupt
from fitting.cli.arguments import options_of
from fitting.cli.calculators import UsageError
from fitting.cli.inputs import (EXIT_NO_RESULT, check_output_formats, check_paths,
                                refuse_overwrite, report_notes)
from fitting.cli.progress import progress_bar
from fitting.outputs.table import write_table

__all__ = ["COMMAND", "cmd_analyze"]


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
    analyses = []
    if protocol.together:
        check_paths(args.files, (args.out, args.plot))
        data = protocol.extract(args.files, options,
                                progress_bar(not args.no_progress, "reading", "file"))
        from fitting.protocols.steady_iv import notes

        report_notes(notes(data, options.channel is not None))
        analyses.append(protocol.analyse(data, options))
        print(analyses[-1].text)
    else:
        for path in args.files:
            analyses.append(protocol.run(path, options))
            print(analyses[-1].text)
            interrupt.check()
    rows = [row for analysis in analyses for row in protocol.rows(analysis)]
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
    if not any(row["status"] and usable(Status[row["status"]]) for row in rows):
        print("ionjax: error: no usable result (see the status column)", file=sys.stderr)
        return EXIT_NO_RESULT
    return 0


COMMAND = {"analyze": cmd_analyze}
