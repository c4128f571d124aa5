"""The membrane test's circuit through the amplifier's filter: charge, filter delay, R_a, R_m, C_m.

The recorded transient is the cell's current passed through the amplifier's low-pass filter
(a 4-pole Bessel at 2-10 kHz, typically). The filter has unit gain at DC, so it keeps the
charge; it delays the current by about its group delay t_d and cuts the peak. Once it has
settled (after about twice the peak's delay), each exponential keeps its time constant but its
amplitude, extrapolated back to the step's edge, is inflated: a filter that acts as the delay
t_d gives B_k = A_k exp(t_d / tau_k). Extrapolating the fitted decay to the edge (B_k taken for
A_k) makes R_a too low and C_m too high (by 80% at 2 kHz on a 10 MOhm / 33 pF model cell).

The charge fixes t_d. With the step at t = 0, the steady current I_ss, the holding current
I_hold (dI_ss = I_ss - I_hold) and S the integral of the recorded samples above I_ss from the
edge over a window W (trapezoid rule on the samples only: model-free; W = 12 times the slowest
time constant, or the step, whichever is shorter),

    S = sum_k A_k tau_k - dI_ss t_d = sum_k B_k tau_k exp(-t_d / tau_k) - dI_ss t_d

(the steady part of the step is delayed as well, and loses dI_ss t_d). The right side falls
monotonically with t_d: Newton's method from t_d = 0 gives the root. Then the cell's charge is
Q = sum_k A_k tau_k = S + dI_ss t_d and, for the circuit R_a in series with R_m || C_m and a
step dV,

    R_t = R_a + R_m = dV / dI_ss,     R_a = dV / (sum_k A_k + dI_ss)   (I(0+) = dV / R_a),
    R_m = R_t - R_a,                  C_m = Q / dV (R_t / R_m)^2,

the last from the transient's charge Q = A tau = dV C_m (R_m / R_t)^2 (the capacitor takes
dV C_m R_m / R_t; the current through R_m, rising with tau, returns dI_ss tau of it). With one
exponential this is C_m = tau (1 / R_a + 1 / R_m). With two (a slow second component: a second
compartment or space clamp), C_m is the capacitance charged by both components. The delay model
is first order in t_d / tau: on an exact RC circuit through a 4-pole Bessel filter of 2-10 kHz
(20-50 kHz sampling) C_m is within 1% and R_a within 2% of the circuit's (tests). A trace that
is not filtered at the sample scale (a jump from one sample to the next) is read as a half-sample
delay: C_m about dt / (2 tau) low.

Why Q / dV (R_t / R_m)^2 and not the other estimates (issue 23: on 171116sh_0011 240 pF
against pyabf's 150). For any passive R-C cell (compartments of C_i behind R_a; R_1i the membrane's
DC transfer resistances from the soma, R_m = R_11, R_t = R_a + R_m) the step moves compartment
i by dV_i = dV R_1i / R_t at the steady state, storing sum_i C_i dV_i; the current through the
membrane returns part of it while the capacitors charge, and the charge above I_ss is exactly
Q = dV C_eff (R_m / R_t)^2 with C_eff = sum_i C_i (R_1i / R_m)^2 (test: a two-compartment cell,
closed form). It rests on the samples' integral (the filter keeps charge), on R_t and on R_a
(in R_m = R_t - R_a), not on the decay's shape. Against it:
  * Q / dV (R_t / R_m), the first power, is low by R_m / R_t (the charge that R_m returns).
  * tau (1 / R_a + 1 / R_m), one exponential, is exact for one compartment only; with a slow
    second component the single tau is a compromise (4% off on the two-compartment test cell;
    171116sh_0011: 247 pF, 3% above).
  * pyabf's Memtest: C_m = tau / R_a, one exponential matched from 90% of the peak to where the
    current first reaches I_ss (at most 50 ms), its I(0) taken at the filtered peak, not the
    edge. It assumes one compartment, R_m >> R_a (it drops 1 / R_m), and no filter: the peak is
    after the filter's delay and below the edge's current, so R_a is high and C_m low (33 pF
    model cell: 23 pF; 171116sh_0011: 150 pF).
  * A steady current taken at the step's end where a slow current that the step opens still
    grows (I_h at -80 mV) moves I_ss and with it Q and R_t: the circuit is read before the
    current turns back (``membrane_samples.passive_end``; 171116sh_0011: 214 pF with I_ss at
    the step's end, 240 pF before the turn, where scipy's fit of that part alone gives 234).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["AICC_MARGIN", "aicc", "charge_window", "circuit", "decay_covariance", "decay_values"]

AICC_MARGIN = 10.0  # two exponentials only where their AICc is lower by more than this


def aicc(rss: np.ndarray, n: int, k: int) -> np.ndarray:
    """AIC with the small-sample correction of a least-squares fit with Gaussian noise.

    AICc = n ln(RSS / n) + 2k + 2k (k + 1) / (n - k - 1) (Hurvich & Tsai 1989,
    doi:10.1093/biomet/76.2.297).

    Args:
      rss: residual sums of squares [A^2], any shape.
      n: points per fit; k: fitted parameters.

    Returns:
      AICc, the shape of ``rss``.
    """
    return n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def decay_values(x: np.ndarray, c: np.ndarray, b: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """I(x) = c + sum_k b_k exp(-x / tau_k): x (n,) [s] from the edge, c (S,), b and tau (S, K).

    Returns:
      (S, n) [A].
    """
    return c[:, None] + np.einsum("sk,skn->sn", b, np.exp(-x[None, None, :] / tau[..., None]))


def decay_covariance(x: np.ndarray, y: np.ndarray, c: np.ndarray, b: np.ndarray,
                     tau: np.ndarray) -> np.ndarray:
    """Covariance of (c, b_1, tau_1, ..., b_K, tau_K) of a least-squares decay fit.

    s^2 (J^T J)^-1 with s^2 = RSS / (n - p) (as ``fitting.fit`` and curve_fit with
    absolute_sigma=False), J the exact Jacobian at the fitted values.

    Args:
      x: (n,) times from the edge [s]; y: (S, n) fitted currents [A]; c: (S,) [A];
      b, tau: (S, K) [A], [s].

    Returns:
      (S, 1 + 2K, 1 + 2K).
    """
    e = np.exp(-x[None, None, :] / tau[..., None])  # (S, K, n)
    cols = [np.ones_like(y)]
    for k in range(b.shape[1]):
        cols += [e[:, k], b[:, k, None] * e[:, k] * x / tau[:, k, None] ** 2]
    jac = np.stack(cols, axis=-1)  # (S, n, p)
    resid = y - decay_values(x, c, b, tau)
    s2 = np.sum(resid ** 2, axis=1) / (x.size - jac.shape[-1])
    scale = np.sqrt(np.sum(jac ** 2, axis=1))  # (S, p): columns of unit norm, then back
    with np.errstate(all="ignore"):
        unit = jac / scale[:, None, :]
    info = np.einsum("snp,snq->spq", unit, unit)
    ok = np.all(np.isfinite(info), axis=(1, 2)) & np.isfinite(s2)
    cov = np.full(info.shape, np.nan)
    cov[ok] = (np.linalg.pinv(info[ok]) / scale[ok, :, None] / scale[ok, None, :]
               * s2[ok, None, None])
    return cov


def charge_window(t: np.ndarray, edge: float, end: float, tau_max: float) -> tuple:
    """Indices (k0, k1) of the charge integral's samples: k0 the last sample at or before the
    edge, k1 the last before edge + min(12 tau_max, end - edge) (k1 > k0)."""
    k0 = int(np.searchsorted(t, edge, side="right")) - 1
    stop = edge + min(12 * tau_max, end - edge)
    k1 = max(int(np.searchsorted(t, stop, side="left")) - 1, k0 + 1)
    return max(k0, 0), k1


def circuit(i_hold: Any, s_raw: Any, c: Any, b: Any, tau: Any, *, dv: float,
            width: float) -> dict:
    """R_a, R_m, C_m, the charge and the filter delay from one sweep's numbers (see the module).

    Written without branches so that complex-step derivatives pass through it (Newton's method
    has a fixed number of steps).

    Args:
      i_hold: holding current [A]; s_raw: integral of the samples over the window [C];
      c: fitted steady current [A]; b, tau: (..., K) fitted amplitudes at the edge [A] and time
        constants [s] (tau_1 the fastest); any leading shape, real or complex.
      dv: the step [V]; width: the window's length [s] (S = s_raw - c width).

    Returns:
      dict of ``access_resistance``, ``membrane_resistance``, ``capacitance``, ``tau``,
      ``tau_slow`` (the second time constant; equals ``tau`` with one component),
      ``holding_current``, ``total_resistance``, ``charge`` (Q, the cell's), ``filter_delay``
      (t_d) and ``sample_charge`` (S).
    """
    s = s_raw - c * width
    d_ss = c - i_hold
    t_d = 0.0 * s
    for _ in range(40):
        g = np.sum(b * tau * np.exp(-t_d[..., None] / tau), axis=-1) - d_ss * t_d - s
        dg = -np.sum(b * np.exp(-t_d[..., None] / tau), axis=-1) - d_ss
        t_d = t_d - g / dg
    amp = b * np.exp(-t_d[..., None] / tau)
    q = s + d_ss * t_d
    total = dv / d_ss
    access = dv / (np.sum(amp, axis=-1) + d_ss)
    membrane = total - access
    return dict(access_resistance=access, membrane_resistance=membrane,
                capacitance=q / dv * (total / membrane) ** 2, tau=tau[..., 0],
                tau_slow=tau[..., -1], holding_current=i_hold + 0 * s, total_resistance=total,
                charge=q, filter_delay=t_d, sample_charge=s)
