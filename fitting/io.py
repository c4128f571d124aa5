"""Recordings I/O: I-V tables (CSV) and voltage-clamp recordings (ABF, NWB, and the formats neo
reads: ``FORMATS``) into SI I-V data; results out as JSON, CSV, Parquet or NWB.

Reading turns a file into an :class:`IVData` (``v`` [V], ``i`` [A] of shape (..., n), labels,
metadata), whose ``v`` and ``i`` ``fitting.fit`` takes directly. ``read`` (also ``fitting.read``)
picks the reader from the format registry (``format_of``, the one place that looks; ``FORMATS``)
and applies corrections; ``read_files`` stacks several files; ``read_recording`` gives the
typed ``Recording`` (sweeps, epochs, channels) of a file of sweeps::

    from fitting import io
    iv = io.read_csv("cells.csv")                                 # unit-labelled columns
    iv = io.iv_from_abf("cell.abf", window=("2.5ms", "7.5ms"), leak="ramp", ljp=3.18e-3)
    iv = io.read_files(["a.abf", "b.csv"], ljp=3.18e-3)          # (R, n_max), NaN-padded
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)

Corrections (series resistance, liquid junction potential, leak) exist as functions on any
IVData and as options of ``iv_from_abf``; each returns a new IVData and records itself in
``metadata["corrections"]``. Every bad input raises :class:`InputError` (a ``ValueError``)
located as file:line:column. pyabf is imported only when an ABF file is read (extra ``abf``),
pynwb for NWB (extra ``nwb``), neo for the other formats (extra ``neo``).
``write_results`` writes fit results (JSON/CSV/Parquet/NWB, SI, units in the keys); ``units``
parses unit labels and human-entered quantities against ``ionjax.units.UNITS``.
"""

from fitting.recordings.formats.abf import iv_from_abf, load_abf
from fitting.recordings.corrections import (
    DEFAULT_TEMPERATURE,
    correct,
    correct_liquid_junction,
    correct_series_resistance,
    fit_leak,
    junction_potential,
    subtract_leak,
)
from fitting.recordings.formats.table import read_csv
from fitting.outputs.iv_table import write_csv
from fitting.recordings.data import IVData, stack
from fitting.recordings.errors import InputError
from fitting.recordings.formats.registry import FORMATS, format_of, written_by_ionjax
from fitting.recordings.model import Channel, Epoch, ReadOptions, Recording, Sweep
from fitting.recordings.sweeps import read_recording
from fitting.protocols.kinetics_read import relaxations_from_abf
from fitting.protocols.membrane_read import membrane_test_from_abf
from fitting.recordings.formats.neo import iv_from_neo
from fitting.recordings.formats.nwb import iv_from_nwb, recordings as nwb_recordings
from fitting.protocols.ramp_read import ramp_iv_from_abf
from fitting.recordings.read import read, read_files
from fitting.protocols.twopulse_read import two_pulse_from_abf
from fitting.recordings.formats.abf_userlist import enabled_user_lists, user_lists
from fitting.outputs.results import RESULT_FORMATS, write_results
from fitting.recordings.units import ACCEPTED as ACCEPTED_UNITS

__all__ = [
    "ACCEPTED_UNITS", "Channel", "Epoch", "FORMATS", "RESULT_FORMATS", "DEFAULT_TEMPERATURE", "IVData",
    "InputError", "ReadOptions", "Recording", "Sweep", "correct",
    "correct_liquid_junction", "correct_series_resistance", "enabled_user_lists", "fit_leak", "format_of",
    "iv_from_abf", "iv_from_neo", "iv_from_nwb", "junction_potential", "load_abf", "membrane_test_from_abf", "nwb_recordings",
    "ramp_iv_from_abf", "read", "read_csv", "read_files", "read_recording", "relaxations_from_abf", "stack",
    "subtract_leak",
    "two_pulse_from_abf", "user_lists", "write_csv", "write_results", "written_by_ionjax",
]
