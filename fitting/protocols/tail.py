"""The tail protocol: the instantaneous I-V of an open channel from its tail currents.

Each sweep's relaxation after the step to its tail voltage is fitted from a window that skips
the capacitive transient and extrapolated back to the step onset (``kinetics`` with
``origin=onset``); the open-channel I-V's reversal then comes from an ohmic fit and from the
points' own zero crossing; with ion options, a GHK fit is ranked against the ohmic one (AICc).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import USABLE, Status
from fitting.outputs.table import fit_rows, make_row
from fitting.protocols.base import (NO_CROSSING, Analysis, OptionError, Protocol, estimate_text,
                                    option, parse_window)
from fitting.protocols.gating import check_voltage
from fitting.protocols.ions import ion_field, resolve_ions
from fitting.protocols.kinetics import kinetics, passive
from fitting.protocols.relaxation_checks import faster_component
from fitting.protocols.reversal import flag_ohmic
from fitting.recordings.errors import InputError

__all__ = ["Options", "PROTOCOL", "TailIV", "analyse", "draw", "extract", "ghk_options",
           "tail_iv"]


@dataclasses.dataclass(frozen=True)
class TailIV:
    """The instantaneous I-V of a tail protocol [SI].

    Attributes:
      v: (S,) tail voltages [V].
      i: (S,) currents at the tail onset [A], each sweep's relaxation extrapolated back to it.
      stderr: (S,) their standard errors [A].
      kinetics: the ``Kinetics`` of the relaxations.
      ohmic: ``FitResult`` of ``Ohmic`` on (v, i) (g, e_rev).
      intervals: its profile intervals of ``g`` and ``e_rev``.
      measured: ``ReversalPotential`` where the points themselves cross zero.
      ghk: ``FitResult`` of the GHK model on the same points (``GHK`` for one ion,
        ``MultiIonGHK`` with permeability ratios for several), or None.
      comparison: ``fitting.compare`` of the ohmic and GHK fits (AICc, Akaike weights), or None.
      status: the ohmic I-V's ``Status``: the fit's, or a flag where it is not believable
        (``flag_ohmic``); ``flags``: why, one line each; ``warnings``: E_rev extrapolated
        beyond the tail voltages within the margin; ``start``: the window start [s] suggested
        where a window began inside a faster component (``faster_component``), else None.
    """

    v: np.ndarray
    i: np.ndarray
    stderr: np.ndarray
    kinetics: object
    ohmic: object
    intervals: dict
    measured: object
    ghk: object = None
    comparison: object = None
    status: object = Status.CONVERGED
    flags: tuple = ()
    warnings: tuple = ()
    start: float | None = None


def tail_iv(v: ArrayLike, t: ArrayLike, i: ArrayLike, *, onset: float = 0.0, components: int = 1,
            ghk: dict | None = None, series_resistance: float | None = None,
            compensation: float = 0.0, leak_current: ArrayLike | None = None,
            after: tuple | None = None) -> TailIV:
    """Instantaneous I-V from tail currents: each sweep's relaxation after the step to its tail
    voltage, fitted from a window that skips the capacitive transient, extrapolated back to the
    step onset (``fitting.kinetics`` with ``origin=onset``); then the open-channel I-V's
    reversal: an ohmic fit (unweighted, its noise from the residuals, so a rectifying I-V widens
    the interval; compare models with ``fitting.compare``) and the points' own zero crossing.
    A sweep without a relaxation (``NO_SIGNAL``, e.g. at the reversal) contributes its mean
    current and that mean's standard error.

    Args:
      v: (S,) tail voltages [V].
      t: (n,) sample times [s] of the window (after the onset).
      i: (S, n) currents [A].
      onset: time of the step to the tail voltage [s] (<= t[0]).
      components: exponentials per relaxation (1 or 2).
      ghk: dict(z=, c_in= [mM], c_out= [mM], temperature= [K]), scalars for one ion or
        sequences for several (with optional ``reference=`` index and ``ions=`` names): the
        GHK model is fitted to the same points and compared with the ohmic one by AICc
        (is the open channel ohmic or GHK-rectifying?), with permeability ratios for several
        ions.
      series_resistance: R_s [Ohm], or None: each tail voltage becomes the membrane's,
        V_m = V - I_total R_s (1 - compensation), with I_total the instantaneous current plus
        ``leak_current`` (the current that flows through R_s; (S,) [A], default 0).
      compensation: compensated fraction of R_s, in [0, 1).
      after: None or (t_after (m,) [s], i_after (S, m) [A]), the current after the window:
        a one-exponential tail whose window starts inside a faster component (the capacitive
        transient's tail) is refused (``fitting.protocols.relaxation_checks``).

    Returns:
      ``TailIV`` (``v`` the corrected voltages when ``series_resistance`` is given).
    """
    from fitting.engine.batch import fit
    from fitting.engine.inference import measured_reversal
    from fitting.engine.profile import profile_intervals
    from fitting.models import Ohmic

    v = check_voltage("v", v)
    if v.size > 1 and np.ptp(v) == 0:
        raise ValueError(f"the tails are all at {v[0] * 1e3:g} mV: a tail I-V needs tails at "
                         "several voltages (an isochronal design: fit the tail current "
                         "against the step before it, fitting.inactivation)")
    k = kinetics(t, i, components=components, origin=onset)
    k, start = faster_component(k, t, i, *after, onset) if after is not None else (k, None)
    inst, se = k.values["at_origin"], k.stderr["at_origin"]
    # no relaxation (a tail voltage near the reversal): the current is its own mean
    flat = k.status == Status.NO_SIGNAL
    i = np.atleast_2d(np.asarray(i, float))
    inst = np.where(flat, i.mean(axis=1), inst)
    se = np.where(flat, i.std(axis=1, ddof=1) / np.sqrt(i.shape[1]), se)
    if series_resistance is not None:
        if not (series_resistance >= 0 and 0 <= compensation < 1):
            raise ValueError(f"series_resistance must be >= 0 Ohm and compensation in [0, 1); "
                             f"got {series_resistance}, {compensation}")
        total = inst + (0.0 if leak_current is None else np.asarray(leak_current, float))
        v = v - total * series_resistance * (1 - compensation)
    ok = np.isfinite(inst) & np.isfinite(se) & np.isfinite(v)
    # unweighted, noise from the residuals: a curved (rectifying) I-V widens the intervals
    # instead of hiding behind the small extrapolation errors
    res = fit(Ohmic(), v, np.where(ok, inst, 0.0), mask=ok)
    intervals = profile_intervals(res, v, np.where(ok, inst, 0.0), mask=ok)
    measured = measured_reversal(v[ok], inst[ok], noise=None)
    ghk_res = comparison = None
    if ghk is not None:
        from fitting.engine.comparison import compare
        from fitting.models import GHK, MultiIonGHK

        several = np.ndim(ghk["z"]) > 0 and len(ghk["z"]) > 1
        model = MultiIonGHK(**ghk) if several else GHK(
            **{k: (np.ravel(x)[0] if k in ("z", "c_in", "c_out") else x)
               for k, x in ghk.items() if k not in ("reference", "ions")})
        ghk_res = fit(model, v, np.where(ok, inst, 0.0), mask=ok)
        comparison = compare({"ohmic": res, "ghk": ghk_res})
    status, flags, warnings = flag_ohmic(res, intervals, v[ok])
    return TailIV(v=v, i=inst, stderr=se, kinetics=k, ohmic=res, intervals=intervals,
                  measured=measured, ghk=ghk_res, comparison=comparison, status=status,
                  flags=flags, warnings=warnings, start=start)


@dataclasses.dataclass(frozen=True)
class Options:
    """Options of the tail protocol (``ionjax analyze --protocol tail``)."""

    channel: int | None = option(help="ADC channel of the current (default 0)")
    window: str | None = option(help="fitted window 'start,stop' of the tail (default "
                                     "'2ms,30%')")
    epoch: int | None = option(help="index of the tail epoch (default: automatic)")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")
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
    r = relaxations_from_abf(path, channel=options.channel or 0, epoch=options.epoch,
                             window=window, current_unit=options.current_unit,
                             leak=options.leak)
    if options.compensation and options.series_resistance is None:
        raise OptionError("--compensation needs --series-resistance")
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
    ends = [f"{x * 1e3:.2f}" if np.isfinite(x) else "unbounded"
            for x in (float(e.lower), float(e.upper))]
    return f"{value * 1e3:.2f} mV (95% profile {ends[0]} .. {ends[1]})"


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
    if len(r["v"]) > 1 and np.ptp(r["v"]) == 0:
        raise InputError(f"{where}: the tails are all at {r['v'][0] * 1e3:g} mV, an isochronal "
                         "design (the step before them varies): --protocol isochronal reads "
                         "it; a tail I-V needs tails at several voltages", path=path)
    v = r["v"] - (options.ljp or 0.0)  # V_m = V_cmd - LJP
    tl = tail_iv(v, r["t"], r["i"], onset=0.0, components=options.components or 1,
                 ghk=ghk_options(options), series_resistance=options.series_resistance,
                 compensation=options.compensation, leak_current=r["leak"],
                 after=(r["t_after"], r["i_after"]))
    one = tl.kinetics if options.components in (None, 1) else kinetics(r["t"], r["i"], origin=0.0)
    why = passive(one, r["v"] - r["v_before"])
    if why:
        raise InputError(f"{where}, window {r['t'][0] * 1e3:g}-{r['t'][-1] * 1e3:g} ms: {why}; "
                         "the file looks like a step I-V (ionjax iv, --protocol activation), "
                         "or start --window after the transient", path=path)
    lines = [f"{path}: tails in epoch {r['epoch']}, fitted {r['t'][0] * 1e3:g}-"
             f"{r['t'][-1] * 1e3:g} ms and extrapolated to the onset, {len(tl.v)} sweeps"]
    rows = []
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
        lines.append(f"    {where}: " + (
            f"{tl.i[s] * 1e12:9.2f} ± {tl.stderr[s] * 1e12:.2g} pA" if np.isfinite(tl.i[s])
            else f"refused ({tl.kinetics.notes[s] or 'no finite current at the onset'})"))
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
    if tl.start is not None:
        lines.append(f"    the window starts inside the capacitive transient in the sweeps refused "
                     f"above: start it later, e.g. --window {tl.start * 1e3:.2g}ms,30%")
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
