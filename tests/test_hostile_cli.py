"""Hostile findings of issue 23 item 4, the command's half: no traceback (a recipe that is not
text, Ctrl-C or SIGTERM at any moment), no number that is not right (a recipe read twice or with
one option twice, empty ramp bins marked CONVERGED), NWB rates equal to round-off, errors in
the command's voice, one line per distinct note of a folder, no bare number read in a unit the
user did not write."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from test_cli import run

HERE = os.path.dirname(__file__)
ROOT = os.path.dirname(HERE)
EXAMPLE = os.path.join(ROOT, "fitting", "cli", "data", "example_iv.csv")


def _one_line_error(out, *words):
    """Exit 2, one line on stderr holding every word, no traceback."""
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def _abf1(path, levels=(-0.1, -0.08, -0.06, -0.04, -0.02, 0.0)):
    """An ABF 1 file (pyabf's writer): one sweep per level, current 2 nS (v + 60 mV) in pA."""
    pyabf = pytest.importorskip("pyabf")
    from pyabf.abfWriter import writeABF1

    sweeps = np.array([np.full(2000, 2e-9 * (v + 0.06) / 1e-12) for v in levels], np.float32)
    writeABF1(sweeps, str(path), 10000.0, units="pA")
    assert pyabf.ABF(str(path)).sweepCount == len(levels)
    return path


# -- 1. tracebacks ---------------------------------------------------------------------------

def test_a_recipe_that_is_not_text_is_one_line(tmp_path):
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('protocol = "tail"\n# Zelle caf\xe9\n'.encode("latin-1"))
    out = run("analyze", EXAMPLE, "--recipe", bad)
    _one_line_error(out, "--recipe", "latin1.toml", "not UTF-8")
    abf = _abf1(tmp_path / "cell.abf")  # the slip: a recording given as the recipe
    out = run("analyze", abf, "--recipe", abf)
    _one_line_error(out, "--recipe", "cell.abf")


def test_an_interrupt_lost_in_a_callback_is_silent_and_still_stops_the_command():
    """A KeyboardInterrupt raised inside a callback whose exceptions Python ignores (JAX's gc
    hook): no "Exception ignored ... Traceback" report, and the signal still reaches the
    command (exit 130 for SIGINT, 143 for SIGTERM)."""
    for number, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        source = textwrap.dedent(f"""
            import gc, os, signal, sys, time
            from fitting.cli import interrupt
            interrupt.install(command=True)
            fired = []
            def callback(phase, info):
                if phase == "start" and not fired:
                    fired.append(1)
                    os.kill(os.getpid(), {int(number)})
                    time.sleep(0.05)  # the signal's KeyboardInterrupt is raised here
            gc.callbacks.append(callback)
            try:
                gc.collect()
                for _ in range(200):
                    time.sleep(0.01)
                print("ran on")
            except KeyboardInterrupt:
                print("stopped", interrupt.exit_code())
        """)
        out = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                             timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
        assert out.stdout.strip() == f"stopped {code}", out.stdout + out.stderr
        assert "Exception ignored" not in out.stderr and "Traceback" not in out.stderr, \
            out.stderr


def _folder_of_recordings(folder, n=24):
    """Boltzmann-ohmic step I-V tables (g 2..6 nS, E_rev -60..-37 mV, V_1/2 -30 mV, 8 mV)."""
    rng = np.random.default_rng(3)
    v = np.arange(-100, 41, 10.0)
    for k in range(n):
        i = (2 + k % 5) * (v + 60 - k) / (1 + np.exp((-30 - v) / 8)) + rng.normal(0, 3, v.size)
        (folder / f"cell{k:02d}.csv").write_text(
            "voltage_mV,current_pA\n" + "".join(f"{a},{b:.4f}\n" for a, b in zip(v, i)))


def _handles_sigterm(pid) -> bool:
    """Whether process ``pid`` catches SIGTERM (the command's handlers are installed: before
    that, the interpreter itself is starting, which no package can guard)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            mask = next(line for line in status if line.startswith("SigCgt:")).split()[1]
    except (OSError, StopIteration):
        return False
    return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_signals_at_any_moment_of_a_folder_fit_end_in_one_line_and_130_or_143(tmp_path):
    """SIGINT or SIGTERM sent to ``ionjax fit FOLDER`` at several moments after its handlers
    are installed (imports, parsing, reading, compiling, fitting, shutting down): never a
    traceback, status 130 (SIGINT) or 143 (SIGTERM) (or killed by the signal itself during
    the interpreter's shutdown, which a shell reports as the same 128 + n), no results file
    (a run that finished before the signal came is left alone)."""
    folder = tmp_path / "cells"
    folder.mkdir()
    _folder_of_recordings(folder)
    env = dict(os.environ, IONJAX_CACHE_DIR=os.path.join(tmp_path, "xla"))  # cold: compiles
    env.pop("JAX_ENABLE_X64", None)
    runs = [(signal.SIGINT, t) for t in (0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 3.5)]
    runs += [(signal.SIGTERM, t) for t in (0.0, 1.5)]
    for number, delay in runs:
        out = tmp_path / f"r_{int(number)}_{delay}.json"
        proc = subprocess.Popen([sys.executable, "-m", "fitting", "--no-progress", "fit",
                                 str(folder), "--model", "boltzmann-ohmic", "--out", str(out)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        start = time.monotonic()
        while not _handles_sigterm(proc.pid) and time.monotonic() - start < 30:
            time.sleep(0.002)
        time.sleep(delay)
        finished = proc.poll() is not None
        proc.send_signal(number)
        stdout, stderr = proc.communicate(timeout=300)
        assert "Traceback" not in stderr and "Exception ignored" not in stderr, \
            f"{number!r} at {delay} s:\n{stderr}"
        if finished:
            continue
        assert proc.returncode in (128 + number, -number, 0), \
            (number, delay, proc.returncode, stderr)
        if proc.returncode > 0:
            last = stderr.strip().splitlines()[-1]
            assert last.startswith("ionjax: interrupted"), stderr
            if last == "ionjax: interrupted; no partial output was left":  # else: after the
                assert not out.exists()  # work, its output complete
    assert not list(tmp_path.glob(".ionjax-*")) and not list(folder.glob(".ionjax-*"))


# -- 2. the contract: no number that is not right --------------------------------------------

def test_a_second_recipe_and_an_option_set_twice_are_refused(tmp_path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('protocol = "activation"\n')
    second.write_text('protocol = "ramp"\n')
    for extra in (("--recipe", first, "--recipe", second),
                  ("--recipe", first, f"--recipe={second}"),
                  ("--recipe", first, "--rec", second)):  # argparse's abbreviation
        out = run("analyze", EXAMPLE, *extra)
        _one_line_error(out, "--recipe is given more than once")
    both = tmp_path / "both.toml"
    both.write_text('protocol = "activation"\nseries-resistance = "10MOhm"\n'
                    'series_resistance = "20MOhm"\n')
    out = run("analyze", EXAMPLE, "--recipe", both)
    _one_line_error(out, "'series-resistance'", "'series_resistance'", "--series-resistance")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('protocol = "activation"\nbin_widht = "2mV"\n')
    _one_line_error(run("analyze", EXAMPLE, "--recipe", unknown), "'bin_widht'",
                    "not an option")


def test_a_row_with_no_value_is_never_converged():
    from fitting.outputs.table import make_row

    assert make_row("f", 0, "g", "S", 1.0, status=0)["status"] == "CONVERGED"
    assert make_row("f", 0, "g", "S", float("nan"), status=0)["status"] != "CONVERGED"
    assert make_row("f", 0, "g", "S", float("nan"), status=6)["status"] == "NO_SIGNAL"


def test_coarse_ramp_bins_give_no_converged_row_without_a_value(shared_data, tmp_path):
    ramp = shared_data / "protocols" / "DM1_0002.abf"
    for width in ("1mV", "10mV", "40mV"):
        out = run("analyze", ramp, "--protocol", "ramp", "--bin-width", width,
                  "--out", tmp_path / "ramp.json")
        assert out.returncode in (0, 3), out.stderr
        assert not re.search(r"\bnan\b", out.stdout, re.IGNORECASE), out.stdout
        rows = json.loads((tmp_path / "ramp.json").read_text())["rows"]
        for row in rows:
            if row["status"] in ("CONVERGED", "MAX_STEPS"):
                assert row["value"] is not None, (width, row)
        if width == "40mV":  # 3 points within 10 mV of E_rev cannot exist in 40 mV bins
            slopes = [r for r in rows if r["quantity"] == "slope_conductance_at_e_rev"]
            assert slopes and all(r["status"] == "TOO_FEW_POINTS" for r in slopes), slopes


# -- 3. NWB rates equal to round-off ---------------------------------------------------------

def _nwb_steps(path, steps):
    """Seven sweeps of a 5 nS ohmic cell (E = -30 mV) stepped from -70 mV to -100..+20 mV,
    sweep k sampled at timestamps t0 + j * steps[k] [s] (rates from timestamps)."""
    pytest.importorskip("pynwb")
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import VoltageClampSeries, VoltageClampStimulusSeries

    from nwb_files import START

    nwb = NWBFile(session_description="t", identifier="t", session_start_time=START)
    device = nwb.create_device(name="amp")
    electrode = nwb.create_icephys_electrode(name="e0", description="d", device=device)
    for k, level in enumerate(np.linspace(-100.0, 20.0, 7)):
        command = np.full(400, -70.0)
        command[100:300] = level
        t = 1234.5 + 0.1 * k + np.arange(400) * steps[k]
        nwb.add_intracellular_recording(
            electrode=electrode,
            stimulus=VoltageClampStimulusSeries(name=f"s{k}", data=command, conversion=1e-3,
                                                electrode=electrode, gain=1.0, timestamps=t,
                                                sweep_number=k),
            response=VoltageClampSeries(name=f"r{k}", data=5e-9 * (command * 1e-3 + 0.03) / 1e-12,
                                        conversion=1e-12, electrode=electrode, gain=1.0,
                                        timestamps=t, sweep_number=k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as out:
            out.write(nwb)
    return path


def test_nwb_sweeps_whose_rates_differ_by_round_off_are_one_rate(tmp_path):
    import fitting
    from fitting.recordings.errors import InputError
    from fitting.recordings.formats.nwb_series import RATE_TOLERANCE

    steps = [1e-4 + k * 1e-11 for k in range(7)]  # 1e-11 s: 1e-7 of the step
    rec = fitting.io.read_recording(_nwb_steps(tmp_path / "roundoff.nwb", steps))
    assert abs(rec.rate - 1e4) <= 1e-6 * 1e4
    iv = fitting.io.iv_from_nwb(tmp_path / "roundoff.nwb")
    np.testing.assert_array_equal(iv.v, np.linspace(-100.0, 20.0, 7) / 1e3)
    np.testing.assert_allclose(iv.i, 5e-9 * (iv.v + 0.03), rtol=1e-9, atol=1e-22)
    out = run("iv", tmp_path / "roundoff.nwb", "--out", tmp_path / "iv.csv")
    assert out.returncode == 0, out.stderr
    # a real difference (10 kHz and 10.01 kHz) is still refused, naming the tolerance
    far = [1e-4] * 6 + [1e-4 / 1.001]
    with pytest.raises(InputError, match=f"different rates.*relative {RATE_TOLERANCE:g}"):
        fitting.io.read_recording(_nwb_steps(tmp_path / "far.nwb", far))


# -- 4. the command's voice ------------------------------------------------------------------

def test_keyword_arguments_become_the_commands_options():
    from fitting.cli.main import in_cli_voice

    options = {"--epoch", "--current-unit", "--command-channel"}
    said = in_cli_voice("no step epoch changes its level across sweeps; pass epoch= (--epoch; "
                        "an index into the epoch table)", options)
    assert said.endswith("pass --epoch (an index into the epoch table)") and "=" not in said
    assert in_cli_voice("Fix the unit label or give current_unit= (--current-unit)",
                        options).endswith("give --current-unit")
    assert in_cli_voice("name it with test_epoch=", options) == "name it with test_epoch="
    assert in_cli_voice("K=140,gluconate=140 epoch=3", options) == "K=140,gluconate=140 epoch=3"


def test_si_checks_speak_in_options_on_the_command_line(shared_data):
    hcn2 = shared_data / "abf" / "hcn2_20d10009.abf"
    out = run("analyze", hcn2, "--protocol", "activation", "--e-rev", "600mV")
    line = _one_line_error(out, "--e-rev 600 mV")
    assert "(SI)" not in line and "0.05" not in line
    import fitting

    v = np.linspace(-0.1, 0.04, 8)
    with pytest.raises(ValueError, match=r"fitting.fit takes SI units") as caught:
        fitting.fit(fitting.Ohmic(), v * 1e3, 1e-9 * v)  # the API keeps its own voice
    assert "--voltage-unit" in caught.value.cli_message


def test_a_refusal_names_the_sweep_and_the_time_constant_it_found(shared_data):
    hcn2 = shared_data / "abf" / "hcn2_20d10009.abf"
    out = run("analyze", hcn2, "--protocol", "kinetics", "--window", "0%,100%")
    assert out.returncode == 0, out.stderr
    # a time constant below 3 samples is refused on its sweep's line, naming what was found
    assert re.search(r"\(sweep \d\): refused \(tau [\d.]+ ms found is shorter than 3 samples",
                     out.stdout), out.stdout
    # a tail refused after the series-resistance correction has no corrected voltage: the
    # report names its sweep and command, never "nan mV"
    out = run("analyze", hcn2, "--protocol", "tail", "--series-resistance", "50MOhm")
    assert out.returncode == 0, out.stderr
    assert not re.search(r"\bnan\b", out.stdout, re.IGNORECASE), out.stdout
    assert re.search(r"sweep \d \(-?\d+ mV command\): refused", out.stdout), out.stdout


def test_an_out_that_is_a_folder_is_named_as_given(tmp_path):
    folder = tmp_path / "results.json"
    folder.mkdir()
    for command in (("fit", EXAMPLE, "--model", "ohmic"),
                    ("analyze", EXAMPLE, "--protocol", "activation"),
                    ("iv", _abf1(tmp_path / "cell.abf"))):
        target = folder if command[0] != "iv" else tmp_path / "iv.csv"
        if command[0] == "iv":
            target.mkdir()
        out = run(*command, "--out", target)
        line = _one_line_error(out, str(target), "folder")
        assert ".ionjax-" not in line and "tmp" not in line.replace(str(tmp_path), "")


# -- 5. folders: one line per distinct note --------------------------------------------------

def test_a_note_shared_by_a_folders_files_is_said_once_with_its_count(shared_data, tmp_path):
    pair = (shared_data / "abf" / "14o16001_vc_pair_step.abf").read_bytes()
    folder = tmp_path / "pairs"
    folder.mkdir()
    for k in range(5):
        (folder / f"pair{k}.abf").write_bytes(pair)
    out = run("fit", folder, "--model", "ohmic", "--out", tmp_path / "r.csv")
    assert out.returncode == 0, out.stderr
    notes = [line for line in out.stderr.splitlines() if line.startswith("ionjax: note")]
    assert len(notes) == 1, out.stderr
    assert notes[0].startswith("ionjax: note (5 files, ") and "also hold a current" in notes[0]
    import csv

    lines = [x for x in (tmp_path / "r.csv").read_text().splitlines() if not x.startswith("#")]
    rows = list(csv.DictReader(lines))
    assert len(rows) == 5 and all("also hold a current" in r["notes"] for r in rows)


def test_report_notes_groups_identical_notes():
    import contextlib
    import io

    from fitting.cli.inputs import report_notes

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        report_notes([(f"f{k}.abf", "same") for k in range(600)] + [("g.abf", "other")])
    assert err.getvalue().splitlines() == ["ionjax: note (600 files, f0.abf ... f599.abf): same",
                                          "ionjax: note: g.abf: other"]


# -- 6. bare numbers -------------------------------------------------------------------------

def test_a_bare_number_for_a_quantity_with_a_unit_is_refused(tmp_path):
    for option, value, unit in (("--ljp", "0.003", "mV"), ("--series-resistance", "10", "MOhm")):
        out = run("fit", EXAMPLE, "--model", "ohmic", option, value)
        line = _one_line_error(out, option, f"{value} has no unit", f"{value}{unit}")
        assert line.startswith("ionjax fit: error:")
    out = run("analyze", EXAMPLE, "--protocol", "activation", "--e-rev", "0.05")
    _one_line_error(out, "--e-rev", "0.05 has no unit")
    # with their units, and 0 (no unit needed), they are read
    out = run("fit", EXAMPLE, "--model", "ohmic", "--ljp", "3mV", "--out", tmp_path / "a.json")
    assert out.returncode == 0, out.stderr
    corrections = json.loads((tmp_path / "a.json").read_text())["provenance"]["sources"][0][
        "corrections"]
    assert corrections[-1]["ljp_V"] == pytest.approx(0.003, rel=1e-12)
    assert run("fit", EXAMPLE, "--model", "ohmic", "--ljp", "0").returncode == 0
    # concentrations keep the documented bare mM
    out = run("nernst", "--ion", "K", "--c-in", "140", "--c-out", "5", "--temperature", "37C")
    assert out.returncode == 0 and "-89.0" in out.stdout, out.stdout + out.stderr


def test_the_help_says_how_bare_numbers_are_read():
    text = " ".join(run("--help").stdout.split())
    assert "concentrations are in mM" in text and "Quantities carry their unit" in text



def test_a_ghk_reversal_fixed_by_the_concentrations_is_not_printed_with_a_zero_error(tmp_path):
    import ionjax

    v = np.linspace(-0.12, 0.04, 17)
    i = ionjax.ghk_current(v, 1e-14, 140.0, 5.0, 1, temperature=295.15)
    i = i + 2e-12 * np.random.default_rng(1).standard_normal(v.size)
    path = tmp_path / "k.csv"
    path.write_text("voltage_mV,cell_pA\n" + "".join(f"{a * 1e3},{b * 1e12}\n"
                                                    for a, b in zip(v, i)))
    out = run("fit", path, "--model", "ghk", "--ion", "K", "--c-in", "140", "--c-out", "5",
              "--temperature", "22C")
    assert out.returncode == 0, out.stderr
    nernst = float(ionjax.nernst_potential(140.0, 5.0, 1, temperature=295.15)) * 1e3
    assert f"E_rev k.csv:cell: {nernst:.3f} mV (fixed by the concentrations, not fitted)" \
        in out.stdout
    assert "± 0.000" not in out.stdout


def test_a_kinetics_window_too_short_for_the_model_says_so_in_the_commands_words(shared_data):
    hcn2 = shared_data / "abf" / "hcn2_20d10009.abf"
    out = run("analyze", hcn2, "--protocol", "kinetics", "--window", "0ms,1ms")
    line = _one_line_error(out, "the window holds 2 samples of each sweep", "widen --window")
    assert "(n,)" not in line


def test_an_inactivation_choice_without_a_comparison_says_the_other_fit_was_refused(shared_data):
    """171116sh_0012: the fit without a pedestal is refused (gating not pinned down); the
    pedestal fit, once chosen with V_1/2 +- 8.9 mV, has a profile interval of [-754, 374] mV
    and is refused too by the interval rule (fitting.engine.quality): no model is chosen."""
    out = run("analyze", shared_data / "abf" / "171116sh_0012.abf", "--protocol", "inactivation")
    assert out.returncode == 3, out.stderr
    line = next(t for t in out.stdout.splitlines() if "AICc:" in t)
    assert "AICc: none -," in line and line.endswith("chosen: none"), line
    assert "h_inf + pedestal: refused (V_1/2 not pinned down: its 95% profile interval" \
        in out.stdout, out.stdout


def test_a_chord_gv_without_a_reversal_says_so(shared_data, tmp_path):
    out = run("analyze", shared_data / "abf" / "14o16001_vc_pair_step.abf",
              "--protocol", "activation", "--out", tmp_path / "r.csv")
    assert "joint I-V fit : refused" in out.stdout, out.stdout
    assert "chord G-V     : refused (no reversal potential: the joint fit was refused and none " \
           "was given; give --e-rev)" in out.stdout
    assert "too few valid points" not in out.stdout
    # the table's chord rows carry the joint fit's reason, not the G-V's empty points
    import csv

    rows = list(csv.DictReader(open(tmp_path / "r.csv")))
    joint = {r["status"] for r in rows if r["item"] == "joint"}
    chord = {r["status"] for r in rows if r["item"] == "chord"}
    assert len(joint) == 1 and joint != {"CONVERGED"} and chord == joint, (joint, chord)


def test_a_signal_of_an_earlier_call_does_not_stop_the_next_one(capsys):
    """main() called from Python after an interrupted call: the spent signal is forgotten."""
    from fitting.cli import interrupt
    from fitting.cli.main import main

    interrupt.interrupted, interrupt.signal_number = True, signal.SIGINT  # as after Ctrl-C
    try:
        assert main(["nernst", "--ion", "K", "--c-in", "140mM", "--c-out", "5mM", "--temperature", "22C"]) == 0
        assert "mV" in capsys.readouterr().out
        assert not interrupt.interrupted
    finally:
        interrupt.interrupted, interrupt.signal_number = False, None
