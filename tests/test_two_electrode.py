"""Two-electrode voltage clamp and unit plausibility (issue 23, item 1): channels as the user
sees them.

The fixtures are ABF1 files written here by ``write_abf1``, a minimal writer of the header
fields pyabf reads (pyabf's own ``abfWriter.writeABF1`` writes one ADC, one unit label for every
channel and no epoch table, so it cannot express the two-electrode layout). The layout is the
common one of two-electrode amplifiers: ADC 0 = recorded V_m (mV), ADC 1 = current (nA), DAC 0 =
voltage command (mV, epochs stepping -120..+40 mV), DAC 1 = a current command (nA, off).

The cell is ohmic, I = g (V_m - E), and the clamp is imperfect: V_m settles (tau 2 ms) to
V_m = (V_cmd + d0 + R g E) / (1 + R g) (a clamp of finite gain: a drop R I and an offset d0). So
the I-V against the recorded V_m gives g and E exactly, and the I-V against the command gives
g / (1 + R g) and E - d0 (closed forms below).
"""

import json
import re
import struct

import numpy as np
import pytest

from test_cli import run

import fitting
from fitting.recordings.errors import InputError

G, E, R, D0 = 100e-6, -0.090, 500.0, 0.002  # S, V, Ohm, V: an oocyte with a K conductance
RATE, N, SWEEPS = 10_000, 4000, 9
HOLD, LEVELS = -0.060, -0.120 + 0.020 * np.arange(SWEEPS)  # V
EPOCHS = [(1000, 0.0), (2000, 0.020), (937, 0.0)]  # (samples, level step per sweep [V]) A, B, C


