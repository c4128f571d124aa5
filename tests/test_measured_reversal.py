"""The data's own zero crossing, and the warning when a model's E_rev disagrees with it."""

import numpy as np

import fitting

MV, PA, NS = 1e-3, 1e-12, 1e-9
V = np.arange(-90, 41, 15) * MV


def test_crossing_of_linear_data_is_exact_and_its_stderr_matches_simulation():
    i = 2 * NS * (V + 0.0312)
    e = fitting.measured_reversal(V, i, noise=1 * PA)
    assert abs(float(e.value) + 0.0312) < 1e-15
    rng = np.random.default_rng(0)
    noisy = i + rng.normal(0, 1 * PA, (20000, V.size))
    spread = np.std(fitting.measured_reversal(V, noisy, noise=1 * PA).value)
    assert abs(float(e.stderr) / spread - 1) < 0.03  # delta method vs 20,000 replicates


def test_unsorted_points_nan_and_no_crossing():
    order = np.random.default_rng(1).permutation(V.size)
    i = 2 * NS * (V + 0.02)
    batch = np.stack([i[order], np.abs(i[order]) + 1 * PA, i[order]])
    batch[2, 0] = np.nan
    e = fitting.measured_reversal(V[order], batch)
    assert abs(e.value[0] + 0.02) < 1e-15 and abs(e.value[2] + 0.02) < 1e-15
    assert np.isnan(e.value[1])
    assert np.isfinite(e.stderr[0])  # noise from third differences: ~0 for a line
    assert e.stderr[0] < 1e-9


def test_cli_warns_when_the_fit_and_the_data_disagree_at_reversal(tmp_path):
    from test_cli import run

    import ionjax

    t = 298.15
    unit_na = np.asarray(ionjax.ghk_current(V, 1.0, 10.0, 110.0, 1, temperature=t))
    unit_k = np.asarray(ionjax.ghk_current(V, 1.0, 130.0, 30.0, 1, temperature=t))
    # inward rectification that a GHK sum cannot follow: a Boltzmann-gated K current
    gate = 1 / (1 + np.exp((V + 0.01) / 0.03))
    noise = np.random.default_rng(0).normal(0, 2 * PA, V.size)
    i = 0.3e-17 * unit_na + 1e-17 * unit_k * gate + noise
    path = tmp_path / "rect.csv"
    path.write_text("voltage_mV,current_pA\n" + "".join(
        f"{a * 1e3:.1f},{b * 1e12:.4f}\n" for a, b in zip(V, i)))
    out = run("fit", path, "--model", "multi-ghk", "--ions", "Na,K", "--c-in", "10,130",
              "--c-out", "110,30", "--temperature", "25C", "--reference", "K",
              "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    assert "warning: rect.csv: the fitted E_rev" in out.stdout, out.stdout
    assert "P_Na/P_K from the measured reversal alone" in out.stdout
    # the results file keeps the zero crossing and that ratio; GHK's voltage equation with the
    # ratio gives back the crossing (an identity, independent of how the ratio was solved for)
    import json

    row = json.loads((tmp_path / "r.json").read_text())["recordings"][0]
    ratio, crossing = row["P_Na/P_K_from_measured"], row["e_rev_measured_V"]
    assert row["e_rev_measured_stderr_V"] > 0
    back = ionjax.ghk_voltage(np.array([ratio, 1.0]), np.array([10.0, 130.0]),
                              np.array([110.0, 30.0]), np.array([1, 1]), temperature=t)
    # the command computes in float32: the ratio is known to a few float32 ulp
    np.testing.assert_allclose(float(back), crossing, rtol=16 * np.finfo(np.float32).eps)
    # a model that fits: no warning
    clean = tmp_path / "ghk.csv"
    clean.write_text("voltage_mV,current_pA\n" + "".join(
        f"{a * 1e3:.1f},{b * 1e12:.4f}\n" for a, b in zip(V, 0.3e-17 * unit_na + 1e-17 * unit_k
                                                           + noise)))
    out = run("fit", clean, "--model", "multi-ghk", "--ions", "Na,K", "--c-in", "10,130",
              "--c-out", "110,30", "--temperature", "25C", "--reference", "K")
    assert out.returncode == 0 and "warning" not in out.stdout, out.stdout


def test_a_crossing_made_by_noise_is_not_a_reversal():
    """Closed channels: noise around zero crosses it, then the current turns inward and never
    comes back (the bundled example's cells). That is no reversal potential."""
    import fitting
    from fitting import io
    from fitting.cli.data import example_path

    rng = np.random.default_rng(3)
    v = np.linspace(-0.09, 0.03, 13)
    gate = 1 / (1 + np.exp((-0.04 - v) / 0.005))
    i = 5e-9 * gate * (v - 0.07) + rng.normal(0, 15e-12, v.size)  # E_rev 70 mV: never reached
    assert np.any(np.diff(np.sign(i[:5])) != 0)                    # noise crosses zero
    assert np.isnan(fitting.measured_reversal(v, i).value)
    iv = io.read_csv(example_path())
    assert np.all(np.isnan(fitting.measured_reversal(iv.v, iv.i).value))
    # a real crossing is still found, between the significant points of either sign
    line = 2e-9 * (v + 0.02) + rng.normal(0, 2e-12, v.size)
    np.testing.assert_allclose(fitting.measured_reversal(v, line).value, -0.02, atol=2e-3)
