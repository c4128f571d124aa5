"""The ``ionjax`` command line: fit recordings, extract I-V curves, and small physics calculators.

    ionjax example                       fit the bundled synthetic recording, write a figure
    ionjax fit FILE... --model ...       fit CSV tables or ABF files, print the summary
    ionjax iv FILE.abf ... --out iv.csv  extract step I-V curves from ABF files
    ionjax nernst --ion K --c-in 140 --c-out 5 --temperature 37C
    ionjax ghk-voltage --ions K,Na,Cl --p 1,0.04,0.45 --c-in 400,50,40 --c-out 20,440,560 ...
    ionjax ljp --pipette K=140,gluconate=140 --bath Na=140,Cl=140 --temperature 22C

Bad input never shows a traceback (unless ``--debug``): exit status 2 and one message on stderr
naming the file (and line and column where they apply). Inputs are never modified; an output
path equal to an input is refused; outputs are written atomically.
"""

import argparse
import os
import sys

EXIT_BAD_INPUT = 2
MODELS = ("ohmic", "ghk", "multi-ghk", "boltzmann-ohmic", "boltzmann-ghk")


class UsageError(ValueError):
    """A bad command-line value (reported without traceback, exit status 2)."""


def _quantity(kind):
    from fitting._quantities import parse_quantity

    def parse(text):
        try:
            return parse_quantity(text, kind)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _temperature(text):
    from fitting._quantities import parse_temperature

    try:
        return parse_temperature(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _ion_valence(name):
    import ionjax

    try:
        return ionjax.ion_mobility(name)[0]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _ions_and_valences(args):
    from fitting._quantities import parse_list

    ions = parse_list(args.ions or args.ion or "")
    if not ions:
        raise UsageError(f"--model {args.model} needs --ion NAME (or --ions A,B,...)")
    valences = parse_list(args.z, "concentration") if args.z else [_ion_valence(n) for n in ions]
    c_in = parse_list(args.c_in, "concentration") if args.c_in else []
    c_out = parse_list(args.c_out, "concentration") if args.c_out else []
    if not (len(ions) == len(valences) == len(c_in) == len(c_out)):
        raise UsageError(f"give one --c-in and one --c-out value per ion ({', '.join(ions)}); got "
                         f"{len(c_in)} and {len(c_out)}")
    return ions, [int(z) for z in valences], c_in, c_out


def _build_model(args):
    import fitting

    if args.model == "ohmic":
        return fitting.Ohmic()
    if args.model == "boltzmann-ohmic":
        return fitting.BoltzmannOhmic()
    ions, z, c_in, c_out = _ions_and_valences(args)
    if args.temperature is None:
        raise UsageError(f"--model {args.model} needs --temperature (e.g. 22C or 295.15K)")
    if args.model == "multi-ghk":
        reference = ions.index(args.reference) if args.reference in ions else 0
        return fitting.MultiIonGHK(z=z, c_in=c_in, c_out=c_out, temperature=args.temperature,
                                   reference=reference)
    if len(ions) != 1:
        raise UsageError(f"--model {args.model} takes one ion; use multi-ghk for {ions}")
    cls = fitting.GHK if args.model == "ghk" else fitting.BoltzmannGHK
    return cls(z=z[0], c_in=c_in[0], c_out=c_out[0], temperature=args.temperature)


def _progress(done, total, label, enabled):
    if not enabled or total < 2:
        return
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _abf_options(args):
    from fitting._quantities import parse_list

    window = tuple(parse_list(args.window)) if args.window else ("60%", "95%")
    if len(window) != 2:
        raise UsageError(f"--window takes two values 'start,stop'; got {args.window!r}")
    leak = args.leak
    if leak and leak.startswith("range:"):
        lo, hi = parse_list(leak[len("range:"):], "voltage")
        leak = ("range", lo, hi)
    elif leak not in (None, "ramp"):
        raise UsageError(f"--leak must be 'ramp' or 'range:LO,HI' (mV); got {leak!r}")
    return dict(channel=args.channel, window=window, statistic=args.statistic, epoch=args.epoch,
                leak=leak, command_channel=args.command_channel)


def _ljp(args):
    """LJP [V] from --ljp or from --pipette/--bath, or None."""
    import ionjax
    from fitting._quantities import parse_solution

    if args.ljp is not None and (args.pipette or args.bath):
        raise UsageError("give either --ljp or --pipette/--bath, not both")
    if args.ljp is not None:
        return args.ljp
    if bool(args.pipette) != bool(args.bath):
        raise UsageError("--pipette and --bath go together")
    if args.pipette:
        t = args.temperature if args.temperature is not None else 295.15
        return float(ionjax.liquid_junction_potential(parse_solution(args.pipette),
                                                      parse_solution(args.bath), temperature=t))
    return None


def _read(path, args):
    """IVData of one file, with the requested corrections applied."""
    from fitting import io

    # series resistance acts on the total measured current, so it is corrected before the leak
    corrections = dict(ljp=_ljp(args), series_resistance=args.series_resistance,
                       compensation=args.compensation)
    if str(path).lower().endswith(".abf"):
        return io.iv_from_abf(path, **_abf_options(args), **corrections)
    iv = io.read_csv(path)
    leak = _abf_options(args)["leak"]
    if leak == "ramp":
        raise UsageError(f"{path}: --leak ramp needs an ABF file; use --leak range:LO,HI")
    return io.correct(iv, leak=leak, **corrections)


def _read_all(paths, args):
    import numpy as np

    data = []
    for k, path in enumerate(paths):
        data.append(_read(path, args))
        _progress(k + 1, len(paths), "files read", not args.no_progress)
    n = max(iv.v.shape[-1] for iv in data)
    v_rows, i_rows, labels = [], [], []
    for path, iv in zip(paths, data):
        v2, i2 = np.atleast_2d(iv.v), np.atleast_2d(iv.i)
        pad = ((0, 0), (0, n - v2.shape[-1]))
        v_rows.append(np.pad(v2, pad, constant_values=np.nan))
        i_rows.append(np.pad(i2, pad, constant_values=np.nan))
        names = list(iv.labels) if len(iv.labels) == v2.shape[0] else [""] * v2.shape[0]
        stem = os.path.splitext(os.path.basename(str(path)))[0]
        names = ["" if name in (stem, "0") and len(names) == 1 else name for name in names]
        labels += [f"{os.path.basename(str(path))}:{name}" if name else os.path.basename(str(path))
                   for name in names]
    return np.concatenate(v_rows), np.concatenate(i_rows), labels, data


def _check_outputs(inputs, outputs):
    real_inputs = {os.path.realpath(str(p)) for p in inputs}
    for out in outputs:
        if out is not None and os.path.realpath(str(out)) in real_inputs:
            raise UsageError(f"{out}: output path is also an input; refusing to overwrite it")


def _cmd_fit(args):
    import numpy as np

    import fitting
    from fitting import _export

    model = _build_model(args)
    _check_outputs(args.files, (args.out, args.plot))
    for path in args.files:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file")
    v, i, labels, _ = _read_all(args.files, args)
    single = v.shape[0] == 1
    res = fitting.fit(model, v[0] if single else v, i[0] if single else i,
                      method=args.method, max_steps=args.max_steps)
    print(res.summary() if single else res.summary(max_rows=args.max_rows))
    e = fitting.reversal_potential(res)
    for label, value, err in zip(labels, np.atleast_1d(np.asarray(e.value)),
                                 np.atleast_1d(np.asarray(e.stderr))):
        print(f"E_rev {label}: {value * 1e3:.3f} ± {err * 1e3:.3f} mV (stderr)")
    if args.out:
        _export.write_results(args.out, res, labels, e, files=args.files)
        print(f"results written to {args.out}")
    if args.plot:
        from fitting.plot import plot_batch_summary, plot_fit

        if len(labels) > args.max_rows:
            plot_batch_summary(res, path=args.plot)
        else:
            plot_fit(res, v[0] if single else v, i[0] if single else i, labels=labels,
                     path=args.plot)
        print(f"figure written to {args.plot}")
    return 0


def _cmd_iv(args):
    from fitting import io

    if args.out is None:
        raise UsageError("ionjax iv needs --out FILE.csv")
    _check_outputs(args.files, (args.out,))
    for path in args.files:
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file")
    v, i, labels, _ = _read_all(args.files, args)
    io.write_csv(args.out, io.IVData(v=v, i=i, labels=labels, metadata={"files": args.files}))
    print(f"{len(labels)} I-V curve(s) written to {args.out}")
    return 0


def _cmd_nernst(args):
    import ionjax

    z = args.z if args.z is not None else _ion_valence(args.ion)
    e = ionjax.nernst_potential(args.c_in, args.c_out, z, temperature=args.temperature)
    ionjax.validate_inputs(c_in=args.c_in, c_out=args.c_out, z=z, temperature=args.temperature)
    print(f"E_{args.ion or 'ion'} = {float(e) * 1e3:.2f} mV")
    return 0


def _cmd_ghk_voltage(args):
    import numpy as np

    import ionjax
    from fitting._quantities import parse_list

    ions = parse_list(args.ions)
    p = np.asarray(parse_list(args.p, "concentration"), float)
    c_in = np.asarray(parse_list(args.c_in, "concentration"))
    c_out = np.asarray(parse_list(args.c_out, "concentration"))
    z = np.asarray(parse_list(args.z, "concentration") if args.z else
                   [_ion_valence(n) for n in ions]).astype(int)
    if not (len(ions) == len(p) == len(c_in) == len(c_out) == len(z)):
        raise UsageError("give one --p, --c-in and --c-out value per ion")
    ionjax.validate_inputs(p=p, c_in=c_in, c_out=c_out, z=z, temperature=args.temperature)
    v = ionjax.ghk_voltage(p, c_in, c_out, z, temperature=args.temperature)
    print(f"V_rev = {float(v) * 1e3:.2f} mV")
    return 0


def _cmd_ljp(args):
    import ionjax
    from fitting._quantities import parse_solution

    ljp = ionjax.liquid_junction_potential(parse_solution(args.pipette), parse_solution(args.bath),
                                           temperature=args.temperature)
    print(f"LJP = {float(ljp) * 1e3:.2f} mV (bath relative to pipette; "
          f"V_membrane = V_command - LJP)")
    return 0


def _cmd_example(args):
    from fitting import _example

    return _example.run(args.out_dir, show_progress=not args.no_progress)


def _add_fit_options(p):
    p.add_argument("--ion", help="permeant ion for ghk models (name from the ion table, e.g. K)")
    p.add_argument("--ions", help="comma-separated ions for multi-ghk, e.g. Na,K")
    p.add_argument("--z", help="valence(s), default from the ion table")
    p.add_argument("--c-in", help="intracellular concentration(s), e.g. 140 or 10,130 (mM)")
    p.add_argument("--c-out", help="extracellular concentration(s) (mM)")
    p.add_argument("--reference", help="reference ion for permeability ratios (multi-ghk)")


def _add_recording_options(p):
    g = p.add_argument_group("recordings (ABF) and corrections")
    g.add_argument("--channel", type=int, default=0, help="ADC channel of the current (default 0)")
    g.add_argument("--window", help="measurement window 'start,stop': '60%%,95%%' of the step "
                                     "(default) or times after step onset '2.5ms,7.5ms'")
    g.add_argument("--statistic", default="mean", choices=("mean", "peak", "min", "max"))
    g.add_argument("--epoch", type=int, help="index of the test-step epoch (default: automatic)")
    g.add_argument("--command-channel", type=int,
                   help="ADC channel recording the command voltage (needed for user-list protocols)")
    g.add_argument("--leak", help="leak subtraction: 'ramp' or 'range:LO,HI' (mV)")
    g.add_argument("--ljp", type=_quantity("voltage"),
                   help="liquid junction potential, e.g. 3.18mV (V_m = V_cmd - LJP)")
    g.add_argument("--pipette", help="pipette solution for the LJP, e.g. K=140,gluconate=140")
    g.add_argument("--bath", help="bath solution for the LJP, e.g. Na=140,Cl=140")
    g.add_argument("--series-resistance", type=_quantity("resistance"),
                   help="series resistance, e.g. 10MOhm (V_m = V - I R_s (1 - compensation))")
    g.add_argument("--compensation", type=float, default=0.0,
                   help="fraction of R_s compensated by the amplifier, 0..1 (default 0)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="ionjax", description="Fit patch-clamp I-V recordings; ion-transport calculators. "
                                   "Units: mV, pA, mM unless written (e.g. 3.18mV, 22C).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit I-V data from CSV or ABF files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--model", required=True, choices=MODELS)
    p.add_argument("--temperature", type=_temperature, help="e.g. 22C or 295.15K")
    _add_fit_options(p)
    _add_recording_options(p)
    p.add_argument("--method", default="lm", choices=("lm", "lbfgs"))
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--out", help="results file (.json or .csv)")
    p.add_argument("--plot", help="figure file (.png, .pdf, .svg)")
    p.add_argument("--max-rows", type=int, default=10,
                   help="recordings shown one by one in the report and figure (default 10)")
    p.set_defaults(run=_cmd_fit)

    p = sub.add_parser("iv", help="extract I-V curves from ABF files into a CSV table")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--out", help="output CSV")
    p.add_argument("--temperature", type=_temperature, help="for an LJP from solutions")
    _add_recording_options(p)
    p.set_defaults(run=_cmd_iv)

    p = sub.add_parser("nernst", help="Nernst potential")
    p.add_argument("--ion", help="ion name (valence from the ion table)")
    p.add_argument("--z", type=int, help="valence (instead of --ion)")
    p.add_argument("--c-in", required=True, type=_quantity("concentration"))
    p.add_argument("--c-out", required=True, type=_quantity("concentration"))
    p.add_argument("--temperature", required=True, type=_temperature)
    p.set_defaults(run=_cmd_nernst)

    p = sub.add_parser("ghk-voltage", help="GHK reversal potential of several ions")
    p.add_argument("--ions", required=True, help="e.g. K,Na,Cl")
    p.add_argument("--p", required=True, help="relative permeabilities, e.g. 1,0.04,0.45")
    p.add_argument("--c-in", required=True)
    p.add_argument("--c-out", required=True)
    p.add_argument("--z", help="valences (default from the ion table)")
    p.add_argument("--temperature", required=True, type=_temperature)
    p.set_defaults(run=_cmd_ghk_voltage)

    p = sub.add_parser("ljp", help="liquid junction potential (Henderson)")
    p.add_argument("--pipette", required=True, help="e.g. K=140,gluconate=140")
    p.add_argument("--bath", required=True, help="e.g. Na=140,Cl=140")
    p.add_argument("--temperature", required=True, type=_temperature)
    p.set_defaults(run=_cmd_ljp)

    p = sub.add_parser("example", help="fit the bundled synthetic example and write a figure")
    p.add_argument("--out-dir", default=".", help="folder for the figure (default: here)")
    p.set_defaults(run=_cmd_example)
    return parser


def _enable_compilation_cache():
    """Persist compiled fits across runs of the command (XLA compiles in seconds, loads in ms).

    Uses $IONJAX_CACHE_DIR, else $XDG_CACHE_HOME/ionjax/xla or ~/.cache/ionjax/xla; an existing
    JAX cache setting is left alone; failure to create the folder just disables the cache.
    """
    import jax

    if jax.config.jax_compilation_cache_dir:
        return
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.environ.get("IONJAX_CACHE_DIR") or os.path.join(base, "ionjax", "xla")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def main(argv=None):
    """Entry point of the ``ionjax`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("fit", "example"):
        _enable_compilation_cache()
    if args.command == "nernst" and args.ion is None and args.z is None:
        parser.error("nernst needs --ion NAME or --z VALENCE")
    try:
        return args.run(args)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line unless --debug
        if args.debug:
            raise
        from fitting.io import InputError

        known = (InputError, UsageError, ValueError, OSError, ImportError)
        kind = "" if isinstance(exc, known) else f"internal error ({type(exc).__name__}): "
        message = str(exc) if not isinstance(exc, OSError) or not exc.filename else \
            f"{exc.filename}: {exc.strerror}"
        print(f"ionjax: error: {kind}{message}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
