"""Results where the field keeps them: the same columns in a DataFrame, CSV, JSON, Parquet and
NWB (round-tripped, and clean under nwbinspector); a folder of mixed formats fitted in one
command; progress bars on a terminal only."""

import csv
import json
import os
import pty
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fitting
from fitting import io
from fitting.cli.data import example_path
from fitting.outputs.nwb import read_nwb_results

pytestmark = pytest.mark.filterwarnings("ignore")
BAD = ("CRITICAL", "ERROR", "PYNWB_VALIDATION", "BEST_PRACTICE_VIOLATION")
WCP = Path(__file__).parent / "data" / "winwcp" / "wcp-file.wcp"


@pytest.fixture(scope="module")
def fitted():
    iv = io.read_csv(example_path())
    res = fitting.fit(fitting.BoltzmannOhmic(), iv.v, iv.i)
    v = np.array(iv.v)
    v[1, :] = np.nan  # a recording that cannot be fitted: its numbers are missing everywhere
    bad = fitting.fit(fitting.BoltzmannOhmic(), v, iv.i)
    return iv, res, bad


def _csv_rows(path):
    with open(path) as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return list(csv.DictReader(lines))


def test_every_format_has_the_same_columns_and_numbers(fitted, tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("pynwb")
    import pandas as pd

    iv, _, res = fitted
    e = fitting.reversal_potential(res)
    frame = res.to_dataframe(labels=iv.labels)
    assert len(frame) == res.status.size and list(frame["label"]) == list(iv.labels)
    assert frame.loc[1, "status"] != 0 and np.isnan(frame.loc[1, "g_max_S"])
    assert {"g_max_S", "g_max_stderr_S", "v_half_V", "slope_V", "e_rev_V", "rmse_A"} <= set(frame)
    paths = {ext: tmp_path / f"r{ext}" for ext in io.RESULT_FORMATS}
    for path in paths.values():
        io.write_results(path, res, iv.labels, e, files=[example_path()],
                         provenance={"settings": {"model": "boltzmann-ohmic"}})
    columns = list(frame.columns)
    assert list(_csv_rows(paths[".csv"])[0]) == columns
    doc = json.loads(paths[".json"].read_text())
    assert list(doc["recordings"][0]) == columns
    parquet = pd.read_parquet(paths[".parquet"])
    assert list(parquet.columns) == columns
    pd.testing.assert_frame_equal(parquet, frame, check_dtype=False)
    report = res.summary(labels=iv.labels)  # the batch report names each recording
    assert f"--- recording 1: {iv.labels[1]} ---" in report
    nothing = fitting.fit(fitting.Ohmic(), iv.v, np.full(iv.i.shape, np.nan)).summary()
    assert "[[Parameters]] none: no recording converged" in nothing
    for wrong in (["only one"], "ab", list(iv.labels) + ["extra"]):
        with pytest.raises(ValueError, match="one per recording"):
            res.to_dataframe(labels=wrong)
    rows = read_nwb_results(paths[".nwb"])
    assert list(rows[0]) == columns and len(rows) == len(frame)
    for k, row in enumerate(rows):
        for key in columns:
            want = frame.loc[k, key]
            if isinstance(want, str):
                assert row[key] == want
            else:
                np.testing.assert_array_equal(row[key], want)
    import pyarrow.parquet as pq

    meta = pq.read_schema(paths[".parquet"]).metadata[b"ionjax"]
    assert json.loads(meta)["settings"]["model"] == "boltzmann-ohmic"


def _inspect(path):
    from nwbinspector import inspect_nwbfile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {(m.importance.name, m.check_function_name)
                for m in inspect_nwbfile(nwbfile_path=str(path))}


def test_results_nwb_copies_an_nwb_source_and_adds_no_inspector_error(shared_data, tmp_path):
    """The results of an NWB recording go into a copy of it; nwbinspector finds nothing in the
    copy that it does not find in the source (neuroconv's file lacks a subject, which is the
    source's to give), and the source's data and tables are all there."""
    pytest.importorskip("nwbinspector")
    pytest.importorskip("neuroconv")
    from pynwb import NWBHDF5IO

    from nwb_files import neuroconv_nwb

    source = neuroconv_nwb(shared_data / "abf" / "171116sh_0012.abf", tmp_path / "cell.nwb")
    iv = io.read(source)
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)
    out = tmp_path / "results.nwb"
    io.write_results(out, res, iv.labels, fitting.reversal_potential(res), files=[source])
    new = _inspect(out) - _inspect(source)
    assert not [m for m in new if m[0] in BAD], new
    with NWBHDF5IO(str(out), "r") as f:
        nwb = f.read()
        assert len(nwb.intracellular_recordings) == 7 and list(nwb.acquisition)
    np.testing.assert_array_equal(io.read(out).i, iv.i)  # the copy still reads as the source
    row = read_nwb_results(out)[0]
    assert row["g_S"] == pytest.approx(float(res.params["g"]), rel=1e-9)


