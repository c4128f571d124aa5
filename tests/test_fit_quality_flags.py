"""Fits that look converged but are not (issue 23, items 3-5): the interval rule
(``fitting.engine.quality.refuse_unidentified``), the runs test of lack of fit
(``fitting.engine.lack_of_fit``), the E_rev check
shared by ``FitResult.summary`` and ``ionjax fit``, and the isochronal figure's own labels.
Truth: simulated data of known parameters, and an exhaustive enumeration of sign orders."""

import dataclasses
import itertools
import math

import numpy as np
import pytest

import fitting
from fitting.engine.lack_of_fit import LACK_OF_FIT_ALPHA, runs_test
from fitting.engine.quality import interval_verdicts, refuse_unidentified
from fitting.models import BoltzmannCurrent
from fitting.protocols.inactivation import inactivation

V13 = np.linspace(-0.110, -0.050, 13)  # 14o16001's steps: -110 .. -50 mV in 5 mV


def _rectifier(v, noise, rng, n=200):
    """An inward rectifier (K-like: E_K -65 mV, 5 nS, gate closing above -80 mV) [A]."""
    i = 5e-9 * (v + 0.065) / (1 + np.exp((v + 0.080) / 0.008))
    return i + noise * rng.standard_normal((n, v.size))


def _h(v, v_half, k):
    return 1 / (1 + np.exp((v - v_half) / k))


# -- the runs test ------------------------------------------------------------------------------

@pytest.mark.parametrize("n_pos,n_neg", [(4, 5), (6, 7), (3, 8), (1, 4)])
def test_runs_test_is_the_exact_distribution_of_all_sign_orders(n_pos, n_neg):
    """P(R <= r) from the closed form equals the fraction of all C(n, n+) sign orders with at
    most r runs, for every observed r."""
    n = n_pos + n_neg
    orders = [np.array([1.0 if k in pos else -1.0 for k in range(n)])
              for pos in itertools.combinations(range(n), n_pos)]
    runs = np.array([1 + np.sum(s[1:] != s[:-1]) for s in orders])
    v = np.arange(n, dtype=float)[::-1]  # the test orders by voltage, not by index
    for s, r in zip(orders[::7], runs[::7]):
        p = float(runs_test(v, s[::-1], np.ones(n, bool)))
        assert p == pytest.approx(np.mean(runs <= r), rel=1e-9, abs=1e-12)
    assert len(orders) == math.comb(n, n_pos)


def test_runs_test_skips_masked_and_zero_residuals():
    v = np.arange(8.0)
    r = np.array([1, 1, -1, -1, 0, 1, 1, -1.0])
    mask = np.array([True] * 7 + [False])
    # used signed points: + + - - + +  (the 0 carries no sign, the last point is masked)
    full = float(runs_test(v[[0, 1, 2, 3, 5, 6]], r[[0, 1, 2, 3, 5, 6]], np.ones(6, bool)))
    assert float(runs_test(v, r, mask)) == pytest.approx(full, rel=1e-12)
    assert float(runs_test(v, np.ones(8), np.ones(8, bool))) == 1.0  # one sign: no test


# -- lack of fit: power on a rectifier, false alarms on the right model ------------------------

def test_lack_of_fit_flags_an_ohmic_line_through_a_rectifier_and_not_an_ohmic_cell():
    rng = np.random.default_rng(0)
    wrong = fitting.fit(fitting.Ohmic(), V13, _rectifier(V13, 2e-12, rng))
    right = fitting.fit(fitting.Ohmic(), V13, 5e-9 * (V13 + 0.065)
                        + 20e-12 * rng.standard_normal((200, V13.size)))
    assert np.all(wrong.converged) and np.all(right.converged)
    power = np.mean(np.asarray(wrong.lack_of_fit) < LACK_OF_FIT_ALPHA)
    false_alarm = np.mean(np.asarray(right.lack_of_fit) < LACK_OF_FIT_ALPHA)
    assert power >= 0.95, power  # measured 1.00
    assert false_alarm < 0.05, false_alarm  # measured 0.015
    assert "lack of fit" in wrong[0].summary() and "lack of fit" not in right[1].summary()
    # a batch too large to list names how many recordings lack fit
    assert "lack of fit (runs test p < 0.01) in 200 converged" in wrong.summary(max_rows=5)


