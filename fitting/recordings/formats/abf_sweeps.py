"""An ABF file's sweeps read once: each needed channel converted alone from the file's data
section (pyabf opened with ``loadData=False``), and each DAC's epoch tables and command
waveforms built once per file.

pyabf's own per-sweep interface (``setSweep``, ``sweepY``, ``sweepC``, ``sweepEpochs``)
rebuilds the epoch tables of every sweep on each call: reading a file of S sweeps that way costs
O(S^2) epoch constructions, which was most of the time of a folder of step recordings
(``bench/bench_folder.py``). The values here are pyabf's, bit for bit
(``tests/test_abf_sweeps.py`` compares them on every ABF the tests read): the same sweep bounds
(fixed-length or from the synch array), the same epoch tables, the same waveforms.
``read_sweeps`` takes that path for a ``pyabf.ABF`` and pyabf's per-sweep interface for any
other object that offers it (a stand-in built by a test or another reader).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from fitting.recordings.errors import InputError, reading
from fitting.recordings.formats.abf_dac import _label

__all__ = ["channel_data", "dac_reader", "read_sweeps", "sweep_bounds", "sweep_samples"]


def sweep_bounds(abf: Any) -> list[tuple[int, int]]:
    """[(start, stop)] sample indices of each sweep in ``abf.data[channel]`` (pyabf's
    ``setSweep`` rule: fixed-length sweeps of ``sweepPointCount``, or variable lengths from the
    synch array divided among the channels)."""
    synch = getattr(abf, "_synchArraySection", None)
    if abf.sweepCount > 1 and synch is not None and len(set(synch.lLength)) > 1:
        lengths = [int(n) // abf.channelCount for n in synch.lLength[:abf.sweepCount]]
    else:
        lengths = [int(abf.sweepPointCount)] * abf.sweepCount
    stops = np.cumsum(lengths)
    return [(int(stop - n), int(stop)) for stop, n in zip(stops, lengths)]


def _raw(abf: Any, path: str) -> np.ndarray:
    """The data section's codes as (samples, channels), read once per open file; a section
    shorter than the header says is an InputError (read, not memory-mapped: a file cut short
    while it is read gives this error, not a bus error)."""
    raw = getattr(abf, "_ionjax_raw", None)
    if raw is not None:
        return raw
    dtype = np.dtype(abf._dtype)
    count = abf.dataPointCount // abf.channelCount * abf.channelCount
    with open(abf.abfFilePath, "rb") as handle:
        handle.seek(abf.dataByteStart)
        raw = np.fromfile(handle, dtype=dtype, count=count)
    if raw.size < count:
        need = abf.dataByteStart + count * dtype.itemsize
        have = abf.dataByteStart + raw.size * dtype.itemsize
        raise InputError(f"the data section ends at byte {have} where the header puts its end "
                         f"at {need} (cut short: a truncated copy?)", path=path)
    abf._ionjax_raw = raw = raw.reshape(-1, abf.channelCount)
    return raw


def channel_data(abf: Any, channel: int, path: str | None = None) -> np.ndarray:
    """All samples of ADC ``channel`` in its units, float32, as pyabf's ``abf.data[channel]``
    (the same operations: codes to float32, times the gain, plus the offset), converted for
    that channel alone when pyabf was opened with ``loadData=False``.

    Raises:
      InputError: the data section is shorter than the header says (named by ``path``, by
        default pyabf's absolute path).
    """
    if hasattr(abf, "data"):
        return abf.data[channel]
    row = _raw(abf, abf.abfFilePath if path is None else path)[:, channel].astype(np.float32)
    if np.dtype(abf._dtype) == np.int16:  # in place: pyabf's float32 operations, no copies
        np.multiply(row, abf._dataGain[channel], out=row)
        np.add(row, abf._dataOffset[channel], out=row)
    return row


def sweep_samples(abf: Any, channel: int, path: str | None = None) -> list[np.ndarray]:
    """Per sweep, the samples of ADC ``channel`` (its units), as ``setSweep(s,
    channel=channel); abf.sweepY`` gives them (``path``: as in ``channel_data``)."""
    data = channel_data(abf, channel, path)
    return [data[start:stop] for start, stop in sweep_bounds(abf)]


def _from_table(abf: Any, dac: int) -> bool:
    """Whether pyabf builds DAC ``dac``'s command from its epoch table (waveform enabled, source
    1 = epochs, fixed-length sweeps); otherwise its ``Stimulus`` holds a level or reads a file."""
    synch = getattr(abf, "_synchArraySection", None)
    if synch is not None and len(set(synch.lLength)) > 1:
        return False
    header = abf._headerV1 if abf.abfVersion["major"] == 1 else abf._dacSection
    try:
        return header.nWaveformEnable[dac] != 0 and header.nWaveformSource[dac] == 1
    except (IndexError, AttributeError):
        return False


def dac_reader(abf: Any, dac: int) -> Callable[[int, int], tuple[Any, np.ndarray, str]]:
    """``read(sweep, n) -> (epoch table, command waveform (n,), unit label)`` of DAC ``dac``:
    pyabf's ``sweepEpochs``, ``sweepC`` (cut to ``n`` samples) and the DAC's unit, with the
    epoch tables built once for all sweeps. The epoch table is None for a DAC pyabf holds no
    table for (``dac >= len(abf.holdingCommand)``)."""
    import pyabf

    has_table = dac < len(abf.holdingCommand)
    tables = pyabf.waveform.EpochTable(abf, dac).epochWaveformsBySweep if has_table else None
    unit = _label(abf.dacUnits[dac]) if dac < len(abf.dacUnits) else ""
    from_table = has_table and _from_table(abf, dac)
    stimulus = None if from_table else pyabf.stimulus.Stimulus(abf, dac)

    def read(sweep: int, n: int) -> tuple[Any, np.ndarray, str]:
        if from_table:
            wave = tables[sweep].getWaveform()
        else:  # a held level, variable-length sweeps or a stimulus file: pyabf's own rule
            wave = stimulus.stimulusWaveform(sweep)
        wave = np.asarray(wave, dtype=float)[:n]
        return (tables[sweep] if tables is not None else None), wave, unit

    return read


def _per_sweep(abf: Any, channel: int, dac: int, adcs: list[int]):
    """``read_sweeps`` through pyabf's per-sweep interface (``setSweep`` and its attributes)."""
    drive = None if dac == channel else dac_reader(abf, dac)
    for sweep in range(abf.sweepCount):
        abf.setSweep(sweep, channel=channel)
        y = abf.sweepY
        table, wave, unit = ((abf.sweepEpochs, abf.sweepC, abf.sweepUnitsC) if drive is None
                             else drive(sweep, len(y)))
        recorded = {}
        for a in adcs:
            abf.setSweep(sweep, channel=a)
            recorded[a] = abf.sweepY
        yield y, table, wave, unit, recorded


def read_sweeps(abf: Any, channel: int, dac: int, adcs: list[int], path: str):
    """Per sweep, ``(current samples, epoch table, command waveform, command unit label,
    {adc: samples})``: ADC ``channel``'s samples, DAC ``dac``'s table and waveform, and the
    samples of each ADC in ``adcs``, in the file's units (pyabf's values; module docstring).
    pyabf's failures on a damaged file are InputErrors naming ``path``.
    """
    import pyabf

    if not isinstance(abf, pyabf.ABF):
        yield from _per_sweep(abf, channel, dac, adcs)
        return
    with reading(path, "ABF"):  # pyabf raises anything on a damaged epoch or DAC section
        drive = dac_reader(abf, dac)
        samples = {a: sweep_samples(abf, a, path) for a in dict.fromkeys((channel, *adcs))}
    for sweep, y in enumerate(samples[channel]):
        with reading(path, "ABF"):
            drawn = drive(sweep, len(y))
        yield (y, *drawn, {a: samples[a][sweep] for a in adcs})
