"""NWB in: the real ABF recordings converted by other tools (neuroconv, pynwb's own writer) give
the same I-V, membrane test, ramp I-V and fits as the ABF path; the epoch table read off a
command; every refusal."""

import warnings

import numpy as np
import pytest

pytest.importorskip("pynwb")

import fitting  # noqa: E402
from fitting import io  # noqa: E402
from fitting.recordings.epochs import epoch_tables  # noqa: E402
from nwb_files import neuroconv_nwb, pynwb_nwb  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def nwb_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("nwb")


def _same_iv(a, b, row=None):
    """Identical voltages; currents equal to the rounding of pyabf's float32 samples."""
    v, i = (b.v, b.i) if row is None else (b.v[row], b.i[row])
    np.testing.assert_array_equal(v, a.v)
    np.testing.assert_allclose(i, a.i, rtol=3e-7, atol=0)


def test_step_iv_and_fit_of_neuroconv_nwb_equal_the_abf(shared_data, nwb_dir):
    pytest.importorskip("neuroconv")
    abf = shared_data / "abf" / "14o16001_vc_pair_step.abf"
    path = neuroconv_nwb(abf, nwb_dir / "pair.nwb", channels=(0, 1))  # two cells, one file
    listing = io.nwb_recordings(path)
    assert [(r["protocol"], r["sweeps"]) for r in listing] == [("pair-MTIV", 13)] * 2
    for options in ({}, dict(window=("2.5ms", "7.5ms"), statistic="peak")):
        both = io.read(path, **options)
        assert both.shape == (2, 13) and both.labels[0].endswith("IN0 (pair-MTIV)")
        for cell in (0, 1):
            a = io.iv_from_abf(abf, channel=cell, **options)
            _same_iv(a, both, row=cell)
    a, b = io.iv_from_abf(abf), io.read(path, channel=0)
    _same_iv(a, b)
    for model in (fitting.Ohmic(), fitting.BoltzmannOhmic()):
        ra, rb = fitting.fit(model, a.v, a.i), fitting.fit(model, b.v, b.i)
        assert int(ra.status) == int(rb.status)
        for name in ra.params:
            np.testing.assert_allclose(rb.params[name], ra.params[name], rtol=1e-5)


def test_second_recording_of_a_neuroconv_file(shared_data, nwb_dir):
    pytest.importorskip("neuroconv")
    abf = shared_data / "abf" / "171116sh_0012.abf"
    path = neuroconv_nwb(abf, nwb_dir / "steps.nwb")
    _same_iv(io.iv_from_abf(abf, window=("10ms", "60ms")), io.read(path, window=("10ms", "60ms")))


def test_membrane_test_of_neuroconv_nwb_equals_the_abf(shared_data, nwb_dir):
    pytest.importorskip("neuroconv")
    abf = shared_data / "protocols" / "171116sh_0011.abf"
    path = neuroconv_nwb(abf, nwb_dir / "memtest.nwb")
    (a, info_a), (b, info_b) = io.membrane_test_from_abf(abf), io.membrane_test_from_abf(path)
    assert info_a["sweeps"] == info_b["sweeps"] == 20 and info_a["rate"] == info_b["rate"]
    assert set(a.values) == set(b.values) and len(a.values) >= 3
    for name in a.values:  # access and membrane resistance, capacitance, ...
        np.testing.assert_allclose(b.values[name], a.values[name], rtol=1e-5)
    np.testing.assert_array_equal(b.status, a.status)


@pytest.mark.parametrize("table", [True, False])
def test_tail_iv_with_ramp_leak_of_pynwb_abf1(shared_data, nwb_dir, table):
    """ABF 1 (neuroconv cannot rebuild its command): pynwb's writer, per-sweep gains, with and
    without the icephys table; the leak ramps are found in the stored command."""
    abf = shared_data / "abf" / "hcn2_20d10009.abf"
    path = pynwb_nwb(abf, nwb_dir / f"hcn2_{table}.nwb", table=table)
    options = dict(window=("2.5ms", "7.5ms"), leak="ramp", ljp=3.18e-3)
    a, b = io.iv_from_abf(abf, **options), io.read(path, **options)
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_allclose(b.i, a.i, rtol=1e-12)  # float64 samples: to rounding
    assert b.metadata["corrections"][-1]["method"] == "ramp"