def write_abf1(path, adcs, dacs, epochs, rate=RATE):
    """A minimal episodic ABF1 (version 1.83, int16 data) that pyabf reads.

    Args:
      adcs: [(name, unit, data of shape (sweeps, n))] in the unit's numbers; each channel's
        scale is chosen so that its largest |value| uses 30000 counts (rounded, not truncated).
      dacs: [(name, unit, waveform enabled)] for DACs 0 and 1.
      epochs: DAC 0's epoch slots A.. as (type 1 step, first level, level step, samples).

    Returns:
      each ADC's quantum (its value per count), the resolution of what pyabf reads back.
    """
    sweeps, n = adcs[0][2].shape
    header = bytearray(6144)  # 12 blocks: pyabf reads fields up to byte 5806
    nch = len(adcs)
    struct.pack_into("4sfh", header, 0, b"ABF ", 1.83, 5)           # signature, version, episodic
    struct.pack_into("i", header, 10, sweeps * n * nch)              # lActualAcqLength
    struct.pack_into("i", header, 16, sweeps)                        # lActualEpisodes
    struct.pack_into("i", header, 40, len(header) // 512)           # lDataSectionPtr [blocks]
    struct.pack_into("<h", header, 120, nch)                         # nADCNumChannels
    struct.pack_into("f", header, 122, 1e6 / rate / nch)            # fADCSampleInterval [us]
    struct.pack_into("i", header, 138, n * nch)                      # lNumSamplesPerEpisode
    struct.pack_into("ffii", header, 244, 10.0, 10.0, 32768, 32768)  # ADC/DAC range, resolution
    struct.pack_into("16h", header, 378, *range(16))                 # nADCPtoLChannelMap
    struct.pack_into("16h", header, 410, *range(nch), *[-1] * (16 - nch))  # nADCSamplingSeq
    lsb = []
    for k, (name, unit, data) in enumerate(adcs):
        step = float(np.max(np.abs(data))) / 30000.0
        lsb.append(step)
        struct.pack_into("10s", header, 442 + 10 * k, name.encode().ljust(10))
        struct.pack_into("8s", header, 602 + 8 * k, unit.encode().ljust(8))
        struct.pack_into("f", header, 730 + 4 * k, 1.0)                       # programmable gain
        struct.pack_into("f", header, 922 + 4 * k, 10.0 / 32768 / step)      # instrument scale
        struct.pack_into("f", header, 1050 + 4 * k, 1.0)                      # signal gain
    for k, (name, unit, enabled) in enumerate(dacs):
        struct.pack_into("10s", header, 1306 + 10 * k, name.encode().ljust(10))
        struct.pack_into("8s", header, 1346 + 8 * k, unit.encode().ljust(8))
        struct.pack_into("h", header, 2296 + 2 * k, int(enabled))             # nWaveformEnable
        struct.pack_into("h", header, 2300 + 2 * k, int(enabled))             # source: epochs
    for k, (kind, level, inc, samples) in enumerate(epochs):
        struct.pack_into("h", header, 2308 + 2 * k, kind)
        struct.pack_into("f", header, 2348 + 4 * k, level)
        struct.pack_into("f", header, 2428 + 4 * k, inc)
        struct.pack_into("i", header, 2508 + 4 * k, samples)
    counts = np.stack([np.rint(data / s) for (_, _, data), s in zip(adcs, lsb)], axis=-1)
    with open(path, "wb") as handle:
        handle.write(bytes(header) + counts.astype("<i2").tobytes())
    return lsb


def command():
    """V_cmd [V] of each sweep, (SWEEPS, N), as pyabf draws DAC 0: a holding segment of N // 64
    samples at epoch A's level (pyabf's ABF1 holding), then A, B, C, then A's level again."""
    v = np.full((SWEEPS, N), HOLD)
    start = N // 64 + EPOCHS[0][0]
    v[:, start:start + EPOCHS[1][0]] = LEVELS[:, None]
    return v


def membrane(v_cmd, tau=2e-3):
    """V_m [V]: relaxes with time constant ``tau`` to (V_cmd + d0 + R g E) / (1 + R g)."""
    target = (v_cmd + D0 + R * G * E) / (1 + R * G)
    decay = np.exp(-1.0 / (RATE * tau))
    v = np.empty_like(target)
    v[:, 0] = target[:, 0]
    for k in range(1, target.shape[1]):
        v[:, k] = target[:, k] + (v[:, k - 1] - target[:, k]) * decay
    return v


def step_window():
    """Sample slice of the 60%..95% window of the test step (epoch B)."""
    start = N // 64 + EPOCHS[0][0]
    return slice(start + int(np.ceil(0.6 * EPOCHS[1][0])), start + int(np.ceil(0.95 * EPOCHS[1][0])))


@pytest.fixture
def tevc(tmp_path):
    """The two-electrode ABF1 (V_m on ADC 0 in mV, current on ADC 1 in nA)."""
    v_m = membrane(command())
    i = G * (v_m - E)
    path = tmp_path / "oocyte.abf"
    lsb = write_abf1(path, [("Vm", "mV", v_m * 1e3), ("Imemb", "nA", i * 1e9)],
                     [("Cmd 0", "mV", True), ("Cmd 1", "nA", False)],
                     [(1, HOLD * 1e3, 0.0, EPOCHS[0][0]),
                      (1, LEVELS[0] * 1e3, EPOCHS[1][1] * 1e3, EPOCHS[1][0]),
                      (1, HOLD * 1e3, 0.0, EPOCHS[2][0])])
    return path, v_m, i, lsb


def test_fixture_reads_back_in_pyabf_as_written(tevc):
    """The writer's file, read by pyabf independently of ionjax: values, units, the epochs."""
    import pyabf

    path, v_m, i, (lsb_v, lsb_i) = tevc
    abf = pyabf.ABF(str(path))
    assert [u.strip() for u in abf.adcUnits] == ["mV", "nA"]
    assert [str(u).strip() for u in abf.dacUnits[:2]] == ["mV", "nA"]
    for s in (0, SWEEPS - 1):
        abf.setSweep(s, channel=0)
        np.testing.assert_allclose(abf.sweepY, v_m[s] * 1e3, atol=lsb_v)
        np.testing.assert_allclose(abf.sweepC, command()[s] * 1e3)
        abf.setSweep(s, channel=1)
        np.testing.assert_allclose(abf.sweepY, i[s] * 1e9, atol=lsb_i)
        assert abf.sweepUnitsC.strip() == "nA"  # pyabf pairs ADC 1 with DAC 1: not the command


def _truth():
    """The window means of V_m and I, and the command levels (the closed forms)."""
    v_m = membrane(command())[:, step_window()].mean(axis=1)
    return v_m, G * (v_m - E), LEVELS


def test_read_pairs_the_current_with_the_stepping_dac_and_uses_the_recorded_vm(tevc):
    path, *_ , (lsb_v, lsb_i) = tevc
    iv = fitting.read(path, channel=1, voltage_channel=0)
    v_m, i, v_cmd = _truth()
    np.testing.assert_allclose(iv.v, v_m, atol=lsb_v * 1e-3)
    np.testing.assert_allclose(iv.i, i, atol=lsb_i * 1e-9)
    meta = iv.metadata
    assert meta["command_dac"] == 0 and "DAC 0" in meta["command_dac_choice"]
    assert meta["voltage_channel"] == 0 and meta["command_channel"] is None
    clamp = np.abs(D0 - R * G * (v_cmd - E)) / (1 + R * G)  # |V_m - V_cmd|, settled
    assert meta["clamp_error"]["max_abs_V"] == pytest.approx(clamp.max(), abs=lsb_v * 1e-3)
    assert meta["clamp_error"]["sweep"] == int(np.argmax(clamp))
    # fitted against V_m: the cell's own g and E
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)
    assert float(res.params["g"]) == pytest.approx(G, rel=1e-4)
    assert float(res.params["e_rev"]) == pytest.approx(E, abs=20e-6)