def test_lack_of_fit_false_alarms_of_a_boltzmann_on_its_own_curves():
    rng = np.random.default_rng(1)
    v = np.linspace(-0.12, 0.0, 25)
    i = -1e-9 * _h(v, -0.06, 0.008) + 2e-11 * rng.standard_normal((200, v.size))
    res = fitting.fit(BoltzmannCurrent(), v, i)
    p = np.asarray(res.lack_of_fit)[np.asarray(res.converged)]
    assert p.size >= 190 and np.mean(p < LACK_OF_FIT_ALPHA) < 0.05


def test_exact_fits_are_not_tested_for_lack_of_fit():
    res = fitting.fit(fitting.Ohmic(), V13, 5e-9 * (V13 + 0.065))
    assert np.isnan(float(res.lack_of_fit)) and "lack of fit" not in res.summary()


def test_cli_fit_warns_of_lack_of_fit_on_the_real_inward_rectifier(shared_data, capsys):
    """14o16001 (pyABF sample): channel 0's steady-state I-V rectifies inward."""
    from fitting.cli.main import main

    path = shared_data / "abf" / "14o16001_vc_pair_step.abf"
    assert main(["--no-progress", "fit", str(path), "--model", "ohmic", "--channel", "0"]) == 0
    out = capsys.readouterr().out
    assert "lack of fit: the residuals keep their sign" in out, out


# -- the interval rule -------------------------------------------------------------------------

def test_well_sampled_boltzmann_curves_are_not_refused():
    rng = np.random.default_rng(2)
    v = np.linspace(-0.12, 0.0, 13)
    i = -1e-9 * _h(v, -0.06, 0.008) + 2e-11 * rng.standard_normal((200, v.size))
    out = inactivation(v, i, pedestal=False)
    assert np.mean(np.asarray(out.fit.status) == fitting.Status.CONVERGED) >= 0.99
    assert not any(out.notes["none"].ravel())


def test_a_midpoint_at_the_edge_of_the_voltages_is_not_converged_with_a_small_stderr():
    """V_1/2 -115 mV, k 5 mV, sampled from -120 mV: the Wald interval of the fits the engine
    calls converged misses the truth most of the time (measured: 111 of 119); the rule
    refuses them (each with its reason) and what stays converged is rare."""
    rng = np.random.default_rng(3)
    v = np.linspace(-0.12, 0.0, 13)
    truth = -0.115
    i = -1e-9 * _h(v, truth, 0.005) + 5e-11 * rng.standard_normal((200, v.size))
    res = fitting.fit(BoltzmannCurrent(), v, i)
    intervals = fitting.profile_intervals(res, v, i, ["v_half", "slope"])
    judged, judged_intervals, reasons = refuse_unidentified(res, intervals)
    before = np.asarray(res.status) == fitting.Status.CONVERGED
    after = np.asarray(judged.status) == fitting.Status.CONVERGED
    assert before.sum() >= 50  # the engine alone calls many of them converged
    assert after.sum() <= 0.1 * before.sum(), (before.sum(), after.sum())
    refused = before & ~after
    assert np.all(np.asarray(judged.status)[refused] == fitting.Status.UNIDENTIFIABLE)
    assert all("not pinned down" in reasons[k] for k in np.flatnonzero(refused))
    assert np.all(np.isnan(np.asarray(judged.params["v_half"])[refused]))
    assert np.all(np.isnan(np.asarray(judged_intervals["v_half"].lower)[refused]))
    assert not np.any(reasons[~before])  # refusals of the engine keep its own status


def test_a_stderr_wider_than_the_voltages_is_refused_without_intervals():
    rng = np.random.default_rng(4)
    v = np.linspace(-0.12, 0.0, 13)
    res = fitting.fit(BoltzmannCurrent(), v, -1e-9 * _h(v, -0.06, 0.008)
                      + 2e-11 * rng.standard_normal(v.size))
    assert res.converged and interval_verdicts(res) == ""
    wide = dataclasses.replace(res, stderr=dict(res.stderr, v_half=np.asarray(0.13)))
    text = str(interval_verdicts(wide))
    assert text.startswith("V_1/2 not pinned down: its standard error 130 mV exceeds the "
                           "recorded voltages' span 120 mV"), text


