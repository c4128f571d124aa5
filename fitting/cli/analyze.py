"""``ionjax analyze FILE... --protocol NAME``: protocol analyses of voltage-clamp recordings.

Protocols: ``membrane-test`` (``fitting.io.membrane_test_from_abf``), ``activation`` (step I-V
by ``fitting.io.read_files`` -> ``fitting.activation``: joint Boltzmann-ohmic fit and chord
conductance G-V), ``inactivation`` (``fitting.io.two_pulse_from_abf`` ->
``fitting.inactivation``), ``kinetics`` (``fitting.io.relaxations_from_abf`` ->
``fitting.kinetics``: one or two time constants per sweep), ``tail``
(``fitting.tail_iv``: the instantaneous I-V by extrapolating each tail's relaxation back to the
step onset, its ohmic fit and zero crossing), ``ramp`` (``fitting.io.ramp_iv_from_abf`` -> the measured reversal
(``fitting.measured_reversal``) and the slope conductance within 10 mV of it, per sweep; the
binned curves to ``--iv-out``).

The table is tidy: one row per file x sweep (or route) x quantity, with columns ``file``,
``item`` (sweep number, ``mean``, or the route), ``quantity``, ``unit`` (SI), ``value``,
``stderr``, ``lower``/``upper`` (95% profile-likelihood interval where one is computed) and
``status`` (a ``fitting.Status`` name); CSV or JSON by the extension of ``--out``.
"""

import math
import sys

import numpy as np

from fitting import io
from fitting.cli import interrupt
from fitting.cli.calculators import UsageError
from fitting.cli.analyze_options import check_options, tail_ions
from fitting.outputs.table import fit_rows, make_row, write_table

PROTOCOLS = ("membrane-test", "activation", "inactivation", "isochronal", "ramp", "kinetics",
             "tail")
SLOPE_SPAN = 0.01  # [V] each side of the reversal for the ramp's slope conductance


def _membrane(args, path):
    from fitting.protocols.membrane_fit import QUANTITIES, UNITS

    res, info = io.membrane_test_from_abf(path, channel=args.channel or 0, epoch=args.epoch,
                                          current_unit=args.current_unit)
    print(f"{path}: test step epoch {info['epoch']}, {res.v_hold * 1e3:g} -> "
          f"{res.v_step * 1e3:g} mV at {res.edge * 1e3:g} ms, {info['sweeps']} sweeps")
    rows = []
    for s in range(len(res.status)):
        rows += [make_row(path, s, q, UNITS[q], res.values[q][s], res.stderr[q][s],
                      status=res.status[s]) for q in QUANTITIES]
        rows += [make_row(path, s, "capacitance_from_charge", "F", res.capacitance_from_charge[s],
                      status=res.status[s]),
                 make_row(path, s, "misfit", "1", res.misfit[s], status=res.status[s])]
    for q, (m, se, n) in res.mean().items():
        rows.append(make_row(path, "mean", q, UNITS[q], m, se, status=""))
        scale, unit = {"Ohm": (1e-6, "MOhm"), "F": (1e12, "pF"), "s": (1e3, "ms"),
                       "A": (1e12, "pA")}[UNITS[q]]
        print(f"    {q:22s} {m * scale:10.4g} ± {se * scale:.2g} {unit} (mean ± SEM of "
              f"{n} sweeps)")
    misfit = float(np.nanmedian(res.misfit))
    print(f"    misfit (median over sweeps) {misfit:.2f}: about 1 when one exponential describes "
          "the transient" + ("" if misfit <= 2 else "; it does not here, so each sweep's "
                             "standard errors understate the uncertainty: use the spread over "
                             "sweeps (mean ± SEM above)"))
    args.panels.append((str(path), dict(result=res)))
    return rows


def _report(path, label, res, index, intervals=None):
    """One line per Boltzmann fit: V_1/2 and slope with their standard errors, the V_1/2
    profile interval, and a flag where that interval reaches beyond the recorded voltages (the
    midpoint is then an extrapolation the data hardly constrain)."""
    vh, k = res.params["v_half"][index] * 1e3, res.params["slope"][index] * 1e3
    if not np.isfinite(vh):
        print(f"    {label}: refused ({np.asarray(res.message)[index]})")
        return
    line = (f"    {label}: v_half {vh:.2f} ± {res.stderr['v_half'][index] * 1e3:.2g} mV, slope "
            f"{k:.2f} ± {res.stderr['slope'][index] * 1e3:.2g} mV")
    if intervals and "v_half" in intervals:
        lo = float(np.asarray(intervals["v_half"].lower)[index]) * 1e3
        hi = float(np.asarray(intervals["v_half"].upper)[index]) * 1e3
        v_lo, v_hi = (float(x) * 1e3 for x in np.asarray(res.v_range)[index])
        line += f"; V_1/2 95% profile [{lo:.1f}, {hi:.1f}] mV"
        if not (lo >= v_lo - 0.5 * (v_hi - v_lo) and hi <= v_hi + 0.5 * (v_hi - v_lo)):
            line += (f" -- reaches beyond the recorded {v_lo:.0f}..{v_hi:.0f} mV: the curve "
                     "does not saturate there, V_1/2 is poorly determined")
    print(line + f" ({np.asarray(res.message)[index]})")


