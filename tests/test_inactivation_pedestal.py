"""Issue 23 item 3.4: steady-state inactivation with a pedestal (non-inactivating fraction),
h_inf = p + (1 - p) / (1 + exp((V - V_1/2)/k)), chosen by AICc against none; checked against
scipy's least squares and the AICc formula computed independently."""

import csv
import os

import numpy as np
import pytest
from scipy.optimize import least_squares

import fitting
from fitting.cli.main import main

ABFS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "abf")
PAIR = os.path.join(ABFS, "14o16001_vc_pair_step.abf")
V = np.linspace(-0.12, 0.0, 13)
I_MAX, VH, K = -2e-9, -0.06, 0.007  # k of h_inf; the model's slope is -k


def _h(v, p, vh=VH, k=K):
    return p + (1 - p) / (1 + np.exp((v - vh) / k))


def _aicc(rss, n, k):
    return n * np.log(rss / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def _scipy(fn, x0, v, i):
    return least_squares(lambda x: fn(x, v) - i, x0, x_scale=np.abs(x0) + 1e-3, xtol=1e-15,
                         ftol=1e-15, gtol=1e-15, method="lm")


def test_a_pedestal_is_found_and_chosen_at_scipys_optimum():
    rng = np.random.default_rng(12)
    i = I_MAX * _h(V, 0.2) + rng.normal(0, 1e-11, V.size)
    res = fitting.inactivation(V, i)
    assert bool(res.chosen)
    ped = res.pedestal
    assert ped.status == fitting.Status.CONVERGED
    got = [float(ped.params[n]) for n in ("i_max", "v_half", "slope", "pedestal")]
    ref = _scipy(lambda x, v: x[0] * _h(v, x[3], x[1], -x[2]), np.array(got) * 1.05, V, i)
    np.testing.assert_allclose(got, ref.x, rtol=1e-5)
    assert abs(got[3] - 0.2) < 3 * float(ped.stderr["pedestal"])
    assert abs(got[1] - VH) < 3 * float(ped.stderr["v_half"])
    # both AICc, as the formula gives them from the two optima's RSS
    plain = _scipy(lambda x, v: x[0] / (1 + np.exp((x[1] - v) / x[2])),
                   np.array([float(res.fit.params[n]) for n in ("i_max", "v_half", "slope")]),
                   V, i)
    n = V.size
    assert float(res.aicc["pedestal"]) == pytest.approx(_aicc(np.sum(ref.fun ** 2), n, 4),
                                                        rel=1e-6)
    assert float(res.aicc["none"]) == pytest.approx(_aicc(np.sum(plain.fun ** 2), n, 3),
                                                    rel=1e-6)
    assert res.aicc["pedestal"] < res.aicc["none"]
    np.testing.assert_allclose(res.h, i / got[0])


def test_no_pedestal_is_chosen_where_the_current_inactivates_completely():
    chosen = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        i = I_MAX * _h(V, 0.0) + rng.normal(0, 1e-11, V.size)
        res = fitting.inactivation(V, i)
        chosen.append(bool(res.chosen))
        assert abs(float(res.fit.params["v_half"]) - VH) < 4 * float(res.fit.stderr["v_half"])
    # one extra parameter pays for itself by chance in ~16% of fits (a likelihood-ratio test
    # at chi^2_1 > 2 plus the small-sample term): at most two of six
    assert sum(chosen) <= 2


def test_cli_inactivation_prints_and_writes_both_models(tmp_path):
    if not os.path.exists(PAIR):
        pytest.skip("../shared/data absent")
    out = tmp_path / "h.csv"
    assert main(["--no-progress", "analyze", PAIR, "--protocol", "inactivation", "--out",
                 str(out)]) in (0, 3)
    with open(out) as f:
        rows = list(csv.DictReader(f))
    items = {(r["item"], r["quantity"]) for r in rows}
    assert {("h_inf", "aicc"), ("h_inf_pedestal", "aicc"), ("h_inf", "pedestal_chosen"),
            ("h_inf_pedestal", "pedestal")} <= items
    chosen = next(float(r["value"]) for r in rows if r["quantity"] == "pedestal_chosen")
    aicc = {r["item"]: float(r["value"] or "nan") for r in rows if r["quantity"] == "aicc"}
    # the smaller AICc; a model that is not usable (NaN) is never chosen
    none = aicc["h_inf"] if np.isfinite(aicc["h_inf"]) else np.inf
    assert chosen == float(aicc["h_inf_pedestal"] < none)
