"""Host-side checks of ``fit_traces``' inputs: shapes, units, noise, reversal and starts.

Every check runs before anything is compiled and raises a one-line ``ValueError`` that names the
argument, its unit and the likely slip. The unit checks are the magnitudes no voltage-clamp
trace in SI can have:

* ``t`` [s]: a sample interval above ``MAX_SAMPLE`` = 10 ms (slower than 100 Hz cannot resolve
  gating; 0.1 "s" is the 0.1 ms of a 10 kHz recording given in ms; 0, 1, 2, ... are sample
  indices, whose interval only the recording knows) or below ``MIN_SAMPLE`` = 1 us (faster
  than any patch-clamp digitizer: t in ks, or converted to seconds twice).
* ``v`` [V]: |v| above ``MAX_VOLTAGE`` = 2 V (the bound of ``fitting.fit``; -80 is mV).
* ``i`` [A]: |i| above ``MAX_CURRENT`` = 1 mA (the bound of ``fitting.fit``), and the noise: a
  current's noise SD estimated from its first differences,

      s = 1.4826 median_n |I_{n+1} - I_n| / sqrt(2),

  (the SD of white noise; a smooth signal changes little per sample and steps are outliers the
  median ignores; filtered noise gives less, so the bound is never tighter than intended) must
  not exceed ``max_noise`` (1 nA). The noise of a whole-cell recording is set by the amplifier
  and the pipette, not by the cell's expression: 1-30 pA rms at 10 kHz (The Axon Guide, 3rd ed.,
  Molecular Devices 2012, ch. 12; the 9 cells of Beattie et al. 2018: 4.5-27 pA). A current
  1000x too large (pA data scaled as nA) has nA noise however small the cell's current, while
  its largest |I| may look like a big cell's. A two-electrode clamp is noisier: raise
  ``max_noise``. Where sigma is estimated from the data (``window_sigma``), it must be at least
  ``min_noise`` (0.1 pA, ``MIN_NOISE``: below the quietest whole-cell recording, whose headstage
  alone gives ~0.1-0.3 pA rms at 1-10 kHz); a current 1000x too small (nA data scaled as pA)
  has fA noise. A noise-free simulation passes its ``sigma``, or ``min_noise=0``.
* ``temperature`` [K]: ``ionjax.validate_inputs`` (200..400 K, degC given as K named), and
  ``e_rev`` [V]: finite, |e_rev| <= 10 V (the same function).
"""

from typing import Any

import numpy as np

import ionjax
from fitting.engine.inputs import MAX_CURRENT, MAX_VOLTAGE

__all__ = ["MAX_CURRENT", "MAX_NOISE", "MAX_SAMPLE", "MAX_VOLTAGE", "MIN_NOISE", "MIN_SAMPLE",
           "MIN_SIGMA_RATIO", "check_arrays", "check_sigma", "check_start_rates", "check_starts",
           "noise_sd", "reversal", "window_sigma"]

MAX_SAMPLE = 1e-2  # [s] the longest sample interval of a gating trace (100 Hz)
MIN_VOLTAGE = 1e-3  # [V] a gating protocol leaves +-1 mV (it spans tens of mV)
MIN_SAMPLE = 1e-6  # [s] the shortest: no patch-clamp digitizer samples faster than 1 MHz
MAX_NOISE = 1e-9  # [A] the noise SD of a whole-cell recording stays far below 1 nA
MIN_NOISE = 1e-13  # [A] and above 0.1 pA (the headstage's own noise)
MIN_WINDOW = 10  # finite samples the noise window needs for its SD
MIN_SIGMA_RATIO = 0.01  # a given sigma below 1% of the current's noise SD is a unit slip


def _samples(index: np.ndarray) -> str:
    """Sample indices as ranges: "0..1999" or "5, 17..19" (the first three runs)."""
    runs = np.split(index, np.flatnonzero(np.diff(index) != 1) + 1)
    text = [f"{r[0]}" if r.size == 1 else f"{r[0]}..{r[-1]}" for r in runs[:3]]
    return ", ".join(text) + (", ..." if len(runs) > 3 else "")


