"""Two-pulse (inactivation) protocols of an ABF: the prepulse voltage against the test-pulse
current, one point per sweep."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fitting.recordings.corrections import correct
from fitting.recordings.data import IVData
from fitting.recordings.errors import InputError
from fitting.recordings.stepiv import (
    STATISTICS,
    check_statistic,
    choose_epoch,
    describe,
    ramp_leak,
)
from fitting.recordings.sweeps import checked_sweeps
from fitting.recordings.plausibility import current_problem
from fitting.recordings.window import resolve_window

__all__ = ["two_pulse_from_abf"]


def _test_epoch(path, epochs, k, test_epoch, allow_holding=False):
    """The test pulse: the given epoch, else the first step after the prepulse ``k`` whose level
    is the same in every sweep and is not the holding level (a return to holding measures
    tails, not a test pulse); it must be a step of one level in every sweep."""
    levels = np.array([[e.level for e in table] for table in epochs])
    first = epochs[0]
    holding = levels[0, 0]  # pyabf's epoch 0: the holding level before epoch A
    same = [m for m in range(k + 1, len(first)) if first[m].type == "Step"
            and np.ptp(levels[:, m]) == 0 and first[m].stop > first[m].start
            and (test_epoch is not None or allow_holding or levels[0, m] != holding)]
    if test_epoch is None:
        if not same:
            raise InputError("no step of a fixed level other than the holding level after the "
                             f"prepulse (epoch {k}): not a two-pulse protocol (name the test "
                             f"pulse with test_epoch=); epochs: {describe(epochs[0])}",
                             path=path)
        return same[0]
    if test_epoch not in same:
        raise InputError(f"test epoch {test_epoch} is not a step of one level after the "
                         f"prepulse (epoch {k}); candidates: {same or 'none'}", path=path)
    return test_epoch


def two_pulse_from_abf(path: str | os.PathLike, *, channel=0, prepulse_epoch=None, test_epoch=None,
                       window=("0%", "30%"), statistic="peak", ljp=None, current_unit=None,
                       tails: bool = False, leak: Any = None,
                       series_resistance: float | None = None,
                       compensation: float = 0.0) -> Any:
    """Prepulse voltage [V] against test-pulse current [A] of every sweep (inactivation).

    Args:
      path: the ABF file.
      channel: the current channel.
      prepulse_epoch: index of the varied prepulse in pyabf's ``sweepEpochs`` (default: the
        first step whose level changes across sweeps).
      test_epoch: index of the test pulse (default: the first step after the prepulse whose
        level is the same in every sweep and differs from the holding level).
      window: (start, end) of the current's window within the test pulse (as ``iv_from_abf``:
        "30%", "2ms" or seconds); default the first 30%, where the peak of a transient
        current lies.
      statistic: "peak" (default), "mean", "min" or "max" over the window.
      ljp: liquid junction potential [V] (V = V_cmd - LJP) or a (pipette, bath) pair.
      current_unit: a unit label overriding the file's.
      tails: isochronal tails instead of a test pulse: the default "test" epoch may be the
        return to the holding level (the fixed tail voltage after the varied step).
      leak: None, "ramp" (a line fitted to each sweep's ramp epochs against the command) or
        (g_leak [S], e_leak [V]): the leak current at the test level is subtracted.
      series_resistance: R_s [Ohm] or None: each prepulse voltage becomes the membrane's,
        V - I_pre R_s (1 - compensation), I_pre the mean current over the prepulse's last 20%
        (before leak subtraction: the leak flows through R_s too).
      compensation: compensated fraction of R_s, in [0, 1).

    Returns:
      ``IVData`` of shape (sweeps,): v = prepulse voltages, i = test-pulse currents; metadata
      names the epochs, the window and the test-pulse level.

    Raises:
      InputError: not an ABF, no varied prepulse or fixed test pulse, a bad window or
        statistic, or a user list whose applied command the recording cannot confirm.
    """
    path = os.fspath(path)
    check_statistic(statistic)
    rec = checked_sweeps(path, channel, current_unit)
    rate, channel, current, command, epochs, units = (
        rec.rate, rec.provenance["channel"], rec.currents, rec.commands, rec.epochs, rec.units)
    lists, check = rec.user_lists, rec.command_check
    k, _ = choose_epoch(path, prepulse_epoch, epochs, None)
    m = _test_epoch(path, epochs, k, test_epoch, allow_holding=tails)
    stat = STATISTICS[statistic]
    v, i = [], []
    for s, table in enumerate(epochs):
        test = table[m]
        k0, k1 = resolve_window(path, window, test.stop - test.start, rate)
        i.append(stat(current[s][test.start + k0:test.start + k1]))
        v.append(table[k].level)
    v, i = np.array(v), np.array(i)
    if series_resistance is not None:
        if not (series_resistance >= 0 and 0 <= compensation < 1):
            raise InputError(f"series_resistance must be >= 0 Ohm and compensation in [0, 1); "
                             f"got {series_resistance}, {compensation}", path=path)
        i_pre = np.array([c[e[k].stop - (e[k].stop - e[k].start) // 5:e[k].stop].mean()
                          for c, e in zip(current, epochs)])
        v = v - i_pre * series_resistance * (1 - compensation)
    level = np.array([e[m].level for e in epochs])
    if isinstance(leak, str) and leak == "ramp":
        _, slope, intercept = ramp_leak(path, epochs, command, current)
        i = i - (slope * level + intercept)
    elif leak is not None:
        if isinstance(leak, str) or len(leak) != 2:
            raise InputError(f"leak must be None, 'ramp' or (g_leak, e_leak); got {leak!r}",
                             path=path)
        i = i - float(leak[0]) * (level - float(leak[1]))
    problem = current_problem(i, units["current"], label=rec.current.unit)
    if problem:
        raise InputError(f"the test-pulse currents: {problem}", path=path)
    metadata = dict(source=path, format=rec.format, channel=channel, prepulse_epoch=k,
                    test_epoch=m, test_level_V=float(epochs[0][m].level),
                    window=dict(spec=list(window), start_s=k0 / rate, end_s=k1 / rate),
                    statistic=statistic, units=units, user_lists=lists, command_check=check)
    iv = IVData(v, i, [os.path.splitext(os.path.basename(path))[0]], metadata)
    return correct(iv, ljp=ljp) if ljp is not None else iv