def test_ramp_iv_of_pynwb_nwb_equals_the_abf(shared_data, nwb_dir):
    abf = shared_data / "protocols" / "DM1_0002.abf"
    path = pynwb_nwb(abf, nwb_dir / "ramp.nwb")
    a, b = io.ramp_iv_from_abf(abf), io.ramp_iv_from_abf(path)
    assert a.shape == b.shape == (7, 160)
    np.testing.assert_allclose(b.v, a.v, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b.i, a.i, rtol=1e-12)


def test_epoch_table_read_off_commands_matches_clampex():
    """Steps, a jump back to the holding level in one sweep, up and down ramps sharing their
    peak sample: the boundaries Clampex gives (a ramp holds both of its end levels)."""
    n, mV = 400, 1e-3
    commands = []
    for level in (-80.0, -70.0, -60.0):  # the second sweep steps to the holding level
        c = np.full(n, -70.0)
        c[50:150] = level
        c[200:251] = np.linspace(-70.0, 30.0, 51)  # 200 .. 250, ending on 30 mV
        c[250:301] = np.linspace(30.0, -70.0, 51)  # 250 .. 300: the peak sample is shared
        commands.append(c * mV)
    tables = epoch_tables("x", commands)
    table = tables[0]
    assert [e.start for e in table] == [0, 50, 150, 200, 251, 301] and table[-1].stop == n
    assert [e.type for e in table] == ["Step", "Step", "Step", "Ramp", "Ramp", "Step"]
    np.testing.assert_allclose([e.level for e in table],
                               np.array([-70, -80, -70, 30, -70, -70]) * mV)
    assert [t[1].level for t in tables] == pytest.approx([-0.08, -0.07, -0.06])


def test_noisy_commands_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(io.InputError, match="not a protocol of steps and ramps"):
        epoch_tables("x", [rng.normal(-0.07, 1e-3, 5000)])
    # sweeps of different lengths with one structure: each its own table
    assert [[e.stop for e in t] for t in epoch_tables("x", [np.zeros(10), np.zeros(11)])] == \
        [[10], [11]]


def _write(path, build):
    from pynwb import NWBHDF5IO, NWBFile

    from nwb_files import START

    nwb = NWBFile(session_description="t", identifier="t", session_start_time=START)
    build(nwb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "w") as out:
            out.write(nwb)
    return path


def _electrode(nwb):
    device = nwb.create_device(name="amp")
    return nwb.create_icephys_electrode(name="e0", description="d", device=device)


def test_refusals(tmp_path):
    from pynwb.icephys import CurrentClampSeries, VoltageClampSeries

    def no_stimulus(nwb):
        nwb.add_acquisition(VoltageClampSeries(name="i", data=np.zeros(100), conversion=1e-12,
                                               electrode=_electrode(nwb), gain=1.0, rate=1e3))

    def current_clamp(nwb):
        nwb.add_acquisition(CurrentClampSeries(name="v", data=np.zeros(100), electrode=
                                               _electrode(nwb), gain=1.0, rate=1e3))

    with pytest.raises(io.InputError, match="no stimulus"):
        io.read(_write(tmp_path / "a.nwb", no_stimulus))
    with pytest.raises(io.InputError, match="no voltage-clamp recording"):
        io.read(_write(tmp_path / "b.nwb", current_clamp))
    with pytest.raises(io.InputError, match="recording 3 does not exist; the file has 0: e0"):
        io.read(tmp_path / "a.nwb", channel=3)
    broken = tmp_path / "broken.nwb"
    broken.write_bytes((tmp_path / "a.nwb").read_bytes()[:2000])
    with pytest.raises(io.InputError, match="cannot read as NWB"):
        io.read(broken)
    with pytest.raises(io.InputError, match="command_channel names an ABF channel"):
        io.read(tmp_path / "a.nwb", command_channel=1)
    with pytest.raises(io.InputError, match="not an NWB"):
        io.iv_from_nwb(__file__)


