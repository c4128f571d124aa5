"""The ``ionjax`` command line: fit recordings, extract I-V curves, and small physics calculators.

    ionjax example                       fit the bundled synthetic recording, write a figure
    ionjax fit FILE... --model ...       fit CSV tables or recordings (ABF, NWB, WinWCP; a
                                         folder: its files), print the summary
    ionjax iv FILE.abf ... --out iv.csv  extract step I-V curves from recordings
    ionjax nernst --ion K --c-in 140 --c-out 5 --temperature 37C
    ionjax ghk-voltage --ions K,Na,Cl --p 1,0.04,0.45 --c-in 400,50,40 --c-out 20,440,560 ...
    ionjax ljp --pipette K=140,gluconate=140 --bath Na=140,Cl=140 --temperature 22C

This module only parses; ``fitting.cli.commands`` does the work. Bad input never shows a
traceback (unless ``--debug``): exit status 2 and one message on stderr naming the file (and line
and column where they apply). Inputs are never modified; an output path equal to an input is
refused; outputs are written atomically.
"""

import argparse
import os
import sys

EXIT_BAD_INPUT = 2
MODELS = ("ohmic", "ghk", "multi-ghk", "boltzmann-ohmic", "boltzmann-ghk")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _argument_type(parse, *extra):
    """An argparse ``type`` from a parser of ``fitting.recordings.units`` (errors become usage errors)."""
    def convert(text):
        from fitting.recordings import units

        try:
            return getattr(units, parse)(text, *extra)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


_temperature = _argument_type("parse_temperature")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def _add_fit_options(p):
    p.add_argument("--ion", help="permeant ion for ghk models (name from the ion table, e.g. K)")
    p.add_argument("--ions", help="comma-separated ions for multi-ghk, e.g. Na,K")
    p.add_argument("--z", help="valence(s), default from the ion table")
    p.add_argument("--c-in", help="intracellular concentration(s), e.g. 140 or 10,130 (mM)")
    p.add_argument("--c-out", help="extracellular concentration(s) (mM)")
    p.add_argument("--reference", help="reference ion for permeability ratios (multi-ghk)")


def _add_recording_options(p):
    g = p.add_argument_group("recordings (ABF) and corrections")
    g.add_argument("--channel", type=int, help="ABF: ADC channel of the current (default 0); "
                   "NWB: the recording's index (default all electrodes and protocols); "
                   "WinWCP: the current channel's index")
    g.add_argument("--window", help="measurement window 'start,stop': '60%%,95%%' of the step "
                                     "(default) or times after step onset '2.5ms,7.5ms' (each "
                                     "with its unit)")
    g.add_argument("--statistic", choices=("mean", "peak", "min", "max"),
                   help="statistic of the current over the window (default mean)")
    g.add_argument("--epoch", type=int, help="index of the test-step epoch: ABF, in pyabf's "
                   "sweepEpochs, where 0 is the holding before Clampex epoch A (A is 1, B is 2, "
                   "...); NWB, WinWCP: in the table read off the command (0 is the holding "
                   "before its first change); default: automatic")
    g.add_argument("--command-channel", type=int,
                   help="ADC channel recording the command voltage: step voltages are read from it "
                        "(needed when a Clampex user list varies a level)")
    g.add_argument("--voltage-unit", help="unit of the file's voltages, overriding its label "
                                          "(e.g. mV for a column headed voltage_V)")
    g.add_argument("--current-unit", help="unit of the file's currents, overriding its label "
                                          "(e.g. pA)")
    g.add_argument("--leak", help="leak subtraction: 'ramp' or 'range:LO,HI' (mV)")
    g.add_argument("--ljp", type=_argument_type("parse_quantity", "voltage"),
                   help="liquid junction potential, e.g. 3.18mV (V_m = V_cmd - LJP)")
    g.add_argument("--pipette", help="pipette solution for the LJP, e.g. K=140,gluconate=140")
    g.add_argument("--bath", help="bath solution for the LJP, e.g. Na=140,Cl=140")
    g.add_argument("--series-resistance", type=_argument_type("parse_quantity", "resistance"),
                   help="series resistance, e.g. 10MOhm (V_m = V - I R_s (1 - compensation))")
    g.add_argument("--compensation", type=float, default=0.0,
                   help="fraction of R_s compensated by the amplifier, 0..1 (default 0)")


