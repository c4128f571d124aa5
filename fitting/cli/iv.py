"""``ionjax iv FILE... --out iv.csv``: extract step I-V curves from recordings (ABF, NWB,
WinWCP) into one CSV table, with the provenance of each curve."""

from __future__ import annotations

import argparse

from fitting.cli import interrupt
from fitting.cli.calculators import UsageError
from fitting.cli.inputs import (
    check_output_formats,
    provenance,
    read_recordings,
    recording_options,
    report_skipped,
)
from fitting.outputs.iv_table import write_csv
from fitting.recordings.data import IVData

__all__ = ["COMMAND", "cmd_iv"]


def cmd_iv(args: argparse.Namespace) -> int:
    """``ionjax iv``: read, correct and write the step I-V of every file."""
    if args.out is None:
        raise UsageError("ionjax iv needs --out FILE.csv")
    if not str(args.out).lower().endswith(".csv"):
        raise UsageError(f"{args.out}: ionjax iv writes a .csv table")
    check_output_formats(None, None, args.out)
    data = read_recordings(args.files, recording_options(args), outputs=(args.out, None),
                           progress=not args.no_progress)
    interrupt.check()
    import numpy as np

    big = bool(np.nanmax(np.abs(data.i), initial=0.0) > 1e-6)  # two-electrode: nA reads back
    # a point left out of every recording (its current NaN: e.g. a sweep whose clamp did not
    # hold, said in a note) is no row of the table; one of some recordings stays an empty cell
    v, i = np.asarray(data.v), np.asarray(data.i)
    kept = np.any(np.isfinite(np.atleast_2d(i)), axis=0)
    v, i = (v[..., kept] if v.shape[-1] == kept.size else v), i[..., kept]
    write_csv(args.out, IVData(v=v, i=i, labels=data.labels,
                               metadata=dict(provenance(args, data), files=args.files)),
              units="mV/nA" if big else "mV/pA")
    print(f"{len(data.labels)} I-V curve(s) written to {args.out}")
    return report_skipped(data)


COMMAND = {"iv": cmd_iv}
