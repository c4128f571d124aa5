"""fitting.io: CSV tables, ABF step I-V extraction, corrections, user lists, bad input.

Real-recording tests compare with values computed independently here with pyabf + numpy (same
definitions, written separately) and with the values documented in ../shared/data/README.md.
"""

import hashlib
import io as pyio
import os
import pickle
import struct
import subprocess
import sys

import numpy as np
import pytest

import ionjax
from fitting import io
from fitting.recordings.formats import abf as _abf

PA = 1e-12
HCN2_README = {  # mV : pA, README of ../shared/data
    -85: -651.6, -70: -453.8, -55: -264.1, -40: -116.1, -25: -2.3,
    -10: 99.4, 5: 197.8, 20: 268.9, 35: 340.4,
}


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


# ----------------------------------------------------------------------------- InputError

def test_input_error_text_attributes_and_pickle():
    err = io.InputError("non-numeric value 'abc' in column 'current_pA'", path="data.csv",
                        line=3, column=2)
    assert str(err) == "data.csv:3:2: non-numeric value 'abc' in column 'current_pA'"
    assert isinstance(err, ValueError)
    assert (err.path, err.line, err.column) == ("data.csv", 3, 2)
    assert str(io.InputError("bad", path="f.abf")) == "f.abf: bad"
    assert str(io.InputError("bad option")) == "bad option"
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.line, back.column) == (str(err), 3, 2)