def test_heka_and_untested_formats_are_refused_with_a_route(tmp_path):
    heka = tmp_path / "cell.dat"
    heka.write_bytes(b"DAT2\x00\x00" + bytes(100))
    with pytest.raises(io.InputError, match="HEKA PatchMaster .* export the series to NWB"):
        io.read(heka)
    for ext, content in ((".axgd", b"\x00" * 64), (".ibw", b"\x00" * 64),
                         (".smr", bytes(range(1, 200))),  # binary without a NUL byte too
                         (".atf", b'ATF\t1.0\n8\t3\n')):
        other = tmp_path / f"cell{ext}"
        other.write_bytes(content)
        with pytest.raises(io.InputError, match="no voltage-clamp sample could be tested|"
                           "Axon Text Files are not read"):
            io.read(other)
    table = tmp_path / "iv.dat"  # a text table that happens to be called .dat
    table.write_text("voltage_mV,current_pA\n-80,-100\n-60,-50\n-40,0\n")
    assert io.read(table).shape == (3,)


def test_epochs_that_move_between_sweeps_keep_each_sweeps_own_table():
    """An onset series and a duration series (no sweep shows every boundary of the others):
    each sweep's own table, so the test step is each sweep's own; a mix of moved and merged
    epochs is refused; a ramp from the first sample, NaN and empty commands."""
    n, onset, duration = 2000, [], []
    for k in range(7):
        c = np.full(n, -0.07)
        c[500 + 50 * k:1000 + 50 * k] = -0.1 + 0.012 * k
        onset.append(c)
        d = np.full(n, -0.07)
        d[500:600 + 50 * k] = -0.02
        duration.append(d)
    tables = epoch_tables("x", onset)
    assert [[e.start for e in t] for t in tables[:2]] == [[0, 500, 1000], [0, 550, 1050]]
    np.testing.assert_allclose([t[1].level for t in tables], -0.1 + 0.012 * np.arange(7))
    assert [t[1].stop for t in epoch_tables("x", duration)] == [600 + 50 * k for k in range(7)]
    onset[2] = np.full(n, -0.07)  # one sweep at the holding level, the others moved: refused
    with pytest.raises(io.InputError, match="differ in number .* and in timing"):
        epoch_tables("x", onset)
    assert [e.type for e in epoch_tables("x", [np.linspace(-0.1, 0.05, n)])[0]] == ["Ramp"]
    with pytest.raises(io.InputError, match="sweep 0 has 1 NaN or infinite samples"):
        epoch_tables("x", [np.where(np.arange(n) == 700, np.nan, -0.07)])
    with pytest.raises(io.InputError, match="not a protocol of steps and ramps"):
        epoch_tables("x", [np.sin(np.arange(n) / 10.0)])
    with pytest.raises(io.InputError, match="is empty"):
        epoch_tables("x", [np.array([])])


def _steps(nwb, conversion=1e-12, rate=1e4, stim_conversion=1e-3, mislabelled=False):
    """Seven sweeps of a 5 nS ohmic cell (E = -30 mV) stepped from -70 to -100..+20 mV
    (``mislabelled``: the command's mV numbers stored with a conversion of 1, as volts)."""
    from pynwb.icephys import VoltageClampSeries, VoltageClampStimulusSeries

    electrode = _electrode(nwb)
    for k, level in enumerate(np.linspace(-100.0, 20.0, 7)):
        command = np.full(400, -70.0)
        command[100:300] = level
        current = 5e-9 * (command * 1e-3 + 0.03) / 1e-12  # pA
        nwb.add_intracellular_recording(
            electrode=electrode,
            stimulus=VoltageClampStimulusSeries(
                name=f"s{k}", data=command if mislabelled else command * 1e-3 / stim_conversion,
                conversion=1.0 if mislabelled else stim_conversion,
                electrode=electrode, gain=1.0, rate=rate, sweep_number=k),
            response=VoltageClampSeries(
                name=f"r{k}", data=current * 1e-12 / conversion, conversion=conversion,
                electrode=electrode, gain=1.0, rate=rate, sweep_number=k))


