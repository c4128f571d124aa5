"""What the membrane test's samples give without a decay model: the steady current, R_t, the charge.

No exponential is fitted here, so these numbers stand where the capacitive transient cannot be
read (a step whose transient the R-C circuit does not describe, issue 23).

With I_hold the mean current before the edge and I_ss the mean over the last fifth of the step
(the steady current), the cell's total (input) resistance is R_t = dV / (I_ss - I_hold): Ohm's
law on the steady state, true for any passive cell and whatever its transient. It is true only
where the current has settled by the step's end, which the samples themselves tell: the drift

    D = (I_ss - I_prev) / (I_ss - I_hold)

(I_prev the mean over the fifth of the step before the last) is about 0 on a passive cell and
grows where a slow (gated) current still changes. R_t is reported with |D| folded into its
relative standard error (SE_R / R_t = sqrt((SE_dI / dI)^2 + D^2): a current still moving by D
leaves R_t uncertain by about that much), and refused (NaN) where |D| > ``SETTLE``: the step
is too short for the current to settle, so there is no steady state to divide by.

Standard errors: white noise of the holding current's SD (I_hold over its n_h samples, I_ss
over its n_s: SE_dI = SD sqrt(1 / n_h + 1 / n_s)).

Also here: which sweeps have a capacitive transient at all (the samples' charge above the
current after it, ``transient``), and the samples' integral from the edge (``sample_charge``)
that ``membrane_charge`` ties the fitted decay to.
"""

from __future__ import annotations

import numpy as np

from fitting.protocols.membrane_charge import charge_window

__all__ = ["NOISE_FACTOR", "SETTLE", "passive_end", "sample_charge", "steady_state", "transient"]

NOISE_FACTOR = 5.0  # a transient's charge must exceed this many standard errors
SETTLE = 0.1  # |drift| over the step's last two fifths beyond this fraction of its step: unsettled