def _rows(name: str, a: np.ndarray, n_cells: int, n: int, shape_i: tuple) -> np.ndarray:
    """``a`` of shape (T,) or (C, T) (or (1, T)) as (C, T), else one line naming both shapes."""
    if a.ndim == 1 and a.shape == (n,) or a.ndim == 2 and a.shape in ((1, n), (n_cells, n)):
        return np.broadcast_to(a.reshape(-1, n), (n_cells, n))
    raise ValueError(f"{name} shape {a.shape} does not match i shape {shape_i}: {name} is (T,) "
                     f"(the same for every cell) or (C, T) with C = {n_cells} cells and "
                     f"T = {n} samples")


def noise_sd(i: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Robust noise SD [A] of each cell from first differences of consecutive used samples,
    1.4826 median |dI| / sqrt(2); shape (C,) (NaN where fewer than two such pairs)."""
    pairs = valid[:, 1:] & valid[:, :-1]
    step = np.where(pairs, np.abs(np.diff(np.where(valid, i, 0.0), axis=1)), np.nan)
    out = np.full(i.shape[0], np.nan)
    has = pairs.sum(axis=1) > 1
    out[has] = 1.482602218505602 * np.nanmedian(step[has], axis=1) / np.sqrt(2.0)
    return out


def check_arrays(t: Any, v: Any, i: Any, mask: Any, *, max_noise: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Checked (t (T,), v (C, T), i (C, T), valid (C, T), dt [s]) of ``fit_traces``' inputs.

    Accepted shapes: t (T,); i (T,) (one cell) or (C, T); v and mask (T,) (shared by the cells)
    or (C, T) (one row per cell; (1, T) too). NaN/inf samples of v or i are left out (``valid``).
    """
    t, v, i = (np.asarray(a, float) for a in (t, v, i))
    if i.ndim not in (1, 2):
        raise ValueError(f"i must be (T,) (one cell) or (C, T) (cells x samples); got shape "
                         f"{i.shape}")
    shape_i = i.shape
    i = np.atleast_2d(i)
    n_cells, n = i.shape
    if t.shape != (n,) or n < 3:
        raise ValueError(f"t must hold one time [s] per sample of i (shape ({n},), at least 3); "
                         f"got shape {t.shape} for i shape {shape_i}")
    steps = np.diff(t)
    dt = float(np.mean(steps))
    if not (np.all(np.isfinite(t)) and dt > 0 and np.allclose(steps, dt, rtol=1e-6, atol=0)):
        raise ValueError("t must be finite, increasing and uniformly spaced (one sample interval)")
    if dt > MAX_SAMPLE or dt < MIN_SAMPLE:
        if dt == 1.0 and np.all(t == np.round(t)):
            slip = ("t looks like sample indices (0, 1, 2, ...), or ms at 1 kHz: pass seconds, "
                    "t = index * the sample interval [s] of the recording")
        elif dt > MAX_SAMPLE:
            unit, factor = ("us", "1e-6") if dt * 1e-3 > MAX_SAMPLE else ("ms", "1e-3")
            slip = (f"a gating trace is sampled faster than 100 Hz; t looks like {unit}: pass "
                    f"seconds (t * {factor}, ionjax.units.{unit})")
        else:
            slip = ("no patch-clamp digitizer samples faster than 1 MHz; t looks converted "
                    "to seconds twice, or in ks: pass seconds")
        raise ValueError(f"t has a sample interval of {dt:g} s: t is in seconds, and {slip}")
    v = _rows("v", v, n_cells, n, shape_i)
    valid = np.isfinite(v) & np.isfinite(i)
    if mask is not None:
        valid = valid & _rows("mask", np.asarray(mask, bool), n_cells, n, shape_i)
    slips = (("v", v, MAX_VOLTAGE, "V", "mV: pass volts (v * 1e-3, ionjax.units.mV)"),
             ("i", i, MAX_CURRENT, "A", "pA or nA: pass amperes (ionjax.units.pA, nA)"))
    for name, a, limit, unit, slip in slips:
        largest = np.max(np.abs(np.where(np.isfinite(a), a, 0.0)))
        if largest > limit:
            raise ValueError(f"{name} reaches {largest:g}, but fit_traces takes SI units ({name} "
                             f"in {unit}) and no voltage clamp reaches {limit:g} {unit}: {name} "
                             f"looks like {slip}")
    span = np.max(np.abs(np.where(valid, v, 0.0)))
    if span < MIN_VOLTAGE:
        raise ValueError(f"v never leaves +-{span * 1e3:.3g} mV, but a gating protocol spans "
                         "tens of mV: v looks 1000x too small (volts labelled mV, or converted "
                         "twice): pass volts")
    noise = noise_sd(i, valid)
    _refuse_noise(noise, noise > max_noise, lambda k, x: (
        f"the noise SD of i in cell {k} is {noise[k]:.3g} A: no whole-cell recording is that "
        f"noisy (1-30 pA rms; max_noise = {max_noise:g} A), so i looks about {x:g}x too large "
        f"(a unit slip): pass amperes, or raise max_noise for a two-electrode clamp"))
    return t, v, i, valid, dt


def _refuse_noise(noise: np.ndarray, bad: np.ndarray, message: Any) -> None:
    """ValueError ``message(k, factor)`` for the first cell k where ``bad``: its noise SD [A]
    is ``factor`` (a power of ten) away from a typical whole-cell 10 pA."""
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(message(k, 10.0 ** abs(np.round(np.log10(noise[k] / 1e-11)))))


def window_sigma(t: np.ndarray, i: np.ndarray, valid: np.ndarray, window: float, *,
                 min_noise: float = MIN_NOISE) -> np.ndarray:
    """Noise SD [A] (C,) of each cell's first ``window`` seconds, ddof 1, over the used samples
    (NaN/inf left out, as from the fit); refused where fewer than 10 remain, all are equal, or
    the SD is below ``min_noise`` [A] (a current 1000x too small)."""
    head = (t - t[0]) < window
    sigma = np.empty(i.shape[0])
    for k in range(i.shape[0]):
        used = valid[k] & head
        if used.sum() < MIN_WINDOW:
            bad = np.flatnonzero(head & ~np.isfinite(i[k]))
            why = (f"NaN/inf in the current at samples {_samples(bad)}" if bad.size else
                   "the mask leaves them out")
            raise ValueError(f"cell {k} has {int(used.sum())} usable samples in the first "
                             f"{window:g} s (sigma_window), too few for the noise SD: {why}; "
                             f"pass sigma= [A]")
        sigma[k] = np.std(i[k, used], ddof=1)
        if np.ptp(i[k, used]) == 0:  # np.std of equal values may be 1e-26, not 0
            raise ValueError(f"the current of cell {k} is constant over the first {window:g} s "
                             f"(sigma_window): no noise to estimate sigma from (a noiseless "
                             f"simulation?); pass sigma= [A]")
    _refuse_noise(sigma, sigma < min_noise, lambda k, x: (
        f"the noise SD of cell {k}'s first {window:g} s (sigma_window) is {sigma[k]:.3g} A: no "
        f"whole-cell recording is that quiet (the headstage alone gives >= 0.1 pA; min_noise = "
        f"{min_noise:g} A), so i looks about {x:g}x too small (a unit slip): pass amperes; for "
        f"a noise-free simulation pass sigma= [A] or min_noise=0"))
    return sigma


def check_sigma(sigma: Any, i: np.ndarray, valid: np.ndarray, max_noise: float) -> np.ndarray:
    """``sigma`` [A] as (C,): finite, > 0, at most ``max_noise`` and at least ``MIN_SIGMA_RATIO``
    of each cell's ``noise_sd`` (low-pass filtering lowers that estimate, never raises it by
    100x: a sigma below it is a unit slip that would make every standard error 100x too small)."""
    n_cells = i.shape[0]
    a = np.asarray(sigma, float)
    if a.ndim > 1 or a.size not in (1, n_cells):
        raise ValueError(f"sigma must be a scalar or one value per cell ({n_cells}); "
                         f"got shape {a.shape}")
    a = np.array(np.broadcast_to(a, (n_cells,)))
    if not np.all(np.isfinite(a) & (a > 0)):
        raise ValueError(f"sigma must be > 0 (the noise SD in A); got {a}")
    if np.any(a > max_noise):
        big = float(a.max())
        hint = ("sigma looks like pA or nA: pass amperes (ionjax.units.pA)" if big >= 1e-6 else
                "if it is (a two-electrode clamp), raise max_noise; if sigma was meant in pA, "
                "it is 1000x too large")
        raise ValueError(f"sigma = {big:g} A ({big * 1e12:.3g} pA): no whole-cell recording is "
                         f"that noisy (max_noise = {max_noise:g} A); {hint}")
    noise = noise_sd(i, valid)
    low = np.flatnonzero(a < MIN_SIGMA_RATIO * noise)
    if low.size:
        k = int(low[0])
        raise ValueError(f"sigma = {a[k]:g} A of cell {k} is below 1% of its current's noise SD "
                         f"({noise[k]:.3g} A): sigma looks like a unit slip: pass amperes, as i")
    return a


def reversal(model: Any, temperature: Any, e_rev: Any, n_cells: int) -> np.ndarray:
    """E_rev [V] (C,) of each cell: ``e_rev`` as given, or Nernst at ``temperature`` [K] for the
    model's ion; either a scalar or one value per cell, checked by ``ionjax.validate_inputs``."""
    if (temperature is None) == (e_rev is None):
        raise ValueError("give temperature (E_rev by Nernst) or e_rev, one of the two")
    name, value = ("temperature", temperature) if e_rev is None else ("e_rev", e_rev)
    a = np.asarray(value, float)
    if a.ndim > 1 or a.size not in (1, n_cells):
        raise ValueError(f"{name} must be a scalar or one value per cell ({n_cells}); "
                         f"got shape {a.shape}")
    ionjax.validate_inputs(**{name: a})
    a = np.broadcast_to(a, (n_cells,))
    if e_rev is None:
        a = np.asarray(ionjax.nernst_potential(model.c_in, model.c_out, model.z, temperature=a),
                       float)
    return np.array(np.broadcast_to(a, (n_cells,)))


def check_start_rates(model: Any, starts: np.ndarray, v: np.ndarray) -> None:
    """Explicit starts (C, S, k) [SI]: each rate law's fastest value over each cell's voltages
    must lie within ``RATE_BOUNDS`` (the prior's bounds) widened 10x each way, else one line
    naming the start, the rate and the likely slip (rates per ms and sensitivities per mV, as
    papers print them: Beattie et al.'s cell 5 so gives 74x below the bound). A start just
    outside the bounds is the user's to try (its optimum is refused if it stays there)."""
    from fitting.models.trace import RATE_BOUNDS

    lo, hi = RATE_BOUNDS[0] / 10, RATE_BOUNDS[1] * 10
    for c in range(starts.shape[0]):
        v_min, v_max = float(np.nanmin(v[c])), float(np.nanmax(v[c]))
        fastest = np.exp(model.fastest_log_rates(starts[c], v_min, v_max))
        bad = np.argwhere(~((fastest >= lo) & (fastest <= hi)))
        if bad.size:
            s, j = (int(x) for x in bad[0])
            rate = model.rates[j]
            raise ValueError(
                f"start {s} of cell {c}: rate {rate.rate} = {starts[c, s, 2 * j]:g} 1/s with "
                f"{rate.sensitivity} = {starts[c, s, 2 * j + 1]:g} 1/V reaches at most "
                f"{fastest[s, j]:.3g} 1/s over {v_min * 1e3:.4g}..{v_max * 1e3:.4g} mV, 10x "
                f"outside the plausible {lo * 10:g}..{hi / 10:g} 1/s: starts are SI (rates in 1/s = 1e3 x per "
                f"ms, sensitivities in 1/V = 1e3 x per mV, g in S), in the order "
                f"{model.param_names}")


def check_starts(starts: Any, n_cells: int, names: tuple[str, ...]) -> int | np.ndarray:
    """``starts`` as a count (an int >= 1) or as explicit starts (C, S, k) [SI], all > 0."""
    k = len(names)
    usage = (f"starts is a number of starts from the prior (an int >= 1, e.g. 8) or starting "
             f"points (S, {k}) or ({n_cells}, S, {k}) in the order {names}")
    if np.ndim(starts) == 0:
        count = np.asarray(starts)
        if count.dtype == bool or not np.issubdtype(count.dtype, np.number) or not (
                count >= 1 and count == np.round(count)):
            raise ValueError(f"{usage}; got {starts!r}")
        return int(count)
    a = np.asarray(starts, float)
    if a.ndim == 2:
        a = np.broadcast_to(a, (n_cells,) + a.shape)
    if a.ndim != 3 or a.shape[0] != n_cells or a.shape[1] < 1 or a.shape[2] != k:
        raise ValueError(f"{usage}; got shape {np.shape(starts)}")
    if not np.all(np.isfinite(a) & (a > 0)):
        raise ValueError(f"starts must be finite and > 0 (rates, sensitivities, g in SI); got "
                         f"{a[~(np.isfinite(a) & (a > 0))][0]:g}")
    return a