def test_impossible_conversions_and_rates_are_refused_and_units_can_be_overridden(tmp_path):
    good = io.read(_write(tmp_path / "good.nwb", _steps))
    np.testing.assert_array_equal(good.v, np.linspace(-100.0, 20.0, 7) / 1e3)  # exact, as ABF
    np.testing.assert_allclose(good.i, 5e-9 * (good.v + 0.03), rtol=1e-12, atol=1e-24)
    for name, options, message in (
            ("neg", dict(conversion=-1e-12), "conversion -1e-12: not a positive factor"),
            ("zero_rate", dict(rate=0.0), "sampled at 0 Hz: not a patch-clamp rate"),
            ("slow", dict(rate=1e-3), "sampled at 0.001 Hz")):
        path = _write(tmp_path / f"{name}.nwb", lambda nwb: _steps(nwb, **options))
        with pytest.raises(io.InputError, match=message):
            io.read(path)
    # a file written with its command in mV but a conversion of 1 (to volts): the plausibility
    # check names the unit, and the override reads it
    wrong = _write(tmp_path / "mv.nwb", lambda nwb: _steps(nwb, mislabelled=True))
    with pytest.raises(io.InputError, match="look like mV"):
        io.read(wrong)
    np.testing.assert_array_equal(io.read(wrong, voltage_unit="mV").v, good.v)
    with pytest.raises(io.InputError, match="recording must be an index"):
        io.iv_from_nwb(tmp_path / "good.nwb", recording=True)


def test_the_content_decides_the_format_not_the_name(shared_data, tmp_path):
    abf = shared_data / "abf" / "171116sh_0012.abf"
    for name in ("renamed.dat", "renamed.nwb"):  # an ABF under another name is an ABF
        (tmp_path / name).write_bytes(abf.read_bytes())
        assert io.format_of(tmp_path / name) == "abf"
        np.testing.assert_array_equal(io.read(tmp_path / name).i, io.read(abf).i)
    nwb = _write(tmp_path / "x.nwb", _steps)
    (tmp_path / "x.abf").write_bytes(nwb.read_bytes())
    assert io.format_of(tmp_path / "x.abf") == "nwb" and io.read(tmp_path / "x.abf").shape == (7,)


