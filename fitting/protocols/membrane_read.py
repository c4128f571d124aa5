"""Membrane test of an ABF recording: the test step from the protocol, then
``fitting.protocols.membrane_fit.membrane_test`` on every sweep."""

from __future__ import annotations

import os

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.sweeps import checked_sweeps

__all__ = ["membrane_test_from_abf"]

MAX_TEST_STEP = 0.02  # [V] largest step taken as a membrane test without epoch=


def _test_step(path, table, epoch):
    """Index of the test step in the epoch table of a sweep (``Epoch`` s): the given one, else
    the first step epoch whose level differs from the flat epoch before it."""
    flat = [e.index == 0 or str(e.type).lower() == "step" for e in table]
    steps = [k for k in range(1, len(table)) if flat[k] and flat[k - 1]
             and table[k].level != table[k - 1].level and table[k].stop > table[k].start]
    if epoch is not None:
        if epoch not in steps:
            raise InputError(f"epoch {epoch} is not a voltage step of the protocol; steps: "
                             f"{steps or 'none'}", path=path)
        return epoch
    if not steps:
        from fitting.recordings.stepiv import describe  # naming an epoch cannot help here

        raise InputError("no voltage step in the protocol's epoch table: not a membrane test "
                         f"(epochs: {describe(table)})", path=path)
    return steps[0]


def membrane_test_from_abf(path: str | os.PathLike, *, channel: int = 0, epoch: int | None = None,
                           current_unit: str | None = None) -> tuple:
    """Membrane test (access and membrane resistance, capacitance) of every sweep of an ABF.

    The test step is the first step epoch of the protocol whose level differs from the flat
    epoch before it, by at most ``MAX_TEST_STEP`` (20 mV; ``epoch=`` names another: an index of
    pyabf's ``sweepEpochs``, 0 being the holding before the first epoch); it must be the same in
    every sweep. A command from a stimulus file, or a user list the recording cannot confirm,
    is refused (as for ``iv_from_abf``).

    Args:
      path: the ABF file.
      channel: the current channel (its unit is read from the file, or ``current_unit``).
      epoch: index of the test step in the epoch table, or None to find it.
      current_unit: a unit label overriding the file's (e.g. "pA").

    Returns:
      (``fitting.protocols.membrane_test.MembraneTest``, info dict: ``epoch``, ``sweeps``, ``rate``
      [Hz]).

    Raises:
      InputError: not an ABF, no step, a step that varies between sweeps, a first step over
        20 mV, a command the epoch table does not give.
    """
    from fitting.protocols.membrane_fit import (
        membrane_test,  # here: ``import fitting.io`` stays light
    )

    rec = checked_sweeps(path, channel, current_unit)  # stimulus files, user lists refused
    current, epochs = rec.currents, rec.epochs
    k = _test_step(path, epochs[0], epoch)
    picked = {(e[k].start, e[k].stop) for e in epochs}
    levels = np.array([(e[k - 1].level, e[k].level) for e in epochs])
    # a recorded command's levels (WinWCP) carry its noise: one step within 0.5 mV
    noise = 5e-4 if rec.voltage_source == "adc" else 0.0
    if len(picked) != 1 or np.ptp(levels, axis=0).max() > noise:
        raise InputError(f"the test step (epoch {k}) differs between sweeps: a membrane test "
                         "repeats one step", path=path)
    (p1, p2), (v_hold, v_step) = picked.pop(), levels.mean(axis=0)
    if epoch is None and abs(v_step - v_hold) > MAX_TEST_STEP:
        raise InputError(f"the first voltage step (epoch {k}, {v_hold * 1e3:g} -> "
                         f"{v_step * 1e3:g} mV) is larger than a membrane test's "
                         f"({MAX_TEST_STEP * 1e3:g} mV at most, so that no voltage-gated "
                         "current flows): not a membrane test; name the test step with epoch= "
                         "(--epoch) to analyse it anyway", path=path)
    h1 = epochs[0][k - 1].start  # the holding level's epoch before the step
    if len({len(c) for c in current}) != 1:
        raise InputError("sweeps differ in length", path=path)
    rate = rec.rate
    t = np.arange(len(current[0])) / rate
    try:
        result = membrane_test(t, np.stack(current), v_hold=v_hold, v_step=v_step,
                               edge=p1 / rate, end=p2 / rate, hold_start=h1 / rate)
    except ValueError as exc:
        raise InputError(str(exc), path=path) from None
    return result, dict(epoch=k, sweeps=len(current), rate=rate)
