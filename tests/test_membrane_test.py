"""Membrane test: a simulated RC cell of known components, the real pyABF memtest recording
against an independent scipy extraction and pyABF's own tool, and refusals."""

import os

import numpy as np
import pytest

import fitting
from fitting import io

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "protocols")
MEMTEST = os.path.join(DATA, "171116sh_0011.abf")

RA, RM, CM, DV, VH, IH = 10e6, 200e6, 30e-12, -0.01, -0.07, -20e-12
RATE, EDGE, END = 20000.0, 0.1, 0.3


def _rc_cell(sweeps, noise, seed):
    """Current of Ra in series with Rm || Cm for a step V_hold -> V_hold + DV at EDGE (exact
    solution, sampled at RATE), plus white noise of SD ``noise``."""
    t = np.arange(0, 0.5, 1 / RATE)
    tau = CM * RA * RM / (RA + RM)
    x = t - EDGE
    on = (x > 0) & (t < END)
    clean = np.full_like(t, IH)
    clean[on] += DV / (RA + RM) + (DV / RA - DV / (RA + RM)) * np.exp(-x[on] / tau)
    rng = np.random.default_rng(seed)
    return t, clean + rng.normal(0, noise, (sweeps, t.size)), tau


def test_simulated_rc_cell_components_recovered_within_their_intervals():
    t, i, tau = _rc_cell(40, 2e-12, seed=1)
    res = fitting.membrane_test(t, i, v_hold=VH, v_step=VH + DV, edge=EDGE, end=END)
    assert np.all(res.status == 0)
    truth = dict(access_resistance=RA, membrane_resistance=RM, capacitance=CM, tau=tau,
                 holding_current=IH, total_resistance=RA + RM)
    for name, true in truth.items():
        z = (res.values[name] - true) / res.stderr[name]
        covered = np.mean(np.abs(z) < 1.96)
        assert 0.8 <= covered <= 1.0, (name, covered)  # nominal 0.95 over 40 sweeps
        mean, se, n = res.mean()[name]
        assert n == 40 and abs(mean - true) < 4 * se + 1e-12 * abs(true), (name, mean, se)
    # the model-free charge gives the same capacitance
    np.testing.assert_allclose(res.capacitance_from_charge, CM, rtol=0.02)