def test_results_only_nwb_is_clean_but_for_the_subject(fitted, tmp_path):
    pytest.importorskip("nwbinspector")
    iv, res, _ = fitted
    out = tmp_path / "r.nwb"
    io.write_results(out, res, iv.labels, fitting.reversal_potential(res),
                     files=[example_path()])
    bad = [m for m in _inspect(out) if m[0] in BAD]
    assert bad == [("CRITICAL", "check_subject_exists")], bad


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "fitting", *map(str, args)],
                          capture_output=True, text=True, **kwargs)


def test_a_folder_of_mixed_formats_in_one_command(shared_data, tmp_path):
    """ABF, NWB (made by neuroconv) and a CSV table: one command, every format's rows; then a
    real WinWCP file that holds no I-V and a HEKA bundle too: both reported and left out."""
    pytest.importorskip("neuroconv")
    from nwb_files import neuroconv_nwb

    folder = tmp_path / "cells"
    folder.mkdir()
    (folder / "a.abf").write_bytes((shared_data / "abf" / "14o16001_vc_pair_step.abf")
                                   .read_bytes())
    neuroconv_nwb(shared_data / "abf" / "171116sh_0012.abf", folder / "b.nwb")
    (folder / "c.csv").write_text("voltage_mV,current_pA\n-100,-210\n-80,-150\n-60,-95\n"
                                  "-40,-42\n-20,15\n0,70\n")
    out = _run("--no-progress", "fit", folder, "--model", "ohmic", "--out",
               tmp_path / "r.csv")
    assert out.returncode == 0, out.stderr
    labels = [r["label"] for r in _csv_rows(tmp_path / "r.csv")]
    assert labels[0] == "a.abf:IN 0" and labels[1].startswith("b.nwb:") and labels[2] == "c.csv"
    assert len(labels) == 3
    (folder / "d.wcp").write_bytes(WCP.read_bytes())
    (folder / "e.dat").write_bytes(b"DAT2\x00" + bytes(64))
    out = _run("--no-progress", "fit", folder, "--model", "ohmic", "--out",
               tmp_path / "r2.csv")
    assert out.returncode == 2  # files left out: the others' results, and a failing status
    assert [r["label"] for r in _csv_rows(tmp_path / "r2.csv")] == labels
    assert "d.wcp: no step epoch changes" in out.stderr
    assert "e.dat: HEKA PatchMaster" in out.stderr and "2 file(s) not read" in out.stderr
    (folder / "d.wcp").unlink(), (folder / "e.dat").unlink()
    for name in ("own.json", "own.csv", "own.nwb", "own.parquet", "own.csv"):
        # results written into the folder (a copy of b.nwb among them) are not read back
        out = _run("fit", folder, "--model", "ohmic", "--out", folder / name, "--no-progress")
        assert out.returncode == 0 and "3 recordings" in out.stdout, out.stderr
    out = _run("--no-progress", "fit", folder, folder / "c.csv", "--model", "ohmic")
    assert out.returncode == 0 and "c.csv is given twice; read once" in out.stderr
    assert "3 recordings" in out.stdout


def test_cli_results_carry_intervals_source_and_corrections(shared_data, tmp_path):
    """``ionjax fit --intervals --out r.nwb``: per recording its profile interval (around the
    estimate), its source file and the corrections applied to it; the same in Parquet."""
    pytest.importorskip("pynwb")
    pd = pytest.importorskip("pandas")
    abf = shared_data / "abf" / "hcn2_20d10009.abf"
    common = ["--no-progress", "fit", abf, "--model", "ohmic", "--window", "2.5ms,7.5ms",
              "--leak", "ramp", "--ljp", "3.18mV", "--intervals", "--out"]
    for name in ("r.nwb", "r.parquet"):
        out = _run(*common, tmp_path / name)
        assert out.returncode == 0, out.stderr
    row = read_nwb_results(tmp_path / "r.nwb")[0]
    assert row == pytest.approx(pd.read_parquet(tmp_path / "r.parquet").iloc[0].to_dict())
    assert row["g_lower_S"] < row["g_S"] < row["g_upper_S"]
    assert row["e_rev_lower_V"] < row["e_rev_V"] < row["e_rev_upper_V"]
    assert row["source"] == str(abf)
    corrections = json.loads(row["corrections"])
    assert [c["name"] for c in corrections] == ["liquid_junction_potential", "leak"]


