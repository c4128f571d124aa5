"""``ionjax traces`` (issue 24, item 2): a gating model fitted to whole traces from the command
line. Truth: traces simulated with known parameters (the authors' cell-5 optimum) under a short
sine-wave protocol, written as a CSV trace table; the command's table must recover them within
their standard errors, and its figure must exist. Readers: a recording's sweeps become cells with
their command as V (an ABF1 written here); the Beattie et al. dataset folder is read whole with
its temperatures. Refusals: one line each, exit 2."""

import csv

import jax.numpy as jnp
import numpy as np
import pytest

import ionjax
from beattie_reference import CMAES_CELL5
from test_cli import run
from test_trace_fit import PAPER_TO_SI, _protocol
from test_two_electrode import EPOCHS, HOLD, LEVELS, write_abf1

from fitting.models.trace import beattie2018
from fitting.recordings.trace_files import read_traces

DT, SIGMA = 2e-4, 5e-12
TRUTH = np.array(CMAES_CELL5) * PAPER_TO_SI


def _table(path, temperatures=(21.0, 24.0), seed=5):
    """Write two cells' traces (nA, the time in ms, the voltage in mV) at ``temperatures`` [degC];
    returns the E_rev of each [V]."""
    t, v = _protocol(dt=DT, seconds=2.5)
    e = np.asarray(ionjax.nernst_potential(130.0, 4.0, 1,
                                           temperature=ionjax.units.celsius(np.array(temperatures))))
    model = beattie2018()
    rng = np.random.default_rng(seed)
    i = [np.asarray(model.current(jnp.asarray(TRUTH), jnp.asarray(v), DT, x)) for x in e]
    i = np.stack(i) + SIGMA * rng.standard_normal((2, t.size))
    with open(path, "w") as handle:
        handle.write("time_ms,voltage_mV,cellA [nA],cellB [nA]\n")
        for k in range(t.size):
            handle.write(f"{t[k] * 1e3:.4f},{v[k] * 1e3:.6f},{i[0, k] * 1e9:.8g},"
                         f"{i[1, k] * 1e9:.8g}\n")
    return e


def test_a_trace_table_is_fitted_and_written_with_its_figure(tmp_path):
    table = tmp_path / "cells.csv"
    e = _table(table, temperatures=(22.0, 22.0))
    out, fig = tmp_path / "res.csv", tmp_path / "fit.png"
    r = run("traces", table, "--temperature", "22C", "--out", out, "--plot", fig)
    assert r.returncode == 0, r.stderr
    assert "cellA" in r.stdout and "cellB" in r.stdout and "CONVERGED" in r.stdout
    assert fig.stat().st_size > 10_000
    rows = list(csv.DictReader(open(out)))
    names = beattie2018().param_names
    for cell in ("cellA", "cellB"):
        mine = {r["quantity"]: r for r in rows if r["item"] == cell}
        assert set(names) <= set(mine)
        z = [(float(mine[n]["value"]) - TRUTH[k]) / float(mine[n]["stderr"])
             for k, n in enumerate(names)]
        assert np.all(np.abs(z) < 4), z
        assert mine["g"]["unit"] == "S" and mine["p2"]["unit"] == "1/V"
        assert mine["p1"]["unit"] == "1/s" and mine["p1"]["status"] == "CONVERGED"
        assert float(mine["e_rev"]["value"]) == pytest.approx(e[0], abs=1e-9)
        # the noise SD of the first 200 ms (channels closed at -80 mV), in A
        assert float(mine["sigma"]["value"]) == pytest.approx(SIGMA, rel=0.15)
        assert float(mine["misfit"]["value"]) == pytest.approx(1.0, abs=0.1)
        assert mine["g"]["file"] == str(table)


def test_trace_refusals_are_one_line_each(tmp_path):
    table = tmp_path / "cells.csv"
    _table(table)
    for args, words in [
        ((table,), "no temperature for cellA, cellB: give --temperature"),
        ((table, "--temperature", "22C", "--e-rev", "-85mV"), "not both"),
        ((table, "--temperature", "37K"), "did you mean 37 degC"),
        ((table, "--e-rev", "-85"), "-85 has no unit: write it with one, e.g. -85mV"),
        ((table, "--e-rev", "5V"), "--e-rev 5000 mV: no reversal potential lies beyond +-400"),
    ]:
        r = run("traces", *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, r.stderr)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,voltage_mV,current_pA\n0,1,2\n1,1,2\n2,1,2\n")
    r = run("traces", bad, "--temperature", "22C")
    assert r.returncode == 2 and "column 'time' names no time, voltage or current unit" \
        in r.stderr, r.stderr
    other = tmp_path / "other.csv"  # sampled at 1 ms, not 0.2 ms
    other.write_text("t_ms,V_mV,I_pA\n" + "".join(f"{k},-80,0\n" for k in range(50)))
    r = run("traces", table, other, "--temperature", "22C")
    assert r.returncode == 2 and "differs from" in r.stderr and "one length and rate" \
        in r.stderr, r.stderr


