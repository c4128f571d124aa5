"""The tail protocol: the instantaneous I-V of an open channel from its tail currents.

Each sweep's relaxation after the step to its tail voltage is fitted from a window that skips
the capacitive transient and extrapolated back to the step onset (``kinetics`` with
``origin=onset``); the open-channel I-V's reversal then comes from an ohmic fit and from the
points' own zero crossing; with ion options, a GHK fit is ranked against the ohmic one (AICc).
The analysis is ``tail_fit`` (``tail_iv``); the reading ``kinetics_read`` (with
``--voltage-channel`` each tail's voltage is the window mean of the recorded V_m).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from fitting.engine.status import USABLE, Status
from fitting.outputs.table import fit_rows, make_row
from fitting.protocols.base import (NO_CROSSING, Analysis, OptionError, Protocol, estimate_text,
                                    option, parse_window)
from fitting.protocols.ions import ion_field, resolve_ions
from fitting.protocols.kinetics import kinetics, passive
from fitting.protocols.tail_fit import TailIV, tail_iv
from fitting.recordings.errors import InputError

__all__ = ["Options", "PROTOCOL", "TailIV", "analyse", "draw", "extract", "ghk_options",
           "tail_iv"]


@dataclasses.dataclass(frozen=True)
class Options:
    """Options of the tail protocol (``ionjax analyze --protocol tail``)."""

    channel: int | None = option(help="ADC channel of the current (default 0)")
    window: str | None = option(help="fitted window 'start,stop' of the tail (default "
                                     "'2ms,30%')")
    epoch: int | None = option(help="index of the tail epoch (default: automatic)")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")
    voltage_channel: int | None = option(help="ADC channel recording the membrane potential "
                                              "(each tail's voltage: its mean over --window)")
    leak: str | None = option(help="leak subtraction: 'ramp' (the protocol's ramps)")
    ljp: float | None = option(help="liquid junction potential [V] (V_m = V_cmd - LJP)")
    series_resistance: float | None = option(help="series resistance [Ohm]")
    compensation: float = option(0.0, help="fraction of R_s compensated, 0..1")
    temperature: float | None = option(help="temperature [K], for the GHK fit")
    ion: str | None = ion_field("ion")
    z: str | None = ion_field("z")
    c_in: str | None = ion_field("c_in")
    c_out: str | None = ion_field("c_out")
    components: int | None = option(help="exponentials per sweep (default 1)", parse="int",
                                    choices=(1, 2))


def ghk_options(options: Options) -> dict | None:
    """The ghk= of ``tail_iv`` from the ion options (one ion or several: Na,K) and the
    temperature; None without ``ion``."""
    if options.ion is None:
        if any(getattr(options, k) is not None for k in ("z", "c_in", "c_out")):
            raise OptionError("--z, --c-in and --c-out describe the ions of --ion: give --ion")
        if options.temperature is not None:
            raise OptionError("--temperature is used with --ion (the GHK comparison)")
        return None
    ions, z, c_in, c_out = resolve_ions(options.ion, options.z, options.c_in, options.c_out,
                                        what="--model ghk")
    if options.temperature is None:
        raise OptionError("--ion needs --temperature (e.g. 22C) for the GHK comparison")
    out = dict(z=tuple(z), c_in=tuple(c_in), c_out=tuple(c_out),
               temperature=options.temperature)
    return dict(out, ions=tuple(ions)) if len(ions) > 1 else out


def extract(path, options: Options) -> tuple:
    """(path, relaxations of the tails) (``fitting.io.relaxations_from_abf``)."""
    from fitting.protocols.kinetics_read import relaxations_from_abf

    window = parse_window(options.window, ("2ms", "30%"))
    if options.leak not in (None, "ramp"):
        raise OptionError("--protocol tail takes --leak ramp (the leak line from the "
                          f"protocol's ramps); got {options.leak!r}")
    if options.compensation and options.series_resistance is None:
        raise OptionError("--compensation needs --series-resistance")
    if options.voltage_channel is not None and options.series_resistance is not None:
        raise OptionError("--series-resistance corrects the command for the drop across R_s; "
                          "a recorded membrane potential (--voltage-channel) has no such drop: "
                          "give one of them")
    r = relaxations_from_abf(path, channel=options.channel or 0, epoch=options.epoch,
                             window=window, current_unit=options.current_unit,
                             leak=options.leak, voltage_channel=options.voltage_channel)
    return path, r


def _interval_text(tl: TailIV) -> str:
    """The ohmic fit's E_rev and its 95% profile interval (an open end "unbounded"), or why
    there is none."""
    if tl.flags:
        return f"refused ({tl.status.name}: {'; '.join(tl.flags)})"
    status, value = Status(int(tl.ohmic.status)), float(tl.ohmic.params["e_rev"])
    if not np.isfinite(value):
        return f"not available ({status.message if status not in USABLE else NO_CROSSING})"
    e = tl.intervals["e_rev"]
    if np.isnan(float(e.lower)) and np.isnan(float(e.upper)):
        n = int(tl.ohmic.n_points)
        return (f"{value * 1e3:.2f} mV (a line through {n} points exactly: no residual to "
                "estimate the noise from, so no interval)")
    ends = [f"{x * 1e3:.2f}" if np.isfinite(x) else "unbounded"
            for x in (float(e.lower), float(e.upper))]
    return f"{value * 1e3:.2f} mV (95% profile {ends[0]} .. {ends[1]})"


def _refuse_passive(path, where: str, one, r: dict) -> None:
    """InputError where the relaxations (``one``: one exponential each) are a passive
    membrane's capacitive transient (``kinetics.passive``)."""
    why = passive(one, r.get("v_command", r["v"]) - r["v_before"])
    if why:
        raise InputError(f"{where}, window {r['t'][0] * 1e3:g}-{r['t'][-1] * 1e3:g} ms: {why}; "
                         "the file looks like a step I-V (ionjax iv, --protocol activation), "
                         "or start --window after the transient", path=path)


