"""The step I-V of a set of voltage-clamp sweeps, one point per sweep, whatever file they came
from: the test step (the step epoch whose level changes across sweeps), the current's statistic
over a window of it, the plausibility check, and the corrections in their physical order.

Used by ``iv_from_abf`` (epoch tables from the ABF header), ``iv_from_nwb`` (epoch tables
read off the stored command) and every other format of sweeps (``recording_iv``): the same
recording gives the same I-V from any file. The protocol readers share ``choose_epoch``,
``describe``, ``ramp_leak`` and ``STATISTICS``.
"""

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fitting.recordings.corrections import DEFAULT_TEMPERATURE, correct, fit_line, subtract_line
from fitting.recordings.data import IVData, pad_rows
from fitting.recordings.errors import InputError
from fitting.recordings.model import Epoch, EpochTables as Tables, Recording
from fitting.recordings.plausibility import check_current_unit, check_plausible, current_problem
from fitting.recordings.window import resolve_window

__all__ = ["STATISTICS", "check_statistic", "choose_epoch", "describe", "membrane_probe",
           "ramp_leak", "recording_iv", "step_iv"]

STATISTICS = {
    "mean": np.mean,
    "min": np.min,
    "max": np.max,
    "peak": lambda a: a[np.argmax(np.abs(a))],
}


def _per_sweep(values):
    """One value if every sweep has it, else the list (a user list can vary an epoch)."""
    return values[0] if len(set(values)) == 1 else values


