"""Checks that a fitted relaxation is the channel's, not the recording's: refused sweeps get
NaN values, ``Status.OUT_OF_RANGE`` and a note naming what was found (``refuse``).

* ``faster_component`` (tails): a window that starts inside a fast component (the capacitive
  transient's tail) fits that component: its exponential is over within the window while the
  current after the window keeps relaxing, and its extrapolation to the step onset is the
  transient's, not the channel's. With I(t) = c + a exp(-(t - t_o) / tau) fitted on
  [t_0, t_1), the sweep is refused when (t_1 - t_0) / tau >= 3 (the fit says the relaxation is
  over) and the mean current over the span after the window departs from the fit's
  continuation in the relaxation's own direction (sign -a) by more than 3 standard errors
  (sqrt(se_c^2 + sd^2 / m), sd the noise of the window's last tenth, m samples) and by more
  than 10% of the change the fit follows inside the window,
  |a| (exp(-(t_0 - t_o) / tau) - exp(-(t_1 - t_o) / tau)). The suggested start is where the
  fast component falls below the noise: t_o + tau ln(|a| / sd).
* ``extrapolated`` (tails): an amplitude at the onset t_o fitted from a window that starts at
  t_0 is a(t_o) = a(t_0) exp((t_0 - t_o) / tau): the window's amplitude, its error and any
  departure from one exponential before the window (a delay, the transient) are multiplied by
  that factor. The sweep is refused where it exceeds ``EXTRAPOLATION`` = 20 (t_0 - t_o > ln 20
  = 3.0 tau: more than 95% of the relaxation is over before the window begins, so the window
  sees less than 5% of what is reported), or where an amplitude's standard error exceeds the
  amplitude itself (the fit does not tell its sign). The shortest tau of a two-exponential fit
  counts. (hcn2 --window 12ms,30ms, -70 mV: tau 1.72 ms, 7.0 tau, +20135 ± 2.7e5 pA where the
  recording is about -455 pA.)
* ``earlier_start`` (tails): a window that starts after a component has ended (a delay, a
  faster relaxation) fits the slower one alone, and its extrapolation to the onset misses what
  the window does not see. The same exponential is fitted again from half-way to the onset,
  t_o + (t_0 - t_o) / 2 (when that is at least ``TRANSIENT`` after the onset), to the same stop;
  one exponential over both spans gives the same onset current. The sweep is refused where
  the two differ by more than 3 standard errors (sqrt(se_1^2 + se_2^2)) and by more than 5%
  (half the window's move already moves it: the whole gap moves it more),
  or where the longer window gives no single exponential at all. (hcn2 --window 200ms,800ms,
  -55 mV: -456.5 +- 14 pA, from 100 ms -373.9 +- 4.8 pA, from 2 ms -311.8 pA.)
* ``clamp_settling`` (two-electrode clamp): a relaxation fitted while the recorded membrane
  potential V_m still moves is the clamp settling (a current charging the membrane towards
  the command), not a channel at a constant voltage. V_m settles at the first time after which
  it stays within max(1 mV, 3 SD of its noise) of its final level (the window's last tenth);
  the sweep is refused when that time is later than t_0 + tau (the shortest tau) (a V_m whose
  final tenth is not steady within ``CLAMP_SPREAD`` is left to ``clamp_lost``).
* ``clamp_lost``: V_m spans more than ``fitting.recordings.stepiv.CLAMP_SPREAD`` over the
  window, the rule of the step I-V: the clamp did not hold, the window has no one voltage.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import Status
from fitting.protocols.steady_band import current_text
from fitting.recordings.stepiv import CLAMP_SPREAD

__all__ = ["EXTRAPOLATION", "TRANSIENT", "clamp_lost", "clamp_settling", "earlier_start",
           "extrapolated", "faster_component", "recorded_clamp", "refuse"]

EXTRAPOLATION = 20.0  # largest factor exp((t_0 - t_o) / tau) an onset amplitude may carry
TRANSIENT = 2e-3  # [s]: the capacitive transient's span after a step (the default window start)
SETTLED = 1e-3  # [V]: V_m within this (or 3 SD of its noise) of its final level has settled


def refuse(k, which: ArrayLike, notes: dict) -> object:
    """``k`` (a ``Kinetics``) with the sweeps ``which`` (bool (S,)) refused: NaN values and
    errors, ``Status.OUT_OF_RANGE``, ``notes[s]`` their notes; the others unchanged."""
    which = np.asarray(which, bool)
    if not which.any():
        return k
    status = np.where(which, Status.OUT_OF_RANGE, k.status)
    values = {n: np.where(which, np.nan, x) for n, x in k.values.items()}
    stderr = {n: np.where(which, np.nan, x) for n, x in k.stderr.items()}
    old = list(k.notes) if len(k.notes) == len(which) else [""] * len(which)
    return dataclasses.replace(k, values=values, stderr=stderr, status=status,
                               notes=tuple(notes.get(s, old[s]) for s in range(len(which))))


def _ms(x: float) -> str:
    return f"{x * 1e3:.3g} ms"


def faster_component(k, t: ArrayLike, i: ArrayLike, t_after: ArrayLike, i_after: ArrayLike,
                     origin: float) -> tuple:
    """Refuse the tails whose window starts inside a faster component (see the module).

    Args:
      k: the ``Kinetics`` of one exponential per sweep fitted on (t, i) with ``origin``.
      t: (n,) window times [s]; i: (S, n) currents [A].
      t_after: (m,) times after the window [s]; i_after: (S, m) currents there [A] (m = 0:
        the window reaches the epoch's end, nothing to check).
      origin: the time [s] the amplitudes refer to (the step onset).

    Returns:
      (the ``Kinetics`` with those sweeps refused, the suggested window start [s] or None).
    """
    t, i = np.asarray(t, float), np.atleast_2d(np.asarray(i, float))
    t_after, i_after = np.asarray(t_after, float), np.atleast_2d(np.asarray(i_after, float))
    if t_after.size < 3 or "tau2" in k.values:
        return k, None
    c, a, tau = k.values["c"], k.values["a1"], k.values["tau1"]
    tail = i[:, -max(t.size // 10, 2):]
    sd = np.std(tail, axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        continued = c[:, None] + a[:, None] * np.exp(-(t_after - origin) / tau[:, None])
        departure = np.mean(i_after - continued, axis=1)
        se = np.sqrt(k.stderr["c"] ** 2 + sd ** 2 / t_after.size)
        change = np.abs(a) * (np.exp(-(t[0] - origin) / tau) - np.exp(-(t[-1] - origin) / tau))
        over = (t[-1] - t[0]) / tau >= 3
        which = (np.isfinite(tau) & over & (np.sign(departure) == -np.sign(a))
                 & (np.abs(departure) > 3 * se) & (np.abs(departure) > 0.1 * change))
        start = origin + tau * np.log(np.abs(a) / sd)
    notes = {}
    for s in np.flatnonzero(which):
        notes[s] = (f"the window starts inside a faster component (the capacitive transient's "
                    f"tail, or a second, faster relaxation): its fitted tau {_ms(tau[s])} is "
                    f"over within the window, yet the current keeps relaxing after it (by "
                    f"{'+' if departure[s] > 0 else ''}{current_text(departure[s])} on average "
                    f"over the next "
                    f"{_ms(t_after[-1] - t[-1])}), so the extrapolation to the onset "
                    f"({current_text(c[s] + a[s])}) is that component's; start --window "
                    f"after {_ms(start[s])}")
    suggested = float(np.max(start[which])) if which.any() else None
    return refuse(k, which, notes), suggested


def extrapolated(k, t0: float, origin: float) -> tuple:
    """Refuse the tails whose amplitudes at the origin are the fit's extrapolation over many
    time constants, or not pinned down (see the module).

    Args:
      k: the ``Kinetics`` fitted with ``origin`` from a window starting at ``t0`` [s].
      t0: the window's first sample time [s]; origin: the step onset [s] (<= t0).

    Returns:
      (the ``Kinetics`` with those sweeps refused, bool (S,) the sweeps refused here).
    """
    taus = [k.values[n] for n in ("tau1", "tau2") if n in k.values]
    tau = np.fmin.reduce(taus) if len(taus) > 1 else taus[0]
    amps = [n for n in ("a1", "a2") if n in k.values]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        spans = (t0 - origin) / tau
        loose = np.any([k.stderr[n] > np.abs(k.values[n]) for n in amps], axis=0)
    far = spans > np.log(EXTRAPOLATION)
    which = np.isfinite(tau) & (far | loose)
    notes = {}
    for s in np.flatnonzero(which):
        at = current_text(k.values["at_origin"][s], k.stderr["at_origin"][s])
        notes[s] = (f"extrapolated {spans[s]:.1f} tau back to the onset (tau {_ms(tau[s])}, the "
                    f"window from {_ms(t0 - origin)}): its {at} there is the fit's guess, not "
                    f"a measurement; start --window earlier (within {np.log(EXTRAPOLATION):.0f} "
                    f"tau, before {_ms(tau[s] * np.log(EXTRAPOLATION))})" if far[s] else
                    f"the amplitude at the onset ({at}) is not pinned down: its standard error "
                    f"exceeds it (extrapolated {spans[s]:.1f} tau, tau {_ms(tau[s])})")
    return refuse(k, which, notes), which


def earlier_start(k, t: ArrayLike, i: ArrayLike, t_before: ArrayLike, i_before: ArrayLike,
                  origin: float, refit: Callable, onset: tuple | None = None) -> object:
    """Refuse the tails whose onset current moves when the window starts half-way to the onset
    (see the module).

    Args:
      k: the ``Kinetics`` fitted on (t, i) with ``origin``.
      t: (n,) window times [s]; i: (S, n) currents [A].
      t_before: (b,) times between the onset and the window [s]; i_before: (S, b) [A].
      origin: the step onset [s].
      refit: (t, i) -> the ``Kinetics`` of the same fit (components, origin) on other samples.
      onset: None or (current (S,), SE (S,)) [A], the onset currents as reported (a sweep
        without a relaxation, ``NO_SIGNAL``: its mean); default ``k``'s extrapolations. A
        sweep flat in the longer window too is compared by that window's mean, and checked
        again from half-way to the onset of that window, down to ``TRANSIENT``, as is every
        level of a sweep reported by its mean: a relaxation that is over before a late window
        leaves it flat, its mean far from the onset.

    Returns:
      the ``Kinetics`` with those sweeps refused.
    """
    t, i = np.asarray(t, float), np.atleast_2d(np.asarray(i, float))
    t_before, i_before = np.asarray(t_before, float), np.atleast_2d(np.asarray(i_before, float))
    at, se = (k.values["at_origin"], k.stderr["at_origin"]) if onset is None else onset
    pending, which, notes, first = np.isfinite(at), np.zeros(at.shape, bool), {}, t[0]
    mean = k.status == Status.NO_SIGNAL  # reported by its window mean: checked at every level
    while pending.any():  # a sweep flat from half-way too is checked from half-way again
        half = origin + (first - origin) / 2
        keep = t_before >= half
        if half - origin < TRANSIENT or keep.sum() < 2:
            break
        longer = np.concatenate([i_before[:, keep], i], axis=1)
        k2 = refit(np.concatenate([t_before[keep], t]), longer)
        flat = k2.status == Status.NO_SIGNAL
        at2 = np.where(flat, longer.mean(axis=1), k2.values["at_origin"])
        se2 = np.where(flat, longer.std(axis=1, ddof=1) / np.sqrt(longer.shape[1]),
                       k2.stderr["at_origin"])
        with np.errstate(invalid="ignore"):
            moved = (np.abs(at - at2) > 3 * np.hypot(se, se2)) & (np.abs(at - at2)
                                                                  > 0.05 * np.abs(at))
        lost = ~np.isfinite(at2)
        now = pending & (moved | lost)
        for s in np.flatnonzero(now):
            found = (current_text(at2[s], se2[s]) if not lost[s] else
                     f"no single relaxation ({(k2.notes[s] or 'refused').split(':')[0]})")
            notes[s] = (f"the onset current {current_text(at[s], se[s])} from the window "
                        f"moves with its start: from {_ms(half - origin)} it is {found}; a "
                        "component before the window (a delay, or a faster relaxation) is "
                        "missing from the extrapolation; start --window earlier (e.g. "
                        f"{TRANSIENT * 1e3:g}ms, after the transient)")
        which |= now
        pending &= ~now & (flat | mean)
        first = half
    return refuse(k, which, notes)


def _settled_at(t: np.ndarray, vm: np.ndarray) -> tuple:
    """(time [s] from which V_m stays within its tolerance of its final level, final [V],
    tolerance [V]) of one sweep."""
    last = vm[-max(vm.size // 10, 2):]
    final, tol = float(last.mean()), max(SETTLED, 3 * float(np.std(last, ddof=1)))
    outside = np.flatnonzero(np.abs(vm - final) > tol)
    return (t[0] if outside.size == 0 else t[min(outside[-1] + 1, t.size - 1)]), final, tol


def clamp_settling(k, t: ArrayLike, vm: ArrayLike, channel: str) -> tuple:
    """Refuse the relaxations fitted while the recorded V_m still settles (see the module).

    Args:
      k: the ``Kinetics`` fitted on the window t.
      t: (n,) window times [s] from the epoch's onset; vm: (S, n) V_m over it [V].
      channel: the V_m channel as the report names it (e.g. "channel 1 (IN 1)").

    Returns:
      (the ``Kinetics`` with those sweeps refused, the latest settling time [s] or None).
    """
    t, vm = np.asarray(t, float), np.atleast_2d(np.asarray(vm, float))
    tau = np.fmin(k.values["tau1"], k.values.get("tau2", k.values["tau1"]))
    notes, late = {}, []
    for s in range(vm.shape[0]):
        settled, final, tol = _settled_at(t, vm[s])
        if np.isfinite(tau[s]) and settled > t[0] + tau[s] and tol <= CLAMP_SPREAD:
            late.append(settled)
            notes[s] = (f"the clamp is still settling: V_m ({channel}) reaches within "
                        f"{tol * 1e3:.2g} mV of its final {final * 1e3:.4g} mV only at "
                        f"{_ms(settled)}, after the fitted tau {_ms(tau[s])}: the relaxation is "
                        f"the clamp's, not a channel's at one voltage; start --window at "
                        f"{_ms(settled)}")
    which = np.isin(np.arange(vm.shape[0]), list(notes))
    return refuse(k, which, notes), (max(late) if late else None)


def clamp_lost(k, vm: ArrayLike, channel: str, *, flat: bool = False) -> object:
    """Refuse the sweeps whose V_m spans more than ``CLAMP_SPREAD`` over the window (with
    ``flat``, also those without a relaxation, ``Status.NO_SIGNAL``: the tail's mean current
    is a point of its I-V)."""
    vm = np.atleast_2d(np.asarray(vm, float))
    lo, hi = vm.min(axis=1), vm.max(axis=1)
    which = (hi - lo > CLAMP_SPREAD) & (np.isfinite(k.values["tau1"])
                                        | flat & (k.status == Status.NO_SIGNAL))
    notes = {}
    for s in np.flatnonzero(which):
        settled, final, tol = _settled_at(np.arange(vm.shape[1], dtype=float), vm[s])
        notes[s] = (f"the clamp did not hold: V_m ({channel}) spans {lo[s] * 1e3:.4g} .. "
                    f"{hi[s] * 1e3:.4g} mV over the window (more than {CLAMP_SPREAD * 1e3:g} "
                    "mV)" + ("; start --window later, where it has settled"
                             if tol <= CLAMP_SPREAD and settled < vm.shape[1] * 0.9 else ""))
    return refuse(k, which, notes)


def recorded_clamp(k, r: dict, voltage_channel: int | None) -> tuple:
    """The kinetics protocol's clamp checks: with ``voltage_channel`` (``r["vm"]``),
    ``clamp_settling`` then ``clamp_lost``; without it, ``clamp_settling`` on the file's other
    voltage channel (``r["probe"]``) in the sweeps where it follows the command's step (its final
    level nearer the step's level ``r["v"]`` than the level before, ``r["v_before"]``).

    Returns:
      (the ``Kinetics`` with refused sweeps, the report's lines).
    """
    probe, settled, lines = r.get("probe"), None, []
    if r.get("vm") is not None:
        name = f"channel {voltage_channel}"
        lines.append(f"    voltage: V_m recorded on {name}, each sweep's mean over the window")
        k, settled = clamp_settling(k, r["t"], r["vm"], name)
        k = clamp_lost(k, r["vm"], name)
    elif probe is not None:
        final = probe["vm"][:, -max(r["t"].size // 10, 2):].mean(axis=1)
        follows = np.abs(final - r["v"]) < 0.5 * np.abs(r["v"] - r["v_before"])
        vm = np.where(follows[:, None], probe["vm"], final[:, None])  # others: taken as flat
        name = f"channel {probe['channel']} ({probe['name']})"
        k, settled = clamp_settling(k, r["t"], vm, name)
        if settled is not None:
            lines.append(f"    {name} records a voltage that follows the command: read as the "
                         f"membrane potential V_m (--voltage-channel {probe['channel']} makes "
                         "each sweep's voltage its mean)")
    if settled is not None:
        lines.append(f"    the clamp settles until {_ms(settled)} in the sweeps refused below: "
                     f"start --window there (e.g. --window {settled * 1e3:.3g}ms,100%)")
    return k, lines
