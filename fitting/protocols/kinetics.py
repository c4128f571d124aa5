"""The kinetics protocol. Time constants of current relaxations: I(t) = c + sum_k a_k exp(-t / tau_k), one batched fit.

Each sweep's relaxation (activation, deactivation or inactivation after a voltage step, time t
from the window's start) is fitted with one or two exponentials and an offset c (the steady
current). The engine takes the sweeps as recordings with time as the independent variable.
Each sweep is first put on a common scale: time in units of its own 1/e time tau0 (where
|I - I_late| first falls below 1/e of its first value) and current in units of its first
excursion I(0) - I_late, so one set of starting values (c = 0, a = 1, tau = 1; two components:
a = 0.7, 0.3 and tau = 0.5, 3) suits every sweep whatever its size and speed. The parameters
and their standard errors are mapped back exactly (they scale linearly).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import Status, usable
from fitting.outputs.table import make_row
from fitting.protocols.base import Analysis, Protocol, estimate_text, option

__all__ = ["Kinetics", "Options", "PROTOCOL", "analyse", "draw", "extract", "kinetics",
           "status_text"]

# the engine refuses data outside patch-clamp SI ranges (|v| <= 2, |i| <= 1e-3): the unitless
# scaled time and current enter it as these multiples (they cancel exactly)
_T_UNIT, _I_UNIT = 1e-3, 1e-10


def _one(params, s):
    import jax.numpy as jnp

    return params["c"] + params["a1"] * jnp.exp(-s / params["tau1"])


def _two(params, s):
    import jax.numpy as jnp

    return (params["c"] + params["a1"] * jnp.exp(-s / params["tau1"])
            + params["a2"] * jnp.exp(-s / params["tau2"]))


@functools.cache
def _model(components):
    """The relaxation model of 1 or 2 exponentials (built on first use: it imports jax)."""
    from fitting.models.user import Model

    if components == 1:
        return Model(_one, params=dict(c=0.0, a1=_I_UNIT, tau1=_T_UNIT), positive=("tau1",),
                     name="one exponential")
    return Model(_two, params=dict(c=0.0, a1=0.7 * _I_UNIT, tau1=0.5 * _T_UNIT,
                                   a2=0.3 * _I_UNIT, tau2=3 * _T_UNIT),
                 positive=("tau1", "tau2"), name="two exponentials")


@dataclasses.dataclass(frozen=True)
class Kinetics:
    """Fitted relaxations [SI], arrays of shape (S,): ``values`` and ``stderr`` dicts with
    ``c`` [A] and ``a1``, ``tau1`` (and ``a2``, ``tau2``) [A, s], ordered tau1 <= tau2, the
    amplitudes at the origin; ``at_origin`` [A], the fitted current at the origin;
    ``status`` (``fitting.Status``; NO_SIGNAL for a sweep whose first current is within 3 SD
    of its steady level, no relaxation; UNIDENTIFIABLE where a time constant exceeds the window
    from the origin to the last sample, so that it and the amplitudes are not pinned down; NaN
    values where not usable)."""

    values: dict
    stderr: dict
    status: np.ndarray


def kinetics(t: ArrayLike, i: ArrayLike, *, components: int = 1,
             origin: float | None = None) -> Kinetics:
    """Fit c + sum_k a_k exp(-t / tau_k) to each sweep (see the module).

    Args:
      t: (n,) sample times [s], increasing.
      origin: the time [s] at which the amplitudes a_k are reported and ``at_origin`` is
        evaluated (<= t[0]; default t[0]): e.g. the onset of the step, to extrapolate a tail
        current back over the capacitive transient that the window skips.
      i: (S, n) or (n,) currents [A].
      components: 1 or 2 exponentials.

    Returns:
      ``Kinetics``.

    Raises:
      ValueError: bad shapes or components, fewer than 3 points per parameter, non-finite
        data, a window beyond 1000 time constants.
    """
    from fitting.engine.batch import fit

    if components not in (1, 2):
        raise ValueError(f"components must be 1 or 2; got {components!r}")
    t = np.asarray(t, float)
    i = np.atleast_2d(np.asarray(i, float))
    model = _model(components)
    if t.ndim != 1 or i.shape[-1] != t.size or t.size < 3 * model.n_params:
        raise ValueError(f"t must be (n,) with n >= {3 * model.n_params} and i (sweeps, n); "
                         f"got t {t.shape}, i {i.shape}")
    if np.any(np.diff(t) <= 0) or not np.all(np.isfinite(i)) or not np.all(np.isfinite(t)):
        raise ValueError("t must increase, and t and i must be finite")
    late = i[:, -max(t.size // 10, 2):].mean(axis=1)
    first = i[:, 0] - late
    excursion = np.abs(i - late[:, None])
    # a sweep whose first current is within 3 SD of its steady level has nothing to fit
    flat = excursion[:, 0] <= 3 * np.std(i[:, -max(t.size // 10, 2):], axis=1)
    first = np.where(flat, 1.0, first)
    below = excursion < excursion[:, :1] / np.e
    tau0 = np.where(below.any(axis=1), t[np.argmax(below, axis=1)] - t[0], t[-1] - t[0]) / 2
    tau0 = np.where(flat, t[-1] - t[0], np.maximum(tau0, t[1] - t[0]))
    origin = t[0] if origin is None else float(origin)
    if not origin <= t[0]:
        raise ValueError(f"origin ({origin} s) must not lie after the first sample ({t[0]} s)")
    s = (t[None, :] - origin) / tau0[:, None] * _T_UNIT
    if np.any(s > 2):  # a window of more than 2000 tau0: beyond the engine's range
        k = int(np.argmax(s.max(axis=1)))
        raise ValueError(f"sweep {k}: the window ({(t[-1] - origin) * 1e3:.4g} ms) is over "
                         f"1000 times the relaxation's time constant found there "
                         f"({tau0[k] * 1e3:.3g} ms, from the current's first drop to 1/e): "
                         "shorten it to the relaxation")
    y = (i - late[:, None]) / first[:, None] * _I_UNIT
    mask = np.broadcast_to(~flat[:, None], y.shape)
    res = fit(model, s, np.where(mask, y, 0.0), mask=mask)
    status = np.where(flat, Status.NO_SIGNAL, np.asarray(res.status))
    good = usable(status)
    scale = {"c": first / _I_UNIT, "a1": first / _I_UNIT, "a2": first / _I_UNIT,
             "tau1": tau0 / _T_UNIT, "tau2": tau0 / _T_UNIT}
    values = {k: np.asarray(res.params[k]) * scale[k] for k in model.param_names}
    stderr = {k: np.asarray(res.stderr[k]) * np.abs(scale[k]) for k in model.param_names}
    values["c"] = values["c"] + late
    if components == 2:  # order the components by time constant
        swap = values["tau1"] > values["tau2"]
        for name in ("a", "tau"):
            for d in (values, stderr):
                one, two = d[f"{name}1"].copy(), d[f"{name}2"].copy()
                d[f"{name}1"], d[f"{name}2"] = np.where(swap, two, one), np.where(swap, one, two)
    # a time constant beyond the window is not pinned down (c and the a_k run off together)
    longest = values["tau2"] if components == 2 else values["tau1"]
    status = np.where(usable(status) & ~(longest <= t[-1] - origin), Status.UNIDENTIFIABLE,
                      status)
    good = usable(status)
    # the current at the origin, c + sum a_k, with the covariance of c and the a_k
    g = np.array([1.0 if n[0] in "ca" else 0.0 for n in model.param_names])
    var = np.einsum("i,sij,j->s", g, np.asarray(res.covariance), g)
    values["at_origin"] = sum(values[n] for n in model.param_names if n[0] in "ca")
    stderr["at_origin"] = np.sqrt(var) * np.abs(first) / _I_UNIT
    values = {k: np.where(good, x, np.nan) for k, x in values.items()}
    stderr = {k: np.where(good, x, np.nan) for k, x in stderr.items()}
    return Kinetics(values=values, stderr=stderr, status=status)


@dataclasses.dataclass(frozen=True)
class Options:
    """Options of the kinetics protocol (``ionjax analyze --protocol kinetics``)."""

    channel: int | None = option(help="ADC channel of the current (default 0)")
    window: str | None = option(help="fitted window 'start,stop' (default '1ms,100%')")
    epoch: int | None = option(help="index of the step epoch (default: automatic)")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")
    components: int | None = option(help="kinetics: exponentials per sweep (default 1)",
                                    parse="int", choices=(1, 2))


def extract(path, options: Options) -> tuple:
    """(path, relaxations) of the recording (``fitting.io.relaxations_from_abf``)."""
    from fitting.protocols.base import parse_window
    from fitting.protocols.kinetics_read import relaxations_from_abf

    window = parse_window(options.window, ("1ms", "100%"))
    return path, relaxations_from_abf(path, channel=options.channel or 0, epoch=options.epoch,
                                      window=window, current_unit=options.current_unit)


def status_text(status) -> str:
    """A relaxation fit's status in words (UNIDENTIFIABLE: its time constant exceeds the
    window, see ``kinetics``)."""
    if int(status) == Status.UNIDENTIFIABLE:
        return "time constant not pinned down: longer than the window"
    return Status(int(status)).message


def analyse(data: tuple, options: Options) -> Analysis:
    """Time constants of each sweep's relaxation and the printed report.

    Args:
      data: ``extract``'s (path, relaxations dict with ``t`` (n,) [s], ``i`` (S, n) [A],
        ``v`` (S,) [V], ``epoch``).
      options: ``Options`` (``components``).

    Returns:
      ``Analysis`` with ``result`` the ``Kinetics``.
    """
    path, r = data
    components = options.components or 1
    k = kinetics(r["t"], r["i"], components=components)
    lines = [f"{path}: epoch {r['epoch']}, window {r['t'][0] * 1e3:g}-{r['t'][-1] * 1e3:g} ms, "
             f"{len(r['v'])} sweeps, {components} exponential(s)"]
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
        lines.append(f"    {v * 1e3:7.1f} mV: " + (
            f"tau {taus}" if np.isfinite(k.values["tau1"][s])
            else f"refused ({status_text(k.status[s])})"))
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
