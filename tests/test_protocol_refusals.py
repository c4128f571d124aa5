"""Issue 23 items 3 and 5: no local minimum called converged, protocols that refuse recordings
that do not hold them, flags on believable-looking but wrong tail and chord results, and
warnings where a fitted voltage lies beyond the recorded ones. Truth: synthetic sweeps with
known time constants, brute-force scans and scipy's least squares for the global optimum."""

import os

import numpy as np
import pytest
from scipy.optimize import least_squares

import fitting
from fitting.cli.main import main
from fitting.protocols.kinetics import passive

ABFS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "abf")
STEPS = os.path.join(ABFS, "171116sh_0012.abf")
PAIR = os.path.join(ABFS, "14o16001_vc_pair_step.abf")
needs_data = pytest.mark.skipif(not os.path.exists(STEPS), reason="../shared/data absent")


def _one(x, t):
    return x[0] + x[1] * np.exp(-t / x[2])


def _brute_force(t, y, taus):
    """RSS of c + a exp(-t/tau) at each tau, the amplitudes solved exactly (numpy lstsq)."""
    out = []
    for tau in taus:
        basis = np.stack([np.ones_like(t), np.exp(-t / tau)], axis=1)
        coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
        out.append(np.sum((basis @ coef - y) ** 2))
    return np.array(out)


