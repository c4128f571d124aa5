"""Gating curves from extracted voltage-clamp points: activation (G-V) and inactivation (h_inf).

Activation, two routes on the same I-V points (peak or steady current per step):

* the joint I-V fit, I = g_max / (1 + exp((v_half - V)/slope)) (V - E_rev)
  (``BoltzmannOhmic``), which fits E_rev with the gating;
* the chord conductance G = I / (V - E_rev), E_rev given or the joint fit's, then
  G = g_max / (1 + exp((v_half - V)/slope)) (``BoltzmannConductance``) and G / g_max. Points
  within ``min_driving_force`` of E_rev are masked (G is 0/0 there). Each G is weighted by
  its standard error s / |V - E_rev|, s the current noise (``sigma``, or the joint fit's RMS
  residual sqrt(RSS / (n - k))); the uncertainty of E_rev itself is not propagated.

Inactivation (two-pulse protocol): the test-pulse current against the prepulse voltage,
I = i_max / (1 + exp((v_half - V)/slope)) (``BoltzmannCurrent``; slope < 0 for inactivation),
h_inf = I / i_max.

Every fit comes with profile-likelihood intervals of v_half and slope (``profile_intervals``).
"""

import dataclasses

import numpy as np

from fitting.engine.batch import fit
from fitting.engine.models import BoltzmannConductance, BoltzmannCurrent, BoltzmannOhmic
from fitting.engine.profile import profile_intervals
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


def activation(v, i, *, e_rev=None, sigma=None, min_driving_force=5 * mV):
    """Activation curve of a step I-V by the joint fit and by chord conductance (see module).

    Args:
      v: (..., n) or (n,) step voltages [V].
      i: (..., n) peak or steady currents [A].
      e_rev: reversal potential [V] (scalar or (...,)), or None for the joint fit's.
      sigma: current noise SD [A] (broadcastable), or None to estimate it from the joint fit.
      min_driving_force: points with |V - E_rev| below this [V] are left out of the G-V.

    Returns:
      ``Activation``.
    """
    v = _check_voltage("v", v)
    i = np.asarray(i, float)
    if not min_driving_force > 0:
        raise ValueError(f"min_driving_force must be > 0 V; got {min_driving_force}")
    joint = fit(BoltzmannOhmic(), v, i, sigma=sigma)
    joint_intervals = profile_intervals(joint, v, i, ["e_rev", "v_half", "slope"], sigma=sigma)
    batch = i.shape[:-1]
    e = np.asarray(joint.params["e_rev"], float) if e_rev is None else \
        np.broadcast_to(_check_voltage("e_rev", e_rev), batch).astype(float)
    v_full = np.broadcast_to(v, i.shape)
    drive = v_full - e[..., None]
    use = np.isfinite(drive) & (np.abs(drive) >= min_driving_force) & np.isfinite(i)
    if sigma is None:
        dof = np.maximum(np.asarray(joint.n_points) - joint.model.n_params, 1)
        noise = np.sqrt(np.asarray(joint.rmse, float) ** 2 * np.asarray(joint.n_points) / dof)
        noise = noise[..., None]
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
