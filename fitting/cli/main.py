"""The ``ionjax`` command line: fit recordings, extract I-V curves, and small physics calculators.

    ionjax example                       fit the bundled synthetic recording, write a figure
    ionjax fit FILE... --model ...       fit CSV tables or recordings (ABF, NWB, WinWCP; a
                                         folder: its files), print the summary
    ionjax iv FILE.abf ... --out iv.csv  extract step I-V curves from recordings
    ionjax traces FILE... --temperature 22C   fit a gating model to whole current traces
    ionjax nernst --ion K --c-in 140 --c-out 5 --temperature 37C
    ionjax ghk-voltage --ions K,Na,Cl --p 1,0.04,0.45 --c-in 400,50,40 --c-out 20,440,560 ...
    ionjax ljp --pipette K=140,gluconate=140 --bath Na=140,Cl=140 --temperature 22C

This module builds the parser (from the model and protocol registries, ``fitting.cli.arguments``)
and dispatches; ``fit``, ``iv``, ``analyze``, ``traces``, ``calculators`` and ``example`` do the work. Bad input never shows a
traceback (unless ``--debug``): exit status 2 and one message on stderr naming the file (and line
and column where they apply). Inputs are never modified; an output path equal to an input is
refused; outputs are written atomically.
"""

import argparse
import importlib
import os
import re
import sys

from fitting.cli.arguments import (
    add_analyze_options,
    add_recording_options,
    positive_int,
    quantity,
    temperature,
)
from fitting.cli.recipe import with_recipe
from fitting.protocols.registry import PROTOCOLS  # names only: loads no jax

__all__ = ["EXIT_BAD_INPUT", "build_parser", "in_cli_voice", "main", "negative_values",
           "one_line"]