def test_inactivation_report_shows_the_reason_not_a_lone_stderr():
    """The report of a refused fit names the profile interval and the standard error it
    disagrees with; the tidy rows carry UNIDENTIFIABLE and no number."""
    from fitting.protocols.gating import fit_line

    rng = np.random.default_rng(3)
    v = np.linspace(-0.12, 0.0, 13)
    i = -1e-9 * _h(v, -0.115, 0.005) + 5e-11 * rng.standard_normal((200, v.size))
    out = inactivation(v, i, pedestal=False)
    k = int(np.flatnonzero(out.notes["none"] != "")[0])
    line = fit_line("h_inf", out.fit, k, out.intervals, out.notes["none"])
    assert "refused (V_1/2 not pinned down" in line or "refused (slope not pinned down" in line
    assert "±" in line and ("profile interval" in line or "standard error" in line), line
    assert np.isfinite(out.h[k]).all()  # the points are still drawn, scaled by the largest


# -- the E_rev check: one function for summary() and the command --------------------------------

def test_summary_and_the_command_share_the_reversal_check():
    from fitting.protocols.reversal import check_reversal

    rng = np.random.default_rng(5)
    v = np.linspace(-0.11, -0.02, 19)  # the rectifier closes far above its reversal (-65 mV)
    i = _rectifier(v, 0.2e-12, rng, n=1)[0]
    res = fitting.fit(fitting.Ohmic(), v, i)  # E_rev about -43 mV
    e = fitting.reversal_potential(res)
    emitted = []
    check_reversal(res, v, i, e, ["cell"], emit=emitted.append)
    assert emitted and emitted[0].startswith("warning: cell: the fitted E_rev")
    text = res.summary(v=v, i=i)
    assert emitted[0].removeprefix("warning: cell: ") in text
    assert "zero crossing" not in res.summary()  # without the data, no check
    # a batch lists the recording
    batch = fitting.fit(fitting.Ohmic(), v, np.stack([i, i]))
    assert "recording 1: the fitted E_rev" in batch.summary(max_rows=1, v=v, i=np.stack([i, i]))


# -- the isochronal figure -------------------------------------------------------------------

def test_isochronal_figure_has_its_own_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fitting.protocols import isochronal
    from fitting.protocols import inactivation as inact

    v = np.linspace(-0.12, 0.0, 13)
    result = inactivation(v, 1e-9 * (1 - _h(v, -0.06, 0.008)), pedestal=False)
    labels = {}
    for name, draw in (("isochronal", isochronal.PROTOCOL.draw), ("inactivation", inact.draw)):
        fig, ax = plt.subplots()
        draw(dict(result=result, v=v), ax)
        labels[name] = (ax.get_xlabel(), ax.get_ylabel(),
                        [t.get_text() for t in ax.get_legend().get_texts()])
        plt.close(fig)
    assert labels["isochronal"][0] == "step V [mV]" and "prepulse" not in str(labels["isochronal"])
    assert "h_inf" not in str(labels["isochronal"]) and "activation" in labels["isochronal"][2][1]
    assert labels["inactivation"][0] == "prepulse V [mV]" and labels["inactivation"][1] == "h"


def test_an_activation_panel_without_a_usable_fit_shows_the_chord_conductances():
    """Every G-V fit refused left an empty panel (newcomer pass): the panel now plots the chord
    conductances [nS] with their errors, says that no fit is usable, and draws no Boltzmann
    curve (not even the joint fit's, which a normalised axis would need)."""
    import types

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from fitting.protocols import activation as act

    v = np.linspace(-0.08, 0.04, 13)
    g = np.where(np.abs(v + 0.07) < 0.005, np.nan, 2e-9 + 1e-11 * v)
    nan = np.array(float("nan"))
    result = types.SimpleNamespace(
        conductance=g, conductance_stderr=np.full(v.size, 5e-11), normalized=g * nan,
        gv=types.SimpleNamespace(params={"g_max": nan, "v_half": nan, "slope": nan}),
        joint=types.SimpleNamespace(params={"v_half": np.array(-0.03), "slope": np.array(0.005)}))
    fig, ax = plt.subplots()
    act.draw(dict(result=result, index=(), v=v), ax)
    x, y = ax.lines[0].get_data()  # the error bar's points
    ok = np.isfinite(g)
    np.testing.assert_allclose(x, v[ok] * 1e3)
    np.testing.assert_allclose(y, g[ok] * 1e9, rtol=1e-12)
    assert ax.get_ylabel() == "G [nS]" and "no usable Boltzmann fit" in str(
        [t.get_text() for t in ax.get_legend().get_texts()])
    assert not [line for line in ax.lines if len(line.get_xdata()) == 200]  # no curve
    plt.close(fig)
