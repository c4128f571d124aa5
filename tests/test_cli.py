"""The `ionjax` command end to end, through subprocess: good files, bad input, exit codes."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fitting import io

def run(*args, cwd=None):
    env = dict(os.environ)
    env.pop("JAX_ENABLE_X64", None)
    return subprocess.run([sys.executable, "-m", "fitting", "--no-progress", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest(), os.path.getmtime(path)


@pytest.fixture
def ohmic_csv(tmp_path):
    rng = np.random.default_rng(0)
    v = np.arange(-100, 41, 10.0)
    i = 3.0 * (v + 75.0) + rng.normal(0, 4.0, v.size)  # nS * mV = pA
    path = tmp_path / "cell.csv"
    path.write_text("voltage_mV,current_pA\n" + "".join(f"{a},{b:.4f}\n" for a, b in zip(v, i)))
    return path, v * 1e-3, i * 1e-12


def test_nernst_prints_e_k():
    out = run("nernst", "--ion", "K", "--c-in", 140, "--c-out", 5, "--temperature", "37C")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "E_K = -89.06 mV"


def test_ghk_voltage_and_ljp():
    out = run("ghk-voltage", "--ions", "K,Na,Cl", "--p", "1,0.04,0.45", "--c-in", "400,50,40",
              "--c-out", "20,440,560", "--temperature", "6.3C")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("V_rev = -59.36 mV")
    out = run("ljp", "--pipette", "K=140,gluconate=140", "--bath", "Na=140,Cl=140",
              "--temperature", "25C")
    assert out.returncode == 0 and out.stdout.startswith("LJP = 17."), out.stdout + out.stderr


def test_fit_csv_gives_the_least_squares_answer_in_json(ohmic_csv, tmp_path):
    path, v, i = ohmic_csv
    before = digest(path)
    out_json = tmp_path / "res.json"
    out = run("fit", path, "--model", "ohmic", "--out", out_json)
    assert out.returncode == 0, out.stderr
    assert "[[Model]] Ohmic" in out.stdout and "nS" in out.stdout
    doc = json.loads(out_json.read_text())
    rec = doc["recordings"][0]
    x = np.stack([v, np.ones_like(v)], axis=1)
    (a, b), *_ = np.linalg.lstsq(x, i, rcond=None)
    assert rec["g_S"] == pytest.approx(a, rel=1e-5)  # the command runs in float32
    assert rec["e_rev_V"] == pytest.approx(-b / a, rel=1e-4)
    assert rec["status"] == 0 and rec["g_stderr_S"] > 0
    assert digest(path) == before  # the input is untouched


def test_fit_csv_results_and_plot(ohmic_csv, tmp_path):
    path, _, _ = ohmic_csv
    out = run("fit", path, "--model", "boltzmann-ohmic", "--out", tmp_path / "r.csv",
              "--plot", tmp_path / "fit.png", "--ljp", "3.18mV")
    # a linear I-V: the gating is UNIDENTIFIABLE, so no recording gives a usable fit (exit 3),
    # but the results and the figure are still written, with the refusal in them
    assert out.returncode == 3 and "no recording gave a usable fit" in out.stderr, out.stderr
    assert (tmp_path / "fit.png").stat().st_size > 10_000
    header = next(line for line in (tmp_path / "r.csv").read_text().splitlines()
                  if not line.startswith("#"))  # after the provenance comment
    # the model's reversal is its e_rev parameter: one column, not a copy named e_rev_fit
    assert "g_max_S" in header and "e_rev_V" in header and "e_rev_fit_V" not in header


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"voltage_mV,current_pA\n-80,12\n-70,abc\n", ":3:2:"),
])
def test_bad_csv_exits_2_with_one_message(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    out = run("fit", path, "--model", "ohmic")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and match in out.stderr
    assert str(path.name) in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == content


def test_missing_file_random_abf_and_output_equal_to_input(tmp_path, ohmic_csv):
    out = run("fit", tmp_path / "nope.csv", "--model", "ohmic")
    assert out.returncode == 2 and "nope.csv" in out.stderr and "Traceback" not in out.stderr
    junk = tmp_path / "junk.abf"
    junk.write_bytes(os.urandom(4096))
    before = digest(junk)
    out = run("fit", junk, "--model", "ohmic")
    assert out.returncode == 2 and "junk.abf" in out.stderr and "Traceback" not in out.stderr
    assert digest(junk) == before
    path, _, _ = ohmic_csv
    before = digest(path)
    out = run("fit", path, "--model", "ohmic", "--out", path)
    assert out.returncode == 2 and "also an input" in out.stderr
    assert digest(path) == before


def test_bad_values_exit_2():
    out = run("nernst", "--ion", "Xx", "--c-in", 1, "--c-out", 2, "--temperature", "20C")
    assert out.returncode == 2 and "unknown ion" in out.stderr
    out = run("nernst", "--ion", "K", "--c-in", -1, "--c-out", 2, "--temperature", "20C")
    assert out.returncode == 2 and "--c-in -1 mM: a concentration cannot be negative" in out.stderr
    out = run("nernst", "--ion", "K", "--c-in", 1, "--c-out", 2, "--temperature", "hot")
    assert out.returncode == 2 and "temperature" in out.stderr


def test_example_runs_end_to_end(tmp_path):
    out = run("example", "--out-dir", tmp_path)
    assert out.returncode == 0, out.stderr
    assert "BoltzmannOhmic" in out.stdout and "E_rev cell1" in out.stdout
    assert (tmp_path / "ionjax-example.png").stat().st_size > 10_000


def test_iv_extracts_abf_steps(shared_data, tmp_path):
    abf = shared_data / "abf" / "14o16001_vc_pair_step.abf"
    before = digest(abf)
    out_csv = tmp_path / "iv.csv"
    out = run("iv", abf, "--out", out_csv)
    assert out.returncode == 0, out.stderr
    iv = io.read_csv(out_csv)
    direct = io.iv_from_abf(abf)
    np.testing.assert_allclose(np.ravel(iv.i), np.ravel(direct.i), rtol=1e-6, atol=1e-15)
    assert digest(abf) == before
    out = run("fit", abf, "--model", "boltzmann-ohmic")
    assert out.returncode == 3, out.stderr  # refused (UNIDENTIFIABLE): nothing usable


@pytest.mark.parametrize("args, message", [
    (("nernst", "--ion", "K", "--z", "2", "--c-in", 140, "--c-out", 5, "--temperature", "22C"),
     "conflicts with the valence +1 of K"),
    (("nernst", "--ion", "K", "--c-in", 140, "--c-out", 5, "--temperature", "25K"),
     "outside -10..100 degC"),
    (("nernst", "--ion", "K", "--c-in", 140, "--c-out", 5, "--temperature", "1e6C"),
     "outside -10..100 degC"),
    (("ghk-voltage", "--ions", "K,Na", "--p", "0,0", "--c-in", "140,10", "--c-out", "5,140",
      "--temperature", "22C"), "--p must be >= 0 with at least one > 0"),
    (("ghk-voltage", "--ions", "K,X", "--z", "1,1.9", "--p", "1,1", "--c-in", "140,10",
      "--c-out", "5,140", "--temperature", "22C"), "valence '1.9' is not a non-zero integer"),
    (("ljp", "--pipette", "K=-140,Cl=140", "--bath", "Na=140,Cl=140", "--temperature", "22C"),
     "concentration of K '-140' must be > 0"),
])
def test_inputs_outside_physics_exit_2_with_one_line(args, message):
    out = run(*args)
    assert out.returncode == 2, out.stdout
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "nan" not in out.stdout.lower()


def test_reference_is_matched_named_and_checked(tmp_path):
    rng = np.random.default_rng(1)
    v = np.arange(-100, 41, 10.0) * 1e-3
    import ionjax

    i = sum(p * np.asarray(ionjax.ghk_current(v, 1.0, ci, co, 1, temperature=295.15))
            for p, ci, co in ((1e-18, 10, 140), (1e-17, 140, 5)))
    i = i + rng.normal(0, 2e-12, v.size)
    path = tmp_path / "mix.csv"
    path.write_text("voltage_mV,current_pA\n" + "".join(
        f"{a * 1e3},{b * 1e12:.5f}\n" for a, b in zip(v, i)))
    common = ("fit", path, "--model", "multi-ghk", "--ions", "Na,K", "--c-in", "10,140",
              "--c-out", "140,5", "--temperature", "22C")
    out = run(*common, "--reference", "k", "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    assert "P_Na/P_K" in out.stdout and "p_Na" in out.stdout
    row = json.loads((tmp_path / "r.json").read_text())["recordings"][0]
    assert row["P_Na/P_K"] == pytest.approx(0.1, rel=0.05)
    bad = run(*common, "--reference", "Cl")
    assert bad.returncode == 2 and "--reference Cl is not one of --ions Na,K" in bad.stderr


def test_failed_fit_writes_strict_json_and_prints_no_nan(tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("voltage_mV,current_pA\n" + "".join(f"{a},0\n" for a in range(-90, 41, 10)))
    out = run("fit", path, "--model", "ohmic", "--out", tmp_path / "r.json")
    assert out.returncode == 3, out.stderr  # every recording refused: a script can tell
    assert "nan" not in out.stdout.lower() and "not available" in out.stdout
    text = (tmp_path / "r.json").read_text()
    assert "NaN" not in text
    row = json.loads(text)["recordings"][0]  # strict JSON
    assert row["status"] == 6 and row["g_S"] is None


def test_bad_file_in_a_multi_file_run_still_writes_the_good_ones(ohmic_csv, tmp_path):
    good, _, _ = ohmic_csv
    bad = tmp_path / "bad.csv"
    bad.write_text("voltage_mV,current_pA\n-80,abc\n")
    out = run("fit", good, bad, "--model", "ohmic", "--out", tmp_path / "r.json")
    assert out.returncode == 2
    assert "bad.csv:2:2: non-numeric value 'abc'" in out.stderr
    assert "1 file(s) not read" in out.stderr
    rows = json.loads((tmp_path / "r.json").read_text())["recordings"]
    assert [r["label"] for r in rows] == ["cell.csv"] and rows[0]["status"] == 0


def test_output_formats_are_checked_before_anything_is_written(ohmic_csv, tmp_path):
    good, _, _ = ohmic_csv
    out = run("fit", good, "--model", "ohmic", "--out", tmp_path / "r.json",
              "--plot", tmp_path / "fig.xyz")
    assert out.returncode == 2 and "figure format 'xyz'" in out.stderr
    assert not (tmp_path / "r.json").exists()
    out = run("fit", good, "--model", "ohmic", "--out", tmp_path / "r.txt")
    assert out.returncode == 2 and "must be .json, .csv, .parquet, .nwb" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell.csv"]


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path):
    """The command's SIGTERM handler turns the signal into KeyboardInterrupt, so the atomic
    writer removes its temporary file (checked at the moment of the signal, in a subprocess)."""
    code = textwrap.dedent(f"""
        import os, signal
        from fitting.cli import interrupt
        from fitting.outputs.atomic import atomic_path
        interrupt.install()
        try:
            with atomic_path({str(tmp_path / "r.json")!r}) as tmp:
                open(tmp, "w").write("partial")
                assert os.path.exists(tmp)
                os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt:
            print("interrupted")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "interrupted", out.stderr
    assert list(tmp_path.iterdir()) == []


