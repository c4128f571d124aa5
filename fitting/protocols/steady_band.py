"""The no-relaxation test of the kinetics and tail protocols: a sweep's steady level and the
noise band a relaxation must leave to be fitted (``fitting.protocols.kinetics``, NO_SIGNAL).
NumPy only.
"""

import numpy as np

__all__ = ["BAND_SDS", "current_text", "largest_excursion", "steady_band"]

BAND_SDS = 3.0  # the no-relaxation band, in SDs of single samples


def current_text(x: float, se: float | None = None) -> str:
    """A current [A] as the notes print it: in pA, or in nA from 1 nA (a two-electrode clamp's
    currents), its standard error ``se`` [A] in the same unit."""
    factor, unit = (1e9, "nA") if abs(x) >= 1e-9 else (1e12, "pA")
    return f"{x * factor:.4g}" + (f" ± {se * factor:.2g}" if se is not None else "") + f" {unit}"


def steady_band(i: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(steady level, band) [A] (S,): the mean and ``BAND_SDS`` = 3 SD of the last m samples
    of each sweep (a tenth of the window, at least 20 or half of it).

    The band is in SDs of single samples, although the test compares it with running means of
    ``width`` samples: a running mean's SD is at most a sample's whatever the noise's spectrum.
    Bands estimated from the running means themselves (tried: their SD in the last tenth, and
    robust differences of block means) called most sweeps of low-pass filtered noise or hum
    relaxing. The price is sensitivity: a relaxation of up to about the band can pass unseen
    (hcn2 at -55 mV, a 200 ms window: 45 pA under 24 pA noise), so a flat tail's onset current
    carries the band in its standard error (``fitting.protocols.tail_fit``), not only its
    mean's. Pure white noise never crosses the band; noise low-pass filtered over 10 samples
    does in up to half the sweeps of a short window (they are then fitted, and refused by the
    fit's own rules where nothing relaxes).
    """
    n = i.shape[1]
    tail = i[:, -max(n // 10, min(n // 2, 20), 2):]
    return tail.mean(axis=1), BAND_SDS * np.std(tail, axis=1, ddof=1)


def largest_excursion(i: np.ndarray, late: np.ndarray, width: int) -> np.ndarray:
    """The largest |running mean of ``width`` samples - ``late``| [A] (S,) of each sweep over
    the window: the largest excursion, not the first sample's (a relaxation may start near the
    steady level)."""
    sums = np.cumsum(np.pad(i - late[:, None], ((0, 0), (1, 0))), axis=1)
    return np.max(np.abs(sums[:, width:] - sums[:, :-width]), axis=1) / width