EXIT_BAD_INPUT = 2
COMMANDS = {"fit": "fitting.cli.fit", "iv": "fitting.cli.iv", "analyze": "fitting.cli.analyze",
            "nernst": "fitting.cli.calculators", "ghk-voltage": "fitting.cli.calculators",
            "ljp": "fitting.cli.calculators", "example": "fitting.cli.example",
            "traces": "fitting.cli.traces"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_fit_options(p):
    p.add_argument("--ion", help="permeant ion for ghk models (name from the ion table, e.g. K)")
    p.add_argument("--ions", help="comma-separated ions for multi-ghk, e.g. Na,K")
    p.add_argument("--z", help="valence(s), default from the ion table")
    p.add_argument("--c-in", help="intracellular concentration(s), e.g. 140 or 10,130 (mM; 0 "
                                  "for an ion absent from the inside)")
    p.add_argument("--c-out", help="extracellular concentration(s) (mM; 0 for an ion absent "
                                   "from the outside)")
    p.add_argument("--reference", help="reference ion for permeability ratios (multi-ghk)")


def _add_calculators(sub):
    concentration = quantity("concentration")
    p = sub.add_parser("nernst", help="Nernst potential")
    p.add_argument("--ion", help="ion name (valence from the ion table)")
    p.add_argument("--z", type=int, help="valence (instead of --ion)")
    p.add_argument("--c-in", required=True, type=concentration, help="inside (mM), > 0")
    p.add_argument("--c-out", required=True, type=concentration, help="outside (mM), > 0")
    p.add_argument("--temperature", required=True, type=temperature)

    p = sub.add_parser("ghk-voltage", help="GHK reversal potential of several ions")
    p.add_argument("--ions", required=True, help="e.g. K,Na,Cl")
    p.add_argument("--p", required=True, help="relative permeabilities, e.g. 1,0.04,0.45")
    p.add_argument("--c-in", required=True, help="inside, one per ion (mM; 0: absent)")
    p.add_argument("--c-out", required=True, help="outside, one per ion (mM; 0: absent)")
    p.add_argument("--z", help="valences (default from the ion table)")
    p.add_argument("--temperature", required=True, type=temperature)

    p = sub.add_parser("ljp", help="liquid junction potential (Henderson)")
    p.add_argument("--pipette", required=True, help="e.g. K=140,gluconate=140")
    p.add_argument("--bath", required=True, help="e.g. Na=140,Cl=140")
    p.add_argument("--temperature", required=True, type=temperature)


def build_parser(protocols: bool = True) -> argparse.ArgumentParser:
    """The argparse parser of the ``ionjax`` command (subcommand in ``args.command``).

    Args:
      protocols: give ``analyze`` every protocol's options (each protocol module is imported
        to read them: about 0.15 s, which the other commands are spared).
    """
    from fitting.models.registry import MODELS

    parser = _Parser(
        prog="ionjax", description="Fit patch-clamp I-V recordings; ion-transport calculators. "
                                   "Quantities carry their unit (3.18mV, 10MOhm, 2.5ms, 22C); "
                                   "concentrations are in mM (--c-in 140).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--distributed", nargs="?", const="auto", metavar="HOST:PORT,N,K",
                        help="fit or iv as one of several processes or hosts (each reads a "
                             "share of the files; process 0 prints and writes): alone under "
                             "Slurm or MPI, else the coordinator, the number of processes "
                             "and this one's index")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (they are drawn only on a terminal anyway)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit I-V data from CSV tables or recordings (ABF, NWB, "
                                   "WinWCP; a folder: its files)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", required=True, choices=tuple(MODELS),
                   help="; ".join(f"{name}: {entry.help}" for name, entry in MODELS.items()))
    p.add_argument("--temperature", type=temperature, help="e.g. 22C or 295.15K")
    _add_fit_options(p)
    add_recording_options(p)
    p.add_argument("--method", default="lm", choices=("lm", "lbfgs"))
    p.add_argument("--intervals", action="store_true",
                   help="95%% profile-likelihood intervals of every parameter in --out")
    p.add_argument("--max-steps", type=positive_int, default=200,
                   help="solver iterations per recording (default 200)")
    p.add_argument("--out", help="results file (.json, .csv, .parquet or .nwb; the same "
                                 "columns)")
    p.add_argument("--plot", help="figure file (.png, .pdf, .svg)")
    p.add_argument("--max-rows", type=int, default=10,
                   help="recordings shown one by one in the report and figure (default 10)")

    p = sub.add_parser("iv", help="extract I-V curves from recordings (ABF, NWB, WinWCP) into a CSV table")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--out", help="output CSV")
    p.add_argument("--temperature", type=temperature, help="for an LJP from solutions")
    add_recording_options(p)

    p = sub.add_parser("analyze", help="protocol analyses of recordings: "
                                       + ", ".join(PROTOCOLS))
    p.add_argument("files", nargs="+", metavar="FILE")
    if protocols:
        add_analyze_options(p)
    p.add_argument("--temperature", type=temperature,
                   help="e.g. 25C: for --ion (GHK) and for an LJP from --pipette/--bath")
    p.add_argument("--out", help="results file (.csv, .json, .parquet or .nwb): one row per quantity")
    p.add_argument("--plot", help="figure file (.png, .pdf, .svg): one panel per file")
    p.add_argument("--recipe", metavar="FILE.toml",
                   help="the protocol and its options from a TOML file (keys as these options: "
                        "protocol = \"tail\", window = \"5ms,30%%\", epoch = 8); options given "
                        "here override it")
    add_recording_options(p)

    from fitting.cli.traces import add_traces_parser  # numpy only until it runs

    add_traces_parser(sub, temperature, quantity, positive_int)
    _add_calculators(sub)

    p = sub.add_parser("example", help="fit the bundled synthetic example and write a figure")
    p.add_argument("--out-dir", default=".", help="folder for the figure (default: here)")
    return parser


def one_line(exc: BaseException, options=frozenset()) -> str:
    """The message of a failed command: the error itself for bad input, else marked internal;
    in the command's voice (``in_cli_voice``)."""
    from fitting.recordings.errors import InputError

    known = (InputError, ValueError, OSError, ImportError)
    kind = "" if isinstance(exc, known) else f"internal error ({type(exc).__name__}): "
    if isinstance(exc, OSError) and exc.filename:
        return f"{kind}{exc.filename}: {exc.strerror}"
    return f"{kind}{in_cli_voice(str(getattr(exc, 'cli_message', None) or exc), options)}"


_KEYWORD = re.compile(r"(?<![\w.-])([a-z][a-z0-9_]*)=(?: \((--[a-z0-9-]+)(\)|; )|(?![\w=]))")


def in_cli_voice(message: str, options) -> str:
    """A library message as the command says it: each keyword argument it names (``epoch=``,
    ``current_unit= (--current-unit)``) becomes the command's option (``--epoch``,
    ``--current-unit``) where the command has that option; the Python API keeps its own
    wording. A message may also carry the command's wording whole, as the exception's
    ``cli_message`` attribute.

    Args:
      message: the exception's text (one line).
      options: the option strings of the command (e.g. {"--epoch", "--window"}).
    """
    def option(match):
        flag = match.group(2) or "--" + match.group(1).replace("_", "-")
        if flag not in options:
            return match.group(0)
        return flag + (" (" if match.group(3) == "; " else "")

    return _KEYWORD.sub(option, message)


def _run(args: argparse.Namespace) -> int:
    """Run the subcommand (its module, imported now, maps its name to its function)."""
    return importlib.import_module(COMMANDS[args.command]).COMMAND[args.command](args)


def main(argv: list | None = None) -> int:
    """Entry point of the ``ionjax`` console script; returns the exit status.

    Ctrl-C or SIGTERM at any moment after the first line (the imports and the parsing
    included) ends the command with one line and the status 130 (SIGINT) or 143 (SIGTERM).
    """
    from fitting.cli import interrupt  # first, before the heavy imports: the signal only

    if argv is None:  # the console command: also silence interrupts lost in callbacks
        previous = interrupt.install(command=True)
    else:
        previous = interrupt.install()
    try:
        code = _main(argv)
    except KeyboardInterrupt:
        if argv is None:  # a second signal now ends the process at once, quietly
            interrupt.leave()
        print("ionjax: interrupted; no partial output was left", file=sys.stderr)
        if argv is None:  # the command itself: leave at once. Tearing the interpreter down
            sys.stderr.flush()  # while XLA still compiles on its threads can crash it; the
            os._exit(interrupt.exit_code())  # temporary output files are already removed
        interrupt.restore(previous)
        return interrupt.exit_code()
    if argv is None:
        interrupt.leave()
    else:  # called from Python: the caller's handlers again
        interrupt.restore(previous)
    return code


_NEGATIVE = re.compile(r"-\d")  # "-150mV", "-10ms,20ms": a value, never an option name


def negative_values(argv: list) -> list:
    """``--e-rev -150mV`` as ``--e-rev=-150mV``: argparse takes a value that starts with "-"
    and is not a bare number for an option name ("expected one argument")."""
    out = []
    for token in argv:
        previous = out[-1] if out else ""
        if _NEGATIVE.match(str(token)) and previous.startswith("--") and "=" not in previous:
            out[-1] = f"{previous}={token}"
        else:
            out.append(str(token))
    return out


def _main(argv: list | None) -> int:
    """Parse, then run the command; every failure one line on stderr (unless --debug)."""
    tokens = sys.argv[1:] if argv is None else [str(t) for t in argv]
    parser = build_parser(protocols="analyze" in tokens)
    argv = with_recipe(parser, argv)
    if "--no-progress" in argv:  # a global option, accepted after the command's name too
        argv = ["--no-progress"] + [t for t in argv if t != "--no-progress"]
    argv = [("--distributed=auto" if t == "--distributed" and
             (k + 1 == len(argv) or argv[k + 1] in COMMANDS or argv[k + 1].startswith("-"))
             else t) for k, t in enumerate(argv)]  # bare: not the name of the command after it
    args = parser.parse_args(negative_values(argv))
    if args.command == "nernst" and args.ion is None and args.z is None:
        parser.error("nernst needs --ion NAME or --z VALENCE")
    if args.command in ("fit", "example", "analyze", "traces"):
        from fitting.engine.compiled import enable_persistent_cache

        enable_persistent_cache()
    try:
        from fitting.cli.inputs import expand_folders

        if getattr(args, "files", None) and args.command != "traces":  # it reads a dataset
            # folder whole (fitting.cli.traces)
            args.files = expand_folders(args.files, [getattr(args, k, None) for k in
                                                     ("out", "plot", "iv_out")])
        if args.distributed:
            from fitting.cli.distributed import distributed_run

            return distributed_run(args, _run)
        return _run(args)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line unless --debug
        if args.debug:
            raise
        command = next(a for a in parser._actions
                       if isinstance(a, argparse._SubParsersAction)).choices[args.command]
        options = {o for a in command._actions for o in a.option_strings}
        print(f"ionjax: error: {one_line(exc, options)}", file=sys.stderr)
        return EXIT_BAD_INPUT

if __name__ == "__main__":
    sys.exit(main())
