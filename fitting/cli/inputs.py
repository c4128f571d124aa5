"""The input files of a command: folders expanded into their recordings, each file once."""

import os
import sys

from fitting import io
from fitting.cli.calculators import UsageError


def expand_folders(paths, outputs=()):
    """The input paths with each folder replaced by its files (sorted, not hidden, not
    recursive, not this command's ``outputs`` nor ionjax's results and figures), each file once
    (a note names a repeated one)."""
    skip = {os.path.realpath(str(p)) for p in outputs if p is not None}
    out, seen = [], set()
    for path in paths:
        files = [path]
        if os.path.isdir(path):
            files = [os.path.join(path, f) for f in sorted(os.listdir(path))
                     if not f.startswith(".") and os.path.isfile(os.path.join(path, f))
                     and os.path.realpath(os.path.join(path, f)) not in skip
                     and not io.written_by_ionjax(os.path.join(path, f))]
            if not files:
                raise UsageError(f"{path}: the folder holds no recordings or tables")
        for file in files:
            real = os.path.realpath(str(file))
            if real in seen:
                print(f"ionjax: note: {file} is given twice; read once", file=sys.stderr)
                continue
            seen.add(real)
            out.append(file)
    return out