def test_the_command_instead_gives_the_predictably_wrong_answer(tevc):
    path, *_ , (lsb_v, lsb_i) = tevc
    iv = fitting.read(path, channel=1)  # no voltage_channel: the command's levels
    np.testing.assert_allclose(iv.v, LEVELS, atol=1e-9)
    assert iv.metadata["command_dac"] == 0 and iv.metadata["voltage_source"] == "epoch table"
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)
    assert float(res.params["g"]) == pytest.approx(G / (1 + R * G), rel=1e-4)  # 95.2 uS
    assert float(res.params["e_rev"]) == pytest.approx(E - D0, abs=20e-6)     # -92 mV


def test_cli_fit_and_iv_with_voltage_channel_report_the_choice_and_the_clamp_error(tevc, tmp_path):
    path = tevc[0]
    out = run("fit", path, "--channel", 1, "--voltage-channel", 0, "--model", "ohmic",
              "--out", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "r.json").read_text())["recordings"][0]
    assert row["g_S"] == pytest.approx(G, rel=1e-4) and row["status"] == 0
    assert row["e_rev_V"] == pytest.approx(E, abs=20e-6)
    v_cmd = LEVELS
    clamp = np.abs(D0 - R * G * (v_cmd - E)) / (1 + R * G)
    printed = float(re.search(r"differs from the command by up to ([0-9.]+) mV", out.stderr)[1])
    assert printed == pytest.approx(clamp.max() * 1e3, abs=0.005 + tevc[3][0])  # 3 digits, LSB
    assert "command: DAC 0 (Cmd 0, mV), the DAC whose epochs step; DAC 1 holds 'nA'" in out.stderr
    # the command instead: g / (1 + R g), E - d0, and the same DAC note
    out = run("fit", path, "--channel", 1, "--model", "ohmic", "--out", tmp_path / "c.json")
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "c.json").read_text())["recordings"][0]
    assert row["g_S"] == pytest.approx(G / (1 + R * G), rel=1e-4)
    assert row["e_rev_V"] == pytest.approx(E - D0, abs=20e-6)
    out = run("iv", path, "--channel", 1, "--voltage-channel", 0, "--out", tmp_path / "iv.csv")
    assert out.returncode == 0, out.stderr
    back = fitting.read(tmp_path / "iv.csv")  # microamperes written as nA: read back as written
    v_m, i, _ = _truth()
    np.testing.assert_allclose(back.v, v_m, atol=tevc[3][0] * 1e-3)
    np.testing.assert_allclose(back.i, i, atol=tevc[3][1] * 1e-9)


