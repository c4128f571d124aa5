"""The no-relaxation test (``fitting.protocols.steady_band``): pure white noise is called flat; a
relaxation well above the band is seen; and a flat tail's onset current carries the band in its
standard error. Truth: numpy's generator with known noise."""

import numpy as np
import pytest

from fitting.protocols import tail
from fitting.protocols.steady_band import BAND_SDS, largest_excursion, steady_band


def _flat(i, width):
    late, band = steady_band(i, width)
    return largest_excursion(i, late, width) <= band, band


@pytest.mark.parametrize("n, width", [(390, 7), (1000, 20), (5500, 110)])
def test_pure_white_noise_is_flat(n, width):
    rng = np.random.default_rng(n)
    white = rng.standard_normal((1000, n + 9)) * 5e-12
    flat, band = _flat(white[:, :n], width)
    assert flat.all(), np.mean(flat)
    assert abs(np.median(band) / (BAND_SDS * 5e-12) - 1) < 0.05  # 3 SD of the samples


def test_a_relaxation_twice_the_band_is_seen():
    rng = np.random.default_rng(12)
    t = np.arange(1000) * 1e-4
    noise = rng.standard_normal((300, t.size)) * 5e-12
    flat, _ = _flat(noise + 2 * BAND_SDS * 5e-12 * np.exp(-t / 0.01), 20)  # tau 10 ms
    assert not flat.any()


def test_a_flat_tail_hides_no_relaxation_behind_its_standard_error():
    """A relaxation below the band (1.2 SD of the samples, tau 50 ms in a 100 ms window, no
    gap to the onset) is called flat; its onset current is the window's mean, and the truth
    (c + a) lies within 2 SE in every sweep, which the mean's own SE (SD / sqrt(n)) misses."""
    rng = np.random.default_rng(5)
    t = np.arange(1000) * 1e-4
    v = np.linspace(-0.1, 0.02, 7)
    c, a = 1e-10 * (v + 0.03) / 0.1, np.full(v.size, 1.2 * 20e-12)
    i = c[:, None] + a[:, None] * np.exp(-t / 0.05) + 20e-12 * rng.standard_normal((7, t.size))
    tl = tail.tail_iv(v, t, i, onset=0.0)
    from fitting.engine.status import Status

    assert np.all(tl.kinetics.status == Status.NO_SIGNAL), tl.kinetics.notes
    assert np.all(np.abs(tl.i - (c + a)) < 2 * tl.stderr), (tl.i - c - a) / tl.stderr
    naive = i.std(axis=1, ddof=1) / np.sqrt(t.size)
    assert np.all(np.abs(tl.i - (c + a)) > 2 * naive)


def test_notes_print_two_electrode_currents_in_nA():
    """A two-electrode clamp's microampere tails: the refusal notes give nA, not 10^5 pA."""
    from fitting.protocols.steady_band import current_text

    assert current_text(-2.97e-7) == "-297 nA"
    assert current_text(4.5e-11, 2e-12) == "45 ± 2 pA"
    assert current_text(-1.5e-9, 3e-11) == "-1.5 ± 0.03 nA"
    t = 0.02 + np.arange(400) * 1e-4  # from 20 ms: tails of a few uA extrapolated over 4 tau
    v = np.array([-0.12, -0.1, -0.06, -0.04])
    i = (v[:, None] + 0.08) * 1e-4 * (0.2 + np.exp(-t / 5e-3))
    i = i + np.random.default_rng(0).standard_normal(i.shape) * 1e-9
    from fitting.protocols.kinetics import kinetics
    from fitting.protocols.relaxation_checks import extrapolated

    k, which = extrapolated(kinetics(t, i, origin=0.0), t[0], 0.0)
    assert which.all()
    for note in k.notes:
        assert "nA there is the fit's guess" in note and "pA" not in note, note
