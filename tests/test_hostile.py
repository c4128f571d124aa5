"""Hostile findings of issue 23 item 4: an output never overwrites an input, JSON outputs are
strict (no NaN/Infinity tokens), and no run that exits 0 prints "nan" as a result."""

import json
import os
import re
import shutil

import pytest

from test_cli import run

HERE = os.path.dirname(__file__)
EXAMPLE = os.path.join(HERE, "..", "fitting", "cli", "data", "example_iv.csv")
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
HCN2 = os.path.join(SHARED, "abf", "hcn2_20d10009.abf")
RAMP = os.path.join(SHARED, "protocols", "DM1_0002.abf")
needs_data = pytest.mark.skipif(not os.path.exists(HCN2), reason="../shared/data absent")


def _strict(text: str):
    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def _no_nan(text: str) -> None:
    assert not re.search(r"\bnan\b", text, re.IGNORECASE), text


@pytest.mark.parametrize("command", [("fit", "--model", "ohmic"), ("iv",),
                                     ("analyze", "--protocol", "activation")])
def test_output_that_is_an_input_of_a_folder_is_refused(tmp_path, command):
    for name in ("a_cell.csv", "b_cell.csv"):
        shutil.copy(EXAMPLE, tmp_path / name)
    before = (tmp_path / "b_cell.csv").read_bytes()
    out = run(*command, tmp_path, "--out", tmp_path / "b_cell.csv")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "b_cell.csv" in lines[0] and "input" in lines[0]
    assert (tmp_path / "b_cell.csv").read_bytes() == before
    assert out.stdout == ""



@pytest.mark.parametrize("command", [("fit", "--model", "ohmic"),
                                     ("analyze", "--protocol", "activation")])
def test_a_folder_run_again_into_its_own_results_file_reads_no_result(tmp_path, command):
    """ionjax's own results in the folder (CSV with provenance, the tidy analyze table) are
    outputs, never inputs: a second run replaces them and reads the same recordings."""
    shutil.copy(EXAMPLE, tmp_path / "cell.csv")
    first = run(*command, tmp_path, "--out", tmp_path / "results.csv")
    second = run(*command, tmp_path, "--out", tmp_path / "results.csv")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout

@needs_data
def test_nwb_or_abf_output_named_as_a_folder_input_is_refused(tmp_path):
    shutil.copy(HCN2, tmp_path / "cell.abf")
    before = (tmp_path / "cell.abf").read_bytes()
    out = run("analyze", tmp_path, "--protocol", "tail", "--out", tmp_path / "cell.abf")
    assert out.returncode == 2 and "cell.abf" in out.stderr
    assert (tmp_path / "cell.abf").read_bytes() == before


def test_strict_json_helper_turns_non_finite_into_null():
    from fitting.outputs.columns import strict_json

    doc = _strict(strict_json({"a": float("nan"), "b": [float("-inf"), 1.0]}))
    assert doc == {"a": None, "b": [None, 1.0]}


def test_table_json_is_strict(tmp_path):
    from fitting.outputs.table import make_row, write_table

    rows = [make_row("f", 0, "e_rev", "V", 0.01, 0.001, (float("-inf"), 0.02), status=0),
            make_row("f", 1, "e_rev", "V", float("nan"), float("nan"), status=4)]
    write_table(str(tmp_path / "t.json"), rows)
    doc = _strict((tmp_path / "t.json").read_text())["rows"]
    assert doc[0]["lower"] is None and doc[1]["value"] is None
    assert doc[1]["status"] == "SINGULAR"


@needs_data
def test_tail_json_is_strict_and_prints_no_nan(tmp_path):
    # epoch 0's tails are all at -35 mV: an isochronal design, refused in one line (issue 23)
    out = run("analyze", HCN2, "--protocol", "tail", "--epoch", 0, "--out", tmp_path / "t.json")
    assert out.returncode == 2 and "--protocol isochronal" in out.stderr, out.stderr
    assert not (tmp_path / "t.json").exists()
    out = run("analyze", HCN2, "--protocol", "tail", "--out", tmp_path / "t.json")
    assert out.returncode == 0, out.stderr
    _no_nan(out.stdout)
    rows = _strict((tmp_path / "t.json").read_text())["rows"]
    refused = [r for r in rows if r["value"] is None]
    assert refused and all(r["status"] not in ("CONVERGED", "MAX_STEPS") for r in refused)


@needs_data
def test_ramp_prints_no_nan(tmp_path):
    out = run("analyze", RAMP, "--protocol", "ramp", "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    _no_nan(out.stdout)
    _strict((tmp_path / "r.json").read_text())


def test_refused_estimate_prints_its_reason():
    from fitting.protocols.base import estimate_text

    assert estimate_text(float("nan"), float("nan"), 1e3, "mV", "why") == "not available (why)"
    assert "undefined" in estimate_text(0.001, float("nan"), 1e3, "mV", "why")
    assert estimate_text(0.001, 0.0001, 1e3, "mV", "why") == "1.00 ± 0.1 mV"


def test_fit_json_is_strict(tmp_path):
    out = run("fit", EXAMPLE, "--model", "ohmic", "--out", tmp_path / "f.json")
    assert out.returncode == 0, out.stderr
    _no_nan(out.stdout)
    _strict((tmp_path / "f.json").read_text())


@needs_data
def test_a_ramp_iv_out_in_the_folder_it_reads_is_an_output_next_time(tmp_path):
    """The ramp's --iv-out CSV carries ionjax's provenance line: the same command run again
    replaces it instead of refusing it as an input."""
    shutil.copy(os.path.join(SHARED, "protocols", "DM1_0002.abf"), tmp_path / "ramp.abf")
    runs = [run("analyze", tmp_path, "--protocol", "ramp", "--iv-out", tmp_path / "iv.csv")
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    assert (tmp_path / "iv.csv").read_text().startswith("# provenance: ")


def test_python_m_fitting_cli_runs_the_command():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "fitting.cli", "nernst", "--ion", "K",
                          "--c-in", "140", "--c-out", "5", "--temperature", "37C"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "mV" in out.stdout, out.stderr