def test_command_channel_on_a_recorded_vm_is_refused_and_points_to_voltage_channel(tevc):
    with pytest.raises(InputError, match="not constant within epoch.*--voltage-channel"):
        fitting.read(tevc[0], channel=1, command_channel=0)


def test_command_and_voltage_channel_together_are_one_error(tevc, tmp_path):
    with pytest.raises(InputError, match="give one"):
        fitting.read(tevc[0], channel=1, command_channel=0, voltage_channel=0)
    out = run("iv", tevc[0], "--channel", 1, "--command-channel", 0, "--voltage-channel", 0,
              "--out", tmp_path / "iv.csv")
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--command-channel" in lines[0] and "--voltage-channel" in lines[0]


def test_series_resistance_with_a_recorded_vm_is_refused(tevc):
    with pytest.raises(InputError, match="series_resistance.*has none"):
        fitting.read(tevc[0], channel=1, voltage_channel=0, series_resistance=1e6)


def test_microampere_currents_labelled_na_are_plausible_and_whole_cell_pa_keeps_1_ua(tmp_path):
    """12.5 uA is a two-electrode current: plausible as nA (no advice to override), refused as
    pA numbers (a whole-cell label keeps the 1 uA bound)."""
    v_m = command()  # a perfect clamp: V_m = V_cmd
    i = G * (v_m - E)
    assert np.max(np.abs(i)) > 12e-6
    epochs = [(1, HOLD * 1e3, 0.0, EPOCHS[0][0]),
              (1, LEVELS[0] * 1e3, EPOCHS[1][1] * 1e3, EPOCHS[1][0]),
              (1, HOLD * 1e3, 0.0, EPOCHS[2][0])]
    na = tmp_path / "na.abf"
    (lsb,) = write_abf1(na, [("Imemb", "nA", i * 1e9)], [("Cmd 0", "mV", True)], epochs)
    iv = fitting.read(na)
    np.testing.assert_allclose(iv.i, G * (LEVELS - E), rtol=0, atol=lsb / 2 * 1e-9)
    pa = tmp_path / "pa.abf"
    write_abf1(pa, [("Imemb", "pA", i * 1e12)], [("Cmd 0", "mV", True)], epochs)
    with pytest.raises(InputError, match=r"max \|I\| <= 1 uA"):
        fitting.read(pa)


@pytest.fixture
def whole_cell(tmp_path):
    """A whole-cell file labelled pA with pA numbers (an 8 nS cell: up to 1 nA)."""
    v = command()
    i = 8e-9 * (v - E)
    path = tmp_path / "cell.abf"
    write_abf1(path, [("IN 0", "pA", i * 1e12)], [("Cmd 0", "mV", True)],
               [(1, HOLD * 1e3, 0.0, EPOCHS[0][0]),
                (1, LEVELS[0] * 1e3, EPOCHS[1][1] * 1e3, EPOCHS[1][0]),
                (1, HOLD * 1e3, 0.0, EPOCHS[2][0])])
    return path, i


def test_current_unit_contradicting_a_typical_label_is_refused(whole_cell, tmp_path):
    path, _ = whole_cell
    with pytest.raises(InputError, match="labelled pA.*typical of a whole-cell.*1000x larger"):
        fitting.read(path, current_unit="nA")
    assert fitting.read(path, current_unit="pA").i[0] == pytest.approx(8e-9 * (LEVELS[0] - E),
                                                                       rel=1e-4)
    out = run("iv", path, "--current-unit", "nA", "--out", tmp_path / "iv.csv")
    assert out.returncode == 2 and "nA as --current-unit would make" in out.stderr, out.stderr
    assert not (tmp_path / "iv.csv").exists()


