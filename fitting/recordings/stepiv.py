"""The step I-V of a set of voltage-clamp sweeps, one point per sweep, whatever file they came
from: the test step (the step epoch whose level changes across sweeps), the current's statistic
over a window of it, the plausibility check, and the corrections in their physical order.

Used by ``iv_from_abf`` (epoch tables from the ABF header) and ``iv_from_nwb`` (epoch tables
read off the stored command); the two give the same I-V for the same recording.
"""

import numpy as np

from fitting.recordings.corrections import correct, fit_line, subtract_line
from fitting.recordings.data import IVData, pad_rows
from fitting.recordings.errors import InputError
from fitting.recordings.window import resolve_window
from fitting.recordings.units import check_plausible

_STATISTICS = {
    "mean": np.mean,
    "min": np.min,
    "max": np.max,
    "peak": lambda a: a[np.argmax(np.abs(a))],
}


def _per_sweep(values):
    """One value if every sweep has it, else the list (a user list can vary an epoch)."""
    return values[0] if len(set(values)) == 1 else values


def _choose_epoch(path, epoch, epochs, recorded):
    """Index of the test step in the epoch tables, and the other candidates."""
    types = epochs[0][3]
    if epoch is not None:
        text = str(epoch).strip()
        if isinstance(epoch, bool) or not (isinstance(epoch, (int, np.integer)) or
                                           (isinstance(epoch, str) and text.isdigit())):
            raise InputError(f"epoch must be an integer index into the epoch table; got "
                             f"{epoch!r}", path=path)
        k = int(text)
        if not 0 <= k < len(types) or types[k] != "Step":
            raise InputError(f"epoch {epoch!r} is not a step epoch; epochs: "
                             f"{_describe(epochs[0])}", path=path)
        return k, []
    if recorded is None:
        levels, tol = np.array([e[2] for e in epochs]), 1e-9
    else:  # mean of the recorded command over the second half of each epoch
        levels = np.array([[r[(p1 + p2) // 2:p2].mean() if p2 > p1 else np.nan
                            for p1, p2 in zip(e[0], e[1])] for e, r in zip(epochs, recorded)])
        tol = 1e-3
    varying = [k for k in range(1, len(types) - 1)
               if types[k] == "Step" and np.ptp(levels[:, k]) > tol]
    if not varying:
        raise InputError("no step epoch changes its level across sweeps; pass epoch= (--epoch; "
                         "an index into the epoch table, pyabf's sweepEpochs for an ABF): "
                         f"{_describe(epochs[0])}", path=path)
    return varying[0], varying[1:]


def _describe(table):
    p1s, p2s, levels, types = table
    return "; ".join(f"{k}: {t} {lvl * 1e3:g} mV [{a}:{b}]"
                     for k, (a, b, lvl, t) in enumerate(zip(p1s, p2s, levels, types)))


def _ramp_leak(path, epochs, x_source, current):
    """(ramp epoch indices, slope [S], intercept [A]) of a line fitted to each sweep's ramps.

    ``x_source``: per-sweep command potential [V] (sweepC or the recorded command).
    """
    ramps = [k for k, t in enumerate(epochs[0][3]) if t == "Ramp"]
    if not ramps:
        raise InputError("leak='ramp' but the protocol has no ramp epoch: "
                         f"{_describe(epochs[0])}", path=path)
    spans = [np.concatenate([np.arange(e[0][k], e[1][k]) for k in ramps]) for e in epochs]
    x = pad_rows([x_s[idx] for x_s, idx in zip(x_source, spans)])
    y = pad_rows([i_s[idx] for i_s, idx in zip(current, spans)])
    slope, intercept, _ = fit_line(x, y)
    if not np.all(np.isfinite(slope)):
        raise InputError("the ramp epochs do not span two voltages: cannot fit the leak",
                         path=path)
    return ramps, slope, intercept


def _extract(path, current, recorded, epochs, k, window, statistic, rate):
    """Per sweep: step voltage [V], current statistic [A] and the window's (first, stop)."""
    stat = _STATISTICS[statistic]
    v, i, windows = [], [], []
    for s, (p1s, p2s, levels, _) in enumerate(epochs):
        k0, k1 = resolve_window(path, window, p2s[k] - p1s[k], rate)
        lo, hi = p1s[k] + k0, p1s[k] + k1
        windows.append((k0, k1))
        i.append(stat(current[s][lo:hi]))
        v.append(levels[k] if recorded is None else recorded[s][lo:hi].mean())
    return np.array(v), np.array(i), windows




def check_statistic(statistic):
    if statistic not in _STATISTICS:
        raise InputError(f"statistic must be one of {sorted(_STATISTICS)}; got {statistic!r}")


def step_iv(path, r, *, window, statistic, epoch, leak, ljp, series_resistance, compensation,
            temperature, label, metadata, recorded=None, transients=None):
    """IVData of one recording's step I-V from its sweeps ``r`` (``current`` [A], ``command``
    [V], ``epochs``, ``rate`` [Hz], ``units``); see ``iv_from_abf`` for the arguments.

    ``recorded``: per-sweep recorded command [V] or None (the epoch table's levels are the step
    voltages); ``transients(k)``: an optional check of the chosen epoch, returning the command
    check's text or None. ``metadata``: the reader's own entries, completed here.
    """
    epochs, rate = r["epochs"], float(r["rate"])
    k, others = _choose_epoch(path, epoch, epochs, recorded)
    if transients is not None:
        metadata["command_check"] = transients(k)
    v, i, windows = _extract(path, r["current"], recorded, epochs, k, window, statistic, rate)
    bad = ~np.isfinite(i)
    if bad.all():
        raise InputError("the current has NaN or infinite samples in the window of every sweep: "
                         "no I-V", path=path)
    if bad.any():  # the fit masks these points; say which
        metadata["nonfinite_sweeps"] = np.flatnonzero(bad).tolist()
    if len(v) > 1 and np.ptp(v) <= (1e-3 if recorded is not None else 1e-9):
        try:
            hint = f"the step epochs that vary: {[_choose_epoch(path, None, epochs, recorded)[0]]}"
        except InputError:
            hint = "no step epoch varies"
        raise InputError(f"epoch {k} holds the same voltage ({float(np.mean(v)) * 1e3:g} mV) in "
                         f"every sweep: no I-V ({hint}; epochs: {_describe(epochs[0])})",
                         path=path)
    units = r["units"]
    for quantity, values, unit in (("voltage", v, units.get("recorded_command", units["command"])),
                                   ("current", i, units["current"])):
        problem = check_plausible(values, quantity, unit,
                                  override=f"{quantity}_unit= (--{quantity}-unit)")
        if problem:
            raise InputError(f"the step I-V: {problem}", path=path)
    metadata.update({
        "sweeps": list(range(len(epochs))), "sampling_rate_Hz": rate,
        "epoch": k, "other_varying_epochs": others,
        "epoch_start_s": _per_sweep([e[0][k] / rate for e in epochs]),
        "epoch_duration_s": _per_sweep([(e[1][k] - e[0][k]) / rate for e in epochs]),
        "window": {"spec": list(window), "start_s": _per_sweep([w[0] / rate for w in windows]),
                   "end_s": _per_sweep([w[1] / rate for w in windows]),
                   "samples": list(windows[0]) if
                   len(set(windows)) == 1 else [list(w) for w in windows]},
        "statistic": statistic, "units": units})
    iv = IVData(v, i, [label], metadata)
    ramp = None
    if isinstance(leak, str) and leak == "ramp":
        ramp = _ramp_leak(path, epochs, recorded if recorded is not None else r["command"],
                          r["current"])
        leak = None
    iv = correct(iv, leak=leak, ljp=ljp, series_resistance=series_resistance,
                 compensation=compensation, temperature=temperature)
    if ramp is not None:  # the ramp line lives in command coordinates: evaluate it at v_cmd
        ramps, slope, intercept = ramp
        iv = subtract_line(iv, slope, intercept, {"name": "leak", "method": "ramp",
                                                  "epochs": ramps, "coordinates": "command"},
                           at=v)
    return iv
