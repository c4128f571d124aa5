"""The membrane test's analysis: access resistance, membrane resistance and capacitance from a voltage step.

The cell as the amplifier sees it: the access (series) resistance R_a in series with the
membrane, R_m parallel to C_m. A step of the command from V_hold to V_step (dV = V_step - V_hold)
at t = 0 gives

    I(t) = I_ss + A exp(-t / tau),      t > 0,
    I_ss - I_hold = dV / (R_a + R_m),   A + I_ss - I_hold = dV / R_a,
    tau = C_m R_a R_m / (R_a + R_m),

so R_t = R_a + R_m = dV / (I_ss - I_hold), R_a = dV / (A + I_ss - I_hold) (the transient
extrapolated back to the edge: the recorded peak is cut by the amplifier's filter),
R_m = R_t - R_a and C_m = tau (1 / R_a + 1 / R_m). The charge under the transient,
Q = A tau = C_m dV (R_m / (R_a + R_m))^2, gives the same C_m; ``capacitance_from_charge``
integrates the recorded transient (trapezoid, from the edge, minus I_ss) for a model-free check.

I_hold is the mean current before the edge; A, tau and I_ss come from one batched fit of the
decay (``fitting.fit``, one recording per sweep), from the sample after the transient's peak to
the end of the step. Standard errors: the delta method on the fit covariance of (I_ss, A, tau)
and the standard error of I_hold (independent), the derivatives by complex step (exact).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import Status, usable

__all__ = ["MembraneTest", "QUANTITIES", "UNITS", "membrane_test"]

QUANTITIES = ("access_resistance", "membrane_resistance", "capacitance", "tau",
              "holding_current", "total_resistance")
UNITS = {"access_resistance": "Ohm", "membrane_resistance": "Ohm", "capacitance": "F",
         "tau": "s", "holding_current": "A", "total_resistance": "Ohm"}


def _decay(params, t):
    import jax.numpy as jnp

    return params["i_ss"] + params["amp"] * jnp.exp(-t / params["tau"])


@dataclasses.dataclass(frozen=True)
class MembraneTest:
    """Per-sweep results [SI] (arrays of shape (S,)): each of ``QUANTITIES`` in ``values`` and
    its standard error in ``stderr``; ``capacitance_from_charge`` (model-free check, no
    stderr); ``misfit``: the decay fit's residual RMS / the SD of the holding current (near 1
    when one exponential describes the transient; a slow second component or active currents
    make it larger, and R_a, R_m, C_m then describe the one-exponential approximation);
    ``status`` (``fitting.Status`` codes of the decay fits; NaN values where not
    usable); ``v_hold``, ``v_step`` [V], ``edge`` and ``end`` [s] (the step used)."""

    values: dict
    stderr: dict
    capacitance_from_charge: np.ndarray
    misfit: np.ndarray
    status: np.ndarray
    v_hold: float
    v_step: float
    edge: float
    end: float

    def mean(self):
        """Mean over the usable sweeps and its standard error (SD / sqrt(n)) of each
        quantity: dict name -> (mean, stderr, n). n < 2 gives a NaN stderr."""
        ok = usable(self.status)
        out = {}
        for name in QUANTITIES:
            x = self.values[name][ok & np.isfinite(self.values[name])]
            se = np.std(x, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
            out[name] = (float(np.mean(x)) if len(x) else np.nan, float(se), len(x))
        return out


def _derived(i_hold, i_ss, amp, tau, dv):
    """R_a, R_m, C_m, tau, I_hold, R_t from the fitted decay (works on complex input)."""
    total = dv / (i_ss - i_hold)
    access = dv / (amp + i_ss - i_hold)
    membrane = total - access
    return dict(access_resistance=access, membrane_resistance=membrane,
                capacitance=tau * (1 / access + 1 / membrane), tau=tau, holding_current=i_hold,
                total_resistance=total)


def _stderr(x, cov, dv):
    """Delta-method standard errors of ``_derived`` at x = (i_hold, i_ss, amp, tau) (S, 4) with
    covariance ``cov`` (S, 4, 4); gradients by complex step."""
    grads = {name: np.zeros_like(x) for name in QUANTITIES}
    for j in range(4):
        h = 1e-20 * np.maximum(np.abs(x[:, j]), 1e-300)
        z = x.astype(complex)
        z[:, j] += 1j * h
        for name, value in _derived(*z.T, dv).items():
            grads[name][:, j] = value.imag / h
    return {name: np.sqrt(np.einsum("si,sij,sj->s", g, cov, g)) for name, g in grads.items()}


def membrane_test(t: ArrayLike, i: ArrayLike, *, v_hold: float, v_step: float, edge: float,
                  end: float, hold_start: float | None = None) -> MembraneTest:
    """Access resistance, membrane resistance and capacitance of each sweep (see the module).

    Args:
      t: (n,) sample times [s], increasing and evenly spaced.
      i: (S, n) or (n,) membrane current of each sweep [A].
      v_hold, v_step: command voltage before and during the step [V] (scalars).
      edge, end: times of the step's onset and end [s]; at least 5 samples before the edge and
        20 samples in the step.
      hold_start: time [s] from which the command is at ``v_hold`` (default ``t[0]``); the
        holding current is the mean over the last 80% of [hold_start, edge).
    Returns:
      ``MembraneTest``.

    Raises:
      ValueError: a step of 0 V, a window outside ``t`` or too short, non-finite data.
    """
    t = np.asarray(t, float)
    i = np.atleast_2d(np.asarray(i, float))
    if t.ndim != 1 or i.shape[-1] != t.size:
        raise ValueError(f"t must be (n,) and i (sweeps, n); got t {t.shape}, i {i.shape}")
    dv = float(v_step) - float(v_hold)
    if not np.isfinite(dv) or dv == 0:
        raise ValueError(f"the step must change the command: v_hold {v_hold} V, v_step "
                         f"{v_step} V")
    if abs(v_hold) > 2 or abs(v_step) > 2:
        raise ValueError(f"v_hold and v_step are in V (SI); got {v_hold}, {v_step}")
    hold_start = t[0] if hold_start is None else float(hold_start)
    before = (t < edge) & (t >= hold_start + 0.2 * (edge - hold_start))
    step = (t > edge) & (t < end)
    if before.sum() < 5 or step.sum() < 20:
        raise ValueError(f"need >= 5 samples before the edge ({edge} s) and >= 20 in the step "
                         f"(to {end} s); t spans {t[0]} .. {t[-1]} s")
    if not np.all(np.isfinite(i[:, before | step])):
        raise ValueError("the current has non-finite samples around the step")
    base = i[:, before]
    i_hold = base.mean(axis=1)
    i_hold_se = base.std(axis=1, ddof=1) / np.sqrt(base.shape[1])
    first = np.flatnonzero(step)[0]
    head = step & (t < edge + 0.1 * (end - edge))  # the peak lies in the first tenth
    peak = np.argmax(np.abs(i[:, head] - i_hold[:, None]), axis=1) + first
    start = int(np.max(peak)) + 1  # one window for all sweeps: one batched fit
    x = t[start:] - edge
    keep = t[start:] < end
    x, y = x[keep], i[:, start:][:, keep]
    late = y[:, -max(len(x) // 5, 1):].mean(axis=1)
    # tau start: where the mean transient falls to 1/e of its first value
    drop = np.abs(np.mean(y - late[:, None], axis=0))
    below = np.flatnonzero(drop < drop[0] / np.e)
    tau0 = max(x[below[0]] if below.size else x[-1] / 5, x[1] - x[0])
    amp0 = float(np.median(y[:, 0] - late) * np.exp(x[0] / tau0)) or -1e-12
    from fitting.engine.batch import fit
    from fitting.models.user import Model

    model = Model(_decay, params=dict(i_ss=float(np.median(late)) or 1e-12, amp=amp0, tau=tau0),
                  positive=("tau",), name="membrane-test decay")
    res = fit(model, x, y)
    ok = usable(res.status)
    misfit = np.sqrt(np.mean((y - np.asarray(res.predict(x))) ** 2, axis=1)) / base.std(axis=1)
    par = np.stack([res.params["i_ss"], res.params["amp"], res.params["tau"]], axis=-1)
    values = _derived(i_hold, *par.T, dv)
    cov = np.zeros((len(i), 4, 4))
    cov[:, 0, 0] = i_hold_se ** 2
    cov[:, 1:, 1:] = res.covariance
    xs = np.concatenate([i_hold[:, None], par], axis=1)
    stderr = _stderr(xs, cov, dv)
    dt = t[1] - t[0]
    transient = i[:, step] - par[:, :1]
    q = dt * (transient.sum(axis=1) - 0.5 * (transient[:, 0] + transient[:, -1]))
    # between the edge and the first sample: the fitted exponential's integral
    q += par[:, 1] * par[:, 2] * -np.expm1(-(t[first] - edge) / par[:, 2])
    rm, ra = values["membrane_resistance"], values["access_resistance"]
    from_charge = q / dv * ((ra + rm) / rm) ** 2
    status = np.where(ok & ~(np.isfinite(ra) & (ra > 0) & (rm > 0)), Status.OUT_OF_RANGE,
                      res.status)
    good = usable(status)
    values = {k: np.where(good, v, np.nan) for k, v in values.items()}
    stderr = {k: np.where(good, v, np.nan) for k, v in stderr.items()}
    return MembraneTest(values=values, stderr=stderr,
                        capacitance_from_charge=np.where(good, from_charge, np.nan),
                        misfit=misfit,
                        status=status, v_hold=float(v_hold), v_step=float(v_step),
                        edge=float(edge), end=float(end))
