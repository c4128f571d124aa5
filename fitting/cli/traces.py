"""``ionjax traces FILE... --temperature 22C --out res.csv --plot fit.png``: a gating model fitted
to whole current traces (``fitting.fit_traces``), every cell of every file in one batched call.

Inputs (``fitting.recordings.trace_files``): CSV tables of time, voltage and current (one or
more current columns); the sweeps of ABF, NWB and WinWCP recordings, each a cell with its
command as the voltage; the dataset folder of Beattie et al. (2018) (its cells' temperatures
read with it). The points ``--mask-edges`` after each step edge of the command are left out (the
capacitive transients; 5 ms as in the paper). The reversal is ``--e-rev`` or Nernst for the
model's ion at ``--temperature``. The report is one line per cell; ``--out`` the tidy table
(one row per cell and parameter, SI, with 95% profile-likelihood intervals under
``--intervals``, and each cell's E_rev, noise SD, misfit and loss); ``--plot`` the protocol,
the data with the fit and the residuals of the first cells.
"""

from __future__ import annotations

import argparse

import numpy as np

from fitting.cli import interrupt
from fitting.cli.calculators import UsageError
from fitting.cli.inputs import EXIT_NO_RESULT, check_output_formats, expand_folders
from fitting.outputs.table import make_row, write_table

__all__ = ["COMMAND", "MODELS", "add_traces_parser", "cmd_traces"]

MODELS = {"beattie2018": "the hERG model of Beattie et al. 2018 (I = g a r (V - E_K), 9 "
                         "parameters)"}


def add_traces_parser(sub, temperature, quantity, positive_int) -> None:
    """The ``traces`` subcommand's arguments (``fitting.cli.main`` builds the parser)."""
    p = sub.add_parser("traces", help="fit a gating model to whole current traces (CSV of t, V, "
                                      "I; ABF/NWB sweeps with their command; the Beattie et al. "
                                      "2018 folder)")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="a CSV table (time_ms,voltage_mV,cellA [nA],...: one column per cell, "
                        "units in the headers), an ABF/NWB recording (each sweep a cell, its "
                        "command as V), a folder of them, or the Beattie et al. 2018 dataset "
                        "folder (sine_wave_protocol.mat and the cells' currents)")
    p.add_argument("--model", default="beattie2018", choices=tuple(MODELS),
                   help="; ".join(f"{k}: {h}" for k, h in MODELS.items()) + " (others: "
                        "fitting.models.trace.hh_gates / markov_scheme in Python)")
    p.add_argument("--temperature", type=temperature,
                   help="e.g. 21.5C or 294.65K (a bare number: degC up to 100, K from 200): "
                        "E_rev by Nernst for the model's ion (K: 130 mM in, 4 mM out); a "
                        "dataset's own temperatures are used without it")
    p.add_argument("--e-rev", type=quantity("voltage"), help="the reversal, e.g. -88mV, "
                                                            "instead of --temperature")
    p.add_argument("--cells", help="fit only these cells, by label, comma-separated (e.g. "
                                   "16713110,16708060; the labels as the report prints them)")
    p.add_argument("--mask-edges", type=quantity("time"), default=5e-3,
                   help="left out after each step edge of the command (default 5ms; 0 keeps all)")
    p.add_argument("--starts", type=positive_int, default=8,
                   help="starting points per cell (default 8)")
    p.add_argument("--max-noise", type=quantity("current"), default=None,
                   help="largest plausible noise SD (default 1nA; raise it for a two-electrode "
                        "clamp, e.g. 50nA)")
    p.add_argument("--channel", type=int, default=0, help="ADC channel of the current "
                                                          "(recordings; default 0)")
    p.add_argument("--current-unit", help="unit of a recording's currents, overriding its label")
    p.add_argument("--intervals", action="store_true",
                   help="95%% profile-likelihood intervals of every parameter in --out")
    p.add_argument("--out", help="results file (.csv, .json, .parquet or .nwb)")
    p.add_argument("--plot", help="figure file (.png, .pdf, .svg): the first --max-rows cells")
    p.add_argument("--max-rows", type=positive_int, default=4,
                   help="cells drawn in --plot (default 4)")


MAX_REVERSAL = 0.4  # [V] RT/F ln(1e6) at 37 C is 0.37 V


def _reversal(args, data) -> dict:
    """fit_traces' temperature= or e_rev= from the options or the files."""
    if args.temperature is not None and args.e_rev is not None:
        raise UsageError("give --temperature (E_rev by Nernst) or --e-rev, not both")
    if args.e_rev is not None:
        if not abs(args.e_rev) <= MAX_REVERSAL:
            raise UsageError(f"--e-rev {args.e_rev * 1e3:g} mV: no reversal potential lies beyond "
                             f"+-{MAX_REVERSAL * 1e3:g} mV (Nernst for a 1e6-fold gradient)")
        return dict(e_rev=args.e_rev)
    if args.temperature is not None:
        return dict(temperature=args.temperature)
    known = np.isfinite(data["temperature"])
    if known.all():
        return dict(temperature=data["temperature"])
    missing = [label for label, k in zip(data["labels"], known) if not k][:3]
    raise UsageError(f"no temperature for {', '.join(map(str, missing))}: give --temperature "
                     "(E_rev by Nernst for the model's ion) or --e-rev")


