"""The kinetics protocol. Time constants of current relaxations: I(t) = c + sum_k a_k exp(-t / tau_k), one batched fit.

Each sweep's relaxation (activation, deactivation or inactivation after a voltage step, time t
from the origin) is fitted with one or two exponentials and an offset c (the steady current):
``fitting.models.relaxation.Exponentials``, whose start is the global optimum of a
variable-projection scan over a log grid of time constants (the amplitudes solved exactly at
each), so a fast small transient is not taken for the relaxation when a slow one fits better.
The engine takes the sweeps as recordings with time as the independent variable, each put on a
common scale (time in units of the window, current in units of its largest excursion from its
steady level; the parameters and their errors map back exactly).

What the fit refuses (NaN values, a status and a note naming the time constant found):

* NO_SIGNAL: no relaxation, the current (a running mean over 1/50 of the window) stays within
  4 SD of such a mean around its steady level, the last tenth's (``steady_band``);
* OUT_OF_RANGE: a time constant shorter than 3 samples (the filter or a transient's tail, not
  a relaxation the sampling resolves);
* UNIDENTIFIABLE: a time constant longer than the window from the origin to the last sample (it
  and the amplitudes are not pinned down), also where a fit that did not converge started there.

A family whose only relaxation is the capacitive transient is told apart by ``passive``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import Status, usable
from fitting.outputs.table import make_row
from fitting.protocols.base import Analysis, Protocol, estimate_text, option
from fitting.protocols.steady_band import (BAND_SDS, current_text, largest_excursion,
                                           steady_band)

__all__ = ["Kinetics", "Options", "PROTOCOL", "analyse", "draw", "extract", "kinetics",
           "passive", "status_text"]

# the engine refuses data outside patch-clamp SI ranges (|v| <= 2, |i| <= 1e-3): the unitless
# scaled time and current enter it as these multiples (they cancel exactly)
_T_UNIT, _I_UNIT = 1e-3, 1e-10
MIN_SAMPLES = 3  # a time constant shorter than this many sample intervals is refused


@dataclasses.dataclass(frozen=True)
class Kinetics:
    """Fitted relaxations [SI], arrays of shape (S,): ``values`` and ``stderr`` dicts with
    ``c`` [A] and ``a1``, ``tau1`` (and ``a2``, ``tau2``) [A, s], ordered tau1 <= tau2, the
    amplitudes at the origin; ``at_origin`` [A], the fitted current at the origin;
    ``status`` (``fitting.Status``, see the module; NaN values where not usable); ``notes``
    (S,) why a sweep was refused, with the time constant found ("" where usable); ``band``
    (S,) [A] the no-relaxation band (``steady_band``): a smaller relaxation is not seen."""

    values: dict
    stderr: dict
    status: np.ndarray
    notes: tuple = ()
    band: np.ndarray | None = None


def _ms(x: float) -> str:
    return f"{x * 1e3:.3g} ms"


def kinetics(t: ArrayLike, i: ArrayLike, *, components: int = 1, sign: int = 0,
             origin: float | None = None) -> Kinetics:
    """Fit c + sum_k a_k exp(-t / tau_k) to each sweep (see the module).

    Args:
      t: (n,) sample times [s], increasing, evenly spaced.
      i: (S, n) or (n,) currents [A].
      components: 1 or 2 exponentials.
      sign: 0, or the known sign (+1 / -1) of the amplitudes: the starting scan keeps only
        candidates of that sign (``fitting.models.relaxation``).
      origin: the time [s] at which the amplitudes a_k are reported and ``at_origin`` is
        evaluated (<= t[0]; default t[0]): e.g. the onset of the step, to extrapolate a tail
        current back over the capacitive transient that the window skips.

    Returns:
      ``Kinetics``.

    Raises:
      ValueError: bad shapes or components, fewer than 3 points per parameter, non-finite
        data.
    """
    from fitting.engine.batch import fit
    from fitting.models.relaxation import Exponentials

    model = Exponentials(components, sign)
    t = np.asarray(t, float)
    i = np.atleast_2d(np.asarray(i, float))
    if t.ndim != 1 or i.shape[-1] != t.size:
        raise ValueError(f"t must be (n,) and i (sweeps, n); got t {t.shape}, i {i.shape}")
    if t.size < 3 * model.n_params:
        error = ValueError(f"the window holds {t.size} samples; {components} exponential(s) "
                           f"need at least {3 * model.n_params}")
        error.cli_message = (f"the window holds {t.size} samples of each sweep; "
                             f"{components} exponential(s) need at least {3 * model.n_params}: "
                             "widen --window")
        raise error
    if np.any(np.diff(t) <= 0) or not np.all(np.isfinite(i)) or not np.all(np.isfinite(t)):
        raise ValueError("t must increase, and t and i must be finite")
    origin = t[0] if origin is None else float(origin)
    if not origin <= t[0]:
        raise ValueError(f"origin ({origin} s) must not lie after the first sample ({t[0]} s)")
    # nothing to fit where a running mean over 1/50 of the window stays within the band
    width = max(t.size // 50, 1)
    late, band = steady_band(i, width)
    excursion = largest_excursion(i, late, width)
    flat = excursion <= band
    size = np.max(np.abs(i - late[:, None]), axis=1)
    size = np.where(flat | ~(size > 0), 1.0, size)
    span = t[-1] - origin
    s = (t - origin) / span * _T_UNIT
    y = (i - late[:, None]) / size[:, None] * _I_UNIT
    mask = np.broadcast_to(~flat[:, None], y.shape)
    res = fit(model, s, np.where(mask, y, 0.0), mask=mask)
    status = np.where(flat, Status.NO_SIGNAL, np.asarray(res.status))
    scale = {"c": size / _I_UNIT, "a1": size / _I_UNIT, "a2": size / _I_UNIT,
             "tau1": span / _T_UNIT, "tau2": span / _T_UNIT}
    values = {k: np.asarray(res.params[k]) * scale[k] for k in model.param_names}
    stderr = {k: np.asarray(res.stderr[k]) * np.abs(scale[k]) for k in model.param_names}
    values["c"] = values["c"] + late
    if components == 2:  # order the components by time constant
        swap = values["tau1"] > values["tau2"]
        for name in ("a", "tau"):
            for d in (values, stderr):
                one, two = d[f"{name}1"].copy(), d[f"{name}2"].copy()
                d[f"{name}1"], d[f"{name}2"] = np.where(swap, two, one), np.where(swap, one, two)
    shortest = values["tau1"]
    longest = values["tau2"] if components == 2 else values["tau1"]
    fastest = MIN_SAMPLES * np.median(np.diff(t))
    scanned = _scanned_longest(model, s, y, ~flat & ~usable(status)) * span / _T_UNIT
    notes = []
    for k in range(len(status)):
        if flat[k]:
            notes.append(f"no relaxation: the current, averaged over {width} samples, stays "
                         f"within {BAND_SDS:g} SD ({current_text(band[k])}) of its steady level "
                         f"{current_text(late[k])} over the window (largest excursion "
                         f"{current_text(excursion[k])})")
        elif usable(status[k]) and not shortest[k] >= fastest:
            status[k] = Status.OUT_OF_RANGE
            notes.append(f"tau {_ms(shortest[k])} found is shorter than {MIN_SAMPLES} samples "
                         f"({_ms(fastest)}): the filter or a transient, not a relaxation the "
                         "sampling resolves")
        elif usable(status[k]) and not longest[k] <= span:
            status[k] = Status.UNIDENTIFIABLE
            notes.append(f"tau {_ms(longest[k])} found is longer than the window "
                         f"({_ms(span)} from the origin): not pinned down, it cannot be "
                         "determined from this step (a longer step or window would)")
        elif scanned[k] > span:  # the fit failed (STALLED, ...) on a relaxation too slow
            status[k] = Status.UNIDENTIFIABLE
            notes.append(f"tau about {_ms(scanned[k])} (the best of the starting scan; the "
                         f"fit did not converge: {Status(int(res.status[k])).name}) is longer "
                         f"than the window ({_ms(span)} from the origin): it cannot be "
                         "determined from this step (a longer step or window would)")
        else:
            notes.append("" if usable(status[k]) else Status(int(status[k])).message)
    good = usable(status)
    # the current at the origin, c + sum a_k, with the covariance of c and the a_k
    g = np.array([1.0 if n[0] in "ca" else 0.0 for n in model.param_names])
    var = np.einsum("i,sij,j->s", g, np.asarray(res.covariance), g)
    values["at_origin"] = sum(values[n] for n in model.param_names if n[0] in "ca")
    stderr["at_origin"] = np.sqrt(var) * size / _I_UNIT
    values = {k: np.where(good, x, np.nan) for k, x in values.items()}
    stderr = {k: np.where(good, x, np.nan) for k, x in stderr.items()}
    return Kinetics(values, stderr, status, tuple(notes), band)


def _scanned_longest(model, s, y, which) -> np.ndarray:
    """(S,) the longest tau of the starting scan's best candidate (``start_from_data``), in
    scaled time, for the sweeps ``which`` (bool (S,)), NaN elsewhere."""
    import jax.numpy as jnp
    out, s = np.full(len(which), np.nan), jnp.asarray(s)  # JAX's default float
    ones, valid = jnp.ones_like(s), jnp.ones(s.shape, bool)
    for k in np.flatnonzero(which):
        x = np.asarray(model.start_from_data(s, jnp.asarray(y[k], s.dtype), ones, valid))
        out[k] = np.max(x[2::2])  # (c, a1, tau1, a2, tau2)
    return out


@dataclasses.dataclass(frozen=True)
class Options:
    """Options of the kinetics protocol (``ionjax analyze --protocol kinetics``)."""

    channel: int | None = option(help="ADC channel of the current (default 0)")
    window: str | None = option(help="fitted window 'start,stop' (default '1ms,100%')")
    epoch: int | None = option(help="index of the step epoch (default: automatic)")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")
    voltage_channel: int | None = option(help="ADC channel recording the membrane potential "
                                              "(each sweep's voltage: its mean over --window)")
    components: int | None = option(help="kinetics: exponentials per sweep (default 1)",
                                    parse="int", choices=(1, 2))


def extract(path, options: Options) -> tuple:
    """(path, relaxations) of the recording (``fitting.io.relaxations_from_abf``)."""
    from fitting.protocols.base import parse_window
    from fitting.protocols.kinetics_read import relaxations_from_abf

    window = parse_window(options.window, ("1ms", "100%"))
    return path, relaxations_from_abf(path, channel=options.channel or 0, epoch=options.epoch,
                                      window=window, current_unit=options.current_unit,
                                      voltage_channel=options.voltage_channel)


def status_text(status) -> str:
    """A relaxation fit's status in words (the statuses of the module docstring)."""
    words = {Status.UNIDENTIFIABLE: "time constant not pinned down: longer than the window",
             Status.NO_SIGNAL: "no relaxation: the current stays within 3 SD of its steady "
                               "level",
             Status.OUT_OF_RANGE: f"time constant shorter than {MIN_SAMPLES} samples"}
    return words.get(int(status), Status(int(status)).message)


