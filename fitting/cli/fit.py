"""``ionjax fit FILE... --model NAME``: fit I-V data (tables or recordings) with a model of the
registry (``fitting.models.registry``), print the summary and the reversal potentials, write
the results (one row per recording, with its source file and corrections, and with
``--intervals`` the profile-likelihood interval of every parameter) and a figure."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from fitting import engine  # lazy packages: jax loads on first use
from fitting.cli import interrupt
from fitting.cli.calculators import UsageError
from fitting.cli.inputs import (
    EXIT_NO_RESULT,
    check_output_formats,
    provenance,
    read_recordings,
    recording_options,
    report_skipped,
)
from fitting.cli.progress import progress_bar
from fitting.engine.status import Status, usable
from fitting.engine.summary import extrapolation_warning
from fitting.outputs.columns import strict_json
from fitting.outputs.results import write_results
from fitting.protocols.reversal import check_reversal

__all__ = ["COMMAND", "build_model", "cmd_fit", "fast_compile", "row_text"]


def _reference(ions, name):
    """Index of the --reference ion among --ions (case-insensitive); the first ion if omitted."""
    if name is None:
        return 0
    matches = [k for k, ion in enumerate(ions) if ion.lower() == name.strip().lower()]
    if not matches:
        raise UsageError(f"--reference {name} is not one of --ions {','.join(ions)}")
    return matches[0]


def _arity_names(arity: str) -> str:
    """The registered models taking ``arity`` ions, for messages."""
    from fitting.models.registry import MODELS

    return ", ".join(name for name, entry in MODELS.items() if entry.ions == arity)


def build_model(name: str, ion: str | None = None, ions: str | None = None,
                z: str | None = None, c_in: str | None = None, c_out: str | None = None,
                reference: str | None = None, temperature: float | None = None, *,
                solutions: bool = False):
    """The registered model ``name`` built with its ion options (text as typed; temperature
    [K]); ``solutions``: an LJP from solutions uses the temperature. UsageError for options the
    model does not take or lacks."""
    from fitting.models.registry import Ions, model_entry
    from fitting.protocols.ions import resolve_ions

    entry = model_entry(name)
    given = dict(ion=ion, ions=ions, z=z, c_in=c_in, c_out=c_out, reference=reference)
    ion_options = [f"--{k.replace('_', '-')}" for k, value in given.items() if value]
    if entry.ions == "none":
        if ion_options:
            raise UsageError(f"--model {name} takes no ion options; got "
                             f"{', '.join(ion_options)}")
        if temperature is not None and not solutions:
            raise UsageError(f"--temperature is used by ghk models and by an LJP from "
                             f"--pipette/--bath; --model {name} has neither")
        return entry.make(None)
    if ion and ions:
        raise UsageError("give either --ion or --ions, not both")
    if reference is not None and entry.ions != "several":
        raise UsageError(f"--reference applies to {_arity_names('several')}, not --model "
                         f"{name}")
    names, zs, inside, outside = resolve_ions(ions or ion, z, c_in, c_out,
                                              what=f"--model {name}")
    if temperature is None:
        raise UsageError(f"--model {name} needs --temperature (e.g. 22C or 295.15K)")
    if entry.ions == "one" and len(names) != 1:
        raise UsageError(f"--model {name} takes one ion; use {_arity_names('several')} for "
                         f"{names}")
    index = _reference(names, reference) if entry.ions == "several" else 0
    return entry.make(Ions(tuple(names), tuple(zs), tuple(inside), tuple(outside),
                           temperature, index))


def row_text(data, channel_given: bool = False) -> dict:
    """Per recording of ``data`` (an IVData, one file or several stacked): ``source`` (its
    file), ``corrections`` (the corrections applied to it, as JSON) and ``notes`` (the notes
    of its file's reading, which stderr says once for all the files they concern)."""
    from fitting.protocols.steady_iv import source_notes

    n = len(data.labels)
    sources = data.metadata.get("sources")
    counts = data.metadata.get("rows_per_source")
    if sources is None or counts is None:
        sources, counts = [data.metadata], [n]
    source, corrections, notes = [], [], []
    for meta, count in zip(sources, counts):
        source += [str(meta.get("source", ""))] * count
        corrections += [strict_json(meta.get("corrections", []))] * count
        notes += ["; ".join(source_notes(meta, channel_given))] * count
    return {"source": source[:n], "corrections": corrections[:n], "notes": notes[:n]}


def cmd_fit(args: argparse.Namespace) -> int:
    """``ionjax fit``: fit, print the summary and reversal potentials, write --out/--plot."""
    model = build_model(args.model, args.ion, args.ions, args.z, args.c_in, args.c_out,
                        args.reference, args.temperature, solutions=bool(args.pipette or
                                                                         args.bath))
    check_output_formats(args.out, args.plot)
    data = read_recordings(args.files, recording_options(args), outputs=(args.out, args.plot),
                           progress=not args.no_progress)
    single = data.shape[0] == 1
    v, i = (data.v[0], data.i[0]) if single else (data.v, data.i)
    # a point without a voltage is padding (recordings of unequal length), not a masked point
    res = engine.fit(model, v, i, mask=np.isfinite(v), method=args.method,
                      max_steps=args.max_steps, fast_compile=fast_compile(data.shape[0], data.i.shape[-1]),
                      progress=progress_bar(not args.no_progress, "fitting", "fit"))
    intervals = None
    if args.out and args.intervals:  # first: the interval rule may refuse a fit (issue 23)
        from fitting.engine.quality import refuse_unidentified

        res, intervals, _ = refuse_unidentified(
            res, engine.profile_intervals(res, v, i, mask=np.isfinite(v)))
    # the reasons of the fits refused on the host (an E_rev far outside the recorded voltages,
    # a parameter not pinned down), in the parameter's own words
    notes = np.full(len(data.labels), "", object) if res.notes is None else np.ravel(res.notes)
    for label, note in zip(data.labels, notes):
        if note:
            print(f"refused: {label}: {note}")
    print(res.summary() if single else res.summary(max_rows=args.max_rows, labels=data.labels))
    e = engine.reversal_potential(res)
    status = np.atleast_1d(np.asarray(res.status))
    ranges = np.reshape(np.asarray(res.v_range, float), (-1, 2))
    for label, value, err, code, v_range, note in zip(
            data.labels, np.atleast_1d(np.asarray(e.value)), np.atleast_1d(np.asarray(e.stderr)),
            status, ranges, notes):
        if np.isfinite(value) and err == 0:  # one permeant ion: its Nernst potential
            print(f"E_rev {label}: {value * 1e3:.3f} mV (fixed by the concentrations, not "
                  "fitted)")
        elif np.isfinite(value) and np.isfinite(err):
            print(f"E_rev {label}: {value * 1e3:.3f} ± {err * 1e3:.3f} mV (stderr)")
        elif np.isfinite(value):
            print(f"E_rev {label}: {value * 1e3:.3f} mV (stderr undefined: no degrees of freedom)")
        else:
            status = Status(int(code))
            why = ("the fitted current does not cross zero" if usable(status)
                   else note or status.message)
            print(f"E_rev {label}: not available ({why})")
        # the summary warns of a fitted e_rev parameter where it shows each recording
        far = extrapolation_warning("E_rev", value, v_range)
        if far and ("e_rev" not in res.params or len(data.labels) > args.max_rows):
            print(f"warning: {label}: {far}")
    extra = check_reversal(res, v, i, e, data.labels)
    interrupt.check()
    if args.plot:  # first: drawing is the slow part, and an interrupt then leaves no output
        from fitting.cli.plot import (  # matplotlib: only when asked
            plot_batch_summary,
            plot_fit,
        )

        if len(data.labels) > args.max_rows:
            plot_batch_summary(res, path=args.plot)
        else:
            plot_fit(res, v, i, labels=data.labels, path=args.plot)
    interrupt.check()
    if args.out:
        write_results(args.out, res, data.labels, e, files=args.files,
                         provenance=provenance(args, data), extra=extra, intervals=intervals,
                         text=row_text(data, args.channel is not None))
        print(f"results written to {args.out}")
    if args.plot:
        print(f"figure written to {args.plot}")
    code = report_skipped(data)
    if not np.any(usable(np.asarray(res.status))):
        print("ionjax: error: no recording gave a usable fit (see the statuses above)",
              file=sys.stderr)
        return code or EXIT_NO_RESULT
    return code


def fast_compile(n_recordings: int, n_points: int) -> bool:
    """A command that fits up to one block of recordings compiles fast (the run is short
    anyway); a larger job gets the optimised program. $IONJAX_FAST_COMPILE decides if set
    (``driver.default_fast_compile``: on for fits of up to its size bound).

    Args:
      n_recordings: the number of recordings (rows) to fit.
      n_points: the number of points of each recording.
    """
    from fitting.engine import driver

    if os.environ.get("IONJAX_FAST_COMPILE") is not None:
        return driver.default_fast_compile(n_points)
    return n_recordings <= driver.block_size()


COMMAND = {"fit": cmd_fit}
