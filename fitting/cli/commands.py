"""What each ``ionjax`` subcommand does, given its parsed arguments (``fitting.cli.main`` parses).

Each ``cmd_*`` function takes the argparse namespace and returns the exit status. Bad input
raises ``UsageError`` or ``fitting.io.InputError`` (both ``ValueError``), which the command line
turns into one message and exit status 2.
"""

import os
import sys

import numpy as np

import fitting
import ionjax
from fitting import io
from fitting.cli import interrupt
from fitting.cli.progress import progress_bar
from fitting.cli.reversal import check_reversal
from fitting.cli import example
from fitting.cli.calculators import (
    UsageError,
    valences,
    cmd_ghk_voltage,
    cmd_ljp,
    cmd_nernst,
    solution_ljp,
)
from fitting.recordings.units import parse_list, parse_positive


def _ions_and_valences(args):
    table = {name.lower(): name for name in ionjax.ION_TABLE}
    ions = [table.get(ion.lower(), ion) for ion in parse_list(args.ions or args.ion or "")]
    if not ions:
        raise UsageError(f"--model {args.model} needs --ion NAME (or --ions A,B,...)")
    if len({ion.lower() for ion in ions}) != len(ions):
        raise UsageError(f"--ions names an ion twice: {','.join(ions)}")
    zs = valences(ions, args.z)
    c_in = parse_positive(args.c_in, "concentration", "--c-in") if args.c_in else []
    c_out = parse_positive(args.c_out, "concentration", "--c-out") if args.c_out else []
    if not (len(ions) == len(zs) == len(c_in) == len(c_out)):
        raise UsageError(f"give one --z (or none), --c-in and --c-out value per ion "
                         f"({', '.join(ions)}); got {len(zs)}, {len(c_in)} and {len(c_out)}")
    return ions, zs, c_in, c_out


def _reference(ions, name):
    """Index of the --reference ion among --ions (case-insensitive); the first ion if omitted."""
    if name is None:
        return 0
    matches = [k for k, ion in enumerate(ions) if ion.lower() == name.strip().lower()]
    if not matches:
        raise UsageError(f"--reference {name} is not one of --ions {','.join(ions)}")
    return matches[0]


def build_model(args):
    """The model named by ``--model`` with its ion options."""
    ion_options = [f"--{k.replace('_', '-')}" for k in ("ion", "ions", "z", "c_in", "c_out",
                                                          "reference") if getattr(args, k)]
    if args.model in ("ohmic", "boltzmann-ohmic"):
        if ion_options:
            raise UsageError(f"--model {args.model} takes no ion options; got "
                             f"{', '.join(ion_options)}")
        if args.temperature is not None and not (args.pipette or args.bath):
            raise UsageError(f"--temperature is used by ghk models and by an LJP from "
                             f"--pipette/--bath; --model {args.model} has neither")
        return fitting.Ohmic() if args.model == "ohmic" else fitting.BoltzmannOhmic()
    if args.ion and args.ions:
        raise UsageError("give either --ion or --ions, not both")
    if args.reference is not None and args.model != "multi-ghk":
        raise UsageError(f"--reference applies to multi-ghk, not --model {args.model}")
    ions, z, c_in, c_out = _ions_and_valences(args)
    if args.temperature is None:
        raise UsageError(f"--model {args.model} needs --temperature (e.g. 22C or 295.15K)")
    if args.model == "multi-ghk":
        return fitting.MultiIonGHK(z=z, c_in=c_in, c_out=c_out, temperature=args.temperature,
                                   reference=_reference(ions, args.reference), ions=ions)
    if len(ions) != 1:
        raise UsageError(f"--model {args.model} takes one ion; use multi-ghk for {ions}")
    cls = fitting.GHK if args.model == "ghk" else fitting.BoltzmannGHK
    return cls(z=z[0], c_in=c_in[0], c_out=c_out[0], temperature=args.temperature)


def _leak(text):
    if text and text.startswith("range:"):
        values = parse_list(text[len("range:"):], "voltage")
        if len(values) != 2:
            raise UsageError(f"--leak range:LO,HI takes two voltages (e.g. range:-110,-80); got "
                             f"{text!r}")
        return ("range", *values)
    if text not in (None, "ramp"):
        raise UsageError(f"--leak must be 'ramp' or 'range:LO,HI' (mV); got {text!r}")
    return text


