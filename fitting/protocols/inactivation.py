"""The inactivation protocol (two pulses): steady-state inactivation h_inf.

The test-pulse current against the prepulse voltage,
I = i_max / (1 + exp((v_half - V)/slope)) (``BoltzmannCurrent``; slope < 0 for inactivation),
h_inf = I / i_max, with profile-likelihood intervals of v_half and slope; and the same with a
pedestal (a non-inactivating fraction 0 <= p < 1, ``BoltzmannPedestal``),
I = i_max [p + (1 - p) / (1 + exp((v_half - V)/slope))], i.e. h_inf = p + (1 - p) /
(1 + exp((V - V_1/2)/k)) with k = -slope. The model with the smaller AICc is chosen (the
pedestal only where its extra parameter pays for itself; a pedestal fit that is not usable,
e.g. p on its bound 0, is never chosen); both AICc are reported. The isochronal
protocol (``fitting.protocols.isochronal``) is the same analysis of the tail current at a fixed
voltage after a varied step.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from fitting.outputs.table import fit_rows, make_row
from fitting.protocols.base import Analysis, OptionError, Protocol, option, parse_window
from fitting.protocols.gating import boltzmann, check_voltage, fit_line

__all__ = ["Inactivation", "Options", "PROTOCOL", "analyse", "draw", "extract", "inactivation"]


@dataclasses.dataclass(frozen=True)
class Inactivation:
    """Steady-state inactivation [SI].

    Attributes:
      fit: ``FitResult`` of ``BoltzmannCurrent`` on (prepulse v, test current) (no pedestal).
      intervals: its profile intervals of ``v_half``, ``slope``.
      h: (..., n) I / i_max of the chosen model.
      pedestal: ``FitResult`` of ``BoltzmannPedestal`` (``pedestal`` p in [0, 1)).
      pedestal_intervals: its profile intervals of ``v_half``, ``slope``, ``pedestal``.
      aicc: dict "none" / "pedestal" -> (...,) AICc of each (NaN where a fit is not usable).
      chosen: (...,) bool, True where the pedestal model is chosen (smaller AICc).
    """

    fit: object
    intervals: dict
    h: np.ndarray
    pedestal: object = None
    pedestal_intervals: dict = dataclasses.field(default_factory=dict)
    aicc: dict = dataclasses.field(default_factory=dict)
    chosen: np.ndarray = False


def inactivation(v_pre: ArrayLike, i_test: ArrayLike, *, sigma: ArrayLike | None = None,
                 pedestal: bool = True) -> Inactivation:
    """Steady-state inactivation from a two-pulse protocol, with and without a pedestal, the
    model chosen by AICc (see the module).

    Args:
      v_pre: (..., n) or (n,) prepulse voltages [V].
      i_test: (..., n) test-pulse currents [A] (peak, signed).
      sigma: current noise SD [A], or None to estimate it from the residuals.
      pedestal: also fit the pedestal model and choose by AICc (False: the plain Boltzmann
        only; ``pedestal`` None, ``chosen`` False).

    Returns:
      ``Inactivation``.
    """
    from fitting.engine.batch import fit
    from fitting.engine.profile import profile_intervals
    from fitting.engine.status import usable
    from fitting.models import BoltzmannCurrent
    from fitting.models.pedestal import BoltzmannPedestal

    v_pre = check_voltage("v_pre", v_pre)
    i_test = np.asarray(i_test, float)
    res = fit(BoltzmannCurrent(), v_pre, i_test, sigma=sigma)
    intervals = profile_intervals(res, v_pre, i_test, ["v_half", "slope"], sigma=sigma)
    if not pedestal:
        return Inactivation(fit=res, intervals=intervals,
                            h=i_test / np.asarray(res.params["i_max"], float)[..., None],
                            chosen=np.zeros(np.shape(res.status), bool))
    ped = fit(BoltzmannPedestal(), v_pre, i_test, sigma=sigma)
    ped_intervals = profile_intervals(ped, v_pre, i_test, ["v_half", "slope", "pedestal"],
                                      sigma=sigma)
    aicc = {name: np.where(usable(r.status), np.asarray(r.aicc, float), np.nan)
            for name, r in (("none", res), ("pedestal", ped))}
    chosen = aicc["pedestal"] < np.where(np.isfinite(aicc["none"]), aicc["none"], np.inf)
    i_max = np.where(chosen, np.asarray(ped.params["i_max"], float),
                     np.asarray(res.params["i_max"], float))
    return Inactivation(fit=res, intervals=intervals, h=i_test / i_max[..., None], pedestal=ped,
                        pedestal_intervals=ped_intervals, aicc=aicc, chosen=chosen)


@dataclasses.dataclass(frozen=True)
class Options:
    """Options of the inactivation protocol (``ionjax analyze --protocol inactivation``)."""

    channel: int | None = option(help="ADC channel of the current (default 0)")
    window: str | None = option(help="window 'start,stop' in the test pulse (default '0%,30%')")
    statistic: str | None = option(help="statistic over the window (default peak)")
    epoch: int | None = option(help="index of the prepulse epoch (default: automatic)")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")
    leak: str | None = option(help="leak subtraction: 'ramp' (the protocol's ramps)")
    ljp: float | None = option(help="liquid junction potential [V]")
    series_resistance: float | None = option(help="series resistance [Ohm]")
    compensation: float = option(0.0, help="fraction of R_s compensated, 0..1")
    test_epoch: int | None = option(help="inactivation: index of the test pulse (default: the "
                                         "first fixed step after the prepulse, --epoch)",
                                    parse="int")


def _defaults(tails: bool) -> tuple:
    """(window, statistic) defaults: the tail's mean, or the test pulse's peak."""
    return (("2ms", "10%"), "mean") if tails else (("0%", "30%"), "peak")


def extract(path, options, *, tails: bool = False) -> tuple:
    """(path, window, IVData of prepulse voltage against test current) of a two-pulse
    recording (``fitting.io.two_pulse_from_abf``); ``tails``: the isochronal tail instead."""
    from fitting.protocols.twopulse_read import two_pulse_from_abf

    window, statistic = _defaults(tails)
    window = parse_window(options.window, window)
    name = "isochronal" if tails else "inactivation"
    if options.leak not in (None, "ramp"):
        raise OptionError(f"--protocol {name} takes --leak ramp (the leak line from the "
                          f"protocol's ramps); got {options.leak!r}")
    if options.compensation and options.series_resistance is None:
        raise OptionError("--compensation needs --series-resistance")
    iv = two_pulse_from_abf(path, channel=options.channel or 0, prepulse_epoch=options.epoch,
                            test_epoch=options.test_epoch, window=window,
                            statistic=options.statistic or statistic,
                            current_unit=options.current_unit, ljp=options.ljp, tails=tails,
                            leak=options.leak, series_resistance=options.series_resistance,
                            compensation=options.compensation)
    return path, window, iv


def _pedestal_report(path, label, res: Inactivation, text: str, rows: list) -> tuple:
    """The pedestal fit's line, both AICc and the choice; its rows (item ``h_inf_pedestal``,
    ``aicc`` of each, ``pedestal_chosen`` 1 or 0)."""
    chosen = "pedestal" if bool(res.chosen) else "none"
    why = ""
    refused = [k for k in ("none", "pedestal") if not np.isfinite(float(res.aicc[k]))]
    if len(refused) == 1:  # no comparison: the other fit was refused
        why = f" (the fit {'without' if refused[0] == 'none' else 'with'} a pedestal was refused)"
    text += "\n" + fit_line(f"{label} + pedestal", res.pedestal, (), res.pedestal_intervals)
    p, p_se = float(res.pedestal.params["pedestal"]), float(res.pedestal.stderr["pedestal"])
    aicc = {k: float(x) for k, x in res.aicc.items()}
    text += (f"\n    pedestal p {p:.3g} ± {p_se:.2g}; " if np.isfinite(p) else "\n    ") + (
        f"AICc: none {aicc['none']:.2f}, pedestal {aicc['pedestal']:.2f} -> chosen: {chosen}"
        .replace("nan", "-")) + why
    rows = rows + fit_rows(path, f"{label}_pedestal", res.pedestal, (), res.pedestal_intervals)
    rows += [make_row(path, name, "aicc", "1", aicc[key], status="")
             for key, name in (("none", label), ("pedestal", f"{label}_pedestal"))]
    rows.append(make_row(path, label, "pedestal_chosen", "1", float(chosen == "pedestal"),
                         status=""))
    return text, rows


def analyse(data: tuple, options, *, tails: bool = False) -> Analysis:
    """The Boltzmann fit of the test (or tail) current against the prepulse and the report.

    Args:
      data: ``extract``'s (path, window, IVData).
      options: ``Options`` (the statistic named in the report).
      tails: the isochronal protocol.

    Returns:
      ``Analysis`` with ``result`` the ``Inactivation``.
    """
    path, window, iv = data
    res = inactivation(iv.v, iv.i, pedestal=not tails)
    m = iv.metadata
    statistic = options.statistic or _defaults(tails)[1]
    text = (f"{path}: {'step' if tails else 'prepulse'} epoch {m['prepulse_epoch']}, "
            f"{'tail' if tails else 'test'} epoch {m['test_epoch']} at "
            f"{m['test_level_V'] * 1e3:g} mV, window {window[0]}-{window[1]} "
            f"({statistic}), {len(iv.v)} sweeps")
    label = "isochronal" if tails else "h_inf"
    text += "\n" + fit_line(label, res.fit, (), res.intervals)
    rows = fit_rows(path, label, res.fit, (), res.intervals)
    if res.pedestal is not None:
        text, rows = _pedestal_report(path, label, res, text, rows)
    return Analysis(label if tails else "inactivation", path, res, text, rows,
                    [(str(path), dict(result=res, v=iv.v))])


def draw(panel: dict, ax) -> None:
    """h = I / I_max against the prepulse voltage, and the fitted h_inf."""
    res = panel["result"]
    v = panel["v"]
    ax.plot(v * 1e3, res.h, "o", ms=3, label="I / I_max")
    best = res.pedestal if bool(res.chosen) else res.fit
    vh, k = float(best.params["v_half"]), float(best.params["slope"])
    p = float(best.params["pedestal"]) if bool(res.chosen) else 0.0
    if np.isfinite(vh):
        grid = np.linspace(np.min(v), np.max(v), 200)
        ax.plot(grid * 1e3, p + (1 - p) * boltzmann(grid, vh, k), "-",
                label=f"h_inf: V_1/2 {vh * 1e3:.1f} mV, k {k * 1e3:.1f} mV"
                      + (f", pedestal {p:.2f}" if p else ""))
    ax.set_xlabel("prepulse V [mV]")
    ax.set_ylabel("h")
    ax.legend(fontsize=7)


PROTOCOL = Protocol("inactivation", "Boltzmann of the test-pulse current vs the prepulse",
                    Options, extract, analyse, draw)
