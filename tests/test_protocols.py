"""Activation (joint I-V fit and chord G-V) and inactivation (two-pulse) analyses: simulated
truth with interval coverage, scipy's optimum on the same points, real-file extraction against
pyabf, and the ``ionjax analyze`` command."""

import csv
import os

import numpy as np
import pytest
from scipy.optimize import curve_fit

import fitting
from fitting.cli.main import main

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
    protocol when that epoch is named: the test-pulse current must be pyabf's peak over the
    same window."""
    pyabf = pytest.importorskip("pyabf")
    from fitting.io import two_pulse_from_abf

    # epoch 3 returns to the holding level: never the default test pulse, but it can be named
    assert two_pulse_from_abf(STEPS).metadata["test_epoch"] != 3
    iv = two_pulse_from_abf(STEPS, test_epoch=3, window=("0%", "30%"))
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


def test_kinetics_recovers_time_constants_within_their_errors():
    rng = np.random.default_rng(7)
    t = np.arange(0, 0.15, 1e-4)
    taus = np.geomspace(2e-3, 3e-2, 60)
    amps = np.where(np.arange(60) % 2, -1, 1) * np.geomspace(2e-10, 3e-9, 60)
    i = 4e-11 + amps[:, None] * np.exp(-t / taus[:, None]) + rng.normal(0, 5e-12, (60, t.size))
    i[7] = 4e-11 + rng.normal(0, 5e-12, t.size)  # no relaxation
    k = fitting.kinetics(t, i)
    assert k.status[7] == fitting.Status.NO_SIGNAL and np.isnan(k.values["tau1"][7])
    ok = np.arange(60) != 7
    assert np.all(k.status[ok] == 0)
    for name, true in (("tau1", taus), ("a1", amps)):
        z = (k.values[name][ok] - true[ok]) / k.stderr[name][ok]
        assert 0.88 <= np.mean(np.abs(z) < 1.96) <= 1.0, name  # nominal 0.95 over 59
    two = amps[:, None] * (np.exp(-t / taus[:, None]) + 0.5 * np.exp(-t / (6 * taus[:, None])))
    k2 = fitting.kinetics(t[:600], two[:10, :600] + rng.normal(0, 2e-12, (10, 600)),
                          components=2)
    np.testing.assert_allclose(k2.values["tau1"], taus[:10], rtol=0.05)
    np.testing.assert_allclose(k2.values["tau2"], 6 * taus[:10], rtol=0.1)
    with pytest.raises(ValueError, match="components must be 1 or 2"):
        fitting.kinetics(t, i, components=3)


HCN2 = os.path.join(ABFS, "hcn2_20d10009.abf")


@needs_data
def test_kinetics_of_real_relaxations_is_scipys_optimum():
    r = fitting.io.relaxations_from_abf(HCN2, window=("10ms", "100%"))
    assert r["epoch"] == 8 and r["i"].shape == (9, 5980)
    k = fitting.kinetics(r["t"], r["i"])
    for s in (0, 3, 8):
        x = r["t"] - r["t"][0]
        p, _ = curve_fit(lambda x, c, a, tau: c + a * np.exp(-x / tau), x, r["i"][s],
                         p0=(k.values["c"][s], k.values["a1"][s], k.values["tau1"][s] * 1.1),
                         xtol=1e-15, ftol=1e-15, gtol=1e-15)
        got = [k.values[n][s] for n in ("c", "a1", "tau1")]
        np.testing.assert_allclose(got, p, rtol=1e-6)


@needs_data
def test_cli_kinetics_and_refusals_found_by_the_hostile_user(tmp_path):
    out = tmp_path / "k.csv"
    assert main(["--no-progress", "analyze", HCN2, "--protocol", "kinetics", "--window",
                 "10ms,100%", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert {r["quantity"] for r in rows} == {"v_step", "c", "a1", "tau1"}
    assert rows[0]["file"] == HCN2  # the path as given, not its base name
    # a large first step is not a membrane test unless named
    assert main(["analyze", HCN2, "--protocol", "membrane-test"]) == 2
    steps = os.path.join(ABFS, "14o16001_vc_pair_step.abf")
    iv = fitting.io.two_pulse_from_abf(steps)  # the return to holding is not a test pulse
    assert iv.metadata["test_epoch"] == 6 and iv.metadata["test_level_V"] == pytest.approx(-0.05)
    same = str(tmp_path / "same.csv")
    assert main(["analyze", RAMP, "--protocol", "ramp", "--out", same, "--iv-out", same]) == 2
    assert main(["analyze", RAMP, "--protocol", "ramp", "--bin-width", "0mV"]) == 2
    assert main(["analyze", RAMP, "--protocol", "ramp", "--compensation", "0.7"]) == 2
    assert main(["analyze", RAMP, "--protocol", "ramp", "--out",
                 str(tmp_path / "nodir" / "x.csv")]) == 2
    assert not os.path.exists(same)


def test_tail_iv_extrapolates_to_the_onset_within_its_errors():
    rng = np.random.default_rng(11)
    v = np.linspace(-0.1, 0.04, 15)
    inst = 6e-9 * (v + 0.02)  # open-channel I-V, E_rev -20 mV
    inst[np.argmin(np.abs(v + 0.02))] = 0.0
    t = np.arange(0.002, 0.08, 1e-4)  # the first 2 ms (transient) skipped
    tau = 0.004 + 0.01 * (v + 0.1)
    i = inst[:, None] * np.exp(-t / tau[:, None]) + rng.normal(0, 3e-12, (15, t.size))
    tl = fitting.tail_iv(v, t, i, onset=0.0)
    moving = np.abs(inst) > 0
    z = (tl.i[moving] - inst[moving]) / tl.stderr[moving]
    assert np.all(np.abs(z) < 4) and np.mean(np.abs(z) < 1.96) >= 0.8
    e = tl.intervals["e_rev"]
    assert e.lower < -0.02 < e.upper and abs(float(tl.measured.value) + 0.02) < 1e-3


@needs_data
def test_cli_tail_equals_independent_extrapolation(tmp_path):
    out = tmp_path / "tail.csv"
    assert main(["--no-progress", "analyze", HCN2, "--protocol", "tail", "--window", "5ms,30%",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    r = fitting.io.relaxations_from_abf(HCN2, window=("5ms", "30%"))
    # at -85 mV the current still drifts over the window (no decay within it): refused
    first = next(x for x in rows if x["item"] == "0" and x["quantity"] == "i_instantaneous")
    assert first["status"] == "UNIDENTIFIABLE" and first["value"] == ""
    for s in (2, 8):
        p, _ = curve_fit(lambda x, c, a, tau: c + a * np.exp(-x / tau), r["t"], r["i"][s],
                         p0=(r["i"][s][-1], r["i"][s][0] - r["i"][s][-1], 0.05), xtol=1e-15,
                         ftol=1e-15, gtol=1e-15, maxfev=20000)
        row = next(x for x in rows if x["item"] == str(s) and x["quantity"] == "i_instantaneous")
        assert float(row["value"]) == pytest.approx(p[0] + p[1], rel=1e-6)
    e = next(x for x in rows if x["item"] == "ohmic" and x["quantity"] == "e_rev")
    assert float(e["lower"]) < float(e["value"]) < float(e["upper"])


@needs_data
@pytest.mark.parametrize("protocol, path, extra", [
    ("membrane-test", os.path.join(ABFS, "..", "protocols", "171116sh_0011.abf"), []),
    ("activation", STEPS, []),
    ("ramp", RAMP, []),
    ("tail", HCN2, ["--window", "5ms,30%"]),
])
def test_cli_analyze_writes_a_figure(tmp_path, protocol, path, extra):
    pytest.importorskip("matplotlib")
    fig = tmp_path / "fig.png"
    assert main(["--no-progress", "analyze", path, "--protocol", protocol, "--plot", str(fig)]
                + extra) in (0, 3)
    assert fig.stat().st_size > 10000
    assert main(["analyze", path, "--protocol", protocol, "--plot", str(tmp_path / "f.xyz")]
                + extra) == 2
    assert not (tmp_path / "f.xyz").exists()


@needs_data
def test_a_recipe_gives_the_options_and_the_command_line_overrides_it(tmp_path):
    recipe = tmp_path / "tail.toml"
    recipe.write_text('protocol = "tail"\nwindow = "5ms,30%"\n')
    by_recipe, by_flags = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["--no-progress", "analyze", HCN2, "--recipe", str(recipe), "--out",
                 str(by_recipe)]) == 0
    assert main(["--no-progress", "analyze", HCN2, "--protocol", "tail", "--window", "5ms,30%",
                 "--out", str(by_flags)]) == 0
    assert by_recipe.read_text() == by_flags.read_text()
    override = tmp_path / "c.csv"
    assert main(["--no-progress", "analyze", HCN2, "--recipe", str(recipe), "--window",
                 "6ms,30%", "--out", str(override)]) == 0
    assert override.read_text() != by_recipe.read_text()
    for text in ('protocol = "tail"\nbogus = 1\n', "protocol = tail\n",
                 'protocol = "tail"\nout = "x.csv"\n', 'protocol = "tail"\nepoch = [1, 2]\n'):
        recipe.write_text(text)
        with pytest.raises(SystemExit) as exc:
            main(["analyze", HCN2, "--recipe", str(recipe)])
        assert exc.value.code == 2


@needs_data
def test_isochronal_tails_default_to_the_return_to_holding(tmp_path):
    pyabf = pytest.importorskip("pyabf")
    iv = fitting.io.two_pulse_from_abf(STEPS, tails=True, window=("2ms", "10%"),
                                       statistic="mean")
    assert (iv.metadata["prepulse_epoch"], iv.metadata["test_epoch"]) == (2, 3)
    abf = pyabf.ABF(STEPS)
    abf.setSweep(4)
    p1, p2 = abf.sweepEpochs.p1s[3], abf.sweepEpochs.p2s[3]
    k0, k1 = int(np.ceil(0.002 * abf.dataRate - 1e-9)), int(np.ceil(0.1 * (p2 - p1) - 1e-9))
    assert iv.i[4] == pytest.approx(abf.sweepY[p1 + k0:p1 + k1].mean() * 1e-12, rel=1e-12)
    out = tmp_path / "iso.csv"
    assert main(["--no-progress", "analyze", STEPS, "--protocol", "isochronal", "--out",
                 str(out)]) in (0, 3)
    rows = list(csv.DictReader(open(out)))
    assert {r["item"] for r in rows} == {"isochronal"}


@needs_data
def test_tail_leak_from_the_ramps_shifts_each_sweep_by_its_leak_current():
    plain = fitting.io.relaxations_from_abf(HCN2, window=("5ms", "30%"))
    leaky = fitting.io.relaxations_from_abf(HCN2, window=("5ms", "30%"), leak="ramp")
    # the README's leak: about 0.39 nS (each sweep's own line, fitted to its ramps)
    g = np.diff(leaky["leak"]) / np.diff(leaky["v"])
    assert 0.3e-9 < np.median(g) < 0.5e-9
    np.testing.assert_allclose(plain["i"] - leaky["i"], np.repeat(leaky["leak"][:, None],
                                                                  plain["i"].shape[1], axis=1))
    a = fitting.tail_iv(plain["v"], plain["t"], plain["i"])
    b = fitting.tail_iv(leaky["v"], leaky["t"], leaky["i"])
    ok = np.isfinite(a.i) & np.isfinite(b.i)
    np.testing.assert_allclose((a.i - b.i)[ok], leaky["leak"][ok], rtol=1e-6, atol=1e-14)
    with pytest.raises(fitting.io.InputError, match="leak must be"):
        fitting.io.relaxations_from_abf(HCN2, leak="range")


def test_ghk_corrected_activation_recovers_the_gate_the_chord_route_biases():
    import ionjax

    rng = np.random.default_rng(12)
    v = np.linspace(-0.1, 0.05, 16)
    ghk = dict(z=1, c_in=140.0, c_out=5.0, temperature=295.0)
    unit = np.asarray(ionjax.ghk_current(v, 1.0, 140.0, 5.0, 1, temperature=295.0))
    clean = 3e-17 * _boltzmann(v, 1.0, -0.02, 0.008) * unit
    i = clean + rng.normal(0, 2e-11, (200, v.size))
    a = fitting.activation(v, i, ghk=ghk, sigma=2e-11)
    assert np.all(a.gv.status == 0)
    for name, true in (("v_half", -0.02), ("slope", 0.008)):
        iv = a.gv_intervals[name]
        assert 0.92 <= np.mean((iv.lower < true) & (iv.upper > true)) <= 0.98, name
    np.testing.assert_allclose(a.e_rev, float(ionjax.nernst_potential(
        140.0, 5.0, 1, temperature=295.0)))
    chord = fitting.activation(v, i[:20], e_rev=float(a.e_rev[0]), sigma=2e-11)
    assert np.median(chord.gv.params["v_half"]) > -0.01  # rectification read as gating
    with pytest.raises(ValueError, match="leave e_rev None"):
        fitting.activation(v, i[:2], ghk=ghk, e_rev=-0.08)


def test_tail_iv_tells_a_ghk_channel_from_an_ohmic_one():
    import ionjax

    rng = np.random.default_rng(13)
    v = np.linspace(-0.1, 0.04, 15)
    t = np.arange(0.002, 0.08, 1e-4)
    ions = dict(z=(1, 1), c_in=(10.0, 130.0), c_out=(110.0, 30.0), temperature=298.0,
                ions=("Na", "K"), reference=1)
    p_na, p_k = 0.3e-17, 1e-17
    inst = sum(p * np.asarray(ionjax.ghk_current(v, 1.0, ci, co, 1, temperature=298.0))
               for p, ci, co in ((p_na, 10.0, 110.0), (p_k, 130.0, 30.0)))
    i = inst[:, None] * np.exp(-t / 0.01) + rng.normal(0, 2e-12, (15, t.size))
    tl = fitting.tail_iv(v, t, i, ghk=ions)
    assert tl.comparison.names == ("ohmic", "ghk") and tl.comparison.best == 1
    assert tl.comparison.weights[1] > 0.99
    ratio, se = tl.ghk.params["ratios"][0], tl.ghk.stderr["ratios"][0]
    assert abs(ratio - 0.3) < 3 * se and se < 0.05
    ohmic_like = 5e-9 * (v + 0.02)
    j = ohmic_like[:, None] * np.exp(-t / 0.01) + rng.normal(0, 2e-12, (15, t.size))
    assert fitting.tail_iv(v, t, j, ghk=ions).comparison.best == 0


@needs_data
def test_cli_tail_with_ions_writes_the_comparison_and_the_ratio(tmp_path):
    out = tmp_path / "t.csv"
    assert main(["--no-progress", "analyze", HCN2, "--protocol", "tail", "--window", "5ms,30%",
                 "--leak", "ramp", "--ion", "Na,K", "--c-in", "10,130", "--c-out", "110,30",
                 "--temperature", "25C", "--out", str(out)]) == 0
    rows = {(r["item"], r["quantity"]): r for r in csv.DictReader(open(out))}
    weights = [float(rows[m, "akaike_weight"]["value"]) for m in ("ohmic", "ghk")]
    assert abs(sum(weights) - 1) < 1e-9
    assert ("ghk", "P_K/P_Na") in rows and float(rows["ghk", "P_K/P_Na"]["value"]) > 1
    assert main(["analyze", HCN2, "--protocol", "tail", "--ion", "K", "--c-in", "130",
                 "--c-out", "30"]) == 2  # no temperature
    assert main(["analyze", HCN2, "--protocol", "tail", "--c-in", "130"]) == 2  # no --ion


def test_tail_iv_corrects_the_voltages_for_series_resistance():
    rng = np.random.default_rng(14)
    v = np.linspace(-0.1, 0.04, 15)
    t = np.arange(0.002, 0.08, 1e-4)
    inst = 5e-9 * (v + 0.02)
    i = inst[:, None] * np.exp(-t / 0.01) + rng.normal(0, 1e-12, (15, t.size))
    leak = np.full(15, 2e-11)
    plain = fitting.tail_iv(v, t, i)
    tl = fitting.tail_iv(v, t, i, series_resistance=1e7, compensation=0.6, leak_current=leak)
    np.testing.assert_allclose(tl.v, v - (plain.i + leak) * 1e7 * 0.4, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="compensation"):
        fitting.tail_iv(v, t, i, series_resistance=1e7, compensation=1.0)


@needs_data
def test_relaxations_extraction_equals_pyabf():
    pyabf = pytest.importorskip("pyabf")
    r = fitting.io.relaxations_from_abf(HCN2, window=("5ms", "30%"))
    abf = pyabf.ABF(HCN2)
    for s in (0, 4, 8):
        abf.setSweep(s)
        p1, p2 = abf.sweepEpochs.p1s[8], abf.sweepEpochs.p2s[8]
        k0 = int(np.ceil(0.005 * abf.dataRate - 1e-9))
        k1 = int(np.ceil(0.3 * (p2 - p1) - 1e-9))
        np.testing.assert_allclose(r["i"][s], abf.sweepY[p1 + k0:p1 + k1].astype(float) * 1e-12,
                                   rtol=1e-12)
        assert r["v"][s] == pytest.approx(abf.sweepEpochs.levels[8] * 1e-3)
    np.testing.assert_allclose(r["t"], (k0 + np.arange(k1 - k0)) / abf.dataRate)


def test_simulated_recordings_end_to_end_recover_the_truth_at_nominal_coverage():
    """Sweeps of a Boltzmann-gated K+ GHK channel with exponential activation and deactivation,
    a capacitive transient at every step and white noise, analysed as recorded (windows on the
    time series): the activation curve from the steady currents (GHK-corrected route), the
    activation time constants, and the instantaneous tail I-V; each truth is inside its 95%
    interval at about the nominal rate over repeated cells."""
    import ionjax

    rng = np.random.default_rng(21)
    rate, k_in, k_out, temp = 10000.0, 140.0, 5.0, 295.0
    p_max, vh, slope, tau_m, tau_d, noise = 3e-17, -0.02, 0.008, 0.005, 0.003, 5e-12
    unit = lambda v: np.asarray(ionjax.ghk_current(v, 1.0, k_in, k_out, 1, temperature=temp))  # noqa: E731
    t = np.arange(0, 0.1, 1 / rate)
    steps = np.linspace(-0.06, 0.04, 11)
    cells = 60
    transient = 2e-9 * np.exp(-t / 3e-4)  # capacitive, gone after ~2 ms
    m_inf = _boltzmann(steps, 1.0, vh, slope)
    gate = m_inf[:, None] * (1 - np.exp(-t / tau_m))
    sweeps = p_max * unit(steps)[:, None] * gate + transient * np.sign(steps + 0.08)[:, None]
    rec = sweeps + rng.normal(0, noise, (cells,) + sweeps.shape)  # (cells, steps, samples)
    # activation: steady current over 80-95% of each step, GHK-corrected G-V
    late = (t >= 0.08) & (t < 0.095)
    i_ss = rec[:, :, late].mean(axis=2)
    a = fitting.activation(steps, i_ss, ghk=dict(z=1, c_in=k_in, c_out=k_out, temperature=temp),
                           sigma=noise / np.sqrt(late.sum()))
    for name, true in (("v_half", vh), ("slope", slope)):
        iv = a.gv_intervals[name]
        assert 0.88 <= np.mean((iv.lower < true) & (iv.upper > true)) <= 1.0, name
    # activation kinetics: from 3 ms (10 time constants of the transient), sweeps with a
    # sizeable current
    window = t >= 0.003
    big = np.abs(p_max * unit(steps) * m_inf) > 100 * noise
    k = fitting.kinetics(t[window], rec[:, big][:, :, window].reshape(-1, window.sum()))
    z = (k.values["tau1"] - tau_m) / k.stderr["tau1"]
    assert np.all(k.status == 0) and 0.88 <= np.mean(np.abs(z) < 1.96) <= 1.0
    # tails: open at +40 mV, then to each tail voltage; deactivation with tau_d
    tails = np.linspace(-0.1, 0.02, 9)
    open_frac = _boltzmann(0.04, 1.0, vh, slope)
    inst = p_max * unit(tails) * open_frac
    tt = np.arange(0.002, 0.03, 1 / rate)
    z_tail = []
    for c in range(20):
        i = inst[:, None] * np.exp(-tt / tau_d) + rng.normal(0, noise, (tails.size, tt.size))
        tl = fitting.tail_iv(tails, tt, i, onset=0.0)
        moving = np.abs(inst) > 20 * noise
        z_tail.append(((tl.i - inst) / tl.stderr)[moving])
    assert 0.88 <= np.mean(np.abs(np.concatenate(z_tail)) < 1.96) <= 1.0


@needs_data
def test_two_pulse_corrections_series_resistance_and_leak():
    pyabf = pytest.importorskip("pyabf")
    plain = fitting.io.two_pulse_from_abf(STEPS, tails=True)
    fixed = fitting.io.two_pulse_from_abf(STEPS, tails=True, series_resistance=1e7,
                                          compensation=0.5, leak=(1e-9, -0.07))
    abf = pyabf.ABF(STEPS)
    for s in (0, 6):
        abf.setSweep(s)
        p1, p2 = abf.sweepEpochs.p1s[2], abf.sweepEpochs.p2s[2]
        i_pre = abf.sweepY[p2 - (p2 - p1) // 5:p2].astype(float).mean() * 1e-12
        assert fixed.v[s] == pytest.approx(plain.v[s] - i_pre * 1e7 * 0.5, abs=1e-12)
        test_level = abf.sweepEpochs.levels[3] * 1e-3
        assert fixed.i[s] == pytest.approx(plain.i[s] - 1e-9 * (test_level + 0.07), abs=1e-18)
    with pytest.raises(fitting.io.InputError, match="compensation"):
        fitting.io.two_pulse_from_abf(STEPS, tails=True, series_resistance=1e7, compensation=1)