def _activation(args, data):
    import fitting

    ghk = None
    if args.ion is not None:  # a GHK-rectifying channel of one ion: the GHK-corrected route
        from fitting.cli.commands import build_model

        if args.e_rev is not None:
            raise UsageError("--e-rev and --ion exclude each other: with --ion the reversal is "
                             "the ion's Nernst potential")
        args.model, args.ions, args.reference = "boltzmann-ghk", None, None
        m = build_model(args)
        ghk = dict(z=m.z, c_in=m.c_in, c_out=m.c_out, temperature=m.temperature)
    elif any(getattr(args, k) is not None for k in ("z", "c_in", "c_out")):
        raise UsageError("--z, --c-in and --c-out describe the ion of --ion: give --ion too")
    a = fitting.activation(data.v, data.i, e_rev=args.e_rev, ghk=ghk)
    route = "chord" if ghk is None else "ghk"
    rows = []
    sources = data.metadata.get("sources") or [data.metadata]
    for r, label in enumerate(data.labels):
        source = sources[r] if len(sources) == len(data.labels) else {}
        name = source.get("source", label)
        epoch = source.get("epoch")
        print(f"{name}: activation, {np.sum(np.isfinite(data.i[r]))} steps"
              + (f" (test step: epoch {epoch}; --epoch names another)" if epoch is not None
                 else ""))
        _report(label, "joint I-V fit ", a.joint, r, a.joint_intervals)
        _report(label, f"{route} G-V".ljust(14), a.gv, r, a.gv_intervals)
        args.panels.append((name, dict(result=a, index=r, v=data.v)))
        rows += fit_rows(name, "joint", a.joint, r, a.joint_intervals)
        rows += fit_rows(name, route, a.gv, r, a.gv_intervals,
                          extra=[("e_rev_used", "V", a.e_rev[r])])
    return rows


def _inactivation(args, path):
    import fitting

    from fitting.protocols.twopulse_read import two_pulse_from_abf
    from fitting.recordings.units import parse_list

    tails = args.protocol == "isochronal"
    window = tuple(parse_list(args.window)) if args.window else \
        (("2ms", "10%") if tails else ("0%", "30%"))
    if args.leak not in (None, "ramp"):
        raise UsageError(f"--protocol {args.protocol} takes --leak ramp (the leak line from the "
                         f"protocol's ramps); got {args.leak!r}")
    if args.compensation and args.series_resistance is None:
        raise UsageError("--compensation needs --series-resistance")
    iv = two_pulse_from_abf(path, channel=args.channel or 0, prepulse_epoch=args.epoch,
                            test_epoch=args.test_epoch, window=window,
                            statistic=args.statistic or ("mean" if tails else "peak"),
                            current_unit=args.current_unit, ljp=args.ljp, tails=tails,
                            leak=args.leak, series_resistance=args.series_resistance,
                            compensation=args.compensation)
    res = fitting.inactivation(iv.v, iv.i)
    m = iv.metadata
    print(f"{path}: {'step' if tails else 'prepulse'} epoch {m['prepulse_epoch']}, "
          f"{'tail' if tails else 'test'} epoch {m['test_epoch']} at "
          f"{m['test_level_V'] * 1e3:g} mV, window {window[0]}-{window[1]} "
          f"({args.statistic or ('mean' if tails else 'peak')}), {len(iv.v)} sweeps")
    label = "isochronal" if tails else "h_inf"
    _report(path, label, res.fit, (), res.intervals)
    args.panels.append((str(path), dict(result=res, v=iv.v)))
    return fit_rows(path, label, res.fit, (), res.intervals)


