"""Voltage-ramp I-V curves of an ABF: the current against the command, sample by sample, averaged
in voltage bins, one curve per sweep."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fitting.recordings.corrections import correct
from fitting.recordings.data import IVData
from fitting.recordings.errors import InputError
from fitting.recordings.stepiv import describe
from fitting.recordings.sweeps import checked_sweeps
from fitting.recordings.plausibility import current_problem

__all__ = ["ramp_iv_from_abf"]


def _ramp_epoch(path, epochs, epoch):
    table = epochs[0]
    ramps = [k for k in range(1, len(table)) if table[k].type == "Ramp"
             and table[k].stop - table[k].start > 1 and table[k].level != table[k - 1].level]
    if epoch is None:
        if not ramps:
            raise InputError(f"no voltage ramp in the protocol: {describe(epochs[0])}",
                             path=path)
        return ramps[0]
    if epoch not in ramps:
        raise InputError(f"epoch {epoch} is not a voltage ramp; ramps: {ramps or 'none'}",
                         path=path)
    return epoch


def ramp_iv_from_abf(path: str | os.PathLike, *, channel=0, epoch=None, bin_width=1e-3, leak=None, ljp=None,
                     current_unit: str | None = None) -> Any:
    """I-V curves of a voltage-ramp epoch, one per sweep, in SI.

    The command of the ramp (pyabf's ``sweepC``, rebuilt from the epoch table where a user list
    applies) is taken sample by sample; samples are grouped in voltage bins of ``bin_width``
    from the ramp's start level, and each bin gives the mean command and the mean current.
    A ramp also drives a capacitive current C_m dV/dt, constant along a linear ramp: a leak
    line fitted to a linear range (``leak=("range", lo, hi)``) removes it with the leak.

    Args:
      path: the ABF file.
      channel: the current channel.
      epoch: index of the ramp in pyabf's ``sweepEpochs`` (default: the first ramp).
      bin_width: voltage bin [V], > 0 (default 1 mV).
      leak: None, ("range", v_lo, v_hi) [V] or (g_leak [S], e_leak [V]), as ``correct``.
      ljp: liquid junction potential [V] or a (pipette, bath) pair (V = V_cmd - LJP).
      current_unit: a unit label overriding the file's.

    Returns:
      ``IVData`` of shape (sweeps, bins): v [V], i [A] (NaN where a bin has no sample); labels
      ``<file>:sweep<k>``; metadata with the epoch, bin width and samples per bin.

    Raises:
      InputError: not an ABF, no ramp, a ramp that differs between sweeps, a bad bin width.
    """
    path = os.fspath(path)
    if not (isinstance(bin_width, (int, float)) and 1e-5 <= bin_width <= 0.05):
        raise InputError(f"bin_width is in V, between 10 uV and 50 mV; got {bin_width!r}")
    rec = checked_sweeps(path, channel, current_unit)
    channel, current, command, epochs, units = (
        rec.provenance["channel"], rec.currents, rec.commands, rec.epochs, rec.units)
    lists, check = rec.user_lists, rec.command_check
    k = _ramp_epoch(path, epochs, epoch)
    # a ramp starts on its first sample (Clampex's: the level before it; a command that jumps
    # and then ramps: the jump's level)
    spans = {(e[k].start, e[k].stop, float(c[e[k].start]), e[k].level)
             for e, c in zip(epochs, command)}
    if len(spans) != 1:
        raise InputError(f"the ramp (epoch {k}) differs between sweeps", path=path)
    p1, p2, start, stop = spans.pop()
    n_bins = int(np.ceil(abs(stop - start) / bin_width - 1e-9))
    edges = start + np.sign(stop - start) * bin_width * np.arange(n_bins + 1)
    v = np.full((len(current), n_bins), np.nan)
    i = np.full((len(current), n_bins), np.nan)
    counts = None
    for s, (c, x) in enumerate(zip(current, command)):
        x, y = x[p1:p2], c[p1:p2]
        which = np.clip(np.floor((x - start) / (edges[1] - edges[0])).astype(int), 0,
                        n_bins - 1)
        counts = np.bincount(which, minlength=n_bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            v[s] = np.bincount(which, x, n_bins) / counts
            i[s] = np.bincount(which, y, n_bins) / counts
    problem = current_problem(i[np.isfinite(i)], units["current"], label=rec.current.unit)
    if problem:
        raise InputError(f"the ramp currents: {problem}", path=path)
    name = os.path.splitext(os.path.basename(path))[0]
    metadata = dict(source=path, format=rec.format, channel=channel, epoch=k,
                    ramp_V=[float(start), float(stop)], bin_width_V=float(bin_width),
                    samples_per_bin=int(np.median(counts)), units=units, user_lists=lists,
                    command_check=check)
    iv = IVData(v, i, [f"{name}:sweep{s}" for s in range(len(current))], metadata)
    return correct(iv, leak=leak, ljp=ljp) if leak is not None or ljp is not None else iv
