"""Recordings I/O: I-V tables (CSV) and voltage-clamp recordings (ABF) into SI I-V data.

Reading turns a file into an :class:`IVData` (``v`` [V], ``i`` [A] of shape (..., n), labels,
metadata) that ``fitting.fit`` takes directly::

    from fitting import io
    iv = io.read_csv("cells.csv")                                 # unit-labelled columns
    iv = io.iv_from_abf("cell.abf", window=("2.5ms", "7.5ms"), leak="ramp", ljp=3.18e-3)
    res = fitting.fit(fitting.Ohmic(), iv.v, iv.i)

Corrections (series resistance, liquid junction potential, leak) exist as functions on any
IVData and as options of ``iv_from_abf``; each returns a new IVData and records itself in
``metadata["corrections"]``. Every bad input raises :class:`InputError` (a ``ValueError``)
located as file:line:column. pyabf is imported only when an ABF file is read (extra ``abf``).
"""

from fitting.io._abf import iv_from_abf, load_abf
from fitting.io._corrections import (
    DEFAULT_TEMPERATURE,
    correct,
    correct_liquid_junction,
    correct_series_resistance,
    fit_leak,
    junction_potential,
    subtract_leak,
)
from fitting.io._csv import read_csv, write_csv
from fitting.io._data import IVData, stack
from fitting.io._errors import InputError
from fitting.io._units import ACCEPTED as ACCEPTED_UNITS
from fitting.io._userlist import enabled_user_lists, user_lists

__all__ = [
    "ACCEPTED_UNITS", "DEFAULT_TEMPERATURE", "IVData", "InputError", "correct",
    "correct_liquid_junction", "correct_series_resistance", "enabled_user_lists", "fit_leak",
    "iv_from_abf", "junction_potential", "load_abf", "read_csv", "stack",
    "subtract_leak", "user_lists", "write_csv",
]