def _slope_conductance(v, i, e):
    """Least-squares slope [S] and its standard error of the points within SLOPE_SPAN of e."""
    near = np.isfinite(v) & np.isfinite(i) & (np.abs(v - e) <= SLOPE_SPAN)
    if not np.isfinite(e) or near.sum() < 3:
        return math.nan, math.nan
    x, y = v[near] - v[near].mean(), i[near]
    g = np.sum(x * y) / np.sum(x * x)
    resid = y - y.mean() - g * x
    return g, math.sqrt(np.sum(resid ** 2) / (near.sum() - 2) / np.sum(x * x))


def _ramp(args, path):
    import fitting

    from fitting.cli.commands import _leak
    from fitting.protocols.ramp_read import ramp_iv_from_abf

    iv = ramp_iv_from_abf(path, channel=args.channel or 0, epoch=args.epoch,
                          bin_width=1e-3 if args.bin_width is None else args.bin_width,
                          leak=_leak(args.leak),
                          ljp=args.ljp, current_unit=args.current_unit)
    e = fitting.measured_reversal(iv.v, iv.i)
    m = iv.metadata
    print(f"{path}: ramp epoch {m['epoch']}, {m['ramp_V'][0] * 1e3:g} -> "
          f"{m['ramp_V'][1] * 1e3:g} mV, {len(iv.labels)} sweeps, "
          f"{m['bin_width_V'] * 1e3:g} mV bins")
    rows = []
    for s in range(len(iv.labels)):
        g, g_se = _slope_conductance(iv.v[s], iv.i[s], e.value[s])
        ok = np.isfinite(e.value[s])
        status = 0 if ok else 6  # NO_SIGNAL: the current does not cross zero beyond its noise
        rows += [make_row(path, s, "e_rev_measured", "V", e.value[s], e.stderr[s], status=status),
                 make_row(path, s, "slope_conductance_at_e_rev", "S", g, g_se, status=status)]
        print(f"    sweep {s}: E_rev {e.value[s] * 1e3:.2f} ± {e.stderr[s] * 1e3:.2g} mV, "
              f"slope conductance {g * 1e9:.3g} ± {g_se * 1e9:.2g} nS")
    args.curves = iv  # written with the table, once every file is analysed
    args.panels.append((str(path), dict(iv=iv, reversal=e)))
    return rows


def _kinetics(args, path):
    import fitting

    from fitting.protocols.kinetics_read import relaxations_from_abf
    from fitting.recordings.units import parse_list

    window = tuple(parse_list(args.window)) if args.window else ("1ms", "100%")
    r = relaxations_from_abf(path, channel=args.channel or 0, epoch=args.epoch, window=window,
                             current_unit=args.current_unit)
    k = fitting.kinetics(r["t"], r["i"], components=args.components or 1)
    print(f"{path}: epoch {r['epoch']}, window {r['t'][0] * 1e3:g}-{r['t'][-1] * 1e3:g} ms, "
          f"{len(r['v'])} sweeps, {args.components or 1} exponential(s)")
    rows = []
    for s, v in enumerate(r["v"]):
        rows.append(make_row(path, s, "v_step", "V", v, status=k.status[s]))
        for name, unit in (("c", "A"), ("a1", "A"), ("tau1", "s"), ("a2", "A"), ("tau2", "s")):
            if name in k.values:
                rows.append(make_row(path, s, name, unit, k.values[name][s], k.stderr[name][s],
                                 status=k.status[s]))
        taus = ", ".join(f"{k.values[n][s] * 1e3:.4g} ± {k.stderr[n][s] * 1e3:.2g} ms"
                         for n in ("tau1", "tau2") if n in k.values)
        print(f"    {v * 1e3:7.1f} mV: " + (f"tau {taus}" if np.isfinite(k.values["tau1"][s])
                                            else f"refused ({_message(k.status[s])})"))
    args.panels.append((str(path), dict(result=k, v=r["v"])))
    return rows


