"""The recordings package: a file format added with one module and one registry line, and the
imports of recordings/ (no engine, no cli; the NWB and neo readers share no code with the ABF
reader's module)."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fitting
from fitting import io
from fitting.recordings.formats import registry

ROOT = Path(__file__).resolve().parents[1] / "fitting" / "recordings"

TOY = '''
"""A made-up text format of sweeps: "TOY1", the rate [Hz], then one step level [mV] per sweep.
Each sweep holds -80 mV for 100 samples, steps for 200, returns for 100; I = 1 nS (V - 10 mV)."""

import numpy as np

from fitting.recordings.model import Channel, Epoch, ReadOptions, Recording, Sweep


def sniff(head, name):
    return head.startswith(b"TOY1")


def read(path, options=ReadOptions()):
    words = open(path).read().split()
    sweeps = []
    for s, level in enumerate(float(w) * 1e-3 for w in words[2:]):
        table = (Epoch(0, 0, 100, -0.08, "Step"), Epoch(1, 100, 300, level, "Step"),
                 Epoch(2, 300, 400, -0.08, "Step"))
        command = np.concatenate([np.full(e.stop - e.start, e.level) for e in table])
        sweeps.append(Sweep(s, 1e-9 * (command - 0.01), command, table))
    return Recording(path=str(path), format="toy", rate=float(words[1]), sweeps=tuple(sweeps),
                     current=Channel.of(0, "Im", "pA", "adc"),
                     command=Channel.of(0, "Vcmd", "mV", "dac"), voltage_source="epochs",
                     units={"current": "pA", "command": "mV"}, provenance={"channel": 0})
'''


@pytest.fixture
def toy_format(tmp_path, monkeypatch):
    """The toy format, registered with one line from a module in tmp_path; removed after."""
    (tmp_path / "toyformat.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.register("toy", "toyformat", kind="sweeps", description="a made-up text format")
    yield tmp_path
    registry.unregister("toy")
    sys.modules.pop("toyformat", None)


def test_a_format_registered_from_another_module_is_read_by_fitting_read(toy_format):
    levels = [-60.0, -30.0, 0.0, 30.0]
    path = toy_format / "cell.toy"
    path.write_text("TOY1 10000 " + " ".join(map(str, levels)))
    assert io.format_of(path) == "toy"
    rec = io.read_recording(path)
    assert rec.format == "toy" and len(rec.sweeps) == 4 and rec.sweeps[2].epochs[1].level == 0.0
    iv = fitting.read(path)  # its step I-V: the varying epoch, the default window
    np.testing.assert_allclose(iv.v, np.array(levels) * 1e-3)
    np.testing.assert_allclose(iv.i, 1e-9 * (iv.v - 0.01))
    assert iv.labels == ["cell"] and iv.metadata["epoch"] == 1
    shifted = fitting.read(path, ljp=0.005, window=("10%", "50%"))
    np.testing.assert_allclose(shifted.v, iv.v - 0.005)
    with pytest.raises(io.InputError, match="command_channel names an ABF channel"):
        fitting.read(path, command_channel=1)
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)
    assert float(res.params["e_rev"]) == pytest.approx(0.01, abs=1e-9)


def test_registry_lookup_is_by_content_then_default_table(tmp_path):
    (tmp_path / "x.abf").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(8))
    (tmp_path / "t.dat").write_text("voltage_mV,current_pA\n-80,-10\n40,5\n")
    (tmp_path / "b.dat").write_bytes(b"\x00\x01binary")
    assert [io.format_of(tmp_path / n) for n in ("x.abf", "t.dat")] == ["nwb", "table"]
    with pytest.raises(io.InputError, match="PatchMaster"):
        io.format_of(tmp_path / "b.dat")
    assert set(registry.FORMATS) >= {"abf", "nwb", "neo", "table"}
    with pytest.raises(ValueError, match="already registered"):
        registry.register("abf", "x", kind="sweeps", description="")


def test_reading_a_table_through_the_registry_imports_no_recording_reader(tmp_path):
    path = tmp_path / "iv.csv"
    path.write_text("voltage_mV,current_pA\n-80,-10\n40,5\n")
    code = ("import sys, fitting; iv = fitting.read(sys.argv[1]); "
            "print(iv.shape, sorted(m for m in ('pyabf', 'pynwb', 'neo', 'h5py') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "(2,) []"


def _imports(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("fitting")}


def test_recordings_imports_only_recordings():
    """recordings -> ionjax; the CSV table reads and writes ionjax's provenance line
    (fitting.outputs); no engine, models, protocols or cli; nwb and neo not through abf."""
    allowed = ("fitting.recordings", "fitting.outputs.atomic", "fitting.outputs.results")
    for path in sorted(ROOT.rglob("*.py")):
        bad = [n for n in _imports(path) if not n.startswith(allowed)]
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
        if path.stem.startswith("table"):
            continue
        assert not any(n.startswith("fitting.outputs") for n in _imports(path)), path
    for name in ("nwb", "nwb_series", "neo"):
        assert not any(n.startswith("fitting.recordings.formats.abf")
                       for n in _imports(ROOT / "formats" / f"{name}.py")), name


def test_a_varying_step_at_the_table_s_edge_is_named_longest_first_in_the_command_s_words():
    """pyABF's 171116sh_0013 ("IV fast"): the 15.6 ms segment before the ramp (epoch 0) and the
    0.93 s test step (epoch 2) both change across sweeps, neither inside the table; the advice
    named epoch=0 (the short segment, in Python's words). It names both, the test step first."""
    from fitting.recordings.errors import InputError
    from fitting.recordings.model import Epoch
    from fitting.recordings.stepiv import choose_epoch

    tables = [(Epoch(0, 0, 312, -0.070 + 0.005 * s, "Step"), Epoch(1, 312, 1312, -0.110, "Ramp"),
               Epoch(2, 1312, 20000, -0.110 + 0.005 * s, "Step")) for s in range(13)]
    with pytest.raises(InputError, match=r"step\(s\) at the table's edge vary, longest first: "
                                         r"2, 0: name the test step with --epoch N") as info:
        choose_epoch("x.abf", None, tables, None)
    assert "epoch=0" not in str(info.value)
    assert choose_epoch("x.abf", 2, tables, None) == (2, [])