def _add_calculators(sub):
    concentration = _argument_type("parse_quantity", "concentration")
    p = sub.add_parser("nernst", help="Nernst potential")
    p.add_argument("--ion", help="ion name (valence from the ion table)")
    p.add_argument("--z", type=int, help="valence (instead of --ion)")
    p.add_argument("--c-in", required=True, type=concentration)
    p.add_argument("--c-out", required=True, type=concentration)
    p.add_argument("--temperature", required=True, type=_temperature)

    p = sub.add_parser("ghk-voltage", help="GHK reversal potential of several ions")
    p.add_argument("--ions", required=True, help="e.g. K,Na,Cl")
    p.add_argument("--p", required=True, help="relative permeabilities, e.g. 1,0.04,0.45")
    p.add_argument("--c-in", required=True)
    p.add_argument("--c-out", required=True)
    p.add_argument("--z", help="valences (default from the ion table)")
    p.add_argument("--temperature", required=True, type=_temperature)

    p = sub.add_parser("ljp", help="liquid junction potential (Henderson)")
    p.add_argument("--pipette", required=True, help="e.g. K=140,gluconate=140")
    p.add_argument("--bath", required=True, help="e.g. Na=140,Cl=140")
    p.add_argument("--temperature", required=True, type=_temperature)


def build_parser():
    """The argparse parser of the ``ionjax`` command (subcommand in ``args.command``)."""
    parser = _Parser(
        prog="ionjax", description="Fit patch-clamp I-V recordings; ion-transport calculators. "
                                   "Units: mV, pA, mM unless written (e.g. 3.18mV, 22C).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bars (they are drawn only on a terminal anyway)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit I-V data from CSV tables or recordings (ABF, NWB, "
                                   "WinWCP; a folder: its files)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", required=True, choices=MODELS)
    p.add_argument("--temperature", type=_temperature, help="e.g. 22C or 295.15K")
    _add_fit_options(p)
    _add_recording_options(p)
    p.add_argument("--method", default="lm", choices=("lm", "lbfgs"))
    p.add_argument("--intervals", action="store_true",
                   help="95%% profile-likelihood intervals of every parameter in --out")
    p.add_argument("--max-steps", type=_positive_int, default=200,
                   help="solver iterations per recording (default 200)")
    p.add_argument("--out", help="results file (.json, .csv, .parquet or .nwb; the same "
                                 "columns)")
    p.add_argument("--plot", help="figure file (.png, .pdf, .svg)")
    p.add_argument("--max-rows", type=int, default=10,
                   help="recordings shown one by one in the report and figure (default 10)")

    p = sub.add_parser("iv", help="extract I-V curves from recordings (ABF, NWB, WinWCP) into a CSV table")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--out", help="output CSV")
    p.add_argument("--temperature", type=_temperature, help="for an LJP from solutions")
    _add_recording_options(p)

    p = sub.add_parser("analyze", help="protocol analyses of recordings: membrane-test, "
                                       "activation, inactivation, ramp, kinetics, tail")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--protocol", required=True,
                   choices=("membrane-test", "activation", "inactivation", "isochronal", "ramp",
                            "kinetics", "tail"),
                   help="membrane-test: access/membrane resistance and capacitance per sweep; "
                        "activation: Boltzmann of the step I-V (joint fit and chord G-V); "
                        "inactivation: Boltzmann of the test-pulse current vs the prepulse; "
                        "isochronal: Boltzmann of the tail current at a fixed voltage vs the "
                        "preceding step; "
                        "ramp: reversal and slope conductance of each sweep's ramp I-V; "
                        "kinetics: time constants of each sweep's relaxation in --window; "
                        "tail: instantaneous I-V extrapolated to the step onset")
    p.add_argument("--e-rev", type=_argument_type("parse_quantity", "voltage"),
                   help="activation: reversal potential for G = I/(V - E_rev), e.g. 50mV "
                        "(default: the joint fit's)")
    p.add_argument("--ion", help="activation: the ion of a GHK-rectifying channel (e.g. K), "
                   "for the GHK-corrected G-V; tail: one ion or several (Na,K), for the GHK fit "
                   "ranked against the ohmic one and the permeability ratios. With --c-in, "
                   "--c-out and --temperature")
    p.add_argument("--z", help="valence(s) of --ion (default from the ion table)")
    p.add_argument("--c-in", help="intracellular concentration(s) of --ion, e.g. 10,130 (mM)")
    p.add_argument("--c-out", help="extracellular concentration(s) of --ion (mM)")
    p.add_argument("--test-epoch", type=int, help="inactivation: index of the test pulse "
                   "(default: the first fixed step after the prepulse, --epoch)")
    p.add_argument("--bin-width", type=_argument_type("parse_quantity", "voltage"),
                   help="ramp: voltage bin of the I-V, e.g. 1mV (default)")
    p.add_argument("--iv-out", help="ramp: CSV file for the binned I-V curves")
    p.add_argument("--components", type=int, choices=(1, 2),
                   help="kinetics: exponentials per sweep (default 1)")
    p.add_argument("--temperature", type=_temperature,
                   help="e.g. 25C: for --ion (GHK) and for an LJP from --pipette/--bath")
    p.add_argument("--out", help="results file (.csv, .json, .parquet or .nwb): one row per quantity")
    p.add_argument("--plot", help="figure file (.png, .pdf, .svg): one panel per file")
    p.add_argument("--recipe", metavar="FILE.toml",
                   help="the protocol and its options from a TOML file (keys as these options: "
                        "protocol = \"tail\", window = \"5ms,30%%\", epoch = 8); options given "
                        "here override it")
    _add_recording_options(p)

    _add_calculators(sub)

    p = sub.add_parser("example", help="fit the bundled synthetic example and write a figure")
    p.add_argument("--out-dir", default=".", help="folder for the figure (default: here)")
    return parser