def test_analyze_tables_are_the_same_in_every_format(shared_data, tmp_path):
    """The tidy table of ``ionjax analyze`` (an ``item`` column of sweep numbers and "median")
    in CSV, Parquet and NWB: the same columns and values."""
    pytest.importorskip("pynwb")
    pd = pytest.importorskip("pandas")
    memtest = shared_data / "protocols" / "171116sh_0011.abf"
    for ext in (".csv", ".parquet", ".nwb"):
        out = _run("--no-progress", "analyze", memtest, "--protocol", "membrane-test", "--out",
                   tmp_path / f"mt{ext}")
        assert out.returncode == 0, out.stderr
    text = pd.read_csv(tmp_path / "mt.csv", dtype={"item": str})
    parquet = pd.read_parquet(tmp_path / "mt.parquet")
    nwb = pd.DataFrame(read_nwb_results(tmp_path / "mt.nwb"))
    assert list(text.columns) == list(parquet.columns) == list(nwb.columns)
    assert set(text["item"]) >= {"0", "19", "median"}
    for frame in (parquet, nwb):  # a missing status (a derived row) is "" there, empty in CSV
        pd.testing.assert_frame_equal(frame.replace("", np.nan), text, check_dtype=False)


def test_noise_free_data_get_intervals_and_unwritable_outputs_name_the_file(tmp_path):
    """An exact line fits to a loss of rounding size; its profile interval still comes (it
    was refused as 'not the data of this FitResult'); a folder that cannot be written is named
    as the user gave it, not as the temporary file."""
    table = tmp_path / "exact.csv"
    table.write_text("voltage_mV,current_pA\n" + "".join(
        f"{v},{5 * (v + 30) / 1000 * 1000}\n" for v in range(-100, 41, 20)))
    out = _run("--no-progress", "fit", table, "--model", "ohmic", "--intervals", "--out",
               tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "r.json").read_text())["recordings"][0]
    assert row["g_lower_S"] == pytest.approx(5e-9, rel=1e-9)
    assert row["g_upper_S"] == pytest.approx(5e-9, rel=1e-9)
    out = _run("--no-progress", "fit", table, "--model", "ghk", "--ion", "K", "--c-in", "140",
               "--c-out", "5", "--temperature", "22C", "--intervals", "--out",
               tmp_path / "one.json")  # a one-parameter model: its profile leaves none free
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "one.json").read_text())["recordings"][0]
    assert row["p_lower_m^3/s"] < row["p_m^3/s"] < row["p_upper_m^3/s"]
    out = _run("--no-progress", "fit", table, "--model", "ohmic", "--out",
               "/proc/no/r.json")
    assert out.returncode == 2 and "/proc/no/r.json" in out.stderr and ".ionjax-" not in \
        out.stderr


def test_winwcp_sweeps_and_epochs_from_a_real_file():
    """The real WinWCP file: 11 records of Im (pA) and Vm (mV) at 1 kHz; the epochs are read off
    the recorded Vm (the step -80 -> -20 mV at samples 11..109, where Vm crosses -50 mV)."""
    neo = pytest.importorskip("neo")
    from fitting.recordings.sweeps import checked_sweeps

    r = checked_sweeps(WCP, 0, None)
    block = neo.io.WinWcpIO(filename=str(WCP)).read_block()
    assert len(r.sweeps) == len(block.segments) == 11 and r.rate == pytest.approx(1e3)
    for s, segment in enumerate(block.segments):
        im, vm = (np.asarray(x.magnitude).ravel() for x in segment.analogsignals)
        np.testing.assert_array_equal(r.sweeps[s].current, np.asarray(im, float) / 1e12)
        crossing = np.flatnonzero(np.diff(vm > -50.0))
        assert [e.start for e in r.sweeps[s].epochs] == [0, crossing[0] + 1, crossing[1] + 1]
        assert r.sweeps[s].epochs[1].level == pytest.approx(-0.020, abs=5e-4)
    with pytest.raises(io.InputError, match="no step epoch changes its level"):
        io.read(WCP)  # the same step in every record: no I-V


def test_fit_reports_progress_and_the_command_draws_it_on_a_terminal_only(tmp_path):
    seen = []
    iv = io.read_csv(example_path())
    fitting.fit(fitting.Ohmic(), iv.v, iv.i, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (4, 4) and all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    (tmp_path / "copy.csv").write_text(open(example_path()).read())
    files = [example_path(), tmp_path / "copy.csv"]  # two files: a bar to draw
    piped = _run("fit", *files, "--model", "ohmic")
    assert piped.returncode == 0 and "fitting" not in piped.stderr and "\r" not in piped.stderr
    leader, follower = pty.openpty()  # stderr a terminal: tqdm draws the bars
    proc = subprocess.run([sys.executable, "-m", "fitting", "fit", *map(str, files), "--model",
                           "ohmic"], stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert proc.returncode == 0 and b"reading" in drawn and b"file" in drawn
    quiet = _run("--no-progress", "fit", *files, "--model", "ohmic")
    assert quiet.returncode == 0 and "reading" not in quiet.stderr
