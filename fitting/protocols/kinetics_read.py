"""Relaxations of an ABF for time-constant fits: each sweep's current in a window of one epoch,
the current after the window (what the tail's checks compare the fit with) and, where the file
records it, the membrane potential over the window (``voltage_channel``, or a probe of the
file's other voltage channels for a clamp that is still settling)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.stepiv import choose_epoch, ramp_leak
from fitting.recordings.model import ReadOptions
from fitting.recordings.sweeps import read_recording
from fitting.recordings.window import resolve_window

__all__ = ["relaxations_from_abf"]


def relaxations_from_abf(path: str | os.PathLike, *, channel=0, epoch=None, window=("1ms", "100%"),
                         current_unit: str | None = None, leak: Any = None,
                         voltage_channel: int | None = None) -> dict:
    """Each sweep's current over a window of one epoch, for ``fitting.kinetics``.

    Args:
      path: the ABF file.
      channel: the current channel.
      epoch: index in pyabf's ``sweepEpochs`` of the epoch holding the relaxation (default: the
        first step whose level changes across sweeps, i.e. activation or inactivation during
        the test step; name the following epoch for deactivation tails).
      window: (start, end) within the epoch, as ``iv_from_abf`` ("1ms" after its onset to skip
        the capacitive transient, "100%" its end).
      current_unit: a unit label overriding the file's.
      leak: None; "ramp" (a line I = g V + b fitted to each sweep's ramp epochs against the
        command, as ``iv_from_abf``) or (g_leak [S], e_leak [V]): the leak current at the
        epoch's level is subtracted from each sweep (a constant, so time constants are
        unchanged and the steady and instantaneous currents lose the leak).

    Returns:
      dict: ``t`` (n,) [s] from the epoch's onset, ``i`` (sweeps, n) [A], ``v`` (sweeps,) the
      epoch's level [V] (with ``voltage_channel`` the window mean of V_m; ``v_command`` the
      level), ``v_before`` (sweeps,) the level of the epoch before it [V],
      ``epoch``, ``leak`` (sweeps,) the subtracted leak current [A] (zeros without one);
      ``t_after`` (m,) [s] and ``i_after`` (sweeps, m) [A]: the current after the window, up to
      three window lengths or the epoch's end (m may be 0); ``t_before`` (b,) [s] and
      ``i_before`` (sweeps, b) [A]: the current between the epoch's onset and the window; ``vm`` (sweeps, n) [V]: V_m over the
      window (``voltage_channel``) or None; ``probe``: None or dict(channel=, name=, vm=
      (sweeps, n) [V]) of the other voltage channel read.

    Raises:
      InputError: not an ABF, no such step, windows that differ between sweeps.
    """
    path = os.fspath(path)
    rec = read_recording(path, ReadOptions(channel=channel, current_unit=current_unit,
                                           voltage_channel=voltage_channel))
    rate, current, command, epochs = rec.rate, rec.currents, rec.commands, rec.epochs
    k, _ = choose_epoch(path, epoch, epochs, None)
    windows = [(e[k].start,) + tuple(resolve_window(path, window, e[k].stop - e[k].start, rate))
               for e in epochs]
    if len({(k0, k1) for _, k0, k1 in windows}) != 1:
        raise InputError(f"the window in epoch {k} differs between sweeps (their epochs "
                         "differ in length): give it as times after the onset, e.g. 1ms,50ms",
                         path=path)
    i = np.stack([c[p1 + k0:p1 + k1] for c, (p1, k0, k1) in zip(current, windows)])
    t = (windows[0][1] + np.arange(i.shape[1])) / rate
    v = np.array([e[k].level for e in epochs])
    k0, k1 = windows[0][1:]
    end = min(min(e[k].stop - e[k].start for e in epochs), k1 + 3 * (k1 - k0))
    after = np.stack([c[p1 + k1:p1 + end] for c, (p1, _, _) in zip(current, windows)])
    vm = None if voltage_channel is None else np.stack(
        [r[p1 + k0:p1 + k1] for r, (p1, _, _) in zip(rec.recorded, windows)])
    if vm is not None:
        v = vm.mean(axis=1)
    if leak is None:
        leak_i = np.zeros(len(v))
    elif isinstance(leak, str) and leak == "ramp":
        _, slope, intercept = ramp_leak(path, epochs, command, current)
        leak_i = slope * v + intercept
    elif not isinstance(leak, str) and len(leak) == 2:
        leak_i = float(leak[0]) * (v - float(leak[1]))
    else:
        raise InputError(f"leak must be None, 'ramp' or (g_leak, e_leak); got {leak!r}",
                         path=path)
    return dict(t=t, i=i - leak_i[:, None], v=v, v_command=np.array([e[k].level for e in epochs]),
                v_before=np.array([e[k - 1].level for e in epochs]), epoch=k, leak=leak_i,
                t_after=np.arange(k1, end) / rate, i_after=after - leak_i[:, None], vm=vm,
                t_before=np.arange(k0) / rate, i_before=np.stack(
                    [c[p1:p1 + k0] for c, (p1, _, _) in zip(current, windows)]) - leak_i[:, None],
                probe=None if vm is not None else _probe(rec, windows))


def _probe(rec, windows) -> dict | None:
    """The other ADC channel with a voltage unit (``Recording.probe``, read with the sweeps: one
    read of the file) over the window, or None."""
    if rec.probe is None:
        return None
    index, sweeps = rec.probe
    name = next(c.name for c in rec.channels if c.source == "adc" and c.index == index)
    return dict(channel=index, name=name.strip(), vm=np.stack(
        [r[p1 + k0:p1 + k1] for r, (p1, k0, k1) in zip(sweeps, windows)]))