def _select(data: dict, cells: str) -> dict:
    """The cells named in ``--cells`` (labels, comma-separated), in the files' order."""
    wanted = [c.strip() for c in cells.split(",") if c.strip()]
    labels = [str(label) for label in data["labels"]]
    unknown = [c for c in wanted if c not in labels]
    if unknown or not wanted:
        raise UsageError(f"--cells {cells!r}: no cell {', '.join(unknown) or '(none given)'}; "
                         f"the files hold {', '.join(labels[:12])}"
                         f"{' ...' if len(labels) > 12 else ''}")
    keep = [k for k, label in enumerate(labels) if label in wanted]
    return dict(data, v=data["v"][keep], i=data["i"][keep], temperature=data["temperature"][keep],
                labels=[data["labels"][k] for k in keep], files=[data["files"][k] for k in keep])


def _note(res, c, name, intervals) -> str:
    """What a parameter row's numbers assume: sigma known, independent samples; where the
    residuals exceed the noise, the scaled error and that even it is a lower bound."""
    from fitting.engine.trace_result import MISFIT_LOW, MISFIT_WARN

    parts = []
    m = float(res.misfit[c])
    if res.usable[c] and m > MISFIT_WARN:
        parts.append(f"misfit {m:.2g}: the model misses the data by more than the noise; stderr "
                     f"(sigma known) understates the uncertainty at least {m:.2g}-fold "
                     f"(stderr_scaled {res.stderr_scaled[name][c]:.3g}; correlated residuals "
                     "widen it further)")
    elif res.usable[c] and m < MISFIT_LOW:
        parts.append(f"misfit {m:.2g}: sigma overestimates the noise, stderr too wide")
    if name in intervals and res.usable[c]:
        parts.append("lower/upper: profile likelihood, sigma known, samples independent")
    return "; ".join(parts)


def _rows(res, data, intervals) -> list:
    """One row per cell and parameter [SI], then each cell's e_rev, sigma, misfit and loss."""
    rows = []
    for c, (label, path) in enumerate(zip(data["labels"], data["files"])):
        status = int(res.status[c])
        for name in res.model.param_names:
            box = intervals.get(name)
            ends = None if box is None else (float(box.lower[c]), float(box.upper[c]))
            rows.append(dict(make_row(path, label, name, res.model.si_unit(name),
                                      res.params[name][c], res.stderr[name][c], ends, status),
                             notes=_note(res, c, name, intervals)))
        rows += [dict(make_row(path, label, quantity, unit, value, status=""), notes="")
                 for quantity, unit, value in (("e_rev", "V", res.e_rev[c]),
                                               ("sigma", "A", res.sigma[c]),
                                               ("misfit", "1", res.misfit[c]),
                                               ("loss", "1", res.loss[c]))]
    return rows


def cmd_traces(args: argparse.Namespace) -> int:
    """``ionjax traces``: read, fit, report, write."""
    import os

    from fitting.recordings.model import ReadOptions
    from fitting.recordings.trace_files import read_traces

    check_output_formats(args.out, args.plot)
    if args.mask_edges < 0 or (args.max_noise is not None and args.max_noise <= 0):
        raise UsageError("--mask-edges must be >= 0 and --max-noise > 0")
    tables = [f for f in args.files if str(f).lower().endswith((".csv", ".tsv", ".txt"))]
    if tables and (args.current_unit is not None or args.channel != 0):
        raise UsageError(f"--current-unit and --channel apply to recordings; {tables[0]} is a "
                         "table, whose header names each column's unit (e.g. 'cellA [nA]')")
    folders = [f for f in args.files if os.path.isdir(f) and
               os.path.isfile(os.path.join(f, "sine_wave_protocol.mat"))]  # a dataset: whole
    files = folders + expand_folders([f for f in args.files if f not in folders],
                                     [args.out, args.plot]) if len(folders) < len(args.files) \
        else folders
    data = read_traces(files, ReadOptions(channel=args.channel,
                                          current_unit=args.current_unit))
    if args.cells is not None:
        data = _select(data, args.cells)
    interrupt.check()
    from fitting.engine.traces import fit_traces, step_edge_mask
    from fitting.models.trace import beattie2018

    dt = float(np.median(np.diff(data["t"])))
    mask = step_edge_mask(data["v"], dt, duration=args.mask_edges) if args.mask_edges > 0 \
        else None
    extra = {} if args.max_noise is None else dict(max_noise=args.max_noise)
    res = fit_traces(data["t"], data["v"], data["i"], model=beattie2018(), mask=mask,
                     starts=args.starts, **_reversal(args, data), **extra)
    interrupt.check()
    print(res.summary(labels=data["labels"]))
    intervals = {}
    if args.intervals:
        from fitting.engine.trace_profile import trace_profile_intervals

        intervals = trace_profile_intervals(res)
    if args.out:
        write_table(args.out, _rows(res, data, intervals), files=files,
                    provenance=dict(command="ionjax traces", model=args.model,
                                    mask_edges=args.mask_edges, starts=args.starts))
        print(f"results written to {args.out}")
    if args.plot:
        from fitting.cli.trace_plot import plot_traces

        plot_traces(res, res.predict(), data["labels"], args.plot, args.max_rows)
        print(f"figure written to {args.plot}")
    return 0 if res.usable.any() else EXIT_NO_RESULT


COMMAND = {"traces": cmd_traces}
