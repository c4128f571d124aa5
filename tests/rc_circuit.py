"""The exact step response of an R-C cell through an analog Bessel filter (a test helper).

I(t) - I_hold = d_ss + sum_k a_k exp(-t / tau_k) for t > 0 (0 before) is the cell's current;
the amplifier's low-pass H(s) (scipy.signal.bessel, analog, -3 dB at fc) acts on it in closed
form: the partial fractions of H(s) X(s), X(s) = d_ss / s + sum_k a_k / (s + 1 / tau_k)
(scipy.signal.residue), evaluated at the sample times. No time stepping, no resampling.
"""

import numpy as np
from scipy import signal


def filtered(t, d_ss, amps, taus, fc, poles=4):
    """The current above holding [A] at times ``t`` [s] from the step, through the filter
    (``fc`` [Hz]; None: unfiltered)."""
    t = np.asarray(t, float)
    x = np.maximum(t, 0)
    if fc is None:
        out = d_ss + sum(a * np.exp(-x / tau) for a, tau in zip(amps, taus))
        return np.where(t > 0, out, 0.0)
    b, a = signal.bessel(poles, 2 * np.pi * fc, analog=True, norm="mag")
    poles_x = [0.0] + [-1 / tau for tau in taus]
    num = np.zeros(1)
    for j, weight in enumerate([d_ss] + list(amps)):
        num = np.polyadd(num, weight * np.poly([p for k, p in enumerate(poles_x) if k != j]))
    r, p, _ = signal.residue(np.polymul(b, num), np.polymul(a, np.poly(poles_x)))
    out = np.real(np.sum(r[:, None] * np.exp(p[:, None] * x[None, :]), axis=0))
    return np.where(t > 0, out, 0.0)