def _ljp(args):
    """LJP [V] from --ljp or from --pipette/--bath, or None."""
    if args.ljp is not None and (args.pipette or args.bath):
        raise UsageError("give either --ljp or --pipette/--bath, not both")
    if args.ljp is not None:
        return args.ljp
    if bool(args.pipette) != bool(args.bath):
        raise UsageError("--pipette and --bath go together")
    if args.pipette:
        t = args.temperature if args.temperature is not None else io.DEFAULT_TEMPERATURE
        return solution_ljp(args.pipette, args.bath, t)
    return None


def read_recordings(args):
    """The files of ``args.files`` as one IVData (R, n_max), with the requested corrections
    (series resistance acts on the total measured current, so it is corrected before the leak)."""
    _check_paths(args.files, (args.out, getattr(args, "plot", None)))
    tables = [p for p in args.files if _is_table(p)]
    if args.leak == "ramp" and tables:
        raise UsageError(f"{tables[0]}: --leak ramp needs a recording of sweeps (ABF, NWB, ...); "
                         "use --leak range:LO,HI")
    abf_only = [f"--{name.replace('_', '-')}" for name in
                ("window", "channel", "statistic", "epoch", "command_channel")
                if getattr(args, name, None) is not None]
    if abf_only and tables:
        raise UsageError(f"{tables[0]}: {', '.join(abf_only)} appl"
                         f"{'ies' if len(abf_only) == 1 else 'y'} to recordings of sweeps (ABF, "
                         "NWB, ...), not to I-V tables")
    window = tuple(parse_list(args.window)) if args.window else ("60%", "95%")
    if len(window) != 2:
        raise UsageError(f"--window takes two values 'start,stop'; got {args.window!r}")
    reading = progress_bar(not args.no_progress, "reading", "file")
    data = io.read_files(args.files, progress=reading, skip_bad=True,
                         leak=_leak(args.leak), ljp=_ljp(args),
                         series_resistance=args.series_resistance,
                         compensation=args.compensation,
                         channel=args.channel, window=window,
                         statistic=args.statistic or "mean", epoch=args.epoch,
                         command_channel=args.command_channel, voltage_unit=args.voltage_unit,
                         current_unit=args.current_unit)
    for source in data.metadata.get("sources", [data.metadata]):
        others = source.get("other_current_channels")
        if others and args.channel is None:
            print(f"ionjax: note: {source['source']}: channel(s) {', '.join(others)} also hold "
                  "a current, not read (--channel N reads one)", file=sys.stderr)
        for why in source.get("skipped_recordings", []):
            print(f"ionjax: note: {source['source']}: {why}; left out", file=sys.stderr)
    return data


def _is_table(path):
    """Whether ``path`` is read as an I-V table (a refused format is left to the reader)."""
    try:
        return io.format_of(path) == "table"
    except io.InputError:
        return False


def _check_output_formats(args):
    """Refuse output names whose format is not written, before any work or any file."""
    out, plot = args.out, getattr(args, "plot", None)
    if out is not None and os.path.splitext(str(out))[1].lower() not in io.RESULT_FORMATS:
        raise UsageError(f"{out}: results must be {', '.join(io.RESULT_FORMATS)}")
    for path in (out, plot):
        if path is None:
            continue
        folder = os.path.dirname(os.path.abspath(str(path)))
        if os.path.isdir(str(path)):
            raise UsageError(f"{path}: is a folder, not an output file")
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise UsageError(f"{path}: cannot write there (no such folder, or not writable)")
    if plot is not None:
        from fitting.cli.plot import supported_formats  # matplotlib: only when a plot is asked

        ext = os.path.splitext(str(plot))[1].lower().lstrip(".")
        if ext not in supported_formats():
            raise UsageError(f"{plot}: figure format {ext or '(none)'!r} is not one of "
                             f"{', '.join(sorted(supported_formats()))}")


EXIT_NO_RESULT = 3  # every recording was refused: the results file holds no number


def _report_skipped(data):
    """Name each file that could not be read on stderr; the exit status for the run."""
    skipped = data.metadata.get("skipped", [])
    for item in skipped:
        print(f"ionjax: error: {item['error']}", file=sys.stderr)
    if skipped:
        print(f"ionjax: error: {len(skipped)} file(s) not read; results above are for the "
              f"others", file=sys.stderr)
    return 2 if skipped else 0