def passive(k: Kinetics, step: ArrayLike, *, min_r2: float = 0.9,
            max_spread: float = 3.0) -> str:
    """Why a family's relaxations are the capacitive transient of a passive membrane, or "".

    A linear (passive) membrane answers every voltage step dV with one time constant (its
    charging time constant) and a current of amplitude q dV whose sign is that of charging
    (outward after a depolarising step: a > 0 for dV > 0). A channel's relaxation has a
    voltage-dependent time constant and an amplitude set by its gating and driving force. The
    family is called passive when at least 3 usable sweeps with dV != 0 have their amplitudes
    a1 explained by a = q dV with q > 0 (R^2 = 1 - sum (a - q dV)^2 / sum a^2 >= ``min_r2``)
    and time constants within a factor ``max_spread`` of their median.

    Args:
      k: the ``Kinetics`` of the family (one component used: ``a1``, ``tau1``).
      step: (S,) the voltage step of each sweep, V - V_before [V].

    Returns:
      One line describing the transient, or "" when the relaxations are not passive.
    """
    a, tau, dv = k.values["a1"], k.values["tau1"], np.asarray(step, float)
    use = np.isfinite(a) & np.isfinite(tau) & (dv != 0)
    if np.sum(use) < 3:
        return ""
    a, tau, dv = a[use], tau[use], dv[use]
    q = np.sum(a * dv) / np.sum(dv * dv)
    r2 = 1 - np.sum((a - q * dv) ** 2) / np.sum(a * a)
    median = np.median(tau)
    if not (q > 0 and r2 >= min_r2 and np.all(tau <= max_spread * median)
            and np.all(tau >= median / max_spread)):
        return ""
    return (f"the relaxations are a passive membrane's capacitive transient: time constants "
            f"{_ms(tau.min())}-{_ms(tau.max())} at every voltage and amplitudes proportional to "
            f"the step ({q * 1e9:.3g} pA/mV, R^2 {r2:.2f}), not a channel's relaxation")


