"""The tail protocol's analysis (``fitting.tail_iv``): each sweep's relaxation after the step to
its tail voltage, fitted from a window that skips the capacitive transient, extrapolated back to
the step onset and refused where that is not a measurement (``relaxation_checks``: a window
inside a faster component, an extrapolation over more than 3 tau, a recorded V_m that did not
hold); then the open-channel I-V's ohmic (and GHK) fit and zero crossing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import Status
from fitting.protocols.gating import check_voltage
from fitting.protocols.kinetics import kinetics
from fitting.protocols.relaxation_checks import (clamp_lost, clamp_settling, earlier_start,
                                                 extrapolated, faster_component)
from fitting.protocols.reversal import flag_ohmic

__all__ = ["TailIV", "tail_iv"]


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
        where a window began inside a faster component (``faster_component``), else None;
        ``unreachable``: the sweeps that a window from ``start`` (to the same stop) would
        refuse as extrapolated (``relaxation_checks.extrapolated``): no later start measures
        them.
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
    unreachable: tuple = ()


def tail_iv(v: ArrayLike, t: ArrayLike, i: ArrayLike, *, onset: float = 0.0, components: int = 1,
            ghk: dict | None = None, series_resistance: float | None = None,
            compensation: float = 0.0, leak_current: ArrayLike | None = None,
            after: tuple | None = None, before: tuple | None = None,
            vm: ArrayLike | None = None,
            vm_name: str = "the recorded V_m") -> TailIV:
    """Instantaneous I-V from tail currents: each sweep's relaxation after the step to its tail
    voltage, fitted from a window that skips the capacitive transient, extrapolated back to the
    step onset (``fitting.kinetics`` with ``origin=onset``); then the open-channel I-V's
    reversal: an ohmic fit (unweighted, its noise from the residuals, so a rectifying I-V widens
    the interval; compare models with ``fitting.compare``) and the points' own zero crossing.
    A sweep without a relaxation (``NO_SIGNAL``, e.g. at the reversal) contributes its mean
    current, with a standard error of at least half the no-relaxation band b
    (``fitting.protocols.steady_band``) times 1 + 2 g / L (g the gap from the onset to the
    window, L the window's length): a relaxation below the band goes unseen and would move the
    onset current by up to b, and a drift it hides (up to 2 b / L) by 2 b g / L more.

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
      before: None or (t_before (b,) [s], i_before (S, b) [A]), the current between the onset
        and the window: a tail whose onset current moves when the window starts half-way to
        the onset is refused (``relaxation_checks.earlier_start``).
      vm: None or (S, n) the recorded membrane potential over the window [V] (``v`` then its
        window means): a relaxation fitted while V_m still settles, or a tail whose V_m spans
        more than 5 mV (the clamp did not hold), is refused; ``vm_name``: its channel, as the
        notes name it.

    Every tail is refused (NaN, ``Status.OUT_OF_RANGE``, a note) whose amplitude at the onset
    is extrapolated over more than 3 time constants (exp((t[0] - onset) / tau) > 20) or whose
    amplitude's standard error exceeds it (``relaxation_checks.extrapolated``).

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
    k, _ = extrapolated(k, float(np.asarray(t, float)[0]), onset)
    if before is not None:  # a flat sweep's onset current (its mean) is checked too
        k = earlier_start(k, t, i, *before, onset, lambda t_, i_: kinetics(
            t_, i_, components=components, origin=onset), _onset(k, t, i, onset))
    if vm is not None:
        k, _ = clamp_settling(k, t, vm, vm_name)
        k = clamp_lost(k, vm, vm_name, flat=True)
    unreachable = () if start is None else _unreachable(t, i, onset, start)
    inst, se = _onset(k, t, i, onset)
    i = np.atleast_2d(np.asarray(i, float))
    if series_resistance is not None:
        if not (series_resistance >= 0 and 0 <= compensation < 1):
            raise ValueError(f"series_resistance must be >= 0 Ohm and compensation in [0, 1); "
                             f"got {series_resistance}, {compensation}")
        total = inst + (0.0 if leak_current is None else np.asarray(leak_current, float))
        v = v - total * series_resistance * (1 - compensation)
    ok = np.isfinite(inst) & np.isfinite(se) & np.isfinite(v)
    if ok.sum() < 2:
        t_ms = np.asarray(t, float)[[0, -1]] * 1e3
        raise ValueError(f"only {ok.sum()} of {ok.size} tails give an instantaneous current from "
                         f"the window {t_ms[0]:g}-{t_ms[1]:g} ms, an I-V needs 2: " + "; ".join(
                             f"sweep {s}: {k.notes[s].split(':')[0]}" for s in range(ok.size)
                             if not ok[s] and s < len(k.notes) and k.notes[s]))
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
                  flags=flags, warnings=warnings, start=start, unreachable=unreachable)


def _onset(k, t: ArrayLike, i: ArrayLike, onset: float) -> tuple:
    """(current (S,), standard error (S,)) [A] at the onset: the relaxation's extrapolation, or
    for a sweep without one (``NO_SIGNAL``, a tail voltage near the reversal) its mean. A
    relaxation smaller than the test's band could hide in a flat sweep and move the onset
    current by as much: its SE is at least half the band (the 95% interval spans it), and more
    where the window starts late: a drift the band hides (up to 2 band / L over the window's
    length L) carried back over the gap to the onset."""
    i, t = np.atleast_2d(np.asarray(i, float)), np.asarray(t, float)
    flat = k.status == Status.NO_SIGNAL
    reach = 1.0 + 2.0 * (t[0] - onset) / (t[-1] - t[0])
    inst = np.where(flat, i.mean(axis=1), k.values["at_origin"])
    se = np.where(flat, np.fmax(i.std(axis=1, ddof=1) / np.sqrt(i.shape[1]),
                                0.5 * k.band * reach), k.stderr["at_origin"])
    return inst, se


def _unreachable(t: ArrayLike, i: ArrayLike, onset: float, start: float) -> tuple:
    """The sweeps (indices) that one exponential fitted from ``start`` to the window's stop
    refuses as extrapolated (``relaxation_checks.extrapolated``): what the suggested window
    cannot measure, said with the suggestion. () where the window holds too few samples after
    ``start`` to tell (under 10)."""
    t, i = np.asarray(t, float), np.atleast_2d(np.asarray(i, float))
    keep = t >= start
    if keep.sum() < 10:
        return ()
    _, which = extrapolated(kinetics(t[keep], i[:, keep], origin=onset), t[keep][0], onset)
    return tuple(int(s) for s in np.flatnonzero(which))
