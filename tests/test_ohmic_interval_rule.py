"""The interval rule's part that needs no profile applies to every fit (issue 23, item 3).

An ohmic fit to five points at -100..-80 mV put E_rev at 26.5 ± 124.9 mV and called it
CONVERGED; only ``--intervals`` refused it, with the gating message. Now ``fitting.fit`` and
``ionjax fit`` refuse an E_rev whose standard error exceeds the recorded span, or which lies more
than twice that span beyond the recorded voltages, as ``Status.EXTRAPOLATED`` with the reason in
E_rev's own words. The reference for every number is a straight line fitted by NumPy
(``np.polyfit`` with its covariance; E_rev = -b/a, its SE by the delta method).
"""

import numpy as np
import pytest

import fitting
from fitting.cli.main import main
from fitting.engine.extrapolation import EXTRAPOLATION_SPANS

MV, PA, NS = 1e-3, 1e-12, 1e-9
NARROW = np.linspace(-100, -80, 5) * MV  # the recorded voltages of the report: span 20 mV


def _line(g, e_rev, noise, v=NARROW, seed=1):
    rng = np.random.default_rng(seed)
    return v, g * (v - e_rev) + rng.normal(0, noise, v.size)


def _numpy_reversal(v, i):
    """E_rev = -b/a of i = a v + b and its delta-method SE (unweighted, s^2 = RSS/(n-2))."""
    (a, b), cov = np.polyfit(v, i, 1, cov=True)
    e = -b / a
    grad = np.array([b / a**2, -1 / a])  # dE/da, dE/db
    return e, float(np.sqrt(grad @ cov @ grad))


def test_the_reported_fit_is_refused_with_e_rev_s_own_reason():
    v, i = _line(0.1 * NS, 0.0, 1 * PA)
    e, se = _numpy_reversal(v, i)
    assert se > 20 * MV  # the reference: the data cannot place E_rev within their own span
    res = fitting.fit(fitting.Ohmic(), v, i)
    assert res.status == fitting.Status.EXTRAPOLATED and not res.usable
    assert np.isnan(float(res.params["e_rev"])) and np.isnan(float(res.stderr["e_rev"]))
    note = str(res.notes)
    assert note.startswith(f"E_rev not pinned down: its standard error {se / MV:.3g} mV exceeds "
                           "the recorded voltages' span 20 mV (recorded -100..-80 mV; it lies "
                           f"{(e - NARROW[-1]) / MV:.3g} mV beyond them); record across the "
                           "reversal"), note
    text = res.summary()
    assert note in text and "gating" not in text and "converged" not in text


def test_a_reversal_far_beyond_the_voltages_is_refused_even_with_a_small_stderr():
    v, i = _line(2 * NS, -30 * MV, 0.05 * PA)
    e, se = _numpy_reversal(v, i)
    beyond = e - NARROW[-1]
    assert se < 1 * MV and beyond > EXTRAPOLATION_SPANS * 20 * MV  # well pinned, far out
    res = fitting.fit(fitting.Ohmic(), v, i)
    assert res.status == fitting.Status.EXTRAPOLATED
    assert str(res.notes) == (f"E_rev is extrapolated {beyond / MV:.3g} mV beyond the recorded "
                              "-100..-80 mV (more than 2 times their span); record across the "
                              "reversal")


def test_within_twice_the_span_and_across_the_reversal_the_fit_is_unchanged():
    """35 mV beyond a 20 mV span (within the rule: a warning only) and a recording across the
    reversal: CONVERGED, with NumPy's E_rev and SE."""
    for v, i in (_line(2 * NS, -45 * MV, 0.5 * PA),
                 _line(2 * NS, -30 * MV, 5 * PA, v=np.linspace(-100, 40, 15) * MV)):
        e, se = _numpy_reversal(v, i)
        res = fitting.fit(fitting.Ohmic(), v, i)
        assert res.converged and res.notes is None
        assert float(res.params["e_rev"]) == pytest.approx(e, rel=1e-9)
        assert float(res.stderr["e_rev"]) == pytest.approx(se, rel=1e-6)