def test_current_unit_of_a_wrong_label_is_confirmed_by_the_data(tmp_path):
    """A file labelled A that holds pA numbers: read as labelled it is refused (by the step I-V
    AND by the kinetics protocol), with pA as the override it is right."""
    v = command()
    i = 8e-9 * (v - E)  # during the test step it relaxes to that value: (1 - exp(-t / 5 ms))
    start = N // 64 + EPOCHS[0][0]
    i[:, start:start + EPOCHS[1][0]] *= 1 - np.exp(-np.arange(EPOCHS[1][0]) / RATE / 5e-3)
    path = tmp_path / "amperes.abf"
    (lsb,) = write_abf1(path, [("IN 0", "A", i * 1e12)], [("Cmd 0", "mV", True)],
               [(1, HOLD * 1e3, 0.0, EPOCHS[0][0]),
                (1, LEVELS[0] * 1e3, EPOCHS[1][1] * 1e3, EPOCHS[1][0]),
                (1, HOLD * 1e3, 0.0, EPOCHS[2][0])])
    with pytest.raises(InputError, match="look like pA"):
        fitting.read(path)
    iv = fitting.read(path, current_unit="pA")
    np.testing.assert_allclose(iv.i, 8e-9 * (LEVELS - E), rtol=0, atol=lsb / 2 * 1e-12)
    for protocol in ("kinetics", "activation"):
        out = run("analyze", path, "--protocol", protocol, "--out", tmp_path / f"{protocol}.csv")
        assert out.returncode == 2, (protocol, out.stdout)
        assert "look like pA" in out.stderr and "CONVERGED" not in out.stdout.upper()
    out = run("analyze", path, "--protocol", "kinetics", "--current-unit", "pA",
              "--out", tmp_path / "k.csv")
    assert out.returncode == 0, out.stderr
    rows = [line.split(",") for line in (tmp_path / "k.csv").read_text().splitlines()
            if not line.startswith("#")][1:]
    steady = np.array([float(r[4]) for r in rows if r[2] == "c"])   # the relaxation's end [A]
    tau = np.array([float(r[4]) for r in rows if r[2] == "tau1"])
    np.testing.assert_allclose(steady, 8e-9 * (LEVELS - E), rtol=0, atol=lsb / 2 * 1e-12)
    np.testing.assert_allclose(tau, 5e-3, rtol=1e-3)


def test_empty_current_unit_is_an_error(whole_cell, tmp_path):
    path, _ = whole_cell
    with pytest.raises(InputError, match="names no unit"):
        fitting.read(path, current_unit="")
    for command_line in (["iv", path, "--current-unit", "", "--out", tmp_path / "iv.csv"],
                         ["analyze", path, "--protocol", "kinetics", "--current-unit", "",
                          "--out", tmp_path / "k.csv"]):
        out = run(*command_line)
        assert out.returncode == 2 and "--current-unit '' is not a current unit" in out.stderr


def test_csv_override_contradicting_its_header_is_refused(tmp_path):
    path = tmp_path / "cell.csv"
    path.write_text("voltage_mV,current_pA\n-80,-100\n-40,-50\n0,10\n40,80\n")
    with pytest.raises(InputError, match="labelled pA"):
        fitting.read(path, current_unit="nA")
    two = tmp_path / "oocyte.csv"  # microamperes labelled nA: a two-electrode table
    two.write_text("voltage_mV,current_nA\n-80,-3000\n-40,1000\n0,5000\n40,12000\n")
    assert fitting.read(two).i[-1] == pytest.approx(12e-6)


def test_default_channel_holding_vm_names_the_current_channel(tevc):
    with pytest.raises(InputError, match=r"channel 0 \(Vm\) records a voltage.*1 \(Imemb\).*"
                                         r"give channel= \(--channel\) one of them"):
        fitting.read(tevc[0])
    out = run("iv", tevc[0], "--out", tevc[0].parent / "iv.csv")  # the command's own words
    assert out.returncode == 2 and "give --channel one of them" in out.stderr, out.stderr


