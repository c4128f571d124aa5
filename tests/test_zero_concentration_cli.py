"""Zero concentrations on the fitting and command-line side (issue 27 item 1): bi-ionic and
substitution conditions are accepted wherever the equation is finite, the Nernst potential and
the quantities that do not exist at c = 0 are refused in one line, and nothing prints inf or
NaN. The physics core is tested in tests/test_zero_concentration.py."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fitting
import ionjax
from fitting.protocols import activation as activation_protocol
from fitting.protocols.base import OptionError
from fitting.recordings.units import parse_concentrations
from ionjax._src.constants import FARADAY, GAS_CONSTANT

T = 295.15  # 22C
RT_F = GAS_CONSTANT * T / FARADAY
V = np.arange(-100, 41, 10.0) * 1e-3


def run(*args):
    env = dict(os.environ)
    env.pop("JAX_ENABLE_X64", None)
    return subprocess.run([sys.executable, "-m", "fitting", "--no-progress", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def refused(out, message):
    """Exit 2, one line on stderr holding ``message``, no inf/nan anywhere."""
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    text = (out.stdout + out.stderr).lower()
    assert "inf " not in text and not text.rstrip().endswith("inf") and "nan" not in text


def csv(path, i):
    path.write_text("voltage_mV,current_pA\n" + "".join(
        f"{a * 1e3:g},{b * 1e12:.6f}\n" for a, b in zip(V, i)))
    return path


def unit(c_in, c_out):
    return np.asarray(ionjax.ghk_current(V, 1.0, c_in, c_out, 1, temperature=T))


def test_parse_concentrations_accepts_zero_and_refuses_negatives():
    assert parse_concentrations("140,0", "--c-in") == [140.0, 0.0]
    assert parse_concentrations("0mM, 5", "--c-out") == [0.0, 5.0]
    with pytest.raises(ValueError, match=r"--c-in '-1': a concentration must be >= 0 mM"):
        parse_concentrations("140,-1", "--c-in")


@pytest.mark.parametrize("p_b, c_a, c_b", [(0.1, 140.0, 140.0), (0.3, 150.0, 100.0)])
def test_ghk_voltage_bi_ionic_matches_ionjax_and_the_closed_form(p_b, c_a, c_b):
    out = run("ghk-voltage", "--ions", "K,Na", "--p", f"1,{p_b}", "--c-in", f"{c_a},0",
              "--c-out", f"0,{c_b}", "--temperature", "22C")
    assert out.returncode == 0, out.stderr
    printed = float(out.stdout.split("=")[1].split()[0])
    core = float(ionjax.ghk_voltage(np.array([1.0, p_b]), np.array([c_a, 0.0]),
                                    np.array([0.0, c_b]), np.array([1, 1]), temperature=T))
    closed = RT_F * np.log(p_b * c_b / (1.0 * c_a))  # A inside only, B outside only
    assert core == pytest.approx(closed, rel=1e-9)
    assert printed == pytest.approx(round(closed * 1e3, 2), abs=1e-9)
    if p_b == 0.1:
        assert out.stdout.strip() == "V_rev = -58.56 mV"


def test_ghk_voltage_substitution_with_a_zero_concentration():
    # Na replaced by NMDG outside (Na 0 mM out): K, Na, Cl, finite reversal
    args = {"p": np.array([1.0, 0.04, 0.45]), "c_in": np.array([140.0, 10.0, 10.0]),
            "c_out": np.array([5.0, 0.0, 150.0]), "z": np.array([1, 1, -1])}
    out = run("ghk-voltage", "--ions", "K,Na,Cl", "--p", "1,0.04,0.45", "--c-in", "140,10,10",
              "--c-out", "5,0,150", "--temperature", "22C")
    assert out.returncode == 0, out.stderr
    expected = float(ionjax.ghk_voltage(**args, temperature=T))
    assert np.isfinite(expected)
    assert out.stdout.strip() == f"V_rev = {round(expected * 1e3, 2) + 0.0:.2f} mV"


@pytest.mark.parametrize("args, message", [
    (("nernst", "--ion", "K", "--c-in", 0, "--c-out", 5),
     "--c-in 0 mM: the Nernst potential of an ion absent from one side is infinite"),
    (("nernst", "--ion", "K", "--c-in", 140, "--c-out", 0),
     "--c-out 0 mM: the Nernst potential of an ion absent from one side is infinite"),
    (("nernst", "--ion", "K", "--c-in", -1, "--c-out", 5),
     "--c-in -1 mM: a concentration cannot be negative"),
    (("ghk-voltage", "--ions", "K,Na", "--p", "1,0.1", "--c-in", "140,-1", "--c-out", "0,140"),
     "--c-in '-1': a concentration must be >= 0 mM"),
    (("ghk-voltage", "--ions", "K,Na", "--p", "1,0.1", "--c-in", "0,0", "--c-out", "5,140"),
     "no reversal potential: no permeant ion (--p > 0) can carry outward current"),
    (("ghk-voltage", "--ions", "K,Na", "--p", "1,0", "--c-in", "140,0", "--c-out", "0,140"),
     "no reversal potential: no permeant ion (--p > 0) can carry inward current"),
])
def test_calculators_refuse_what_does_not_exist_in_one_line(args, message):
    refused(run(*args, "--temperature", "22C"), message)


def test_fit_refuses_negative_and_doubly_absent_concentrations(tmp_path):
    path = csv(tmp_path / "k.csv", 1e-17 * unit(140.0, 5.0))
    refused(run("fit", path, "--model", "ghk", "--ion", "K", "--c-in", "140", "--c-out", "-5",
                "--temperature", "22C"), "--c-out '-5': a concentration must be >= 0 mM")
    refused(run("fit", path, "--model", "multi-ghk", "--ions", "K,Na", "--c-in", "140,0",
                "--c-out", "5,0", "--temperature", "22C"),
            "--c-in and --c-out are both 0 mM for Na")


def test_multi_ion_ghk_bi_ionic_fit_recovers_permeabilities_and_reversal():
    model = fitting.MultiIonGHK(z=(1, 1), c_in=(140.0, 0.0), c_out=(0.0, 140.0), temperature=T,
                                ions=("K", "Na"))
    truth = np.array([1e-17, 1e-18])
    rng = np.random.default_rng(3)
    clean = truth[0] * unit(140.0, 0.0) + truth[1] * unit(0.0, 140.0)
    res = fitting.fit(model, V, clean + 1e-13 * rng.standard_normal(V.size))
    assert int(res.status) == 0
    np.testing.assert_allclose(res.params["p"], truth, rtol=2e-3)
    e = fitting.reversal_potential(res)
    expected = ionjax.ghk_voltage(res.params["p"], np.array([140.0, 0.0]), np.array([0.0, 140.0]),
                                  np.array([1, 1]), temperature=T)
    assert float(e.value) == pytest.approx(float(expected), rel=1e-9)
    assert float(e.value) == pytest.approx(RT_F * np.log(0.1), abs=0.2e-3)  # -58.56 mV
    assert 0 < float(e.stderr) < 1e-3


@pytest.mark.parametrize("model_class", [fitting.GHK, fitting.BoltzmannGHK])
def test_one_ion_absent_from_one_side_fits_but_has_no_reversal(model_class):
    rng = np.random.default_rng(4)
    gate = 1.0 / (1.0 + np.exp((-0.03 - V) / 0.012))
    i = 1e-17 * unit(140.0, 0.0) * (gate if model_class is fitting.BoltzmannGHK else 1.0)
    assert np.all(np.isfinite(i)) and np.all(i > 0)  # K inside only: outward everywhere
    model = model_class(z=1, c_in=140.0, c_out=0.0, temperature=T)
    res = fitting.fit(model, V, i + 1e-14 * rng.standard_normal(V.size))
    assert fitting.usable(res.status)
    p = res.params["p" if model_class is fitting.GHK else "p_max"]
    assert float(p) == pytest.approx(1e-17, rel=1e-2)
    e = fitting.reversal_potential(res)  # the Nernst potential is +inf: no reversal
    assert np.isnan(e.value) and np.isnan(e.stderr)


def test_fit_command_with_an_absent_ion_prints_no_inf(tmp_path):
    rng = np.random.default_rng(5)
    path = csv(tmp_path / "k0.csv", 1e-17 * unit(140.0, 0.0) + 2e-12 * rng.standard_normal(V.size))
    out = run("fit", path, "--model", "ghk", "--ion", "K", "--c-in", "140", "--c-out", "0",
              "--temperature", "22C", "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    assert "E_rev k0.csv: not available (the fitted current does not cross zero)" in out.stdout
    assert "inf" not in out.stdout.lower() and "nan" not in out.stdout.lower()
    row = json.loads((tmp_path / "r.json").read_text())["recordings"][0]
    assert row["status"] == 0 and row["e_rev_fit_V"] is None
    assert row["p_m^3/s"] == pytest.approx(1e-17, rel=0.02)


def test_fit_command_bi_ionic_multi_ghk_prints_the_ghk_reversal(tmp_path):
    rng = np.random.default_rng(6)
    i = 1e-17 * unit(140.0, 0.0) + 1e-18 * unit(0.0, 140.0)
    path = csv(tmp_path / "bi.csv", i + 0.5e-12 * rng.standard_normal(V.size))
    out = run("fit", path, "--model", "multi-ghk", "--ions", "K,Na", "--c-in", "140,0",
              "--c-out", "0,140", "--temperature", "22C", "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "r.json").read_text())["recordings"][0]
    assert row["P_Na/P_K"] == pytest.approx(0.1, rel=0.05)
    expected = float(ionjax.ghk_voltage(np.array([row["p_K_m^3/s"], row["p_Na_m^3/s"]]),
                                        np.array([140.0, 0.0]), np.array([0.0, 140.0]),
                                        np.array([1, 1]), temperature=T))
    assert row["e_rev_fit_V"] == pytest.approx(expected, rel=1e-5)
    assert f"E_rev bi.csv: {expected * 1e3:.3f}" in out.stdout


def test_ghk_corrected_activation_refuses_an_absent_ion():
    options = activation_protocol.Options(ion="K", c_in="140", c_out="0", temperature=T)
    with pytest.raises(OptionError, match=r"--c-out 0 mM: the GHK-corrected G-V is undefined"):
        activation_protocol._ghk_options(options)
    with pytest.raises(ValueError, match=r"c_in = 0 mM: the GHK-corrected G-V is undefined"):
        fitting.activation(V, 1e-12 * np.ones(V.size),
                           ghk={"z": 1, "c_in": 0.0, "c_out": 5.0, "temperature": T})


def test_pnp_channel_keeps_refusing_zero_bath_concentrations():
    geometry = {"temperature": 298.15, "length": 5e-9, "area": 1e-18, "n_grid": 48}
    with pytest.raises(ValueError, match=r"bath 0 c_out = 0 mM: PNPChannel needs every ion") as err:
        fitting.PNPChannel(z=(1, -1), c_in=(100.0, 100.0), c_out=(0.0, 0.0), **geometry)
    assert "\n" not in str(err.value)