def test_a_recordings_sweeps_are_cells_with_their_command(tmp_path):
    n = sum(s for s, _ in EPOCHS) + sum(s for s, _ in EPOCHS) // 64 + 64
    v = np.full((len(LEVELS), 4000), HOLD)
    i = np.zeros_like(v) + 1e-11 * np.arange(len(LEVELS))[:, None]
    path = tmp_path / "steps.abf"
    write_abf1(path, [("IN 0", "pA", i * 1e12 + 1.0)], [("Cmd 0", "mV", True)],
               [(1, HOLD * 1e3, 0.0, EPOCHS[0][0]),
                (1, LEVELS[0] * 1e3, EPOCHS[1][1] * 1e3, EPOCHS[1][0]),
                (1, HOLD * 1e3, 0.0, EPOCHS[2][0])])
    d = read_traces([path])
    assert d["i"].shape == (len(LEVELS), 4000) and d["v"].shape == d["i"].shape and n
    assert d["labels"][3] == "steps.abf:sweep 3" and np.isnan(d["temperature"]).all()
    # each sweep's command: the holding level, then its step (epoch B), then holding again
    steps = d["v"][:, 4000 // 64 + EPOCHS[0][0] + 10]
    np.testing.assert_allclose(steps, LEVELS, atol=1e-6)
    np.testing.assert_allclose(d["t"][1], 1e-4)


def test_the_dataset_folder_is_read_whole_with_its_temperatures(shared_data):
    d = read_traces([shared_data / "beattie2018"])
    assert d["i"].shape[0] == 9 and d["labels"][4] == "16713110"
    assert np.all((d["temperature"] > 294) & (d["temperature"] < 299))


def test_options_that_name_nothing_are_refused_and_labels_name_their_file(tmp_path):
    """Hostile pass: a negative --mask-edges, a --max-noise of 0, --current-unit on a table
    were accepted silently; two tables with the same column names gave the same labels."""
    table = tmp_path / "cells.csv"
    table.write_text("t_ms,V_mV,a [pA],b [pA]\n"
                     + "".join(f"{k},-80,{k % 3},{k % 5}\n" for k in range(10)))
    for args, words in [(("--mask-edges", "-5ms"), "--mask-edges must be >= 0"),
                        (("--max-noise", "0pA"), "--max-noise > 0"),
                        (("--current-unit", "nA"), "apply to recordings")]:
        r = run("traces", table, "--e-rev", "-88mV", *args)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
    other = tmp_path / "other.csv"
    other.write_text(table.read_text())
    d = read_traces([table, other])
    assert d["labels"] == ["cells.csv:a", "cells.csv:b", "other.csv:a", "other.csv:b"]


def test_cells_are_picked_by_label_and_a_lone_column_keeps_its_name(tmp_path, shared_data):
    from fitting.cli.traces import _select
    table = tmp_path / "cells.csv"
    _table(table)
    data = read_traces([table])
    picked = _select(data, "cellB")
    assert picked["labels"] == ["cellB"] and picked["i"].shape == (1, data["i"].shape[1])
    np.testing.assert_array_equal(picked["i"][0], data["i"][1])
    r = run("traces", table, "--cells", "cellC", "--temperature", "22C")
    assert r.returncode == 2 and "no cell cellC; the files hold cellA, cellB" in r.stderr
    # one current column: its own name labels the cell; a generic one ('current') the file
    for header, label in (("cell5 [nA]", "cell5"), ("current_nA", "one.csv")):
        one = tmp_path / "one.csv"
        one.write_text(f"time_ms,voltage_mV,{header}\n" + "".join(
            f"{k * 0.1},-80,0.1\n" for k in range(20)))
        assert read_traces([one])["labels"] == [label]
    # a cell's .mat of the dataset names the folder and --cells
    mat = shared_data / "beattie2018" / "sine_wave" / "sine_wave_16713110.mat"
    r = run("traces", mat)
    assert r.returncode == 2 and "--cells 16713110" in r.stderr, r.stderr