def steady_state(i: np.ndarray, step: np.ndarray, i_hold: np.ndarray, noise: np.ndarray,
                 n_hold: int, dv: float) -> dict:
    """The steady current, its drift and R_t of each sweep from the samples (see the module).

    Args:
      i: (S, n) currents [A]; step: (n,) bool, the samples inside the step.
      i_hold: (S,) holding currents [A]; noise: (S,) their SD [A] over ``n_hold`` samples.
      dv: the step [V].

    Returns:
      dict of (S,) arrays: ``steady_current`` I_ss [A] and ``steady_current_se``; ``drift`` D
      [1]; ``input_resistance`` R_t [Ohm] (NaN where unsettled, |D| > ``SETTLE``, or where the
      current does not step with dV's sign beyond ``NOISE_FACTOR`` standard errors) and
      ``input_resistance_se``.
    """
    k = np.flatnonzero(step)
    fifth = max(k.size // 5, 1)
    i_ss = i[:, k[-fifth:]].mean(axis=1)
    i_prev = i[:, k[-2 * fifth:-fifth]].mean(axis=1) if k.size >= 2 * fifth else i_ss
    d = i_ss - i_hold
    se_d = noise * np.sqrt(1 / n_hold + 1 / fifth)
    with np.errstate(all="ignore"):
        drift = (i_ss - i_prev) / d
        r_t = dv / d
        ok = (r_t > 0) & (np.abs(d) > NOISE_FACTOR * se_d) & (np.abs(drift) <= SETTLE)
        se_r = r_t * np.hypot(se_d / np.abs(d), drift)
    return dict(steady_current=i_ss, steady_current_se=noise / np.sqrt(fifth), drift=drift,
                input_resistance=np.where(ok, r_t, np.nan),
                input_resistance_se=np.where(ok, se_r, np.nan))


def passive_end(i: np.ndarray, start: int, last: int, i_hold: np.ndarray, noise: np.ndarray,
                dv: float) -> int:
    """Index (exclusive) where the passive response ends: the turning point of the mean current.

    A passive R-C cell's current after a step relaxes monotonically to its steady state (the
    step response of an R-C network's input admittance is a sum of decaying exponentials of one
    sign). A current that turns back, growing with the step's sign again after its minimum (a
    gated current the step opens, e.g. I_h at -80 mV), is not the circuit's after that point,
    and neither a decay fitted nor a charge integrated past it is. The mean over the sweeps of
    i[:, start:last], in 50 blocks, gives the minimum (in the step's direction); the response is
    cut at that block's end where the last block lies beyond it by more than 2% of the current's
    step and ``NOISE_FACTOR`` standard errors of a block mean, else ``last`` is returned.

    Args:
      i: (S, n) currents [A]; start, last: the samples searched; i_hold, noise: (S,) [A];
      dv: the step [V].
    """
    size = max((last - start) // 50, 1)
    count = (last - start) // size
    mean = i[:, start:start + count * size].mean(axis=0) - i_hold.mean()
    mag = np.sign(dv) * mean.reshape(count, size).mean(axis=1)
    k = int(np.argmin(mag))
    rise = mag[-1] - mag[k]
    se = float(np.mean(noise)) / np.sqrt(size * i.shape[0])
    if k < count - 1 and rise > max(0.02 * abs(mag[-1]), NOISE_FACTOR * se):
        return start + (k + 1) * size
    return last


def sample_charge(t: np.ndarray, i: np.ndarray, edge: float, end: float, tau_max: float,
                  i_hold: np.ndarray) -> tuple:
    """(s_raw [C], its trapezoid weights, k0, k1, width [s]): the samples' integral above
    I_hold from the edge over ``membrane_charge.charge_window``."""
    dt = t[1] - t[0]
    k0, k1 = charge_window(t, edge, end, tau_max)
    w = np.full(k1 - k0 + 1, dt)
    w[[0, -1]] = dt / 2
    return i[:, k0:k1 + 1] @ w - i_hold * (edge - t[k0]), w, k0, k1, t[k1] - edge


def _no_transient(s, se, step, dv, edge):
    """The one-line refusal of a step without a capacitive transient in any sweep (s, se: the
    samples' charges and their standard errors [C]; step: the steady currents' change [A])."""
    k = int(np.argmax(np.abs(s) / se))
    snr = float(np.abs(s[k]) / se[k])
    what = (f"the charge above the steady current is within {snr:.1f} standard errors of zero"
            if snr <= NOISE_FACTOR else
            f"the charge after it has the sign opposite to the step's ({dv * 1e3:+g} mV)")
    shape = (f"the current steps by {step[k] * 1e12:.3g} pA ({dv / step[k] * 1e-6:.3g} MOhm)"
             if step[k] != 0 else "the current does not step")
    return ValueError(f"no capacitive transient after the step at {edge * 1e3:g} ms in any "
                      f"sweep: {shape} and {what}, where a {dv * 1e3:+g} mV step charges 10 pF "
                      f"by {abs(dv) * 10:.2g} pC; not a membrane test's current")


def transient(t: np.ndarray, i: np.ndarray, edge: float, end: float, tau_max: float,
              i_hold: np.ndarray, noise: np.ndarray, dv: float) -> np.ndarray:
    """(S,) bool: the sweeps with a capacitive transient: the samples' charge over
    ``charge_window`` above the mean current of the next window as long (no fit), of the step's
    sign and over ``NOISE_FACTOR`` standard errors (white noise of the holding SD).

    Raises:
      ValueError: the one-line refusal where no sweep has one.
    """
    s_raw, w, _, k1, width = sample_charge(t, i, edge, end, tau_max, i_hold)
    last = max(int(np.searchsorted(t, end, side="left")), k1 + 2)
    after = i[:, k1 + 1:min(k1 + 1 + len(w), last)]  # the next window of the same length
    late = after.mean(axis=1)
    free = s_raw - late * width
    free_se = noise * np.sqrt(np.sum(w ** 2) + width ** 2 / after.shape[1])
    found = (free * dv > 0) & (np.abs(free) > NOISE_FACTOR * free_se)
    if not np.any(found):
        raise _no_transient(free, free_se, late - i_hold, dv, edge)
    return found
