"""``ionjax analyze FILE... --protocol NAME``: protocol analyses of voltage-clamp recordings.

Implemented: ``membrane-test`` (``fitting.io.membrane_test_from_abf``). One table row per file
and sweep, plus one ``mean`` row per file (mean over the usable sweeps, stderr = SD / sqrt(n)),
every quantity in SI with its unit in the column name and its standard error beside it.
"""

import csv
import json
import math
import os

from fitting import io
from fitting.app import interrupt
from fitting.app.calculators import UsageError
from fitting.io.atomic import atomic_path

PROTOCOLS = ("membrane-test",)


def _columns():
    from fitting.engine.membrane import QUANTITIES, UNITS

    names = []
    for q in QUANTITIES:
        names += [f"{q}_{UNITS[q]}", f"{q}_{UNITS[q]}_stderr"]
    return names + ["capacitance_from_charge_F", "misfit"]


def _rows(path, res):
    from fitting.engine.membrane import QUANTITIES, UNITS
    from fitting.engine.status import message

    rows = []
    for s in range(len(res.status)):
        row = dict(file=os.path.basename(path), sweep=s, status=int(res.status[s]),
                   message=str(message(int(res.status[s]))))
        for q in QUANTITIES:
            row[f"{q}_{UNITS[q]}"] = float(res.values[q][s])
            row[f"{q}_{UNITS[q]}_stderr"] = float(res.stderr[q][s])
        row["capacitance_from_charge_F"] = float(res.capacitance_from_charge[s])
        row["misfit"] = float(res.misfit[s])
        rows.append(row)
    mean = dict(file=os.path.basename(path), sweep="mean", status="", message="")
    for q, (m, se, n) in res.mean().items():
        mean[f"{q}_{UNITS[q]}"], mean[f"{q}_{UNITS[q]}_stderr"] = m, se
    mean["capacitance_from_charge_F"] = mean["misfit"] = float("nan")
    return rows + [mean]


def _write(out, rows):
    fields = ["file", "sweep", "status", "message"] + _columns()
    with atomic_path(out) as tmp:
        if out.lower().endswith(".csv"):
            with open(tmp, "w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=fields)
                writer.writeheader()
                writer.writerows([{k: ("" if isinstance(v, float) and math.isnan(v) else v)
                                   for k, v in r.items()} for r in rows])
        else:
            with open(tmp, "w") as handle:
                json.dump(dict(protocol="membrane-test", rows=[
                    {k: (None if isinstance(v, float) and math.isnan(v) else v)
                     for k, v in r.items()} for r in rows]), handle, indent=1)


def cmd_analyze(args):
    if args.protocol not in PROTOCOLS:
        raise UsageError(f"--protocol {args.protocol!r} is not implemented; choose from "
                         f"{', '.join(PROTOCOLS)}")
    if args.out is not None and not args.out.lower().endswith((".csv", ".json")):
        raise UsageError(f"{args.out}: results must be .json or .csv")
    for path in args.files:
        if args.out is not None and os.path.realpath(path) == os.path.realpath(args.out):
            raise UsageError(f"{args.out}: output path is also an input; refusing to overwrite")
    rows = []
    for path in args.files:
        res, info = io.membrane_test_from_abf(path, channel=args.channel, epoch=args.epoch)
        interrupt.check()
        print(f"{path}: test step epoch {info['epoch']}, {res.v_hold * 1e3:g} -> "
              f"{res.v_step * 1e3:g} mV at {res.edge * 1e3:g} ms, {info['sweeps']} sweeps")
        for q, (m, se, n) in res.mean().items():
            scale, unit = {"Ohm": (1e-6, "MOhm"), "F": (1e12, "pF"), "s": (1e3, "ms"),
                           "A": (1e12, "pA")}[_unit(q)]
            print(f"    {q:22s} {m * scale:10.4g} ± {se * scale:.2g} {unit} (n = {n})")
        rows += _rows(path, res)
    if args.out is not None:
        _write(args.out, rows)
        print(f"results written to {args.out}")
    return 0


def _unit(q):
    from fitting.engine.membrane import UNITS

    return UNITS[q]