def _one_line(exc):
    """The message of a failed command: the error itself for bad input, else marked internal."""
    from fitting.io import InputError

    known = (InputError, ValueError, OSError, ImportError)
    kind = "" if isinstance(exc, known) else f"internal error ({type(exc).__name__}): "
    if isinstance(exc, OSError) and exc.filename:
        return f"{kind}{exc.filename}: {exc.strerror}"
    return f"{kind}{exc}"


def _recipe_tokens(parser, path):
    """Command-line tokens of a TOML recipe for ``ionjax analyze``: each key an option of the
    command (``protocol = "tail"``, ``window = "5ms,30%"``, ``epoch = 8``, ``e_rev = "50mV"``;
    hyphens or underscores), each value as it would be typed (a string or a number)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            parser.error("--recipe needs Python >= 3.11 or the tomli package")
    try:
        with open(path, "rb") as handle:
            recipe = tomllib.load(handle)
    except OSError as exc:
        parser.error(f"--recipe {path}: {exc.strerror}")
    except tomllib.TOMLDecodeError as exc:
        parser.error(f"--recipe {path}: not valid TOML ({exc})")
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = {o for a in sub.choices["analyze"]._actions for o in a.option_strings}
    tokens = []
    for key, value in recipe.items():
        flag = "--" + str(key).replace("_", "-")
        if flag not in options or flag in ("--help", "--recipe", "--out", "--plot", "--iv-out"):
            parser.error(f"--recipe {path}: {key!r} is not an option a recipe can set "
                         "(see ionjax analyze --help; outputs are given on the command line)")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            parser.error(f"--recipe {path}: {key} = {value!r}: give a string or a number")
        tokens += [flag, str(value)]
    return tokens


def _with_recipe(parser, argv):
    """argv with a recipe's options put first after ``analyze`` (the command line's own
    options, which come later, override them)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "analyze" not in argv:
        return argv
    for k, token in enumerate(argv):
        if token == "--recipe" or token.startswith("--recipe="):
            path = token.split("=", 1)[1] if "=" in token else \
                (argv[k + 1] if k + 1 < len(argv) else parser.error("--recipe needs a file"))
            rest = argv[:k] + argv[k + (1 if "=" in token else 2):]
            at = rest.index("analyze") + 1
            return rest[:at] + _recipe_tokens(parser, path) + rest[at:]
    return argv


def main(argv=None):
    """Entry point of the ``ionjax`` console script; returns the exit status."""
    parser = build_parser()
    argv = _with_recipe(parser, argv)
    if "--no-progress" in argv:  # a global option, accepted after the command's name too
        argv = ["--no-progress"] + [t for t in argv if t != "--no-progress"]
    args = parser.parse_args(argv)
    if args.command == "nernst" and args.ion is None and args.z is None:
        parser.error("nernst needs --ion NAME or --z VALENCE")
    if args.command in ("fit", "example", "analyze"):
        from fitting.engine.compiled import enable_persistent_cache

        enable_persistent_cache()
    # SIGTERM ends the command like Ctrl-C: clean-up (temporary output files) runs first, and
    # a signal whose exception something swallowed is raised again before any output
    from fitting.cli import interrupt

    interrupt.install()
    try:
        from fitting.cli.commands import COMMANDS
        from fitting.cli.inputs import expand_folders

        if getattr(args, "files", None):
            args.files = expand_folders(args.files, [getattr(args, k, None) for k in
                                                     ("out", "plot", "iv_out")])
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("ionjax: interrupted; no partial output was left", file=sys.stderr)
        if argv is None:  # the command itself: leave at once. Tearing the interpreter down
            sys.stdout.flush()  # while XLA still compiles on its threads can crash it; the
            sys.stderr.flush()  # temporary output files are already removed at this point
            os._exit(130)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line unless --debug
        if args.debug:
            raise
        print(f"ionjax: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
