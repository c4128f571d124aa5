"""The options of ``ionjax analyze``: which a protocol uses (the others are refused, never
ignored), and the output paths, all checked before any work."""

import os

from fitting.cli.calculators import UsageError
from fitting import io

_RECORDING = ("window", "statistic", "leak", "ljp", "pipette", "bath", "series_resistance",
              "compensation", "command_channel", "voltage_unit", "temperature")
_ION = ("ion", "z", "c_in", "c_out")
_NOT_FOR = {  # options a protocol does not use: refused, never ignored
    "membrane-test": _RECORDING + _ION + ("e_rev", "test_epoch", "bin_width", "iv_out",
                                          "components"),
    "ramp": _ION + ("window", "statistic", "pipette", "bath", "series_resistance", "compensation",
             "command_channel", "voltage_unit", "temperature", "e_rev", "test_epoch",
             "components"),
    "inactivation": _ION + ("pipette", "bath", "command_channel", "voltage_unit",
                            "temperature", "e_rev", "bin_width", "iv_out", "components"),
    "isochronal": _ION + ("pipette", "bath", "command_channel", "voltage_unit", "temperature",
                          "e_rev", "bin_width", "iv_out", "components"),
    "activation": ("test_epoch", "bin_width", "iv_out", "components"),
    "kinetics": _ION + ("statistic", "leak", "ljp", "pipette", "bath", "series_resistance",
                 "compensation", "command_channel", "voltage_unit", "temperature", "e_rev",
                 "test_epoch", "bin_width", "iv_out"),
    "tail": ("statistic", "pipette", "bath", "command_channel", "voltage_unit", "e_rev",
             "test_epoch", "bin_width", "iv_out"),
}


def check_options(args):
    """Refuse options the protocol does not use and outputs that cannot be written: one
    ``UsageError`` line, before anything is read or written."""
    given = [f"--{n.replace('_', '-')}" for n in _NOT_FOR[args.protocol]
             if getattr(args, n, None) not in (None, 0.0 if n == "compensation" else None)]
    if given:
        raise UsageError(f"{', '.join(given)} do(es) not apply to --protocol {args.protocol}")
    if args.out is not None and not args.out.lower().endswith(io.RESULT_FORMATS):
        raise UsageError(f"{args.out}: results must be {', '.join(io.RESULT_FORMATS)}")
    if getattr(args, "iv_out", None) is not None and not args.iv_out.lower().endswith(".csv"):
        raise UsageError(f"{args.iv_out}: --iv-out writes a .csv table")
    if args.plot is not None:
        from fitting.cli.plot import supported_formats

        ext = os.path.splitext(args.plot)[1].lower().lstrip(".")
        if ext not in supported_formats():
            raise UsageError(f"{args.plot}: figures are written as "
                             f"{', '.join(sorted(supported_formats()))}")
    outputs = [x for x in (args.out, args.iv_out, args.plot) if x is not None]
    if len({os.path.realpath(x) for x in outputs}) < len(outputs):
        raise UsageError("--out, --iv-out and --plot must be different files")
    for x in outputs:
        folder = os.path.dirname(os.path.abspath(x))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise UsageError(f"{x}: cannot write there (no such folder, or not writable)")
    if args.protocol == "ramp" and len(args.files) > 1 and args.iv_out is not None:
        raise UsageError("--iv-out takes the curves of one file; analyze one ramp file at a time")
    inputs = {os.path.realpath(p) for p in args.files}
    for x in outputs:
        if os.path.realpath(x) in inputs:
            raise UsageError(f"{x}: output path is also an input; refusing to overwrite")


def tail_ions(args):
    """The ghk= of ``fitting.tail_iv`` from --ion (one ion or several: Na,K), --z, --c-in,
    --c-out and --temperature; None without --ion."""
    if args.ion is None:
        if any(getattr(args, k) is not None for k in ("z", "c_in", "c_out")):
            raise UsageError("--z, --c-in and --c-out describe the ions of --ion: give --ion")
        if args.temperature is not None:
            raise UsageError("--temperature is used with --ion (the GHK comparison)")
        return None
    from fitting.cli.commands import _ions_and_valences

    args.ions, args.model = None, "ghk"
    ions, z, c_in, c_out = _ions_and_valences(args)
    if args.temperature is None:
        raise UsageError("--ion needs --temperature (e.g. 22C) for the GHK comparison")
    out = dict(z=tuple(z), c_in=tuple(c_in), c_out=tuple(c_out), temperature=args.temperature)
    return dict(out, ions=tuple(ions)) if len(ions) > 1 else out