def _tail(args, path):
    import fitting

    from fitting.protocols.kinetics_read import relaxations_from_abf
    from fitting.recordings.units import parse_list

    window = tuple(parse_list(args.window)) if args.window else ("2ms", "30%")
    if args.leak not in (None, "ramp"):
        raise UsageError("--protocol tail takes --leak ramp (the leak line from the protocol's "
                         f"ramps); got {args.leak!r}")
    r = relaxations_from_abf(path, channel=args.channel or 0, epoch=args.epoch, window=window,
                             current_unit=args.current_unit, leak=args.leak)
    if args.compensation and args.series_resistance is None:
        raise UsageError("--compensation needs --series-resistance")
    v = r["v"] - (args.ljp or 0.0)  # V_m = V_cmd - LJP
    tl = fitting.tail_iv(v, r["t"], r["i"], onset=0.0, components=args.components or 1,
                         ghk=tail_ions(args), series_resistance=args.series_resistance,
                         compensation=args.compensation, leak_current=r["leak"])
    print(f"{path}: tails in epoch {r['epoch']}, fitted {r['t'][0] * 1e3:g}-"
          f"{r['t'][-1] * 1e3:g} ms and extrapolated to the onset, {len(tl.v)} sweeps")
    rows = []
    for s, v in enumerate(tl.v):
        status = tl.kinetics.status[s]
        status = 0 if status == 6 and np.isfinite(tl.i[s]) else status  # mean current used
        rows += [make_row(path, s, "v_tail", "V", v, status=status),
                 make_row(path, s, "i_instantaneous", "A", tl.i[s], tl.stderr[s], status=status),
                 make_row(path, s, "tau1", "s", tl.kinetics.values["tau1"][s],
                      tl.kinetics.stderr["tau1"][s], status=tl.kinetics.status[s])]
        print(f"    {v * 1e3:7.1f} mV: " + (
            f"{tl.i[s] * 1e12:9.2f} ± {tl.stderr[s] * 1e12:.2g} pA" if np.isfinite(tl.i[s])
            else f"refused ({_message(status)})"))
    rows += fit_rows(path, "ohmic", tl.ohmic, (), tl.intervals)
    rows.append(make_row(path, "measured", "e_rev_measured", "V", tl.measured.value,
                     tl.measured.stderr, status=0 if np.isfinite(tl.measured.value) else 6))
    if tl.comparison is not None:
        rows += fit_rows(path, "ghk", tl.ghk, (), {})
        for m, name in enumerate(tl.comparison.names):
            rows += [make_row(path, name, "aicc", "1", tl.comparison.aicc[m], status=""),
                     make_row(path, name, "akaike_weight", "1", tl.comparison.weights[m],
                              status="")]
        print("    " + str(tl.comparison).replace("\n", "\n    "))
    from fitting.cli.reversal import check_reversal

    ok = np.isfinite(tl.i)
    for name, res in (("ohmic", tl.ohmic), ("ghk", tl.ghk)):
        if res is not None:  # warns where a fit's E_rev misses the points' crossing
            extra = check_reversal(res, tl.v[ok], tl.i[ok], fitting.reversal_potential(res),
                                   [f"{path} ({name} fit)"])
            rows += [make_row(path, name, key.replace("_from_measured", "_from_crossing"),
                              "1", np.ravel(x)[0], status="")
                     for key, x in extra.items() if key.startswith("P_")]
    e = tl.intervals["e_rev"]
    print(f"    ohmic fit: E_rev {float(tl.ohmic.params['e_rev']) * 1e3:.2f} mV (95% profile "
          f"{float(e.lower) * 1e3:.2f} .. {float(e.upper) * 1e3:.2f}); zero crossing of the "
          f"points {float(tl.measured.value) * 1e3:.2f} ± {float(tl.measured.stderr) * 1e3:.2g}"
          " mV")
    args.panels.append((str(path), dict(result=tl)))
    return rows


def _message(status):
    """A relaxation fit's status in words (UNIDENTIFIABLE: its time constant exceeds the
    window, see ``fitting.kinetics``)."""
    from fitting.engine.status import Status

    if int(status) == Status.UNIDENTIFIABLE:
        return "time constant not pinned down: longer than the window"
    return Status(int(status)).message


def cmd_analyze(args):
    check_options(args)
    rows, args.panels = [], []
    if args.protocol == "activation":
        from fitting.cli.commands import read_recordings

        rows = _activation(args, read_recordings(args))
    else:
        for path in args.files:
            rows += {"membrane-test": _membrane, "inactivation": _inactivation,
                     "isochronal": _inactivation,
                     "ramp": _ramp, "kinetics": _kinetics, "tail": _tail}[args.protocol](
                         args, path)
            interrupt.check()
    if args.out is not None:
        write_table(args.out, rows, files=args.files)
        print(f"results written to {args.out}")
    if args.plot is not None:
        from fitting.cli.analyze_plot import figure

        figure(args.protocol, args.panels, args.plot)
        print(f"figure written to {args.plot}")
    if args.iv_out is not None:
        io.write_csv(args.iv_out, args.curves)
        print(f"ramp I-V curves written to {args.iv_out}")
    if not any(r["status"] in ("CONVERGED", "MAX_STEPS") for r in rows):
        print("ionjax: error: no usable result (see the status column)", file=sys.stderr)
        return 3
    return 0
