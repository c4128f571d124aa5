"""The once-per-file sweep reader (fitting/recordings/formats/abf_sweeps.py) gives pyabf's own
per-sweep values bit for bit: samples (``setSweep``/``sweepY``), epoch tables
(``sweepEpochs``) and command waveforms (``sweepC``), for every channel and every DAC with a
table, on the real recordings and on two-electrode ABF1 files written here."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

pyabf = pytest.importorskip("pyabf")

from fitting.recordings.formats.abf_sweeps import dac_reader, sweep_bounds, sweep_samples  # noqa: E402
from test_two_electrode import RATE, write_abf1  # noqa: E402


def _check_against_pyabf(path):
    abf = pyabf.ABF(str(path))
    lazy = pyabf.ABF(str(path), loadData=False)  # as ionjax opens it: each channel read alone
    ours = {c: sweep_samples(lazy, c) for c in range(abf.channelCount)}
    assert not hasattr(lazy, "data")
    loaded = {c: sweep_samples(abf, c) for c in range(abf.channelCount)}
    readers = {d: dac_reader(lazy, d) for d in range(min(abf.channelCount, len(abf.dacUnits)))}
    assert len(sweep_bounds(abf)) == abf.sweepCount
    for sweep in range(abf.sweepCount):
        for channel in range(abf.channelCount):
            abf.setSweep(sweep, channel=channel)
            np.testing.assert_array_equal(ours[channel][sweep], abf.sweepY)
            assert ours[channel][sweep].dtype == abf.sweepY.dtype
            np.testing.assert_array_equal(loaded[channel][sweep], abf.sweepY)
            if channel not in readers:
                continue
            try:
                expected = np.asarray(abf.sweepC, dtype=float)
            except IndexError:  # pyabf has no waveform for this DAC (ABF1 holds 2 tables)
                with pytest.raises(IndexError):
                    readers[channel](sweep, len(abf.sweepY))
                continue
            table, wave, unit = readers[channel](sweep, len(abf.sweepY))
            assert unit == str(abf.sweepUnitsC).replace("\x00", "").strip()
            np.testing.assert_array_equal(wave, expected)
            if abf.sweepEpochs is None:
                assert table is None
                continue
            for field in ("p1s", "p2s", "levels"):  # NaN levels of a damaged table: equal
                np.testing.assert_array_equal(getattr(table, field),
                                              getattr(abf.sweepEpochs, field))
            assert list(table.types) == list(abf.sweepEpochs.types)
    return abf


@pytest.mark.parametrize("name", ["abf/14o16001_vc_pair_step.abf", "abf/171116sh_0012.abf",
                                  "abf/hcn2_20d10009.abf", "protocols/171116sh_0011.abf",
                                  "protocols/DM1_0002.abf"])
def test_sweeps_equal_pyabf_on_real_recordings(shared_data, name):
    path = shared_data / name
    if not path.exists():
        pytest.skip(f"{name} absent from the data folder")
    abf = _check_against_pyabf(path)
    assert abf.sweepCount > 1  # the per-sweep tables differ: not a trivial comparison


OTHER_LABS = os.environ.get("IONJAX_PYABF_ABFS")  # pyABF's data/abfs: dozens of labs' files


@pytest.mark.skipif(not OTHER_LABS, reason="set IONJAX_PYABF_ABFS to pyABF's data/abfs folder")
def test_sweeps_equal_pyabf_on_other_labs_files():
    """Every ABF of the folder that pyabf itself opens: our values equal its per-sweep ones."""
    checked = 0
    for path in sorted(Path(OTHER_LABS).glob("*.abf")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pyabf.ABF(str(path))
        except Exception:  # noqa: BLE001 - a file pyabf cannot open: nothing to compare
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _check_against_pyabf(path)
        checked += 1
    assert checked > 0


def test_sweeps_equal_pyabf_on_a_two_electrode_abf1(tmp_path):
    sweeps, n = 5, 2000
    t = np.arange(n) / RATE
    vm = np.array([np.where(t < 0.05, -60.0, -100.0 + 20 * s) for s in range(sweeps)])
    current = np.array([(vm[s] + 90.0) * 0.05 for s in range(sweeps)])  # nA
    path = tmp_path / "tevc.abf"
    write_abf1(path, [("Vm", "mV", vm), ("I", "nA", current)],
               [("Vcmd", "mV", True), ("Icmd", "nA", False)],
               [(1, -100.0, 20.0, 1000)])
    abf = _check_against_pyabf(path)
    levels = [dac_reader(abf, 0)(s, n)[0].levels for s in range(sweeps)]
    assert len({tuple(lv) for lv in levels}) == sweeps  # DAC 0 steps across sweeps
    _, held, _ = dac_reader(abf, 1)(0, n)  # waveform disabled: pyabf's held level
    assert np.ptp(held) == 0


def test_a_data_section_cut_short_is_named(tmp_path, shared_data):
    source = shared_data / "abf" / "hcn2_20d10009.abf"  # ABF1: the header comes first
    if not source.exists():
        pytest.skip("hcn2_20d10009.abf absent")
    cut = tmp_path / "cut.abf"
    cut.write_bytes(source.read_bytes()[:-1000])
    from fitting.recordings.errors import InputError
    from fitting.recordings.read import read

    with pytest.raises(InputError, match="cut short"):
        read(cut)


def test_a_damaged_section_map_is_refused_before_pyabf_allocates_it(tmp_path, shared_data):
    import struct

    from fitting.recordings.errors import InputError
    from fitting.recordings.read import read

    source = shared_data / "abf" / "171116sh_0012.abf"  # ABF2
    if not source.exists():
        pytest.skip("171116sh_0012.abf absent")
    data = bytearray(source.read_bytes())
    block, width, _ = struct.unpack_from("<IIq", data, 76 + 16 * 2)  # the DAC section
    struct.pack_into("<IIq", data, 76 + 16 * 2, block, width, 771_751_944)  # 1.9e11 bytes
    bad = tmp_path / "bad.abf"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="DAC section .* past the end of the file"):
        read(bad)