def test_outputs_record_every_correction_and_setting(ohmic_csv, tmp_path):
    good, _, _ = ohmic_csv
    common = ("--ljp", "3.18mV", "--series-resistance", "10MOhm", "--compensation", "0.5")
    out = run("fit", good, "--model", "ohmic", "--out", tmp_path / "r.json", *common)
    assert out.returncode == 0, out.stderr
    prov = json.loads((tmp_path / "r.json").read_text())["provenance"]
    assert prov["ionjax_version"] and prov["settings"]["model"] == "ohmic"
    names = [c["name"] for c in prov["sources"][0]["corrections"]]
    assert names == ["series_resistance", "liquid_junction_potential"], names
    out = run("fit", good, "--model", "ohmic", "--out", tmp_path / "r.csv", *common)
    first = (tmp_path / "r.csv").read_text().splitlines()[0]
    assert first.startswith("# provenance: ") and "liquid_junction_potential" in first
    assert "0.00318" in first


def test_padding_of_unequal_files_is_not_counted_as_masked(ohmic_csv, tmp_path):
    good, _, _ = ohmic_csv
    short = tmp_path / "short.csv"
    short.write_text("voltage_mV,current_pA\n-80,-20\n-40,10\n0,40\n40,75\n")
    out = run("fit", good, short, "--model", "ohmic", "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    rows = json.loads((tmp_path / "r.json").read_text())["recordings"]
    assert [r["n_masked"] for r in rows] == [0, 0] and rows[1]["n_points"] == 4


def test_float32_results_are_written_with_float32_digits(ohmic_csv, tmp_path):
    good, _, _ = ohmic_csv
    out = run("fit", good, "--model", "ohmic", "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "r.json").read_text())["recordings"][0]
    for key in ("g_S", "e_rev_V", "rmse_A", "g_stderr_S"):
        digits = repr(row[key]).split("e")[0].replace("-", "").replace(".", "").lstrip("0")
        assert len(digits) <= 9, (key, row[key])  # float32 holds ~7-9 significant digits
        assert np.float32(row[key]) == np.float32(np.float32(row[key]))


@pytest.mark.parametrize("extra, message", [
    (("--z", "inf"), "is not a non-zero integer"),
    (("--out", "/nonexistent-folder/r.json"), "cannot write there"),
    (("--plot", "fig.pgf"), "figure format 'pgf'"),
    (("--max-steps", "0"), "not an integer >= 1"),
])
def test_more_options_refused_before_any_work(ohmic_csv, extra, message):
    good, _, _ = ohmic_csv
    model = ("--model", "ghk", "--ion", "K", "--c-in", "140", "--c-out", "5",
             "--temperature", "22C") if extra[0] == "--z" else ("--model", "ohmic")
    out = run("fit", good, *model, *extra)
    assert out.returncode == 2 and message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_ljp_of_solutions_that_are_not_electroneutral_is_refused():
    out = run("ljp", "--pipette", "K=140", "--bath", "Na=140,Cl=140", "--temperature", "22C")
    assert out.returncode == 2 and "electroneutral" in out.stderr.lower(), out.stderr
    assert "UserWarning" not in out.stderr and "LJP =" not in out.stdout


def test_all_nan_current_column_is_refused_at_read(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("voltage_mV,current_pA\n-80,\n-40,\n0,\n")
    out = run("fit", path, "--model", "ohmic")
    assert out.returncode == 2 and "holds no number" in out.stderr


def test_noise_free_fit_does_not_warn_about_reversal(tmp_path):
    path = tmp_path / "line.csv"
    path.write_text("voltage_mV,current_nA\n" + "".join(
        f"{a},{2 * (a + 20) / 1000:.6f}\n" for a in range(-80, 41, 20)))
    out = run("fit", path, "--model", "ohmic")
    assert out.returncode == 0 and "warning" not in out.stdout, out.stdout


def test_options_that_would_be_ignored_are_refused(ohmic_csv):
    """ABF-only options on a table, and a temperature nothing uses, were silently ignored."""
    path, _, _ = ohmic_csv
    for extra, message in ((("--window", "2.5ms,7.5ms"),
                            "--window applies to recordings of sweeps"),
                           (("--channel", "1"), "--channel applies to recordings of sweeps"),
                           (("--statistic", "peak", "--epoch", "3"),
                            "--statistic, --epoch apply to recordings of sweeps"),
                           (("--temperature", "25C"), "--temperature is used by ghk models")):
        out = run("fit", path, "--model", "ohmic", *extra)
        assert out.returncode == 2 and message in out.stderr, out.stderr


def test_an_interrupt_whose_exception_was_swallowed_still_stops_before_output(
        ohmic_csv, tmp_path, monkeypatch):
    """SIGINT raised inside a callback that ignores exceptions (JAX's gc hook) used to vanish:
    the command ran on and wrote its output with exit 0. The recorded signal stops it."""
    from fitting.cli import interrupt, main as cli

    path, _, _ = ohmic_csv
    monkeypatch.setattr(interrupt, "install", lambda: None)
    monkeypatch.setattr(interrupt, "interrupted", True)  # the signal came, its exception lost
    out = tmp_path / "r.json"
    assert cli.main(["--no-progress", "fit", str(path), "--model", "ohmic", "--out", str(out)]) \
        == 130
    assert not out.exists() and not list(tmp_path.glob(".ionjax-*"))