def choose_epoch(path: str, epoch: Any, epochs: Tables,
                 recorded: Sequence[np.ndarray] | None) -> tuple[int, list[int]]:
    """Index of the test step in the epoch tables, and the other candidates: ``epoch`` if
    given (it must be a step), else the first step epoch (not the first or last) whose level
    changes across sweeps: the table's levels, or, with ``recorded`` (per-sweep recorded
    voltage [V]), its mean over each epoch's second half (by more than 1 mV)."""
    types = [e.type for e in epochs[0]]
    if epoch is not None:
        text = str(epoch).strip()
        if isinstance(epoch, bool) or not (isinstance(epoch, (int, np.integer)) or
                                           (isinstance(epoch, str) and text.isdigit())):
            raise InputError(f"epoch must be an integer index into the epoch table; got "
                             f"{epoch!r}", path=path)
        k = int(text)
        if not 0 <= k < len(types) or types[k] != "Step":
            raise InputError(f"epoch {epoch!r} is not a step epoch; epochs: "
                             f"{describe(epochs[0])}", path=path)
        return k, []
    if recorded is None:
        levels, tol = np.array([[e.level for e in table] for table in epochs]), 1e-9
    else:  # mean of the recorded command over the second half of each epoch
        levels = np.array([[r[(e.start + e.stop) // 2:e.stop].mean() if e.stop > e.start
                            else np.nan for e in table] for table, r in zip(epochs, recorded)])
        tol = 1e-3
    varying = [k for k in range(len(types))
               if types[k] == "Step" and np.ptp(levels[:, k]) > tol]
    inner = [k for k in varying if 0 < k < len(types) - 1]
    if not inner:  # naming an epoch helps only where a step at the table's edge varies
        table = epochs[0]
        longest = sorted(varying, key=lambda k: table[k].start - table[k].stop)
        hint = (f"; step(s) at the table's edge vary, longest first: "
                f"{', '.join(map(str, longest))}: name the test step with --epoch N (epoch=N "
                f"in Python)" if varying else ": no step I-V in this recording")
        raise InputError(f"no step epoch changes its level across sweeps{hint} (epochs: "
                         f"{describe(epochs[0])})", path=path)
    return inner[0], inner[1:]


def describe(table: tuple[Epoch, ...]) -> str:
    """One sweep's epoch table for a message: "k: Type level mV [start:stop]; ..."."""
    return "; ".join(f"{e.index}: {e.type} {e.level * 1e3:g} mV [{e.start}:{e.stop}]"
                     for e in table)


def ramp_leak(path: str, epochs: Tables, x_source: Sequence[np.ndarray],
              current: Sequence[np.ndarray]) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(ramp epoch indices, slope [S], intercept [A]) of a line fitted to each sweep's ramps.

    ``x_source``: per-sweep command potential [V] (sweepC or the recorded command);
    ``current``: per-sweep current [A]. Slope and intercept have shape (sweeps,).
    """
    ramps = [e.index for e in epochs[0] if e.type == "Ramp"]
    if not ramps:
        raise InputError("leak='ramp' but the protocol has no ramp epoch: "
                         f"{describe(epochs[0])}", path=path)
    spans = [np.concatenate([np.arange(table[k].start, table[k].stop) for k in ramps])
             for table in epochs]
    x = pad_rows([x_s[idx] for x_s, idx in zip(x_source, spans)])
    y = pad_rows([i_s[idx] for i_s, idx in zip(current, spans)])
    slope, intercept, _ = fit_line(x, y)
    if not np.all(np.isfinite(slope)):
        raise InputError("the ramp epochs do not span two voltages: cannot fit the leak",
                         path=path)
    return ramps, slope, intercept


def _extract(path, current, recorded, epochs, k, window, statistic, rate):
    """Per sweep: step voltage [V], current statistic [A] and the window's (first, stop)."""
    stat = STATISTICS[statistic]
    v, i, windows = [], [], []
    for s, table in enumerate(epochs):
        step = table[k]
        k0, k1 = resolve_window(path, window, step.stop - step.start, rate)
        lo, hi = step.start + k0, step.start + k1
        windows.append((k0, k1))
        i.append(stat(current[s][lo:hi]))
        v.append(step.level if recorded is None else recorded[s][lo:hi].mean())
    return np.array(v), np.array(i), windows


# a clamp that holds keeps the recorded V_m within noise and a slow drift over the window
CLAMP_SPREAD = 5e-3  # [V]


def _clamp_held(path, i, recorded, epochs, k, windows, metadata, probe=False):
    """Currents with NaN (masked, counted by the fit) for the sweeps whose recorded membrane
    potential spans more than ``CLAMP_SPREAD`` over the window: the clamp did not hold, and the
    window's mean V_m and I are no point of the I-V. ``metadata["clamp_lost"]`` names them."""
    lost = []
    for s, (table, (k0, k1)) in enumerate(zip(epochs, windows)):
        vm = recorded[s][table[k].start + k0:table[k].start + k1]
        if np.ptp(vm) > CLAMP_SPREAD:
            lost.append({"sweep": s, "min_V": float(vm.min()), "max_V": float(vm.max())})
    if len(lost) == len(i) and probe:  # a voltage channel that never holds: maybe not V_m
        metadata["clamp_probe_spans"] = True
        return i
    if len(lost) == len(i):
        raise InputError(f"the recorded membrane potential spans more than "
                         f"{CLAMP_SPREAD * 1e3:g} mV over the window in every sweep: the clamp "
                         "did not hold; no I-V", path=path)
    if lost:
        i = np.array(i, float)
        i[[d["sweep"] for d in lost]] = np.nan
        metadata["clamp_lost"] = lost
    return i


def membrane_probe(rec: Recording) -> tuple | None:
    """(ADC index, per-sweep samples [V]) of the channel of ``rec`` that records a membrane
    potential (mV) and is not read as the voltage, for the clamp check only: the
    ``Recording.probe`` its reader read with the sweeps (no second read); None when there is
    none."""
    if rec.voltage is not None or rec.probe is None:
        return None
    unit = next((c.unit for c in rec.channels if c.source == "adc" and c.index == rec.probe[0]),
                None)
    return rec.probe if str(unit).strip() == "mV" else None


def check_statistic(statistic: str) -> None:
    """Refuse a statistic that is not one of ``STATISTICS``."""
    if statistic not in STATISTICS:
        raise InputError(f"statistic must be one of {sorted(STATISTICS)}; got {statistic!r}")


def step_iv(rec: Recording, *, window: Sequence[Any], statistic: str, epoch: Any, leak: Any,
            ljp: Any, series_resistance: float | None, compensation: float, temperature: float,
            label: str, metadata: dict[str, Any],
            transients: Callable[[int], str | None] | None = None,
            probe: Sequence[np.ndarray] | None = None) -> IVData:
    """IVData of one recording's step I-V; see ``iv_from_abf`` for the arguments.

    The step voltages are the epoch table's levels, or the recorded voltage's mean over the
    window when ``rec.voltage_source`` is "adc". A recorded membrane potential
    (``rec.recorded_voltage`` "membrane") leaves the choice of the step to the table and puts
    ``clamp_error`` in the metadata: the largest |V_m - V_cmd| over the sweeps [V], its sweep,
    and the mean difference [V]. ``transients(k)``: an optional check of the
    chosen epoch, returning the command check's text or None. ``metadata``: the reader's own
    entries, completed here. ``probe``: per-sweep samples [V] of a recorded membrane potential
    not read as the voltage: only the clamp check (``_clamp_held``) uses it.
    """
    path, epochs, rate, recorded = rec.path, rec.epochs, float(rec.rate), rec.recorded
    membrane = rec.recorded_voltage == "membrane" and recorded is not None
    if membrane and series_resistance is not None:
        raise InputError("series_resistance (--series-resistance) corrects a command for the "
                         "drop across R_s; a recorded membrane potential (voltage_channel) has "
                         "none: leave it out", path=path)
    k, others = choose_epoch(path, epoch, epochs, None if membrane else recorded)
    if transients is not None:
        metadata["command_check"] = transients(k)
    v, i, windows = _extract(path, rec.currents, recorded, epochs, k, window, statistic, rate)
    bad = ~np.isfinite(i)
    if bad.all():
        raise InputError("the current has NaN or infinite samples in the window of every sweep: "
                         "no I-V", path=path)
    if bad.any():  # the fit masks these points; say which
        metadata["nonfinite_sweeps"] = np.flatnonzero(bad).tolist()
    if len(v) > 1 and np.ptp(v) <= (1e-3 if recorded is not None else 1e-9):
        try:
            hint = f"the step epochs that vary: {[choose_epoch(path, None, epochs, recorded)[0]]}"
        except InputError:
            hint = "no step epoch varies"
        raise InputError(f"epoch {k} holds the same voltage ({float(np.mean(v)) * 1e3:g} mV) in "
                         f"every sweep: no I-V ({hint}; epochs: {describe(epochs[0])})",
                         path=path)
    units = rec.units
    check_current_unit(path, list(rec.currents), rec.current.unit, units["current"],
                       what=f"channel {rec.current.index} ({rec.current.name.strip()})",
                       membrane=membrane)
    v_unit = units.get("membrane_potential", units.get("recorded_command", units["command"]))
    for problem in (check_plausible(v, "voltage", v_unit, override="voltage_unit= "
                                    "(--voltage-unit)"),
                    current_problem(i, units["current"], label=rec.current.unit,
                                    membrane=membrane)):
        if problem:
            raise InputError(f"the step I-V: {problem}", path=path)
    if membrane:
        error = v - np.array([table[k].level for table in epochs])
        worst = int(np.argmax(np.abs(error)))
        metadata["clamp_error"] = {"max_abs_V": float(abs(error[worst])), "sweep": worst,
                                   "mean_V": float(np.mean(error))}
        i = _clamp_held(path, i, recorded, epochs, k, windows, metadata)
    elif probe is not None:  # the step voltage stays the command's; a lost clamp is no point
        i = _clamp_held(path, i, probe, epochs, k, windows, metadata, probe=True)
    metadata.update({
        "sweeps": list(range(len(epochs))), "sampling_rate_Hz": rate,
        "epoch": k, "other_varying_epochs": others,
        "epoch_start_s": _per_sweep([e[k].start / rate for e in epochs]),
        "epoch_duration_s": _per_sweep([(e[k].stop - e[k].start) / rate for e in epochs]),
        "window": {"spec": list(window), "start_s": _per_sweep([w[0] / rate for w in windows]),
                   "end_s": _per_sweep([w[1] / rate for w in windows]),
                   "samples": list(windows[0]) if
                   len(set(windows)) == 1 else [list(w) for w in windows]},
        "statistic": statistic, "units": units})
    iv = IVData(v, i, [label], metadata)
    ramp = None
    if isinstance(leak, str) and leak == "ramp":
        ramp = ramp_leak(path, epochs, recorded if recorded is not None else rec.commands,
                         rec.currents)
        leak = None
    iv = correct(iv, leak=leak, ljp=ljp, series_resistance=series_resistance,
                 compensation=compensation, temperature=temperature)
    if ramp is not None:  # the ramp line lives in command coordinates: evaluate it at v_cmd
        ramps, slope, intercept = ramp
        iv = subtract_line(iv, slope, intercept, {"name": "leak", "method": "ramp",
                                                  "epochs": ramps, "coordinates": "command"},
                           at=v)
    return iv


def recording_iv(rec: Recording, *, window: Sequence[Any] = ("60%", "95%"),
                 statistic: str = "mean", epoch: Any = None, leak: Any = None, ljp: Any = None,
                 series_resistance: float | None = None, compensation: float = 0.0,
                 temperature: float = DEFAULT_TEMPERATURE) -> IVData:
    """The step I-V of any ``Recording`` (one point per sweep, in SI), for a format that has no
    step I-V of its own; the arguments are those of ``iv_from_abf``.

    Returns:
      IVData of shape (n_sweeps,) labelled with the file's name, metadata with source, format,
      channel, voltage_source, sweeps, epoch, window, statistic, units and corrections.
    """
    check_statistic(statistic)
    metadata = {"source": rec.path, "format": rec.format,
                "channel": rec.provenance.get("channel", rec.current.index),
                "voltage_source": rec.voltage_source, "user_lists": rec.user_lists,
                "command_check": rec.command_check}
    return step_iv(rec, window=window, statistic=statistic, epoch=epoch, leak=leak, ljp=ljp,
                   series_resistance=series_resistance, compensation=compensation,
                   temperature=temperature, metadata=metadata,
                   label=os.path.splitext(os.path.basename(rec.path))[0])