def _start_text(tl: TailIV, options: Options) -> str:
    """The suggestion for tails whose window starts inside the transient: a later start, the
    user's stop kept as written, and the sweeps that window would still refuse as
    extrapolated (their relaxation is over before the transient is)."""
    stop = parse_window(options.window, ("2ms", "30%"))[1]
    text = ("    the window starts inside a faster component (the capacitive transient, or a "
            "faster relaxation) in the sweeps refused above: "
            f"start it later, e.g. --window {tl.start * 1e3:.3g}ms,{stop}")
    if tl.unreachable:
        text += (f"; there sweep(s) {', '.join(map(str, tl.unreachable))} relax within 3 tau "
                 "of the onset and are refused as extrapolated: no later start measures them")
    return text


def analyse(data: tuple, options: Options) -> Analysis:
    """The instantaneous I-V, its ohmic (and GHK) fit and zero crossing, and the report.

    Args:
      data: ``extract``'s (path, relaxations dict).
      options: ``Options``.

    Returns:
      ``Analysis`` with ``result`` the ``TailIV``.
    """
    from fitting.engine.inference import reversal_potential
    from fitting.protocols.reversal import check_reversal

    path, r = data
    where = f"--protocol tail, epoch {r['epoch']}"
    levels = r.get("v_command", r["v"])
    if len(levels) > 1 and np.ptp(levels) == 0:
        raise InputError(f"{where}: the tails are all at {levels[0] * 1e3:g} mV, an isochronal "
                         "design (the step before them varies): --protocol isochronal reads "
                         "it; a tail I-V needs tails at several voltages", path=path)
    v = r["v"] - (options.ljp or 0.0)  # V_m = V_cmd - LJP
    vm_name = f"channel {options.voltage_channel}"
    try:
        tl = tail_iv(v, r["t"], r["i"], onset=0.0, components=options.components or 1,
                     ghk=ghk_options(options), series_resistance=options.series_resistance,
                     compensation=options.compensation, leak_current=r["leak"],
                     after=(r["t_after"], r["i_after"]), before=(r["t_before"], r["i_before"]),
                     vm=r.get("vm"), vm_name=vm_name)
    except ValueError as e:  # too few tails left (or the transient's): the command's words
        _refuse_passive(path, where, kinetics(r["t"], r["i"], origin=0.0), r)
        raise InputError(f"{where}: {e}", path=path) from None
    _refuse_passive(path, where, tl.kinetics if options.components in (None, 1) else
                    kinetics(r["t"], r["i"], origin=0.0), r)
    lines = [f"{path}: tails in epoch {r['epoch']}, fitted {r['t'][0] * 1e3:g}-"
             f"{r['t'][-1] * 1e3:g} ms and extrapolated to the onset, {len(tl.v)} sweeps"]
    rows = []
    # pA, or nA for a family reaching 1 nA (a two-electrode clamp's currents)
    big = np.any(np.abs(tl.i[np.isfinite(tl.i)]) >= 1e-9)
    factor, unit = (1e9, "nA") if big else (1e12, "pA")
    for s, v in enumerate(tl.v):
        status = tl.kinetics.status[s]
        if status == Status.NO_SIGNAL and np.isfinite(tl.i[s]):
            status = Status.CONVERGED  # the mean current used
        rows += [make_row(path, s, "v_tail", "V", v, status=status),
                 make_row(path, s, "i_instantaneous", "A", tl.i[s], tl.stderr[s],
                          status=status),
                 make_row(path, s, "tau1", "s", tl.kinetics.values["tau1"][s],
                          tl.kinetics.stderr["tau1"][s], status=tl.kinetics.status[s])]
        # a refused tail has no corrected voltage (V_m needs its current): name the sweep
        where = (f"{v * 1e3:7.1f} mV" if np.isfinite(v) else
                 f"sweep {s} ({r['v'][s] * 1e3:g} mV command)")
        lines.append(f"    {where}: {tl.i[s] * factor:9.2f} ± {tl.stderr[s] * factor:.2g} {unit}"
                     if np.isfinite(tl.i[s]) else f"    {where}"
                     + (f" (sweep {s})" if np.isfinite(v) else "")
                     + f": refused ({tl.kinetics.notes[s] or 'no finite current at the onset'})")
    ohmic = fit_rows(path, "ohmic", tl.ohmic, (), tl.intervals)
    if tl.flags:  # a flagged I-V: its status, no numbers (the lines say what was found)
        ohmic = [dict(row, value=np.nan, stderr=np.nan, lower=np.nan, upper=np.nan,
                      status=tl.status.name) for row in ohmic]
    rows += ohmic
    crossing = Status.CONVERGED if np.isfinite(tl.measured.value) else Status.NO_SIGNAL
    rows.append(make_row(path, "measured", "e_rev_measured", "V", tl.measured.value,
                         tl.measured.stderr, status=crossing))
    if tl.comparison is not None:
        rows += fit_rows(path, "ghk", tl.ghk, (), {})
        for m, name in enumerate(tl.comparison.names):
            rows += [make_row(path, name, "aicc", "1", tl.comparison.aicc[m], status=""),
                     make_row(path, name, "akaike_weight", "1", tl.comparison.weights[m],
                              status="")]
        lines.append("    " + str(tl.comparison).replace("\n", "\n    "))
    ok = np.isfinite(tl.i)
    for name, res in (("ohmic", tl.ohmic), ("ghk", tl.ghk)):
        if res is not None:  # warns where a fit's E_rev misses the points' crossing
            extra = check_reversal(res, tl.v[ok], tl.i[ok], reversal_potential(res),
                                   [f"{path} ({name} fit)"], emit=lines.append)
            rows += [make_row(path, name, key.replace("_from_measured", "_from_crossing"),
                              "1", np.ravel(x)[0], status="")
                     for key, x in extra.items() if key.startswith("P_")]
    if r.get("vm") is not None:
        lines.insert(1, f"    voltage: V_m recorded on {vm_name}, each tail's mean over the "
                        "window")
    if tl.start is not None:
        lines.append(_start_text(tl, options))
    lines += [f"    warning: {text}" for text in tl.warnings]
    lines.append(f"    ohmic fit: E_rev {_interval_text(tl)}; zero crossing of the points "
                 + estimate_text(float(tl.measured.value), float(tl.measured.stderr), 1e3, "mV",
                                 NO_CROSSING))
    return Analysis("tail", path, tl, "\n".join(lines), rows, [(str(path), dict(result=tl))])


def draw(panel: dict, ax) -> None:
    """The instantaneous I-V [mV, pA] with standard errors and its ohmic fit."""
    tl = panel["result"]
    ok = np.isfinite(tl.i)
    ax.errorbar(tl.v[ok] * 1e3, tl.i[ok] * 1e12, tl.stderr[ok] * 1e12, fmt="o", ms=3,
                label="instantaneous I (extrapolated)")
    g, e = float(tl.ohmic.params["g"]), float(tl.ohmic.params["e_rev"])
    if np.isfinite(g):
        grid = np.linspace(np.min(tl.v), np.max(tl.v), 50)
        ax.plot(grid * 1e3, g * (grid - e) * 1e12, "-", label=f"ohmic: E_rev {e * 1e3:.1f} mV")
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("I [pA]")
    ax.legend(fontsize=7)


PROTOCOL = Protocol("tail", "instantaneous I-V extrapolated to the step onset", Options,
                    extract, analyse, draw)