def test_a_batch_refuses_only_its_extrapolated_recordings():
    v = NARROW
    rows = np.stack([_line(0.1 * NS, 0.0, 1 * PA)[1], _line(2 * NS, -45 * MV, 0.5 * PA)[1],
                     _line(2 * NS, -30 * MV, 0.05 * PA)[1]])
    res = fitting.fit(fitting.Ohmic(), v, rows)
    assert list(res.status) == [fitting.Status.EXTRAPOLATED, fitting.Status.CONVERGED,
                                fitting.Status.EXTRAPOLATED]
    assert [bool(n) for n in res.notes] == [True, False, True]
    alone = fitting.fit(fitting.Ohmic(), v, rows[1])
    assert float(res.params["e_rev"][1]) == pytest.approx(float(alone.params["e_rev"]), rel=1e-9)
    assert "E_rev is extrapolated" in res.summary(labels=["a", "b", "c"])
    assert res[0].notes == res.notes[0]  # a recording taken out keeps its reason


def _write_csv(path, v, i):
    path.write_text("voltage_mV,current_pA\n" + "".join(
        f"{a / MV:.6g},{b / PA:.9g}\n" for a, b in zip(v, i)))
    return path


@pytest.mark.parametrize("intervals", [False, True])
def test_the_command_refuses_in_the_parameter_s_words(tmp_path, capsys, intervals):
    path = _write_csv(tmp_path / "narrow.csv", *_line(0.1 * NS, 0.0, 1 * PA))
    extra = ["--intervals", "--out", str(tmp_path / "res.json")] if intervals else []
    code = main(["fit", str(path), "--model", "ohmic", "--no-progress", *extra])
    out = capsys.readouterr()
    assert code == 3, out  # no recording gave a usable fit
    assert "refused: narrow.csv: E_rev not pinned down" in out.out
    assert "record across the reversal" in out.out and "gating" not in out.out
    assert "CONVERGED" not in out.out.upper().replace("NO RECORDING", "")
    assert "E_rev narrow.csv: not available (E_rev not pinned down" in out.out


def test_a_conductance_not_told_from_zero_leaves_no_reversal_fieller():
    """Rule 5: E_rev = -b/a is refused exactly where Fieller's 95% interval for the ratio is the
    whole line, |a| / SE(a) < t_{n-2}(0.975) (scipy's quantile, NumPy's line). The hostile
    pass's case: E_rev -48.5 ± 19.8 mV from five points at -100..-80 mV, within rules 3-4."""
    from scipy import stats

    crit = stats.t.ppf(0.975, NARROW.size - 2)
    seen = {"fieller": 0, "kept": 0}
    for seed in range(40):
        v, i = _line(0.2 * NS, -70 * MV, 1 * PA, seed=seed)
        (a, _), cov = np.polyfit(v, i, 1, cov=True)
        e, se = _numpy_reversal(v, i)
        beyond = max(NARROW[0] - e, e - NARROW[-1], 0.0)
        span_rule = se > 20 * MV or beyond > EXTRAPOLATION_SPANS * 20 * MV
        fieller = abs(a) / np.sqrt(cov[0, 0]) < crit
        res = fitting.fit(fitting.Ohmic(), v, i)
        note = "" if res.notes is None else str(res.notes)
        if span_rule:
            assert res.status == fitting.Status.EXTRAPOLATED and "conductance" not in note
        elif fieller:
            seen["fieller"] += 1
            assert res.status == fitting.Status.EXTRAPOLATED, (seed, a, cov[0, 0] ** 0.5)
            assert note.startswith("E_rev not pinned down: the conductance is not "
                                   f"distinguishable from 0 at 95% (g = {a / NS:.3g} ± "), note
            assert f"< t_3 {crit:.3g}): no interval bounds E_rev" in note
        else:
            seen["kept"] += 1
            assert res.converged and res.notes is None, (seed, note)
            assert float(res.params["e_rev"]) == pytest.approx(e, rel=1e-9)
    assert min(seen.values()) >= 5, seen  # both sides of the rule are exercised


def test_fieller_with_sigma_given_uses_the_normal_quantile():
    """With the noise SD given (chi^2, Wilks), the critical ratio is z = 1.96, not t_3 = 3.18:
    a conductance 2.5 SE from 0 keeps its E_rev only then."""
    v = NARROW
    g = 2.5 * 1 * PA / np.sqrt(np.sum((v - v.mean()) ** 2))  # |g| / SE(g) = 2.5 exactly
    i = g * (v + 90 * MV)  # noise-free: the SE comes from sigma alone
    kept = fitting.fit(fitting.Ohmic(), v, i, sigma=np.full(v.size, 1 * PA))
    assert kept.converged and float(kept.stderr["g"]) == pytest.approx(g / 2.5, rel=1e-6)
    half = fitting.fit(fitting.Ohmic(), v, i, sigma=np.full(v.size, 1.5 * PA))  # ratio 1.67
    assert half.status == fitting.Status.EXTRAPOLATED and "< z 1.96" in str(half.notes)