def test_import_loads_no_pyabf_or_matplotlib():
    code = ("import sys, fitting, fitting.io; "
            "print([m for m in ('pyabf', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


# ----------------------------------------------------------------------------- CSV reading

@pytest.mark.parametrize("v_header, i_header, v_scale, i_scale", [
    ("voltage_mV", "current_pA", 1e-3, 1e-12),
    ("voltage [mV]", "current [nA]", 1e-3, 1e-9),
    ("V (mV)", "current (nA)", 1e-3, 1e-9),
    ("V (V)", "I (A)", 1.0, 1.0),
    ("voltage_uV", "current_fA", 1e-6, 1e-15),
    ("voltage (\u00b5V)", "current (\u00b5A)", 1e-6, 1e-6),   # micro sign
    ("voltage [\u03bcV]", "current [uA]", 1e-6, 1e-6),        # Greek mu
    ("voltage_mv", "current_pa", 1e-3, 1e-12),                # case-insensitive
    ("V/mV", "I/pA", 1e-3, 1e-12),
])
def test_read_csv_units_to_si(tmp_path, v_header, i_header, v_scale, i_scale):
    # -80..40 mV and -12.5..7.25 pA written in each unit (plausible values: see the next tests)
    v_raw = np.array([-80, 0, 40]) * (1e-3 / v_scale)
    i_raw = np.array([-12.5, 3, 7.25]) * (1e-12 / i_scale)
    path = _write(tmp_path, f"{v_header},{i_header}\n" + "".join(
        f"{a!r},{b!r}\n" for a, b in zip(v_raw.tolist(), i_raw.tolist())))
    iv = io.read_csv(path)
    np.testing.assert_allclose(iv.v, v_raw * v_scale, rtol=1e-15)
    np.testing.assert_allclose(iv.i, i_raw * i_scale, rtol=1e-15)
    assert iv.v.dtype == np.float64 and iv.shape == (3,)
    assert iv.labels == ["data"]          # generic column name -> the file name
    assert iv.metadata["format"] == "csv" and iv.metadata["layout"] == "single"
    assert list(iv.metadata["units"]) == [v_header, i_header]


def test_read_csv_wide_is_one_recording_per_current_column(tmp_path):
    path = _write(tmp_path, "V (mV),cell1 [pA],cell2 [nA],cell3_pA\n"
                            "-80,-100,-0.2,\n"
                            "# a comment line\n"
                            "0,50,0.1,7\n")
    iv = io.read_csv(path)
    assert iv.shape == (3, 2) and iv.labels == ["cell1", "cell2", "cell3"]
    np.testing.assert_array_equal(iv.v, [[-0.08, 0.0]] * 3)
    np.testing.assert_allclose(iv.i, [[-100e-12, 50e-12], [-0.2e-9, 0.1e-9], [np.nan, 7e-12]])
    assert iv.metadata["layout"] == "wide"


@pytest.mark.parametrize("label_column", ["recording", "cell", "Recording"])
def test_read_csv_long_groups_and_pads_ragged_recordings(tmp_path, label_column):
    path = _write(tmp_path, f"{label_column},voltage_mV,current_pA\n"
                            "b,-80,-1\na,-80,-2\nb,-40,1\nb,0,3\na,0,\n")
    iv = io.read_csv(path)
    assert iv.labels == ["b", "a"] and iv.shape == (2, 3)      # order of first appearance
    np.testing.assert_allclose(iv.v, [[-0.08, -0.04, 0.0], [-0.08, 0.0, np.nan]])
    np.testing.assert_allclose(iv.i, [[-1e-12, 1e-12, 3e-12], [-2e-12, np.nan, np.nan]])
    assert iv.metadata["layout"] == "long"


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_read_csv_tab_and_semicolon(tmp_path, sep):
    iv = io.read_csv(_write(tmp_path, f"voltage_mV{sep}current_pA\n-80{sep}-5\n"))
    np.testing.assert_allclose([iv.v[0], iv.i[0]], [-0.08, -5e-12])


def test_read_csv_bom_and_crlf(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffvoltage [mV],current [pA]\r\n-80,-5\r\n,7\r\n".encode("utf-8"))
    iv = io.read_csv(path)
    np.testing.assert_allclose(iv.v, [-0.08, np.nan])
    np.testing.assert_allclose(iv.i, [-5e-12, 7e-12])


def test_read_csv_bundled_example():
    from fitting.cli.data import example_path

    iv = io.read_csv(example_path())
    assert iv.v.ndim == 2 and iv.labels[0] == "cell1" and np.all(np.isfinite(iv.v))


ACCEPTED = "accepted units"


@pytest.mark.parametrize("text, line, column, fragment", [
    ("", None, None, "empty file"),
    ("\n\n# only a comment\n", None, None, "empty file"),
    ("voltage_mV,current_pA\n", 1, None, "no data rows"),
    ("voltage_mV,current_pA\n-80,1\n-40,abc\n", 3, 2, "non-numeric value 'abc' in column "
                                                     "'current_pA'"),
    ("voltage_mV,current_pA\n1e3x,1\n", 2, 1, "non-numeric value '1e3x' in column 'voltage_mV'"),
    ("voltage_mV,current_pA\n# note\n\n-80,x\n", 4, 2, "non-numeric value 'x'"),  # physical line
    ("voltage_mV,current_pA\n-80,inf\n", 2, 2, "infinite value"),
    ("voltage_mV,current_kA\n-80,1\n", 1, 2, "unknown unit 'kA'"),
    ("voltage,current_pA\n-80,1\n", 1, 1, "has no unit"),
    ("voltage_mV,current_pA\n-80,1,2\n", 2, 3, "3 cells but the header has 2"),
    ("voltage_mV,current_pA\n-80\n", 2, 2, "1 cells but the header has 2"),
    ("recording,voltage_mV,current_pA\n,-80,1\n", 2, 1, "empty recording name"),
    ("current_pA,i2_pA\n1,2\n", 1, None, "one voltage column"),
    ("voltage_mV,v2_mV\n1,2\n", 1, None, "one voltage column"),
    ("voltage_mV,other_mV,current_pA\n1,2,3\n", 1, None, "one voltage column"),
    ("voltage_mV,voltage2_V\n1,2\n", 1, None, "one voltage column"),
    ("voltage_mV,\n1,2\n", 1, 2, "has no unit"),
    ("voltage_pA,current_pA\n1,2\n", 1, 1, "named like a voltage"),
    ("recording,voltage_mV,a_pA,b_pA\nx,1,2,3\n", 1, 4, "one current column"),
])
def test_read_csv_bad_input_is_located(tmp_path, text, line, column, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(io.InputError) as info:
        io.read_csv(path)
    err = info.value
    assert (err.path, err.line, err.column) == (str(path), line, column), str(err)
    assert fragment in str(err)
    where = ":".join(str(x) for x in (path, line, column) if x is not None)
    assert str(err).startswith(where + ": ")
    if "unit" in fragment:
        assert ACCEPTED in str(err) and "mV" in str(err) and "pA" in str(err)


def test_read_csv_missing_directory_and_binary(tmp_path):
    with pytest.raises(io.InputError, match="no such file") as info:
        io.read_csv(tmp_path / "missing.csv")
    assert info.value.path == str(tmp_path / "missing.csv")
    with pytest.raises(io.InputError, match="directory"):
        io.read_csv(tmp_path)
    binary = tmp_path / "noise.csv"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(io.InputError, match="UTF-8"):
        io.read_csv(binary)


def test_read_csv_leaves_the_file_untouched(tmp_path):
    path = _write(tmp_path, "voltage_mV,current_pA\n-80,-1\n0,2\n")
    before = _fingerprint(path)
    iv = io.read_csv(path)
    io.correct(iv, ljp=0.003, series_resistance=1e7, leak=(1e-9, -0.07))
    assert _fingerprint(path) == before


# ----------------------------------------------------------------------------- CSV writing

def _assert_same(a, b):
    np.testing.assert_allclose(a.v, b.v, rtol=1e-14, atol=0)
    np.testing.assert_allclose(a.i, b.i, rtol=1e-14, atol=0)
    assert a.labels == b.labels


@pytest.mark.parametrize("units", ["mV/pA", "SI"])
@pytest.mark.parametrize("data", [
    io.IVData([-0.08, -0.04, 0.0], [-1.5e-10, np.nan, 2e-10], ["cell A"]),
    io.IVData([-0.08, 0.0], [[-1e-10, 2e-10], [-3e-11, 4e-11]], ["c1", "c2"]),          # wide
    io.IVData([[-0.08, 0.0, 0.02], [-0.07, 0.01, np.nan]],
              [[-1e-10, 2e-10, 3e-10], [-3e-11, 4e-11, np.nan]], ["x", "y"]),        # long
    io.IVData([-0.08, 0.0], [[-1e-10, 2e-10], [-3e-11, 4e-11]], ["voltage", "v"]),   # long
])
def test_write_csv_round_trips(tmp_path, data, units):
    path = tmp_path / "out.csv"
    io.write_csv(path, data, units=units)
    header = path.read_text().splitlines()[0]
    assert ("_mV" in header and "_pA" in header) if units == "mV/pA" else "_V" in header
    _assert_same(io.read_csv(path), data)


def test_write_csv_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "out.csv"
    path.write_text("old content\n")
    data = io.IVData([-0.08, 0.0], [-1e-10, 1e-10], ["cell"])
    real_replace = os.replace
    moves = []

    def recording_replace(src, dst):
        moves.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    io.write_csv(path, data)
    (src, dst), = moves
    assert os.path.dirname(os.path.abspath(src)) == str(tmp_path) and dst == str(path)
    assert src != dst and not os.path.exists(src)
    _assert_same(io.read_csv(path), data)

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    before = path.read_bytes()
    with pytest.raises(OSError):
        io.write_csv(path, io.IVData([0.0], [0.0], ["other"]))
    assert path.read_bytes() == before                     # old file intact
    assert sorted(os.listdir(tmp_path)) == ["out.csv"]     # no temporary file left


# ----------------------------------------------------------------------------- IVData

def test_ivdata_is_immutable_and_corrections_return_new_objects():
    v, i = np.array([-0.08, 0.0]), np.array([-1e-10, 1e-10])
    iv = io.IVData(v, i, ["cell"], {"source": "x"})
    v[0] = 123.0                                           # the caller's array is copied
    assert iv.v[0] == -0.08
    with pytest.raises(ValueError):
        iv.v[0] = 1.0                                      # read-only
    out = io.correct_liquid_junction(iv, 0.005)
    assert out is not iv and iv.v[0] == -0.08 and iv.metadata["corrections"] == []
    assert out.metadata["source"] == "x" and len(out.metadata["corrections"]) == 1
    with pytest.raises(ValueError, match="labels"):
        io.IVData([[0.0, 1.0]] * 2, [[0.0, 1.0]] * 2, ["only one"])
    assert io.IVData([0.0, 0.1], [[1.0, 2.0], [3.0, 4.0]]).v.shape == (2, 2)  # v broadcast


def test_stack_pads_with_nan():
    a = io.IVData([0.0, 0.1, 0.2], [1.0, 2.0, 3.0], ["a"])
    b = io.IVData([[0.0], [0.5]], [[4.0], [5.0]], ["b", "c"])
    s = io.stack([a, b])
    assert s.shape == (3, 3) and s.labels == ["a", "b", "c"]
    np.testing.assert_array_equal(s.i[1], [4.0, np.nan, np.nan])


# ----------------------------------------------------------------------------- corrections

IV = io.IVData([[-0.1, -0.05, 0.0, 0.05], [-0.1, -0.05, 0.0, 0.05]],
               [[-2e-9, -1e-9, 5e-10, 3e-9], [-1e-9, 0.0, 1e-9, 2e-9]], ["a", "b"])


def test_liquid_junction_number_and_solutions():
    out = io.correct_liquid_junction(IV, 0.00318)
    np.testing.assert_allclose(out.v, IV.v - 0.00318, rtol=0, atol=1e-17)
    np.testing.assert_array_equal(out.i, IV.i)
    assert out.metadata["corrections"][-1]["ljp_V"] == 0.00318
    pipette, bath = {"K": 150.0, "Cl": 150.0}, {"Na": 150.0, "Cl": 150.0}
    out = io.correct_liquid_junction(IV, (pipette, bath), temperature=298.15)
    ljp = float(ionjax.liquid_junction_potential(pipette, bath, temperature=298.15))
    np.testing.assert_allclose(out.v, IV.v - ljp, rtol=0, atol=1e-17)
    record = out.metadata["corrections"][-1]
    assert record["temperature_K"] == 298.15 and record["pipette_mM"] == pipette
    default = io.correct_liquid_junction(IV, (pipette, bath))
    assert default.metadata["corrections"][-1]["temperature_K"] == 295.15
    with pytest.raises(io.InputError, match="volts"):
        io.correct_liquid_junction(IV, 3.18)               # mV given as V
    with pytest.raises(io.InputError):
        io.correct_liquid_junction(IV, ({"Xx": 1.0}, bath))


def test_series_resistance_closed_form():
    out = io.correct_series_resistance(IV, 1e7, 0.7)
    np.testing.assert_allclose(out.v, IV.v - IV.i * 1e7 * 0.3, rtol=1e-15, atol=1e-18)
    assert out.metadata["corrections"][-1] == {
        "name": "series_resistance", "r_s_ohm": 1e7, "compensation": 0.7,
        "convention": "V_m = V - I * r_s * (1 - compensation), I = total measured current"}
    np.testing.assert_array_equal(io.correct_series_resistance(IV, 0.0).v, IV.v)
    for r_s, comp in [(-1.0, 0.0), (10.0, 0.0), (1e7, 1.0), (1e7, -0.1), (np.inf, 0.0)]:
        with pytest.raises(io.InputError):
            io.correct_series_resistance(IV, r_s, comp)


def test_series_resistance_that_moves_voltages_out_of_physics_is_refused():
    """R_s given in Ohm where MOhm was meant (or pA read as nA) would turn -100 mV into volts."""
    iv = io.IVData([-0.1, 0.0, 0.05], [-2e-9, 0.0, 1e-9])
    np.testing.assert_allclose(io.correct_series_resistance(iv, 1e8).v, [0.1, 0.0, -0.05])
    with pytest.raises(io.InputError, match=r"moves -100 mV at -2000 pA to 1900 mV"):
        io.correct_series_resistance(iv, 1e9)
    with pytest.raises(io.InputError, match=r"R_s = 1000 MOhm.*to 1900 mV, beyond \+-500 mV"):
        iv.with_corrections(series_resistance=1e9)


def test_leak_fit_and_subtraction_closed_form():
    v = np.linspace(-0.12, 0.04, 17)
    g, e = 0.4e-9, -0.055
    channel = 2e-9 * np.sqrt(np.clip(v + 0.06, 0.0, None))          # closed below -60 mV
    i = g * (v - e) + channel
    g_fit, e_fit = io.fit_leak(v, i, (-0.12, -0.07))
    np.testing.assert_allclose([g_fit, e_fit], [g, e], rtol=1e-10)
    out = io.subtract_leak(io.IVData(v, i), g_fit, e_fit)
    np.testing.assert_allclose(out.i, channel, rtol=0, atol=1e-20)
    # per-recording values, batch fit
    i2 = np.stack([i, 2 * g * (v - e) + channel])
    g2, e2 = io.fit_leak(np.stack([v, v]), i2, (-0.12, -0.07))
    np.testing.assert_allclose(g2, [g, 2 * g], rtol=1e-10)
    out = io.subtract_leak(io.IVData(v, i2), g2, e2)
    np.testing.assert_allclose(out.i, [channel, channel], rtol=0, atol=1e-20)
    with pytest.raises(io.InputError, match="fewer than two"):
        io.fit_leak(v, i, (-0.2, -0.125))
    with pytest.raises(io.InputError):
        io.fit_leak(v, i, (0.0, -0.1))


def test_correct_order_uses_total_current_for_series_resistance():
    g, e, r_s, comp, ljp = 1e-9, -0.07, 1e7, 0.5, 0.004
    out = IV.with_corrections(series_resistance=r_s, compensation=comp, ljp=ljp, leak=(g, e))
    v_m = IV.v - IV.i * r_s * (1 - comp) - ljp          # the uncorrected (total) current
    np.testing.assert_allclose(out.v, v_m, rtol=1e-14)
    np.testing.assert_allclose(out.i, IV.i - g * (v_m - e), rtol=1e-12, atol=1e-24)
    names = [c["name"] for c in out.metadata["corrections"]]
    assert names == ["series_resistance", "liquid_junction_potential", "leak"]
    ranged = io.correct(IV, leak=("range", -0.1, -0.05))
    assert ranged.metadata["corrections"][-1]["method"] == "range"
    np.testing.assert_allclose(ranged.i[:, :2], 0.0, atol=1e-21)
    with pytest.raises(io.InputError, match="iv_from_abf"):
        io.correct(IV, leak="ramp")
    with pytest.raises(io.InputError):
        io.correct(IV, leak="bogus")
    with pytest.raises(io.InputError):
        io.correct(IV, compensation=0.5)


# ----------------------------------------------------------------------------- ABF: real files

def _pyabf():
    return pytest.importorskip("pyabf")


def _independent_steps(path, channel=0, lo=0.60, hi=0.95, stat=np.mean):
    """Step I-V: mean of each sweep over lo..hi of the first step epoch that changes level."""
    pyabf = _pyabf()
    abf = pyabf.ABF(str(path))
    first, last = [], []
    for sweep, store in ((0, first), (abf.sweepCount - 1, last)):
        abf.setSweep(sweep, channel=channel)
        store.extend(abf.sweepEpochs.levels)
    step = next(k for k in range(1, len(first) - 1) if first[k] != last[k])
    v, i = [], []
    for sweep in abf.sweepList:
        abf.setSweep(sweep, channel=channel)
        p1, p2 = abf.sweepEpochs.p1s[step], abf.sweepEpochs.p2s[step]
        t = abf.sweepX - abf.sweepX[p1]
        duration = (p2 - p1) / abf.dataRate
        sel = (t >= lo * duration - 1e-9) & (t < hi * duration - 1e-9)
        v.append(abf.sweepC[(p1 + p2) // 2] * 1e-3)           # mV -> V
        i.append(stat(abf.sweepY[sel].astype(np.float64)) * PA)
    return np.array(v), np.array(i)


@pytest.mark.parametrize("name, n, v_first, v_last, label", [
    ("14o16001_vc_pair_step.abf", 13, -0.110, -0.050, "IN 0"),  # two cells: the channel
    ("171116sh_0012.abf", 7, -0.110, -0.050, "171116sh_0012"),
])
def test_step_iv_matches_independent_extraction(shared_data, name, n, v_first, v_last, label):
    path = shared_data / "abf" / name
    iv = io.iv_from_abf(path)
    v_ref, i_ref = _independent_steps(path)
    assert iv.shape == (n,) and iv.labels == [label]
    np.testing.assert_allclose(iv.v, v_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose([iv.v[0], iv.v[-1]], [v_first, v_last], atol=1e-12)
    assert np.max(np.abs(iv.i - i_ref)) < 1 * PA
    md = iv.metadata
    assert md["format"] == "abf" and md["channel"] == 0 and md["statistic"] == "mean"
    assert md["units"] == {"current": "pA", "command": "mV"} and md["user_lists"] == []
    assert md["window"]["spec"] == ["60%", "95%"] and md["corrections"] == []


def test_pair_recording_reverses_near_minus_65_mV(shared_data):
    iv = io.iv_from_abf(shared_data / "abf" / "14o16001_vc_pair_step.abf")
    k = np.flatnonzero(np.diff(np.sign(iv.i)))[0]
    assert -0.070 <= iv.v[k] and iv.v[k + 1] <= -0.055


@pytest.mark.parametrize("statistic, reducer", [
    ("min", np.min), ("max", np.max), ("peak", lambda a: a[np.argmax(np.abs(a))]),
])
def test_statistics_match_independent_extraction(shared_data, statistic, reducer):
    path = shared_data / "abf" / "171116sh_0012.abf"
    iv = io.iv_from_abf(path, window=("0ms", "20%"), statistic=statistic)
    _, i_ref = _independent_steps(path, lo=0.0, hi=0.2, stat=reducer)
    assert np.max(np.abs(iv.i - i_ref)) < 1 * PA


def test_second_channel_and_explicit_epoch(shared_data):
    path = shared_data / "abf" / "14o16001_vc_pair_step.abf"
    auto = io.iv_from_abf(path, channel=1)
    assert auto.metadata["epoch"] == 4 and auto.metadata["other_varying_epochs"] == [7]
    v_ref, i_ref = _independent_steps(path, channel=1)
    np.testing.assert_allclose(auto.v, v_ref, atol=1e-12)
    assert np.max(np.abs(auto.i - i_ref)) < 1 * PA
    later = io.iv_from_abf(path, channel=1, epoch=7)
    assert later.metadata["epoch"] == 7 and np.max(np.abs(later.i - auto.i)) > 1 * PA


def _independent_hcn2_tail(path):
    """Mean 2.5-7.5 ms after the step that follows the -120 mV prepulse, minus the ramp leak."""
    pyabf = _pyabf()
    abf = pyabf.ABF(str(path))
    v, i, g = [], [], []
    for sweep in abf.sweepList:
        abf.setSweep(sweep)
        ep = abf.sweepEpochs
        step = list(ep.levels).index(-120.0) + 1
        ramp = np.concatenate([np.arange(a, b) for a, b, kind in zip(ep.p1s, ep.p2s, ep.types)
                               if kind == "Ramp"])
        slope, intercept = np.polyfit(abf.sweepC[ramp], abf.sweepY[ramp].astype(float), 1)
        t = abf.sweepX - abf.sweepX[ep.p1s[step]]
        sel = (t >= 0.0025 - 1e-9) & (t < 0.0075 - 1e-9)
        level = ep.levels[step]
        v.append(level * 1e-3)
        i.append((abf.sweepY[sel].astype(float).mean() - (slope * level + intercept)) * PA)
        g.append(slope * 1e-9)                                  # pA/mV = nS
    return np.array(v), np.array(i), np.array(g)


def test_hcn2_tail_iv_reproduces_readme(shared_data):
    path = shared_data / "abf" / "hcn2_20d10009.abf"
    iv = io.iv_from_abf(path, window=("2.5ms", "7.5ms"), leak="ramp")
    assert iv.metadata["epoch"] == 8                         # epoch H: the test step
    np.testing.assert_allclose(iv.v * 1e3, list(HCN2_README), atol=1e-9)
    readme = np.array(list(HCN2_README.values())) * PA
    assert np.max(np.abs(iv.i - readme)) < 0.1 * PA          # README gives 0.1 pA
    v_ref, i_ref, g_ref = _independent_hcn2_tail(path)
    np.testing.assert_allclose(iv.v, v_ref, atol=1e-12)
    assert np.max(np.abs(iv.i - i_ref)) < 1e-3 * PA
    leak = iv.metadata["corrections"][-1]
    assert leak["name"] == "leak" and leak["method"] == "ramp" and leak["epochs"] == [2, 3]
    np.testing.assert_allclose(leak["g_leak_S"], g_ref, rtol=1e-9)
    assert 0.3e-9 < np.mean(leak["g_leak_S"]) < 0.45e-9      # "leak about 0.39 nS"
    assert iv.metadata["window"]["samples"] == [5, 15]       # 2 kHz: samples 5..14
    explicit = io.iv_from_abf(path, window=(0.0025, 0.0075), leak="ramp", epoch=8)
    np.testing.assert_array_equal(explicit.i, iv.i)


def test_hcn2_corrections_compose_like_the_standalone_functions(shared_data):
    path = shared_data / "abf" / "hcn2_20d10009.abf"
    window = ("2.5ms", "7.5ms")
    raw = io.iv_from_abf(path, window=window)
    ramped = io.iv_from_abf(path, window=window, leak="ramp")
    full = io.iv_from_abf(path, window=window, leak="ramp", ljp=0.00318,
                          series_resistance=1.5e7, compensation=0.6)
    np.testing.assert_allclose(full.v, raw.v - raw.i * 1.5e7 * 0.4 - 0.00318, rtol=1e-13)
    np.testing.assert_allclose(full.i, ramped.i, rtol=0, atol=1e-20)  # ramp leak: command coords
    names = [c["name"] for c in full.metadata["corrections"]]
    assert names == ["series_resistance", "liquid_junction_potential", "leak"]
    solutions = ({"Na": 10, "K": 130, "Cl": 141}, {"Na": 110, "K": 30, "Cl": 144.6})
    with pytest.warns(UserWarning, match="electroneutral"):
        from_solutions = io.iv_from_abf(path, window=window, ljp=solutions, temperature=298.0)
    ljp = from_solutions.metadata["corrections"][-1]["ljp_V"]
    assert 0.002 < ljp < 0.005                               # the source used 3.18 mV
    np.testing.assert_allclose(from_solutions.v, raw.v - ljp, rtol=1e-13)
    ranged = io.iv_from_abf(path, window=window, leak=("range", -0.09, -0.05))
    g, e = io.fit_leak(raw.v, raw.i, (-0.09, -0.05))
    np.testing.assert_allclose(ranged.i, raw.i - g * (raw.v - e), rtol=1e-12, atol=1e-21)


def test_reading_abf_leaves_files_untouched(shared_data):
    files = sorted((shared_data / "abf").glob("*.abf"))
    before = [_fingerprint(f) for f in files]
    for f in files:
        io.iv_from_abf(f)
    assert [_fingerprint(f) for f in files] == before


@pytest.mark.parametrize("options, fragment", [
    (dict(channel=2), "channel 2 does not exist"),
    (dict(window=("95%", "60%")), "within the step"),
    (dict(window=("0.4 s", "0.6 s")), "within the step"),
    (dict(window=("abc", "95%")), "neither a fraction"),
    (dict(window=("60%",)), "pair"),
    (dict(window=("nan%", "95%")), "neither a fraction"),
    (dict(window=("2.5", "7.5")), "'2.5' has no unit: write '2.5ms', '2.5s' or '2.5%'"),
    (dict(channel=1.5), "does not exist"),
    (dict(statistic="median"), "statistic"),
    (dict(epoch=3.5), "integer index"),
    (dict(epoch=99), "not a step epoch"),
    (dict(leak="ramp"), "no ramp epoch"),
    (dict(command_channel=1), "not a voltage unit"),
    (dict(current_unit="mV"), "not a current unit"),
    (dict(current_unit="furlong"), "accepted units"),
    (dict(leak="bogus"), "leak must be"),
])
def test_abf_bad_options(shared_data, options, fragment):
    with pytest.raises(io.InputError, match=fragment):
        io.iv_from_abf(shared_data / "abf" / "14o16001_vc_pair_step.abf", **options)


def test_abf_bad_files(tmp_path, shared_data):
    _pyabf()
    noise = tmp_path / "noise.abf"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    text = tmp_path / "text.abf"
    text.write_text("voltage_mV,current_pA\n")
    fake_magic = tmp_path / "fake.abf"
    fake_magic.write_bytes(b"ABF2" + np.random.default_rng(1).bytes(4092))
    truncated = tmp_path / "truncated.abf"
    truncated.write_bytes((shared_data / "abf" / "171116sh_0012.abf").read_bytes()[:600])
    for path, fragment in [(noise, "not an ABF file"), (text, "not an ABF file"),
                           (fake_magic, "section .* past the end of the file"),
                           (truncated, "section .* past the end of the file .* cut short"),
                           (tmp_path / "missing.abf", "no such file"),
                           (tmp_path, "not a regular file")]:
        with pytest.raises(io.InputError, match=fragment) as info:
            io.iv_from_abf(path)
        assert info.value.path == str(path) and str(info.value).startswith(f"{path}: ")


# ----------------------------------------------------------------------------- user lists

def _abf1_header(enable=(0, 0, 0, 0), param=(0, 0, 0, 0), version=1.83, values=b"",
                 source=1):
    data = bytearray(6144)
    data[0:8] = b"ABF " + struct.pack("<f", version)
    data[2296:2304] = struct.pack("<4h", 1, 0, source, 1)     # nWaveformEnable, -Source [2]
    data[3360:3376] = struct.pack("<4h", *enable) + struct.pack("<4h", *param)
    data[3376:3376 + len(values)] = values
    return bytes(data)


def _abf2_header(lists=()):
    data = bytearray(1024)
    data[0:4] = b"ABF2"
    data[172:188] = struct.pack("<IIq", 1, 64, len(lists))
    for k, (enable, param) in enumerate(lists):
        data[512 + 64 * k:520 + 64 * k] = struct.pack("<4h", k, enable, param, 1)
    return bytes(data)


def test_user_list_flags_from_header_bytes():
    assert io.user_lists(pyio.BytesIO(_abf1_header())) == [
        {"list": k, "enabled": False, "parameter": 0, "values": None} for k in range(4)]
    on = io.user_lists(pyio.BytesIO(_abf1_header(enable=(1, 0, 0, 0), param=(21, 0, 0, 0),
                                                 values=b"-60, -40.5,1e1  ")))
    assert on[0] == {"list": 0, "enabled": True, "parameter": 21, "values": [-60, -40.5, 10]}
    assert io.user_lists(pyio.BytesIO(_abf1_header(enable=(1, 0, 0, 0), version=1.5))) == []
    assert io.user_lists(pyio.BytesIO(_abf2_header())) == []
    assert io.user_lists(pyio.BytesIO(_abf2_header([(0, 61), (1, 62)]))) == [
        {"list": 0, "enabled": False, "parameter": 61, "values": None},
        {"list": 1, "enabled": True, "parameter": 62, "values": None}]
    with pytest.raises(ValueError, match="not an ABF"):
        io.user_lists(pyio.BytesIO(b"RIFF" + bytes(100)))
    with pytest.raises(ValueError, match="truncated"):
        io.user_lists(pyio.BytesIO(_abf1_header()[:3000]))


def test_real_files_have_no_enabled_user_list(shared_data):
    """pyabf's userListEnable of the ABF1 HCN2 file is [0, 0, 34, 0] (nULParamToVary read as
    part of it); the header's own nULEnable flags are all 0."""
    for name in ("hcn2_20d10009.abf", "14o16001_vc_pair_step.abf", "171116sh_0012.abf"):
        assert io.enabled_user_lists(shared_data / "abf" / name) == []


class _Epochs:
    def __init__(self, p1s, p2s, levels, types):
        self.p1s, self.p2s, self.levels, self.types = p1s, p2s, levels, types


class FakeABF:
    """Stand-in for pyabf.ABF: protocol hold | A step | B ramp to +20 mV | C test step | hold.

    Rate 1 kHz. The membrane current is a leak g (V - E) everywhere plus, during the test step,
    a 5-sample decaying transient and a channel current ``channel(V)``. ``table_levels`` are the levels
    the epoch table shows for C (what pyabf reports); ``levels`` those applied (recorded on ADC
    channel 1 when ``record_command``).
    """

    bounds = [(0, 10), (10, 60), (60, 110), (110, 210), (210, 230)]
    types = ["Step", "Step", "Ramp", "Step", "Step"]
    g, e, hold = 0.5e-9, -0.06, -0.08

    def __init__(self, header_path, levels, table_levels=None, current_unit="pA",
                 command_unit="mV", record_command=False, a_extra=None, user_list=None,
                 noise=0.0):
        self.abfFilePath = str(header_path)
        self.abfVersionString = "2.0.0.0"
        self.dataRate = 1000
        self.sweepCount = len(levels)
        self.channelCount = 2 if record_command else 1
        self.adcNames = ["IN 0", "IN 1"][:self.channelCount]
        self.adcUnits = [current_unit, "mV"][:self.channelCount]
        self._dac_unit = command_unit
        self._scale = {"pA": 1e12, "nA": 1e9, "mV": 1e3, "V": 1.0}
        self._levels = list(levels)
        self._table = list(table_levels if table_levels is not None else levels)
        self._extra = list(a_extra) if a_extra is not None else [0] * len(levels)
        self.userList = user_list
        self._noise = noise

    @staticmethod
    def channel(v):
        return 1e-9 * (v - 0.01)

    def _bounds(self, extra):
        """Epoch bounds when epoch A lasts ``extra`` samples longer (the sweep keeps 230)."""
        return [(a + (extra if k > 1 else 0), min(b + (extra if k >= 1 else 0), 230)
                 if k < 4 else 230) for k, (a, b) in enumerate(self.bounds)]

    def _waveform(self, level, extra):
        (_, _), _, (r1, r2), (c1, c2), _ = self._bounds(extra)
        wave = np.full(230, self.hold)
        wave[c1:c2] = level
        wave[r1:r2] = np.linspace(self.hold, 0.02, r2 - r1, endpoint=False)
        return wave

    def setSweep(self, sweep, channel=0):
        extra = self._extra[sweep]
        applied = self._waveform(self._levels[sweep], extra)
        shown = self._waveform(self._table[sweep], 0)
        c1, c2 = self._bounds(extra)[3]
        current = self.g * (applied - self.e)
        current[c1:c2] += self.channel(self._levels[sweep])
        current[c1:c1 + 5] += 5e-9 * np.exp(-2.0 * np.arange(5))   # capacitive transient
        current += self._noise * np.random.default_rng(sweep).standard_normal(230)
        if channel == 0:
            self.sweepY = current * self._scale[self.adcUnits[0]]
        else:
            self.sweepY = applied * 1e3
        self.sweepC = shown * self._scale[self._dac_unit]
        self.sweepUnitsC = self._dac_unit
        levels = [self.hold, self.hold, 0.02, self._table[sweep], self.hold]
        self.sweepEpochs = _Epochs([a for a, _ in self.bounds], [b for _, b in self.bounds],
                                   [x * self._scale[self._dac_unit] for x in levels], self.types)


@pytest.fixture
def fake_abf(tmp_path, monkeypatch):
    """Factory: make_fake(**kwargs) -> path whose reading returns a FakeABF."""

    def make(header=_abf2_header(), **kwargs):
        path = tmp_path / "fake.abf"
        path.write_bytes(header)
        fake = FakeABF(path, **kwargs)
        monkeypatch.setattr(_abf, "load_abf", lambda p: fake)
        return path

    return make


LEVELS = [-0.1, -0.07, -0.04, -0.01, 0.02]


@pytest.mark.parametrize("current_unit, command_unit", [("pA", "mV"), ("nA", "V")])
def test_fake_abf_units_window_and_ramp_leak_closed_form(fake_abf, current_unit, command_unit):
    path = fake_abf(levels=LEVELS, current_unit=current_unit, command_unit=command_unit)
    iv = io.iv_from_abf(path, window=("5ms", "100%"), leak="ramp")
    np.testing.assert_allclose(iv.v, LEVELS, rtol=1e-15)
    np.testing.assert_allclose(iv.i, FakeABF.channel(np.array(LEVELS)), rtol=1e-9, atol=1e-21)
    leak = iv.metadata["corrections"][0]
    np.testing.assert_allclose(leak["g_leak_S"], FakeABF.g, rtol=1e-9)
    np.testing.assert_allclose(leak["e_leak_V"], FakeABF.e, rtol=1e-9)
    assert iv.metadata["epoch"] == 3 and iv.metadata["window"]["samples"] == [5, 100]
    assert iv.metadata["units"] == {"current": current_unit, "command": command_unit}
    # the transient is inside a window that starts at the onset: the peak finds it
    peak = io.iv_from_abf(path, window=(0, "4ms"), statistic="peak")
    np.testing.assert_allclose(peak.i, FakeABF.g * (np.array(LEVELS) - FakeABF.e)
                               + FakeABF.channel(np.array(LEVELS)) + 5e-9, rtol=1e-9)


def test_fake_abf_unknown_units_and_current_clamp(fake_abf):
    with pytest.raises(io.InputError, match="accepted units"):
        io.iv_from_abf(fake_abf(levels=LEVELS, current_unit="furlong"))
    with pytest.raises(io.InputError, match="not a current unit"):
        io.iv_from_abf(fake_abf(levels=LEVELS, current_unit="mV"))


def test_fake_abf_without_a_varying_epoch_needs_epoch(fake_abf):
    path = fake_abf(levels=[-0.05] * 3)
    # naming an epoch cannot help (it would not vary either): the message says so (issue 23)
    with pytest.raises(io.InputError, match="no step epoch changes its level across sweeps: "
                       "no step I-V in this recording"):
        io.iv_from_abf(path)
    with pytest.raises(io.InputError, match="epoch 3 holds the same voltage .-50 mV. in every "
                       "sweep: no I-V .no step epoch varies"):
        io.iv_from_abf(path, epoch=3)  # a named epoch that does not vary: no I-V either
    assert io.iv_from_abf(fake_abf(levels=LEVELS), epoch=3).shape == (len(LEVELS),)


def test_user_list_refused_without_command_channel(fake_abf):
    path = fake_abf(header=_abf2_header([(1, 61)]), levels=LEVELS,
                    table_levels=[-0.08] * len(LEVELS))
    with pytest.raises(io.InputError, match="user list") as info:
        io.iv_from_abf(path)
    assert "command_channel" in str(info.value) and info.value.path == str(path)


@pytest.mark.parametrize("header", [_abf2_header([(1, 61)]), _abf1_header(enable=(1, 0, 0, 0))])
def test_user_list_read_from_the_recorded_command(fake_abf, header):
    path = fake_abf(header=header, levels=LEVELS, table_levels=[-0.08] * len(LEVELS),
                    record_command=True)
    iv = io.iv_from_abf(path, command_channel=1, window=("10%", "90%"))
    np.testing.assert_allclose(iv.v, LEVELS, rtol=1e-12)     # not the table's -80 mV
    expected = FakeABF.g * (np.array(LEVELS) - FakeABF.e) + FakeABF.channel(np.array(LEVELS))
    np.testing.assert_allclose(iv.i, expected, rtol=1e-9)
    assert iv.metadata["epoch"] == 3 and iv.metadata["user_lists"][0]["enabled"]
    assert "recorded command" in iv.metadata["voltage_source"]
    assert iv.metadata["units"]["recorded_command"] == "mV"


A_DURATION = 31   # user-list code of epoch A's duration (10 epoch slots: levels 21-30)
EXTRA = [0, 5, 10, 15, 20]
APPLIED = ",".join(str(50 + x) for x in EXTRA).encode()  # A lasts 50 samples in the table


def test_duration_list_flagged_disabled_but_applied_is_read_from_the_recording(fake_abf):
    """Clampex applied a list whose enable flag reads 0 (pyABF's user-list-durations sample):
    the recorded command shows it, the list's durations rebuild the table, and the window sits
    in the real step; the table's own step would put the window over the ramp and transient."""
    header = _abf1_header(param=(A_DURATION, 0, 0, 0), values=APPLIED)
    path = fake_abf(header=header, levels=LEVELS, record_command=True, a_extra=EXTRA)
    iv = io.iv_from_abf(path, window=("10%", "90%"), leak="ramp")
    expected = FakeABF.channel(np.array(LEVELS))
    np.testing.assert_allclose(iv.i, expected, rtol=1e-9)
    np.testing.assert_allclose(iv.v, LEVELS, rtol=1e-15)
    md = iv.metadata
    assert "duration of epoch A (flagged disabled) applied" in md["command_check"]
    assert md["epoch_start_s"] == [(110 + x) / 1000 for x in EXTRA]
    assert md["voltage_source"] == "epoch table" and "recorded_command" not in md["units"]
    np.testing.assert_allclose(md["corrections"][0]["g_leak_S"], FakeABF.g, rtol=1e-9)


def test_recording_that_matches_neither_table_nor_list_is_refused(fake_abf):
    header = _abf1_header(param=(A_DURATION, 0, 0, 0), values=b"50,50,50,50,50")
    path = fake_abf(header=header, levels=LEVELS, record_command=True, a_extra=EXTRA)
    with pytest.raises(io.InputError, match="channel 1 departs from a Clampex user list "
                                            "varying the duration of epoch A"):
        io.iv_from_abf(path)
    header = _abf1_header(param=(25, 0, 0, 0), values=b"-10")     # level of epoch E
    path = fake_abf(header=header, levels=LEVELS, table_levels=[-0.08] * 5,
                    record_command=True)
    with pytest.raises(io.InputError, match="levels of .*pass command_channel=1"):
        io.iv_from_abf(path)
    iv = io.iv_from_abf(path, command_channel=1, window=("10%", "90%"))
    np.testing.assert_allclose(iv.v, LEVELS, rtol=1e-12)


STEPS = [-0.1, -0.07, -0.04, -0.01, 0.05]


def test_disabled_list_unrecorded_command_judged_by_the_transients(fake_abf):
    """HCN2 case: a disabled duration list, no command channel. The current's jumps at the
    table's onset (not the list's) accept it; an applied list (jumps elsewhere) is refused.
    A step to the ramp's end level (+20 mV) has no onset jump to judge."""
    header = _abf1_header(param=(A_DURATION, 0, 0, 0), values=APPLIED)
    path = fake_abf(header=header, levels=STEPS, noise=2e-12)
    iv = io.iv_from_abf(path, window=("10%", "90%"))
    assert "not applied" in iv.metadata["command_check"] and "in the 4 sweep(s)" in \
        iv.metadata["command_check"]
    path = fake_abf(header=header, levels=STEPS, noise=2e-12, a_extra=EXTRA)
    with pytest.raises(io.InputError, match="may have been applied"):
        io.iv_from_abf(path)
    with pytest.raises(io.InputError, match="sweep 1 changes the command too little"):
        io.iv_from_abf(fake_abf(header=header, levels=[-0.1, 0.02, 0.03, 0.04, 0.05]))
    level_list = _abf1_header(param=(24, 0, 0, 0), values=b"-10")
    with pytest.raises(io.InputError, match="cannot be checked"):
        io.iv_from_abf(fake_abf(header=level_list, levels=STEPS))


def test_stimulus_file_command_is_refused(fake_abf):
    path = fake_abf(header=_abf1_header(source=2), levels=LEVELS)
    with pytest.raises(io.InputError, match="stimulus file"):
        io.iv_from_abf(path)


def test_hcn2_disabled_list_checked_by_its_transients(shared_data):
    iv = io.iv_from_abf(shared_data / "abf" / "hcn2_20d10009.abf")
    assert iv.metadata["command_check"].startswith(
        "a Clampex user list varying the duration of epoch D (flagged disabled) not applied")


@pytest.mark.parametrize("text, kind, likely", [
    ("voltage_V,current_pA\n-80,-100\n-40,-50\n0,10\n40,80\n", "voltage", "mV"),
    ("voltage_mV,current_A\n-80,-100\n-40,-50\n0,10\n40,80\n", "current", "pA"),
    ("voltage_mV,current_pA\n-80,-1e-10\n-40,-5e-11\n0,1e-11\n40,8e-11\n", "current", "A"),
    ("voltage_mV,current_pA\n-0.08,-100\n-0.04,-50\n0,10\n0.04,80\n", "voltage", "V"),
])
def test_implausible_units_are_refused_with_the_likely_unit(tmp_path, text, kind, likely):
    path = tmp_path / "cell.csv"
    path.write_text(text)
    with pytest.raises(io.InputError, match=f"look like {likely}\\. .*{kind}_unit="):
        io.read_csv(path)
    fixed = io.read_csv(path, **{f"{kind}_unit": likely.split(" or ")[0]})
    assert np.all(np.abs(fixed.v) <= 0.5) and np.all(np.abs(fixed.i) <= 1e-6)
    assert fixed.metadata["unit_overrides"] == {kind: likely.split(" or ")[0]}


def test_unit_override_must_name_a_unit_of_its_quantity(tmp_path):
    path = tmp_path / "cell.csv"
    path.write_text("voltage_mV,current_pA\n-80,-100\n40,80\n")
    with pytest.raises(io.InputError, match="voltage_unit 'pA' is not a voltage unit"):
        io.read_csv(path, voltage_unit="pA")
    # issue 23: nA on a header of pA-scale numbers labelled pA (a 1000x error) was accepted;
    # the override reaches the table reader and is refused there (fitting.recordings.plausibility)
    with pytest.raises(io.InputError, match=r"labelled pA.*nA as current_unit= \(--current-unit\)"):
        io.read(path, current_unit="nA")


def test_abf_unit_labels_padded_with_nul_bytes_are_read():
    from fitting.recordings.units import checked_unit

    assert checked_unit("x.abf", "pA\x00\x00 ", "current", "channel 0") == ("pA", -12)
    with pytest.raises(io.InputError, match="has no unit"):
        checked_unit("x.abf", "\x00\x00", "current", "channel 0")


def test_float32_results_keep_their_float32_value_in_nine_digits():
    from fitting.engine.table import _column

    rng = np.random.default_rng(1)
    x = (rng.normal(size=50_000) * 10.0 ** rng.integers(-20, 5, 50_000)).astype(np.float32)
    y = _column(x, x.size)[:, 0]
    np.testing.assert_array_equal(y.astype(np.float32), x)  # the same float32 comes back
    digits = [len(repr(float(v)).split("e")[0].replace("-", "").replace(".", "").strip("0"))
              for v in y[:2000]]
    assert max(digits) <= 9


def test_corrections_recorded_in_a_table_are_carried_and_never_applied_twice(tmp_path):
    """`ionjax iv --ljp ...` writes the corrected table with a provenance line; reading it back
    keeps those corrections in the metadata (so results files record them) and refuses to apply
    the same correction again (it silently did: E_rev moved by the LJP twice)."""
    iv = io.IVData([-0.08, -0.04, 0.0, 0.04], [-1e-10, -5e-11, 1e-11, 8e-11], ["cell"])
    corrected = iv.with_corrections(ljp=0.00318, series_resistance=1e7)
    path = tmp_path / "iv.csv"
    io.write_csv(path, corrected)
    back = io.read_csv(path)
    assert [c["name"] for c in back.metadata["corrections"]] == [
        "series_resistance", "liquid_junction_potential"]
    np.testing.assert_allclose(back.v, corrected.v, rtol=1e-9)
    for option in (dict(ljp=0.00318), dict(series_resistance=1e7)):
        with pytest.raises(io.InputError, match="already corrected .* twice"):
            back.with_corrections(**option)
        with pytest.raises(io.InputError, match="already corrected"):
            corrected.with_corrections(**option)          # in memory too
    assert back.with_corrections(leak=(1e-10, -0.07)).metadata["corrections"][-1]["name"] == "leak"


def test_abf_recording_lists_its_channels_and_says_which_it_chose(fake_abf):
    """The Recording of an ABF names the current's ADC channel, the command's DAC and the
    voltage source: the epoch table, or an ADC channel that records the command."""
    from fitting.recordings.model import ReadOptions

    path = fake_abf(levels=LEVELS, record_command=True)
    rec = io.read_recording(path)
    assert [(c.index, c.kind, c.source) for c in rec.channels] == \
        [(0, "current", "adc"), (1, "voltage", "adc")]
    assert rec.current is rec.channels[0] and rec.current.scale == 1e-12
    assert rec.voltage_source == "epochs" and rec.voltage is None and rec.recorded is None
    assert [e.type for e in rec.sweeps[0].epochs] == FakeABF.types
    assert [s.epochs[3].level for s in rec.sweeps] == pytest.approx(LEVELS)
    adc = io.read_recording(path, ReadOptions(command_channel=1))
    assert adc.voltage_source == "adc" and adc.voltage is adc.channels[1]
    np.testing.assert_allclose(adc.sweeps[1].recorded[150], LEVELS[1])
    iv = io.iv_from_abf(path, command_channel=1, window=("10%", "90%"))
    assert iv.metadata["command_channel"] == 1 and iv.v == pytest.approx(LEVELS)
