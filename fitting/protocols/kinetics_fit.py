"""Time constants of current relaxations: I(t) = c + sum_k a_k exp(-t / tau_k), one batched fit.

Each sweep's relaxation (activation, deactivation or inactivation after a voltage step, time t
from the window's start) is fitted with one or two exponentials and an offset c (the steady
current). The engine takes the sweeps as recordings with time as the independent variable.
Each sweep is first put on a common scale: time in units of its own 1/e time tau0 (where
|I - I_late| first falls below 1/e of its first value) and current in units of its first
excursion I(0) - I_late, so one set of starting values (c = 0, a = 1, tau = 1; two components:
a = 0.7, 0.3 and tau = 0.5, 3) suits every sweep whatever its size and speed. The parameters
and their standard errors are mapped back exactly (they scale linearly).
"""

import dataclasses

import numpy as np

from fitting.engine.batch import fit
from fitting.engine.status import Status, usable
from fitting.models.user import Model

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


_MODELS = {
    1: Model(_one, params=dict(c=0.0, a1=_I_UNIT, tau1=_T_UNIT), positive=("tau1",),
             name="one exponential"),
    2: Model(_two, params=dict(c=0.0, a1=0.7 * _I_UNIT, tau1=0.5 * _T_UNIT, a2=0.3 * _I_UNIT,
                               tau2=3 * _T_UNIT), positive=("tau1", "tau2"),
             name="two exponentials"),
}


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


def kinetics(t, i, *, components=1, origin=None):
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
    if components not in _MODELS:
        raise ValueError(f"components must be 1 or 2; got {components!r}")
    t = np.asarray(t, float)
    i = np.atleast_2d(np.asarray(i, float))
    model = _MODELS[components]
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
        raise ValueError("the window is over 1000 times the relaxation's time constant: "
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