def test_a_protocol_run_twice_on_a_cell_is_two_recordings(tmp_path):
    """The sequential-recordings table: each run of a protocol on an electrode is a recording
    of its own ("steps #1", "steps #2"), not one I-V of twice the sweeps."""
    from pynwb.icephys import VoltageClampSeries, VoltageClampStimulusSeries

    def build(nwb):
        electrode = _electrode(nwb)
        for run, g in enumerate((5e-9, 7e-9)):
            rows = []
            for k, level in enumerate(np.linspace(-100.0, 20.0, 5)):
                command = np.full(400, -70.0)
                command[100:300] = level
                name = f"{run}_{k}"
                rows.append(nwb.add_intracellular_recording(
                    electrode=electrode,
                    stimulus=VoltageClampStimulusSeries(
                        name=f"s{name}", data=command, conversion=1e-3, electrode=electrode,
                        gain=1.0, rate=1e4),
                    response=VoltageClampSeries(
                        name=f"r{name}", data=g * (command * 1e-3 + 0.03) / 1e-12,
                        conversion=1e-12, electrode=electrode, gain=1.0, rate=1e4)))
            simultaneous = [nwb.add_icephys_simultaneous_recording(recordings=[r])
                            for r in rows]
            nwb.add_icephys_sequential_recording(simultaneous_recordings=simultaneous,
                                                 stimulus_type="steps")

        # a stray seal test outside the runs: no step I-V, left out and named
        seal = np.where((np.arange(400) >= 100) & (np.arange(400) < 300), -75.0, -70.0)
        nwb.add_intracellular_recording(
            electrode=electrode,
            stimulus=VoltageClampStimulusSeries(name="seal_s", data=seal, conversion=1e-3,
                                                electrode=electrode, gain=1.0, rate=1e4),
            response=VoltageClampSeries(name="seal_r", data=seal * 0.01, conversion=1e-12,
                                        electrode=electrode, gain=1.0, rate=1e4))

    path = _write(tmp_path / "runs.nwb", build)
    assert [r["protocol"] for r in io.nwb_recordings(path)] == ["steps #1", "steps #2", None]
    iv = io.read(path)
    assert iv.shape == (2, 5) and "no step epoch changes" in \
        iv.metadata["skipped_recordings"][0]
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)
    np.testing.assert_allclose(res.params["g"], [5e-9, 7e-9], rtol=1e-9)
    assert io.read(path, channel="steps").shape == (2, 5)  # "steps" names both runs
    with pytest.raises(io.InputError, match="no step epoch changes"):
        io.read(path, channel=2)  # the seal test alone: refused


def test_a_ramp_stored_as_integer_codes_is_a_ramp(shared_data, tmp_path):
    """The DM1 ramp command stored as int16 codes of 1/32.768 mV (a DAC's steps, as data *
    conversion): the ramp (0.44 codes per sample) is a staircase of one-code moves, read as
    one ramp, and the ramp I-V is the ABF's to within the codes' rounding of the voltage."""
    from pynwb import NWBHDF5IO

    abf = shared_data / "protocols" / "DM1_0002.abf"
    coded = pynwb_nwb(abf, tmp_path / "int16.nwb", codes_per_mV=32.768)
    with NWBHDF5IO(str(coded), "r") as f:
        assert f.read().stimulus["command_0"].data.dtype == np.int16
    a, b = io.ramp_iv_from_abf(abf), io.ramp_iv_from_abf(coded)
    assert b.metadata["epoch"] == a.metadata["epoch"]
    # the coded ends (-100.006 and 59.998 mV) span one more 1 mV bin; the bins shift by 6 uV
    assert b.shape == (7, 161) and a.shape == (7, 160)
    np.testing.assert_allclose(b.v[:, :160], a.v, atol=5e-5)
    np.testing.assert_allclose(b.i[:, :160], a.i, atol=5e-3 * np.nanmax(np.abs(a.i)))


def test_a_ramp_that_starts_with_a_jump_starts_at_the_jump(tmp_path):
    """A command that jumps from -70 to -100 mV and ramps from the next sample (no flat step
    between): the ramp I-V runs from -100 mV, not from the holding level before the jump."""
    from pynwb.icephys import VoltageClampSeries, VoltageClampStimulusSeries

    command = np.full(3000, -70.0)
    command[1000:2601] = np.linspace(-100.0, 60.0, 1601)  # -100 at 1000, 0.1 mV per sample

    def build(nwb):
        electrode = _electrode(nwb)
        nwb.add_intracellular_recording(
            electrode=electrode,
            stimulus=VoltageClampStimulusSeries(name="s", data=command, conversion=1e-3,
                                                electrode=electrode, gain=1.0, rate=1e4),
            response=VoltageClampSeries(name="r", data=5e-9 * (command * 1e-3 + 0.085) / 1e-12,
                                        conversion=1e-12, electrode=electrode, gain=1.0,
                                        rate=1e4))

    iv = io.ramp_iv_from_abf(_write(tmp_path / "jump.nwb", build))
    assert iv.metadata["ramp_V"] == pytest.approx([-0.1, 0.06])
    np.testing.assert_allclose(iv.i, 5e-9 * (iv.v + 0.085), rtol=1e-9, atol=1e-22)