def test_step_of_zero_and_short_windows_are_refused():
    t, i, _ = _rc_cell(2, 1e-12, seed=2)
    with pytest.raises(ValueError, match="must change the command"):
        fitting.membrane_test(t, i, v_hold=VH, v_step=VH, edge=EDGE, end=END)
    with pytest.raises(ValueError, match="in V"):
        fitting.membrane_test(t, i, v_hold=-70, v_step=-80, edge=EDGE, end=END)
    with pytest.raises(ValueError, match=">= 20 in the step"):
        fitting.membrane_test(t, i, v_hold=VH, v_step=VH + DV, edge=EDGE, end=EDGE + 5 / RATE)
    bad = i.copy()
    bad[0, int(EDGE * RATE) + 3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        fitting.membrane_test(t, bad, v_hold=VH, v_step=VH + DV, edge=EDGE, end=END)


def test_a_file_that_is_not_an_abf_is_refused(tmp_path):
    path = tmp_path / "x.abf"
    path.write_text("v,i\n")
    with pytest.raises(io.InputError, match="not an ABF"):
        io.membrane_test_from_abf(path)


needs_data = pytest.mark.skipif(not os.path.exists(MEMTEST), reason="../shared/data absent")


def _independent(path):
    """The same extraction written from pyabf + numpy + scipy alone."""
    pyabf = pytest.importorskip("pyabf")
    from scipy.optimize import curve_fit

    abf = pyabf.ABF(path)
    rate = abf.dataRate
    out = []
    for s in abf.sweepList:
        abf.setSweep(s)
        p1, p2 = abf.sweepEpochs.p1s[1], abf.sweepEpochs.p2s[1]
        v_hold, v_step = abf.sweepEpochs.levels[0] * 1e-3, abf.sweepEpochs.levels[1] * 1e-3
        t, i = np.arange(len(abf.sweepY)) / rate, abf.sweepY * 1e-12
        edge, end = p1 / rate, p2 / rate
        before = (t < edge) & (t >= 0.2 * edge)
        i_hold = i[before].mean()
        step = (t > edge) & (t < end)
        head = step & (t < edge + 0.1 * (end - edge))
        out.append((t, i, edge, end, v_hold, v_step, i_hold,
                    np.flatnonzero(head)[np.argmax(np.abs(i[head] - i_hold))]))
    start = max(o[-1] for o in out) + 1
    rows = []
    for t, i, edge, end, v_hold, v_step, i_hold, _ in out:
        x, y = t[start:] - edge, i[start:]
        keep = t[start:] < end
        x, y = x[keep], y[keep]
        (i_ss, amp, tau), _ = curve_fit(lambda x, c, a, k: c + a * np.exp(-x / k), x, y,
                                        p0=(y[-100:].mean(), y[0] - y[-100:].mean(), 2e-3),
                                        xtol=1e-13, ftol=1e-13, maxfev=20000)
        dv = v_step - v_hold
        ra, rt = dv / (amp + i_ss - i_hold), dv / (i_ss - i_hold)
        rows.append((ra, rt - ra, tau * (1 / ra + 1 / (rt - ra)), tau, i_hold))
    return np.array(rows)


@needs_data
def test_real_memtest_equals_an_independent_scipy_extraction():
    res, info = io.membrane_test_from_abf(MEMTEST)
    assert info == dict(epoch=1, sweeps=20, rate=20000.0)
    assert (res.v_hold, res.v_step) == pytest.approx((-0.07, -0.08))
    assert np.all(res.status == 0)
    ref = _independent(MEMTEST)
    got = np.stack([res.values[k] for k in ("access_resistance", "membrane_resistance",
                                            "capacitance", "tau", "holding_current")], axis=1)
    np.testing.assert_allclose(got, ref, rtol=1e-5)


@needs_data
def test_real_memtest_agrees_with_pyabf_where_the_methods_agree():
    """pyABF's memtest (pyabf.tools.memtest) takes the holding current as a mean before the
    step, as here; its R_a comes from the recorded peak and its steady current from the last
    20% of the step, where this one extrapolates a fitted exponential (within 5%)."""
    pyabf = pytest.importorskip("pyabf")
    from pyabf.tools.memtest import Memtest

    res, _ = io.membrane_test_from_abf(MEMTEST)
    theirs = Memtest(pyabf.ABF(MEMTEST))
    # their pre-step window differs from this one (the 80% before the edge): per sweep within
    # 3%, the mean over the 20 sweeps within 0.5%
    np.testing.assert_allclose(res.values["holding_current"], theirs.Ih.values * 1e-12,
                               rtol=0.03)
    np.testing.assert_allclose(res.mean()["holding_current"][0],
                               np.mean(theirs.Ih.values) * 1e-12, rtol=5e-3)
    np.testing.assert_allclose(res.mean()["access_resistance"][0],
                               np.mean(theirs.Ra.values) * 1e6, rtol=0.05)


def test_single_exponential_cell_has_misfit_near_one():
    t, i, _ = _rc_cell(10, 2e-12, seed=3)
    res = fitting.membrane_test(t, i, v_hold=VH, v_step=VH + DV, edge=EDGE, end=END)
    assert np.all(np.abs(res.misfit - 1) < 0.15), res.misfit


@needs_data
def test_cli_analyze_membrane_test_writes_a_tidy_table(tmp_path):
    import csv

    from fitting.cli.main import main

    out = tmp_path / "mt.csv"
    assert main(["--no-progress", "analyze", MEMTEST, "--protocol", "membrane-test",
                 "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    # tidy: 20 sweeps x (6 quantities + charge C_m + misfit) + 6 mean rows
    assert len(rows) == 20 * 8 + 6 and rows[-1]["item"] == "mean"
    res, _ = io.membrane_test_from_abf(MEMTEST)
    row = next(r for r in rows if r["item"] == "3" and r["quantity"] == "access_resistance")
    assert (row["unit"], float(row["value"])) == ("Ohm", res.values["access_resistance"][3])
    assert float(row["stderr"]) == res.stderr["access_resistance"][3]
    mean = next(r for r in rows if r["item"] == "mean" and r["quantity"] == "capacitance")
    assert float(mean["value"]) == res.mean()["capacitance"][0]
    # a wrong output extension is refused before anything is read or written
    bad = tmp_path / "mt.txt"
    assert main(["analyze", MEMTEST, "--protocol", "membrane-test", "--out", str(bad)]) == 2
    assert not bad.exists()