def _trap(seed=3):
    """A sweep whose one-exponential fit has two minima, after the +40 mV sweep of the issue's
    oocyte family (17o19011, window 2-200 ms: 0.18 ms and 22.8 ms): the end of a large fast
    transient of one sign on a slow activation of the other, at 10 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.002, 0.2, 1e-4)
    x = t - t[0]
    y = (3.446e-6 - 3.3e-7 * np.exp(-x / 0.0228) + 6.8e-7 * np.exp(-x / 5e-4)
         + rng.normal(0, 5e-9, t.size))
    return t, y


def test_kinetics_finds_the_global_optimum_not_the_fast_local_minimum():
    t, y = _trap()
    taus = np.geomspace(1e-4, 2.0, 4000)
    rss = _brute_force(t - t[0], y, taus)
    minima = np.flatnonzero((rss[1:-1] < rss[:-2]) & (rss[1:-1] < rss[2:])) + 1
    assert len(minima) >= 2, "the synthetic sweep must have a local minimum besides the global"
    best = taus[np.argmin(rss)]
    assert taus[minima].min() < 1e-3 and best > 0.01  # a fast local minimum, the slow global
    assert rss[minima].min() == rss.min() and rss[minima].max() > 3 * rss.min()
    k = fitting.kinetics(t, y)
    assert k.status[0] == fitting.Status.CONVERGED
    # the global optimum, polished by scipy from the brute-force scan's best
    ref = least_squares(lambda x: _one(x, t - t[0]) - y,
                        x0=(y[-1], y[0] - y[-1], best), x_scale=(1e-8, 1e-8, 1e-3),
                        xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert ref.x[2] > 0.01
    np.testing.assert_allclose([k.values[n][0] for n in ("c", "a1", "tau1")], ref.x, rtol=1e-5)


def test_two_exponentials_start_from_the_scan():
    rng = np.random.default_rng(5)
    t = np.arange(0.001, 0.3, 1e-4)
    taus = np.array([[5e-4, 0.08], [0.002, 0.03], [0.004, 0.15]])
    amps = np.array([[2e-10, 1e-9], [-6e-10, -3e-10], [1e-9, 2e-10]])
    i = 5e-11 + np.einsum("sk,skn->sn", amps, np.exp(-t[None, None, :] / taus[..., None]))
    i += rng.normal(0, 3e-12, i.shape)
    k = fitting.kinetics(t, i, components=2, origin=0.0)
    assert np.all(k.status == fitting.Status.CONVERGED)
    for j, name in enumerate(("tau1", "tau2")):
        z = (k.values[name] - taus[:, j]) / k.stderr[name]
        assert np.all(np.abs(z) < 4), (name, k.values[name])
        z = (k.values[f"a{j + 1}"] - amps[:, j]) / k.stderr[f"a{j + 1}"]
        assert np.all(np.abs(z) < 4)


def test_time_constants_beyond_the_sampling_or_the_window_are_refused_with_the_tau_found():
    rng = np.random.default_rng(9)
    t = np.arange(0.0, 0.05, 1e-4)  # 10 kHz, 50 ms
    fast = 1e-11 + 2e-9 * np.exp(-t / 1.5e-4) + rng.normal(0, 1e-12, t.size)  # 1.5 samples
    slow = 1e-11 + 2e-9 * np.exp(-t / 0.5) + rng.normal(0, 1e-12, t.size)  # 10 windows
    flat = -2.97e-7 + rng.normal(0, 1e-9, t.size)  # an oocyte's steady -297 nA
    k = fitting.kinetics(t, np.stack([fast, slow, flat]))
    assert list(k.status) == [fitting.Status.OUT_OF_RANGE, fitting.Status.UNIDENTIFIABLE,
                              fitting.Status.NO_SIGNAL]
    assert np.all(np.isnan(k.values["tau1"]))
    assert "shorter than 3 samples (0.3 ms)" in k.notes[0] and "tau 0.1" in k.notes[0]
    assert "longer than the window" in k.notes[1]
    # a steady current is not "zero at every point": the note says what it is
    assert "no relaxation" in k.notes[2]
    assert f"steady level {np.mean(flat[-50:]) * 1e9:.4g} nA" in k.notes[2]


def test_passive_capacitive_transients_are_told_from_channel_relaxations():
    rng = np.random.default_rng(2)
    t = np.arange(0.001, 0.05, 5e-5)
    dv = np.linspace(-0.04, 0.06, 9)
    tau_m = 0.0032
    cap = dv[:, None] * 2e-8 * np.exp(-t / tau_m) + dv[:, None] * 2e-9  # linear in the step
    k = fitting.kinetics(t, cap + rng.normal(0, 1e-12, cap.shape), origin=0.0)
    assert "capacitive transient" in passive(k, dv)
    # a gated channel: voltage-dependent tau, amplitude set by gating and driving force
    v = -0.07 + dv
    tau = 0.002 + 0.03 / (1 + np.exp((v + 0.03) / 0.01))
    amp = -1e-9 / (1 + np.exp(-(v + 0.04) / 0.008)) * (v + 0.09)
    ion = amp[:, None] * np.exp(-t / tau[:, None])
    k2 = fitting.kinetics(t, ion + rng.normal(0, 1e-12, ion.shape), origin=0.0)
    assert passive(k2, dv) == ""


def test_tails_at_one_voltage_are_an_isochronal_design():
    t = np.arange(0.002, 0.05, 1e-4)
    i = np.linspace(1, 2, 6)[:, None] * 1e-10 * np.exp(-t / 0.01)
    with pytest.raises(ValueError, match="isochronal"):
        fitting.tail_iv(np.full(6, -0.05), t, i)


@needs_data
def test_cli_tail_on_an_isochronal_file_is_refused(capsys):
    # 171116sh_0012: a varied step (epoch 2), then the return to holding (epoch 3) in every
    # sweep: tails all at one voltage
    assert main(["--no-progress", "analyze", STEPS, "--protocol", "tail", "--epoch", "3"]) == 2
    err = capsys.readouterr().err
    assert "isochronal" in err and "--protocol isochronal" in err and len(err.splitlines()) == 1


def _tail_family(inst, v, seed=4):
    rng = np.random.default_rng(seed)
    t = np.arange(0.002, 0.08, 1e-4)
    tau = 0.006 + 0.008 * (v - v.min()) / np.ptp(v)
    return t, inst[:, None] * np.exp(-t / tau[:, None]) + rng.normal(0, 2e-12, (v.size, t.size))


def test_tail_flags_a_negative_conductance_and_a_far_extrapolated_reversal():
    v = np.linspace(-0.1, 0.08, 10)
    t, i = _tail_family(-4e-9 * (v + 0.02), v)  # falls as V rises
    tl = fitting.tail_iv(v, t, i, onset=0.0)
    assert tl.status == fitting.Status.OUT_OF_RANGE and "negative conductance" in tl.flags[0]
    t, i = _tail_family(2e-9 * (v - 0.23), v)  # E_rev 230 mV from tails at -100..80 mV
    tl = fitting.tail_iv(v, t, i, onset=0.0)
    assert float(tl.ohmic.params["e_rev"]) == pytest.approx(0.23, abs=0.01)
    assert tl.status == fitting.Status.OUT_OF_RANGE
    e = float(tl.ohmic.params["e_rev"])
    assert f"lies {(e - 0.08) * 1e3:.1f} mV above the highest recorded voltage 80 mV" in \
        tl.flags[0]
    # beyond the range by less than half its span: a warning, not a flag
    t, i = _tail_family(3e-9 * (v - 0.12), v)
    tl = fitting.tail_iv(v, t, i, onset=0.0)
    assert tl.status == fitting.Status.CONVERGED and not tl.flags
    e = float(tl.ohmic.params["e_rev"])
    assert e == pytest.approx(0.12, abs=0.005)
    assert tl.warnings == (f"E_rev {e * 1e3:.1f} mV lies {(e - 0.08) * 1e3:.1f} mV above the "
                           "highest recorded voltage 80 mV: extrapolated",)


def _csv(path, v, i):
    path.write_text("voltage_mV,current_pA\n"
                    + "".join(f"{a * 1e3:.3f},{b * 1e12:.5f}\n" for a, b in zip(v, i)))
    return str(path)


def test_activation_refuses_an_e_rev_on_the_wrong_side_of_the_currents(tmp_path, capsys):
    rng = np.random.default_rng(8)
    v = np.linspace(-0.1, 0.04, 15)
    i = 8e-9 / (1 + np.exp((-0.03 - v) / 0.008)) * (v + 0.057) + 4e-10 * (v + 0.057)
    i = i + rng.normal(0, 2e-12, v.size)
    j = np.flatnonzero(np.diff(np.sign(i)))[0]  # the points' own crossing, interpolated
    cross = v[j] - i[j] * (v[j + 1] - v[j]) / (i[j + 1] - i[j])
    with pytest.raises(ValueError, match=rf"e_rev 50.0 mV lies on the wrong side .* cross zero "
                                         rf"at {cross * 1e3:.1f} mV"):
        fitting.activation(v, i, e_rev=0.05)
    a = fitting.activation(v, i, e_rev=-0.057)  # the right side: fitted
    assert np.all(np.nan_to_num(a.conductance, nan=0.0) >= -1e-10)
    path = _csv(tmp_path / "cell.csv", v, i)
    assert main(["--no-progress", "analyze", path, "--protocol", "activation",
                 "--e-rev=50mV"]) == 2
    err = capsys.readouterr().err
    assert "--e-rev 50.0 mV lies on the wrong side" in err and f"{cross * 1e3:.1f} mV" in err


def test_fit_warns_where_the_reversal_is_extrapolated(tmp_path, capsys):
    rng = np.random.default_rng(1)
    v = np.linspace(-0.04, 0.04, 9)
    i = 3e-9 * (v + 0.0587) + rng.normal(0, 1e-13, v.size)
    res = fitting.fit(fitting.Ohmic(), v, i)
    e = float(res.params["e_rev"])
    expected = (f"E_rev {e * 1e3:.1f} mV lies {(-0.04 - e) * 1e3:.1f} mV below the lowest "
                "recorded voltage -40 mV: extrapolated")
    assert "18.7 mV below" in expected and expected in res.summary()
    path = _csv(tmp_path / "iv.csv", v, i)
    assert main(["--no-progress", "fit", path, "--model", "ohmic"]) == 0
    assert expected in capsys.readouterr().out
    # the GHK model has no e_rev parameter: the command warns beside its E_rev line
    assert main(["--no-progress", "fit", path, "--model", "ghk", "--ion", "K", "--c-in", "140",
                 "--c-out", "5", "--temperature", "22C"]) in (0, 3)
    out = capsys.readouterr().out
    assert "warning:" in out and "below the lowest recorded voltage -40 mV" in out


@needs_data
def test_real_step_families_keep_working_and_their_transients_are_not_kinetics(tmp_path,
                                                                              capsys):
    out = tmp_path / "k.csv"
    code = main(["--no-progress", "analyze", PAIR, "--protocol", "kinetics", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "capacitive transient" in err and "step I-V" in err
    assert not out.exists()