def analyse(data: tuple, options: Options) -> Analysis:
    """Time constants of each sweep's relaxation and the printed report.

    Args:
      data: ``extract``'s (path, relaxations dict with ``t`` (n,) [s], ``i`` (S, n) [A],
        ``v`` (S,) [V], ``v_before`` (S,) [V], ``epoch``).
      options: ``Options`` (``components``).

    Returns:
      ``Analysis`` with ``result`` the ``Kinetics``.

    Raises:
      InputError: the relaxations are the capacitive transient (``passive``): the file looks
        like a step I-V.
    """
    from fitting.recordings.errors import InputError

    path, r = data
    components = options.components or 1
    k = kinetics(r["t"], r["i"], components=components)
    if "v_before" in r:
        why = passive(k if components == 1 else kinetics(r["t"], r["i"]), r["v"] - r["v_before"])
        if why:
            raise InputError(f"--protocol kinetics, epoch {r['epoch']} window "
                             f"{r['t'][0] * 1e3:g}-{r['t'][-1] * 1e3:g} ms: {why}; the file looks "
                             "like a step I-V (ionjax iv, --protocol activation), or start "
                             "--window after the transient", path=path)
    lines = [f"{path}: epoch {r['epoch']}, window {r['t'][0] * 1e3:g}-{r['t'][-1] * 1e3:g} ms, "
             f"{len(r['v'])} sweeps, {components} exponential(s)"]
    from fitting.protocols.relaxation_checks import recorded_clamp

    k, more = recorded_clamp(k, r, options.voltage_channel)
    lines += more
    rows = []
    for s, v in enumerate(r["v"]):
        rows.append(make_row(path, s, "v_step", "V", v, status=k.status[s]))
        for name, unit in (("c", "A"), ("a1", "A"), ("tau1", "s"), ("a2", "A"), ("tau2", "s")):
            if name in k.values:
                rows.append(make_row(path, s, name, unit, k.values[name][s], k.stderr[name][s],
                                     status=k.status[s]))
        taus = ", ".join(estimate_text(k.values[n][s], k.stderr[n][s], 1e3, "ms",
                                       status_text(k.status[s]), fmt=".4g")
                         for n in ("tau1", "tau2") if n in k.values)
        lines.append(f"    {v * 1e3:7.1f} mV (sweep {s}): " + (
            f"tau {taus}" if np.isfinite(k.values["tau1"][s]) else
            f"refused ({k.notes[s] or status_text(k.status[s])})"))
    return Analysis("kinetics", path, k, "\n".join(lines), rows,
                    [(str(path), dict(result=k, v=r["v"]))])


def draw(panel: dict, ax) -> None:
    """tau [ms] against the step voltage [mV], log scale, with standard errors."""
    k, v = panel["result"], panel["v"]
    for name, fmt in (("tau1", "o"), ("tau2", "s")):
        if name in k.values:
            ax.errorbar(v * 1e3, k.values[name] * 1e3, k.stderr[name] * 1e3, fmt=fmt, ms=3,
                        label=name)
    ax.set_yscale("log")
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("tau [ms]")
    ax.legend(fontsize=7)


PROTOCOL = Protocol("kinetics", "time constants of each sweep's relaxation in --window",
                    Options, extract, analyse, draw)
