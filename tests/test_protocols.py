"""Activation (joint I-V fit and chord G-V) and inactivation (two-pulse) analyses: simulated
truth with interval coverage, scipy's optimum on the same points, real-file extraction against
pyabf, and the ``ionjax analyze`` command."""

import csv
import os

import numpy as np
import pytest
from scipy.optimize import curve_fit

import fitting
from fitting.app.cli import main

ABFS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "abf")
STEPS = os.path.join(ABFS, "171116sh_0012.abf")
needs_data = pytest.mark.skipif(not os.path.exists(STEPS), reason="../shared/data absent")

V = np.linspace(-0.08, 0.04, 13)
G, E, VH, K, NOISE = 5e-9, 0.05, -0.03, 0.007, 2e-11


def _boltzmann(x, amplitude, v_half, slope):
    return amplitude / (1 + np.exp((v_half - x) / slope))


def _activation_data(b, seed):
    rng = np.random.default_rng(seed)
    return _boltzmann(V, G, VH, K) * (V - E) + rng.normal(0, NOISE, (b, V.size))


def test_activation_intervals_cover_the_truth_at_their_level():
    i = _activation_data(300, seed=1)
    a = fitting.activation(V, i, e_rev=E, sigma=NOISE)
    assert np.all(a.gv.status == 0) and np.all(a.joint.status == 0)
    for name, true in (("v_half", VH), ("slope", K)):
        iv = a.gv_intervals[name]
        covered = np.mean((iv.lower < true) & (iv.upper > true))
        assert 0.92 <= covered <= 0.98, (name, covered)  # nominal 0.95; SE 0.013 at 300
        joint = a.joint_intervals[name]
        assert 0.92 <= np.mean((joint.lower < true) & (joint.upper > true)) <= 0.98
    # points within 5 mV of E_rev are left out of the G-V
    assert np.all(np.isnan(a.conductance[:, np.abs(V - E) < 0.005]))
    # G / g_max follows the gate where the driving force is large (|V - E_rev| >= 40 mV)
    far = np.abs(V - E) >= 0.04
    np.testing.assert_allclose(np.median(a.normalized[:, far], axis=0),
                               _boltzmann(V[far], 1.0, VH, K), atol=0.02)


def test_chord_gv_fit_is_scipys_weighted_optimum():
    i = _activation_data(3, seed=2)
    a = fitting.activation(V, i, e_rev=E)
    for r in range(3):
        ok = np.isfinite(a.conductance[r])
        p, _ = curve_fit(_boltzmann, V[ok], a.conductance[r][ok], p0=(5e-9, -0.03, 0.007),
                         sigma=a.conductance_stderr[r][ok], absolute_sigma=True, xtol=1e-15,
                         ftol=1e-15, gtol=1e-15)
        got = [a.gv.params[n][r] for n in ("g_max", "v_half", "slope")]
        np.testing.assert_allclose(got, p, rtol=1e-6)
    # the G stderr is the current noise (the joint fit's residual SD) over the driving force
    s = np.sqrt(np.asarray(a.joint.rmse) ** 2 * 13 / 9)
    np.testing.assert_allclose(a.conductance_stderr[:, 0], s / np.abs(V[0] - E))


def test_inactivation_recovers_h_inf():
    rng = np.random.default_rng(3)
    v = np.linspace(-0.12, -0.02, 11)
    i = _boltzmann(v, -2e-9, -0.06, -0.006) + rng.normal(0, 2e-11, (200, v.size))
    res = fitting.inactivation(v, i, sigma=2e-11)
    assert np.all(res.fit.status == 0)
    iv = res.intervals["v_half"]
    assert 0.91 <= np.mean((iv.lower < -0.06) & (iv.upper > -0.06)) <= 0.99
    np.testing.assert_allclose(np.median(res.h[:, 0]), 1.0, atol=0.02)
    np.testing.assert_allclose(np.median(res.h[:, -1]), 0.0, atol=0.02)


def test_voltages_in_millivolts_are_refused():
    with pytest.raises(ValueError, match="in V"):
        fitting.activation(V * 1e3, _activation_data(1, 4)[0])
    with pytest.raises(ValueError, match="in V"):
        fitting.activation(V, _activation_data(1, 4)[0], e_rev=50)
    with pytest.raises(ValueError, match="in V"):
        fitting.inactivation(V * 1e3, _activation_data(1, 4)[0])


