"""Gating curves from extracted voltage-clamp points: activation (G-V) and inactivation (h_inf).

Activation, two routes on the same I-V points (peak or steady current per step):

* the joint I-V fit, I = g_max / (1 + exp((v_half - V)/slope)) (V - E_rev)
  (``BoltzmannOhmic``), which fits E_rev with the gating;
* the chord conductance G = I / (V - E_rev), E_rev given or the joint fit's, then
  G = g_max / (1 + exp((v_half - V)/slope)) (``BoltzmannConductance``) and G / g_max. Points
  within ``min_driving_force`` of E_rev are masked (G is 0/0 there). Each G is weighted by
  its standard error s / |V - E_rev|, s the current noise (``sigma``, or the joint fit's RMS
  residual sqrt(RSS / (n - k)), or where that fit is refused the model-free
  ``inference.difference_noise``); the uncertainty of E_rev itself is not propagated.

For a GHK-rectifying channel of one ion (``ghk=``), the joint fit is ``BoltzmannGHK`` and the
G-V is GHK-corrected: G = I u'(E) / u(V), u the GHK current per unit permeability and E the
Nernst potential, i.e. the permeability P = I / u in units of the open channel's conductance at
its reversal. The chord conductance of such a channel would mix rectification into the gating
(on a simulated K+ channel, 140/5 mM, V_1/2 -20 mV: the chord route gives -5 mV, this one -20).

Inactivation (two-pulse protocol): the test-pulse current against the prepulse voltage,
I = i_max / (1 + exp((v_half - V)/slope)) (``BoltzmannCurrent``; slope < 0 for inactivation),
h_inf = I / i_max.

Every fit comes with profile-likelihood intervals of v_half and slope (``profile_intervals``).
"""

import dataclasses

import numpy as np

from fitting.engine.batch import fit
from fitting.engine.inference import difference_noise
from fitting.protocols.kinetics_fit import kinetics
from fitting.models.boltzmann import (BoltzmannConductance, BoltzmannCurrent, BoltzmannGHK,
                                     BoltzmannOhmic)
from fitting.engine.profile import profile_intervals
from fitting.engine.status import Status
from ionjax.units import mV


@dataclasses.dataclass(frozen=True)
class Activation:
    """Both activation routes [SI].

    Attributes:
      joint: ``FitResult`` of ``BoltzmannOhmic`` on (v, i).
      joint_intervals: profile intervals of its ``v_half``, ``slope`` (and ``e_rev``).
      e_rev: (...,) reversal potential used for the chord conductance [V].
      conductance: (..., n) chord conductance [S] (NaN where masked).
      conductance_stderr: (..., n) its standard error [S].
      gv: ``FitResult`` of ``BoltzmannConductance`` on (v, conductance).
      gv_intervals: profile intervals of its ``v_half`` and ``slope``.
      normalized: (..., n) conductance / fitted g_max.
    """

    joint: object
    joint_intervals: dict
    e_rev: np.ndarray
    conductance: np.ndarray
    conductance_stderr: np.ndarray
    gv: object
    gv_intervals: dict
    normalized: np.ndarray


@dataclasses.dataclass(frozen=True)
class Inactivation:
    """``fit``: ``FitResult`` of ``BoltzmannCurrent`` on (prepulse v, test current);
    ``intervals``: profile intervals of ``v_half``, ``slope``; ``h``: (..., n) I / i_max."""

    fit: object
    intervals: dict
    h: np.ndarray


def _check_voltage(name, x):
    x = np.asarray(x, float)
    if np.any(np.abs(x[np.isfinite(x)]) > 0.5):
        raise ValueError(f"{name} is in V (SI), e.g. 50 mV = 0.05; got values up to "
                         f"{np.nanmax(np.abs(x)):g}")
    return x


def _ghk_conductance(ghk, v):
    """(u(V) [A per m^3/s], u'(E) [S per m^3/s], E [V]) of the GHK unit current of one ion."""
    import ionjax

    model = BoltzmannGHK(**ghk)  # validates z, c_in, c_out, temperature
    args = (model.c_in, model.c_out, model.z)
    e = float(ionjax.nernst_potential(*args, temperature=model.temperature))
    unit = np.asarray(ionjax.ghk_current(np.asarray(v, float), 1.0, *args,
                                         temperature=model.temperature), float)
    h = 1e-4  # central difference over +-0.1 mV: u is smooth, exact to ~1e-8 relative
    up, down = (float(ionjax.ghk_current(e + d, 1.0, *args, temperature=model.temperature))
                for d in (h, -h))
    return unit, (up - down) / (2 * h), e, model