def _lost_clamp_abf(tmp_path):
    """The two-electrode ABF1 whose last sweep's V_m escapes the clamp: a 40 mV ramp over the
    step's window (as a failing clamp at a large current)."""
    v_m = membrane(command())
    window = step_window()
    v_m[-1, window] += np.linspace(0.0, 0.04, window.stop - window.start)
    i = G * (v_m - E)
    path = tmp_path / "lost.abf"
    write_abf1(path, [("Vm", "mV", v_m * 1e3), ("Imemb", "nA", i * 1e9)],
               [("Cmd 0", "mV", True), ("Cmd 1", "nA", False)],
               [(1, HOLD * 1e3, 0.0, EPOCHS[0][0]),
                (1, LEVELS[0] * 1e3, EPOCHS[1][1] * 1e3, EPOCHS[1][0]),
                (1, HOLD * 1e3, 0.0, EPOCHS[2][0])])
    return path


def test_a_sweep_whose_clamp_did_not_hold_is_left_out_and_named(tmp_path):
    """V_m of the last sweep escapes the clamp (a ramp of 40 mV over the step, as a failing
    two-electrode clamp at a large current): its window mean is no point of the I-V. It is
    masked (NaN current), named in the metadata and in the command's note; the fit of the
    rest is the cell's own g and E."""
    path = _lost_clamp_abf(tmp_path)
    iv = fitting.read(path, channel=1, voltage_channel=0)
    assert np.isnan(iv.i[-1]) and np.all(np.isfinite(iv.i[:-1]))
    lost = iv.metadata["clamp_lost"]
    assert [d["sweep"] for d in lost] == [SWEEPS - 1]
    assert lost[0]["max_V"] - lost[0]["min_V"] == pytest.approx(0.04, abs=2e-4)
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)
    assert int(res.n_masked) == 1
    assert float(res.params["g"]) == pytest.approx(G, rel=1e-4)
    out = run("iv", path, "--channel", "1", "--voltage-channel", "0", "--out", tmp_path / "iv.csv")
    assert out.returncode == 0, out.stderr
    assert f"sweep {SWEEPS - 1}: the clamp did not hold" in out.stderr
    # the table holds the I-V's points, not the left-out sweep's voltage with an empty current
    table = fitting.io.read_csv(tmp_path / "iv.csv")
    np.testing.assert_allclose(table.v, iv.v[:-1], atol=1e-9)
    np.testing.assert_allclose(table.i, iv.i[:-1], rtol=1e-9)


def test_without_voltage_channel_a_lost_clamp_is_still_found_on_the_recorded_vm(tmp_path):
    """The command as the voltage (no --voltage-channel), V_m on another ADC: that channel is
    read for the clamp check only; the sweep whose V_m escapes is left out and named (its
    command level would be a wrong point of the I-V), the others keep their command levels."""
    path = _lost_clamp_abf(tmp_path)
    iv = fitting.read(path, channel=1)
    np.testing.assert_allclose(iv.v, LEVELS, atol=1e-9)  # the command's levels
    assert np.isnan(iv.i[-1]) and np.all(np.isfinite(iv.i[:-1]))
    assert iv.metadata["clamp_probe"] == 0
    assert [d["sweep"] for d in iv.metadata["clamp_lost"]] == [SWEEPS - 1]
    out = run("fit", path, "--channel", "1", "--model", "ohmic")
    assert out.returncode == 0, out.stderr
    assert (f"sweep {SWEEPS - 1}: the clamp did not hold" in out.stderr
            and "--voltage-channel 0 takes it as the voltage" in out.stderr), out.stderr


def test_a_negative_value_with_a_unit_after_its_option_is_its_value():
    from fitting.cli.main import negative_values

    assert negative_values(["analyze", "x.abf", "--e-rev", "-150mV", "--window", "-10ms,20ms"]) \
        == ["analyze", "x.abf", "--e-rev=-150mV", "--window=-10ms,20ms"]
    assert negative_values(["fit", "--ljp=-3mV", "-v"]) == ["fit", "--ljp=-3mV", "-v"]