def _check_paths(inputs, outputs):
    real_inputs = {os.path.realpath(str(p)) for p in inputs}
    for out in outputs:
        if out is not None and os.path.realpath(str(out)) in real_inputs:
            raise UsageError(f"{out}: output path is also an input; refusing to overwrite it")
    for path in inputs:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file")


def _provenance(args, data):
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


def cmd_fit(args):
    model = build_model(args)
    _check_output_formats(args)
    data = read_recordings(args)
    single = data.shape[0] == 1
    v, i = (data.v[0], data.i[0]) if single else (data.v, data.i)
    # a point without a voltage is padding (recordings of unequal length), not a masked point
    res = fitting.fit(model, v, i, mask=np.isfinite(v), method=args.method,
                      max_steps=args.max_steps, fast_compile=_fast_compile(data.shape[0]),
                      progress=progress_bar(not args.no_progress, "fitting", "fit"))
    print(res.summary() if single else res.summary(max_rows=args.max_rows, labels=data.labels))
    e = fitting.reversal_potential(res)
    status = np.atleast_1d(np.asarray(res.status))
    for label, value, err, code in zip(data.labels, np.atleast_1d(np.asarray(e.value)),
                                       np.atleast_1d(np.asarray(e.stderr)), status):
        if np.isfinite(value) and np.isfinite(err):
            print(f"E_rev {label}: {value * 1e3:.3f} ± {err * 1e3:.3f} mV (stderr)")
        elif np.isfinite(value):
            print(f"E_rev {label}: {value * 1e3:.3f} mV (stderr undefined: no degrees of freedom)")
        else:
            why = ("the fitted current does not cross zero" if fitting.usable(int(code))
                   else fitting.Status(int(code)).message)
            print(f"E_rev {label}: not available ({why})")
    extra = check_reversal(res, v, i, e, data.labels)
    interrupt.check()
    if args.plot:  # first: drawing is the slow part, and an interrupt then leaves no output
        from fitting.cli.plot import plot_batch_summary, plot_fit  # matplotlib: only when asked

        if len(data.labels) > args.max_rows:
            plot_batch_summary(res, path=args.plot)
        else:
            plot_fit(res, v, i, labels=data.labels, path=args.plot)
    interrupt.check()
    if args.out:
        from fitting.cli.results import write_fit_results

        write_fit_results(args, data, res, v, i, e, extra, _provenance(args, data))
        print(f"results written to {args.out}")
    if args.plot:
        print(f"figure written to {args.plot}")
    code = _report_skipped(data)
    if not np.any(fitting.usable(np.asarray(res.status))):
        print("ionjax: error: no recording gave a usable fit (see the statuses above)",
              file=sys.stderr)
        return code or EXIT_NO_RESULT
    return code


def _fast_compile(n_recordings):
    """A command that fits up to one block of recordings compiles fast (the run is short
    anyway); a larger job gets the optimised program. $IONJAX_FAST_COMPILE decides if set."""
    from fitting.engine import driver

    if os.environ.get("IONJAX_FAST_COMPILE") is not None:
        return driver.default_fast_compile()
    return n_recordings <= driver.block_size()


def cmd_iv(args):
    if args.out is None:
        raise UsageError("ionjax iv needs --out FILE.csv")
    if not str(args.out).lower().endswith(".csv"):
        raise UsageError(f"{args.out}: ionjax iv writes a .csv table")
    data = read_recordings(args)
    interrupt.check()
    io.write_csv(args.out, io.IVData(v=data.v, i=data.i, labels=data.labels,
                                     metadata=dict(_provenance(args, data), files=args.files)))
    print(f"{len(data.labels)} I-V curve(s) written to {args.out}")
    return _report_skipped(data)


def cmd_example(args):
    if not os.path.isdir(args.out_dir):
        raise UsageError(f"{args.out_dir}: no such folder (--out-dir)")
    return example.run(args.out_dir)


def cmd_analyze(args):
    from fitting.cli.analyze import cmd_analyze as run

    return run(args)


COMMANDS = {"analyze": cmd_analyze, "fit": cmd_fit, "iv": cmd_iv, "nernst": cmd_nernst,
            "ghk-voltage": cmd_ghk_voltage, "ljp": cmd_ljp, "example": cmd_example}