def activation(v, i, *, e_rev=None, sigma=None, min_driving_force=5 * mV, ghk=None):
    """Activation curve of a step I-V by the joint fit and by chord conductance (see module).

    Args:
      v: (..., n) or (n,) step voltages [V].
      i: (..., n) peak or steady currents [A].
      e_rev: reversal potential [V] (scalar or (...,)), or None for the joint fit's.
      sigma: current noise SD [A] (broadcastable), or None to estimate it from the joint fit.
      min_driving_force: points with |V - E_rev| below this [V] are left out of the G-V.
      ghk: for a GHK-rectifying channel of one ion, dict(z=, c_in= [mM], c_out= [mM],
        temperature= [K]): the joint fit is ``BoltzmannGHK`` and the G-V is GHK-corrected,
        G = I u'(E) / u(V) with u the GHK current per unit permeability and E the Nernst
        potential (the conductance the open channel has at its reversal; points within
        ``min_driving_force`` of E left out). ``e_rev`` must then be None.

    Returns:
      ``Activation`` (with ``ghk``, ``e_rev`` is the Nernst potential and the joint fit's
      intervals cover ``v_half`` and ``slope``).
    """
    v = _check_voltage("v", v)
    i = np.asarray(i, float)
    if not min_driving_force > 0:
        raise ValueError(f"min_driving_force must be > 0 V; got {min_driving_force}")
    batch = i.shape[:-1]
    v_full = np.broadcast_to(v, i.shape)
    if ghk is not None:
        if e_rev is not None:
            raise ValueError("with ghk the reversal is the Nernst potential: leave e_rev None")
        unit, slope_at_e, nernst, model = _ghk_conductance(ghk, v_full)
        joint = fit(model, v, i, sigma=sigma)
        joint_intervals = profile_intervals(joint, v, i, ["v_half", "slope"], sigma=sigma)
        e = np.full(batch, nernst)
        # the GHK-corrected "driving force": I = G_ghk * unit / u'(E)
        drive = np.where(np.abs(v_full - nernst) >= min_driving_force, unit / slope_at_e,
                         0.0)
    else:
        joint = fit(BoltzmannOhmic(), v, i, sigma=sigma)
        joint_intervals = profile_intervals(joint, v, i, ["e_rev", "v_half", "slope"],
                                            sigma=sigma)
        e = np.asarray(joint.params["e_rev"], float) if e_rev is None else \
            np.broadcast_to(_check_voltage("e_rev", e_rev), batch).astype(float)
        drive = v_full - e[..., None]
    near = np.abs(v_full - e[..., None]) < min_driving_force
    use = np.isfinite(drive) & (drive != 0) & ~near & np.isfinite(i)
    if sigma is None:  # the joint fit's residual SD, else (a refused fit) a model-free one
        dof = np.maximum(np.asarray(joint.n_points) - joint.model.n_params, 1)
        noise = np.sqrt(np.asarray(joint.rmse, float) ** 2 * np.asarray(joint.n_points) / dof)
        noise = np.where(np.isfinite(noise), noise, difference_noise(v_full, i))[..., None]
    else:
        noise = np.broadcast_to(np.asarray(sigma, float), i.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(use, i / drive, np.nan)
        g_se = np.where(use, noise / np.abs(drive), np.nan)
    ok = use & np.isfinite(g_se) & (g_se > 0)
    g_se_fit = np.where(ok, g_se, 1.0)
    gv = fit(BoltzmannConductance(), v_full, np.where(ok, g, 0.0), sigma=g_se_fit, mask=ok)
    gv_intervals = profile_intervals(gv, v_full, np.where(ok, g, 0.0), ["v_half", "slope"],
                                     sigma=g_se_fit, mask=ok)
    normalized = g / np.asarray(gv.params["g_max"], float)[..., None]
    return Activation(joint=joint, joint_intervals=joint_intervals, e_rev=e, conductance=g,
                      conductance_stderr=g_se, gv=gv, gv_intervals=gv_intervals,
                      normalized=normalized)


def inactivation(v_pre, i_test, *, sigma=None):
    """Steady-state inactivation from a two-pulse protocol (see the module).

    Args:
      v_pre: (..., n) or (n,) prepulse voltages [V].
      i_test: (..., n) test-pulse currents [A] (peak, signed).
      sigma: current noise SD [A], or None to estimate it from the residuals.

    Returns:
      ``Inactivation``.
    """
    v_pre = _check_voltage("v_pre", v_pre)
    i_test = np.asarray(i_test, float)
    res = fit(BoltzmannCurrent(), v_pre, i_test, sigma=sigma)
    intervals = profile_intervals(res, v_pre, i_test, ["v_half", "slope"], sigma=sigma)
    return Inactivation(fit=res, intervals=intervals,
                        h=i_test / np.asarray(res.params["i_max"], float)[..., None])


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


def tail_iv(v, t, i, *, onset=0.0, components=1, ghk=None, series_resistance=None,
            compensation=0.0, leak_current=None):
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

    Returns:
      ``TailIV`` (``v`` the corrected voltages when ``series_resistance`` is given).
    """
    from fitting.engine.inference import measured_reversal
    from fitting.models.ohmic import Ohmic

    v = _check_voltage("v", v)
    k = kinetics(t, i, components=components, origin=onset)
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
        from fitting.models.ghk import GHK, MultiIonGHK

        several = np.ndim(ghk["z"]) > 0 and len(ghk["z"]) > 1
        model = MultiIonGHK(**ghk) if several else GHK(
            **{k: (np.ravel(x)[0] if k in ("z", "c_in", "c_out") else x)
               for k, x in ghk.items() if k not in ("reference", "ions")})
        ghk_res = fit(model, v, np.where(ok, inst, 0.0), mask=ok)
        comparison = compare({"ohmic": res, "ghk": ghk_res})
    return TailIV(v=v, i=inst, stderr=se, kinetics=k, ohmic=res, intervals=intervals,
                  measured=measured, ghk=ghk_res, comparison=comparison)