@needs_data
def test_two_pulse_extraction_equals_pyabf():
    """The step then the fixed return to holding of this file has the shape of a two-pulse
    protocol: the test-pulse current must be pyabf's peak over the same window."""
    pyabf = pytest.importorskip("pyabf")
    from fitting.io import two_pulse_from_abf

    iv = two_pulse_from_abf(STEPS, window=("0%", "30%"))
    abf = pyabf.ABF(STEPS)
    assert (iv.metadata["prepulse_epoch"], iv.metadata["test_epoch"]) == (2, 3)
    for s in abf.sweepList:
        abf.setSweep(s)
        p1, p2 = abf.sweepEpochs.p1s[3], abf.sweepEpochs.p2s[3]
        seg = abf.sweepY[p1:p1 + int(np.ceil(0.3 * (p2 - p1) - 1e-9))]
        assert iv.i[s] == pytest.approx(seg[np.argmax(np.abs(seg))] * 1e-12, rel=1e-12)
        assert iv.v[s] == pytest.approx(abf.sweepEpochs.levels[2] * 1e-3)
    with pytest.raises(fitting.io.InputError, match="test epoch 2 is not a step"):
        two_pulse_from_abf(STEPS, test_epoch=2)


@needs_data
def test_cli_analyze_activation_and_refusals(tmp_path):
    out = tmp_path / "act.csv"
    assert main(["--no-progress", "analyze", STEPS, "--protocol", "activation", "--out",
                 str(out)]) in (0, 3)
    rows = list(csv.DictReader(open(out)))
    assert {r["item"] for r in rows} == {"joint", "chord"}
    assert {r["quantity"] for r in rows if r["item"] == "joint"} == {"g_max", "e_rev", "v_half",
                                                                     "slope"}
    assert all(r["unit"] in ("S", "V") for r in rows)
    assert main(["analyze", STEPS, "--protocol", "membrane-test", "--e-rev", "50mV"]) == 2
    assert main(["analyze", STEPS, "--protocol", "inactivation", "--leak", "ramp"]) == 2
    assert main(["analyze", STEPS, "--protocol", "activation", "--out", str(tmp_path / "x.txt")
                 ]) == 2
    assert not (tmp_path / "x.txt").exists()


RAMP = os.path.join(ABFS, "..", "protocols", "DM1_0002.abf")
needs_ramp = pytest.mark.skipif(not os.path.exists(RAMP), reason="../shared/data absent")


@needs_ramp
def test_ramp_iv_equals_an_independent_pyabf_binning():
    pyabf = pytest.importorskip("pyabf")
    iv = fitting.io.ramp_iv_from_abf(RAMP, bin_width=2e-3)
    abf = pyabf.ABF(RAMP)
    assert iv.v.shape == (7, 80) and iv.metadata["epoch"] == 3
    for s in abf.sweepList:
        abf.setSweep(s)
        p1, p2 = abf.sweepEpochs.p1s[3], abf.sweepEpochs.p2s[3]
        cmd, cur = abf.sweepC[p1:p2] * 1e-3, abf.sweepY[p1:p2] * 1e-12
        which = np.clip(np.floor((cmd + 0.1) / 2e-3).astype(int), 0, 79)
        for b in (0, 17, 79):
            assert iv.i[s, b] == pytest.approx(cur[which == b].mean(), rel=1e-9)
            assert iv.v[s, b] == pytest.approx(cmd[which == b].mean(), rel=1e-9)
    with pytest.raises(fitting.io.InputError, match="bin_width"):
        fitting.io.ramp_iv_from_abf(RAMP, bin_width=1.0)
    with pytest.raises(fitting.io.InputError, match="not a voltage ramp"):
        fitting.io.ramp_iv_from_abf(RAMP, epoch=2)


@needs_ramp
def test_cli_ramp_reversal_and_slope_conductance(tmp_path):
    out, curves = tmp_path / "ramp.csv", tmp_path / "iv.csv"
    assert main(["--no-progress", "analyze", RAMP, "--protocol", "ramp", "--out", str(out),
                 "--iv-out", str(curves)]) == 0
    rows = list(csv.DictReader(open(out)))
    iv = fitting.io.read_csv(curves)
    e = fitting.measured_reversal(iv.v, iv.i)
    for s in range(7):
        row = next(r for r in rows if r["item"] == str(s) and r["quantity"] == "e_rev_measured")
        assert float(row["value"]) == pytest.approx(e.value[s], rel=1e-6)
        g_row = next(r for r in rows if r["item"] == str(s)
                     and r["quantity"] == "slope_conductance_at_e_rev")
        near = np.abs(iv.v[s] - e.value[s]) <= 0.01
        slope = np.polyfit(iv.v[s][near], iv.i[s][near], 1)[0]
        assert float(g_row["value"]) == pytest.approx(slope, rel=1e-6)
    # options that belong to other protocols are refused
    assert main(["analyze", RAMP, "--protocol", "ramp", "--e-rev", "0mV"]) == 2
