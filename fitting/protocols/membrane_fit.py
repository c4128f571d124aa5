"""The membrane test's analysis: access resistance, membrane resistance and capacitance from a voltage step.

The cell as the amplifier sees it: the access (series) resistance R_a in series with the
membrane, R_m parallel to C_m. A step of the command from V_hold to V_step (dV = V_step - V_hold)
at t = 0 gives, before the amplifier's filter,

    I(t) = I_ss + sum_k A_k exp(-t / tau_k),   t > 0,
    I_ss - I_hold = dV / (R_a + R_m),   sum_k A_k + I_ss - I_hold = dV / R_a,

one exponential (k = 1, tau = C_m R_a R_m / (R_a + R_m)) for the circuit, two where a slow
second component is present. The recorded peak is cut and delayed by the filter, so the decay is
fitted after the filter has settled (from twice the peak's delay after the edge to the end of
the step, or 500 time constants, or where the current turns back: ``passive_end``, a gated
current the step opens), and its amplitudes are tied to the edge by the transient's
charge, integrated over the samples (``membrane_charge``: R_a, R_m, C_m, the filter delay).

One or two exponentials: both are fitted (``fitting.kinetics``, one batched fit per model, time
from the edge); two are kept where their AICc, summed over the sweeps (independent recordings),
is lower than one exponential's by more than ``AICC_MARGIN`` (10: essentially no support for the
one-exponential model, Burnham & Anderson 2002), over the sweeps where both fits are usable (at
least half of those where one is), with both amplitudes of the step's sign in each.

A sweep whose charge implies a delay beyond the fit's start (or before the edge) is refused
(``OUT_OF_RANGE``): its transient rises more slowly than the circuit behind a filter that has
settled there allows (a real cell's fast component is often so), and its R_a, which rests on the
current at the edge, is not determined by the data.

Model-free (``membrane_samples``; reported in every sweep, the transient refused or not): the
holding current, the steady current I_ss at the step's end and ``input_resistance``
R_t = dV / (I_ss - I_hold) (refused where the current has not settled); the sample charge S
(``capacitance_from_charge`` = S / dV (R_t / R_m)^2). Model-based (the circuit, its decay and
the filter as a delay): tau, R_t (``total_resistance``, the fitted asymptote: the passive
cell's, which differs from ``input_resistance`` by a slow current that the step opens), R_a,
R_m, C_m, the filter delay.

I_hold is the mean current before the edge. Standard errors: the delta method (derivatives by
complex step, exact) on the decay fit's covariance (s^2 (J^T J)^-1), the standard error of
I_hold and the white-noise variance of the sample integral (holding-current SD), taken as
independent.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import Status, usable
from fitting.protocols.membrane_charge import (
    AICC_MARGIN,
    aicc,
    circuit,
    decay_covariance,
    decay_values,
)
from fitting.protocols.membrane_samples import (
    passive_end,
    sample_charge,
    steady_state,
    transient,
)
from fitting.protocols.membrane_summary import summarise

__all__ = ["MembraneTest", "QUANTITIES", "UNITS", "membrane_test"]

QUANTITIES = ("access_resistance", "membrane_resistance", "capacitance", "tau",
              "holding_current", "steady_current", "input_resistance", "total_resistance",
              "tau_slow", "charge", "filter_delay")
UNITS = {"access_resistance": "Ohm", "membrane_resistance": "Ohm", "capacitance": "F",
         "tau": "s", "holding_current": "A", "steady_current": "A", "input_resistance": "Ohm",
         "total_resistance": "Ohm", "tau_slow": "s", "charge": "C", "filter_delay": "s"}
# from the samples alone (``membrane_samples``), kept where the transient is refused; the rest
# come from the circuit and the fitted decay
MODEL_FREE = ("holding_current", "steady_current", "input_resistance")


@dataclasses.dataclass(frozen=True)
class MembraneTest:
    """Per-sweep results [SI] (arrays of shape (S,)): each of ``QUANTITIES`` in ``values`` and
    its standard error in ``stderr`` (``tau`` the fast time constant, ``tau_slow`` the second, NaN
    with one component; ``charge`` Q of the cell's transient [C]; ``filter_delay`` t_d [s]);
    ``capacitance_from_charge``: S / dV (R_t / R_m)^2 from the samples' charge S alone (no
    filter delay; model-free but for the factor (R_t / R_m)^2, about 1); ``misfit``: the decay
    fit's residual RMS / the SD of the holding current (near 1 when the model describes the
    transient); ``components``: 1 or 2 exponentials (one for the recording); ``delta_aicc``:
    AICc(two) - AICc(one), summed over the sweeps (NaN if two did not fit); ``alternative``:
    the same reading with the other number of exponentials (None where it fitted no sweep;
    ``summary`` compares the two); ``drift``: the steady current's drift over the step's last
    two fifths, a fraction of its step (``membrane_samples``); ``passive_end`` [s]: where the
    mean current turns back (``membrane_samples.passive_end``; ``end`` where it does not): the
    circuit is read before it; ``status``
    (``fitting.Status``: NO_SIGNAL for a sweep without a transient; NaN values where not
    usable); ``v_hold``, ``v_step`` [V], ``edge`` and ``end`` [s] (the step used)."""

    values: dict
    stderr: dict
    capacitance_from_charge: np.ndarray
    misfit: np.ndarray
    status: np.ndarray
    drift: np.ndarray
    v_hold: float
    v_step: float
    edge: float
    end: float
    passive_end: float
    components: int = 1
    delta_aicc: float = float("nan")
    alternative: MembraneTest | None = None

    def mean(self):
        """Mean over the usable sweeps (for ``MODEL_FREE``: the sweeps that give it) and its
        standard error (SD / sqrt(n)) of each quantity: dict name -> (mean, stderr, n). n < 2
        gives a NaN stderr."""
        ok = usable(self.status)
        out = {}
        for name in QUANTITIES:
            x = self.values[name][(ok | (name in MODEL_FREE)) & np.isfinite(self.values[name])]
            se = np.std(x, ddof=1) / np.sqrt(len(x)) if len(x) > 1 else np.nan
            out[name] = (float(np.mean(x)) if len(x) else np.nan, float(se), len(x))
        return out

    def summary(self) -> dict:
        """The summary over the usable sweeps that one bad sweep cannot move: dict name ->
        ``membrane_summary.Summary`` (median, its standard error, n, the spread, the sweeps
        that disagree with the rest), for ``QUANTITIES`` and ``capacitance_from_charge``."""
        ok = usable(self.status)
        out = {q: summarise(self.values[q], self.stderr[q],
                            np.isfinite(self.values[q]) if q in MODEL_FREE else ok)
               for q in QUANTITIES}
        out["capacitance_from_charge"] = summarise(
            self.capacitance_from_charge, np.full(len(ok), np.nan), ok)
        return out


def _unpack(x, dv, width):
    """``circuit`` of x = (i_hold, s_raw, c, b_1, tau_1, ...) (S, 3 + 2K)."""
    return circuit(x[:, 0], x[:, 1], x[:, 2], x[:, 3::2], x[:, 4::2], dv=dv, width=width)


def _stderr(x, cov, dv, width):
    """Delta-method standard errors of ``_unpack`` at x (S, P) with covariance (S, P, P)."""
    grads = {}
    for j in range(x.shape[1]):
        h = 1e-20 * np.maximum(np.abs(x[:, j]), 1e-300)
        z = x.astype(complex)
        z[:, j] += 1j * h
        for name, value in _unpack(z, dv, width).items():
            grads.setdefault(name, np.zeros_like(x))[:, j] = value.imag / h
    return {name: np.sqrt(np.einsum("si,sij,sj->s", g, cov, g)) for name, g in grads.items()}


def _decays(t, i, edge, start, stop, dv):
    """One and two exponentials fitted to i[:, start:stop] (time from the edge): per model,
    (status, c, b (S, K), tau (S, K), rss). The fits start from amplitudes of the step's sign
    (a charging current; ``fitting.models.relaxation``): two free exponentials may fit best as
    one decay plus a slow drift of the other sign, which the circuit does not describe."""
    from fitting.protocols.kinetics import kinetics

    x, y = t[start:stop] - edge, i[:, start:stop]
    out = {}
    for k in (1, 2):
        with np.errstate(invalid="ignore"):  # kinetics' stderr of a degenerate second exp
            res = kinetics(t[start:stop], y, components=k, sign=int(np.sign(dv)), origin=edge)
        v = res.values
        b = np.stack([v[f"a{j}"] for j in range(1, k + 1)], axis=1)
        tau = np.stack([v[f"tau{j}"] for j in range(1, k + 1)], axis=1)
        with np.errstate(invalid="ignore"):
            rss = np.sum((y - decay_values(x, v["c"], b, tau)) ** 2, axis=1)
        out[k] = (np.asarray(res.status), v["c"], b, tau, rss)
    return x, y, out


def _choose(out, n, dv):
    """1 or 2 components (see the module) and the summed AICc difference."""
    ok1, ok2 = usable(out[1][0]), usable(out[2][0])
    both = ok1 & ok2
    if not both.any() or 2 * both.sum() < ok1.sum():
        return 1, float("nan")
    delta = float(np.sum(aicc(out[2][4][both], n, 5) - aicc(out[1][4][both], n, 3)))
    same_sign = np.all(out[2][2][both] * dv > 0)
    return (2 if delta < -AICC_MARGIN and same_sign else 1), delta


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
      ValueError: a step of 0 V, a window outside ``t`` or too short, non-finite data, no
        capacitive transient in any sweep (its charge within 5 standard errors of zero, or of
        the sign opposite to the step's).
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
    dt = t[1] - t[0]
    base = i[:, before]
    i_hold = base.mean(axis=1)
    noise = base.std(axis=1, ddof=1)
    first = np.flatnonzero(step)[0]
    last = np.flatnonzero(step)[-1] + 1
    k0 = first - 1
    head = np.abs(np.mean(i[:, first:first + max((last - first) // 10, 1)] - i_hold[:, None],
                          axis=0))
    peak = int(np.argmax(head)) + 1  # the mean transient's peak, in samples after k0
    start = k0 + max(2 * peak, peak + 1)  # the filter has settled
    # the passive response ends where the current turns back (a gated current): ``cut``
    cut = passive_end(i, start, last, i_hold, noise, dv)
    # the 1/e time of the mean decay from there bounds the fitted window (500 of it)
    late = np.mean(i[:, cut - max((cut - start) // 5, 1):cut], axis=0).mean()
    drop = np.abs(np.mean(i[:, start:cut], axis=0) - late)
    below = np.flatnonzero(drop < drop[0] / np.e)
    tau_e = t[start + below[0]] - t[start] if below.size else t[cut - 1] - t[start]
    stop = min(cut, start + max(int(500 * max(tau_e, dt) / dt), 20))
    if stop - start < 20:
        raise ValueError(f"fewer than 20 samples of the decay after the transient's peak "
                         f"({t[k0 + peak] * 1e3:g} ms) before the step's end ({end} s)")
    found = transient(t, i, edge, end, max(tau_e, dt), i_hold, noise, dv)
    steady = steady_state(i, step, i_hold, noise, base.shape[1], dv)
    x, y, out = _decays(t, i, edge, start, stop, dv)
    components, delta = _choose(out, x.size, dv)
    read = dict(t=t, i=i, edge=edge, end=end, cut=t[cut - 1] if cut < last else end, last=last,
                start=start, dv=dv, i_hold=i_hold, noise=noise, base=base, x=x, y=y, transient=found, steady=steady,
                v_hold=float(v_hold), v_step=float(v_step))
    other = None
    if usable(out[3 - components][0]).any():  # the other model's reading, where it fitted
        other = _reading(out[3 - components], 3 - components, read, delta, signs=True)
    return dataclasses.replace(_reading(out[components], components, read, delta),
                               alternative=other)


def _reading(fit, components, r, delta, signs=False):
    """The ``MembraneTest`` of one decay model's fits ``fit`` (``_decays``' (status, c, b, tau,
    rss)) on the numbers ``r`` of ``membrane_test``; ``signs``: a sweep with an amplitude of
    the sign opposite to the step's is OUT_OF_RANGE (the model not chosen, which ``_choose``
    has not checked)."""
    t, i, dv, noise, base, x, y = (r[k] for k in ("t", "i", "dv", "noise", "base", "x", "y"))
    edge, start, dt = r["edge"], r["start"], t[1] - t[0]
    status, c, b, tau, rss = fit
    tau_max = float(np.nanmax(tau)) if np.any(np.isfinite(tau)) else t[r["last"] - 1] - edge
    s_raw, w, _, _, width = sample_charge(t, i, edge, r["cut"], tau_max, r["i_hold"])
    xs = np.concatenate([np.stack([r["i_hold"], s_raw, c], axis=1),
                         np.stack([b, tau], axis=2).reshape(len(i), -1)], axis=1)
    cov = np.zeros((len(i), xs.shape[1], xs.shape[1]))
    cov[:, 0, 0] = noise ** 2 / base.shape[1]
    cov[:, 1, 1] = noise ** 2 * np.sum(w ** 2)
    cov[:, 2:, 2:] = decay_covariance(x, y, c, b, tau)
    with np.errstate(all="ignore"):
        values = _unpack(xs, dv, width)
        stderr = _stderr(xs, cov, dv, width)
    s = values.pop("sample_charge")
    stderr.pop("sample_charge")
    ra, rm, t_d = (values[k] for k in ("access_resistance", "membrane_resistance",
                                       "filter_delay"))
    # the filter must have settled where the decay is fitted: a delay beyond the fit's start
    # (or before the edge) is a transient the circuit behind a filter does not describe
    physical = (np.isfinite(ra) & (ra > 0) & (rm > 0) & (t_d > -dt) & (t_d < t[start] - edge)
                & (np.all(b * dv > 0, axis=1) | (not signs)))
    status = np.where(usable(status) & ~r["transient"], Status.NO_SIGNAL,
                      np.where(usable(status) & ~physical, Status.OUT_OF_RANGE, status))
    good = usable(status)
    if components == 1:
        values["tau_slow"] = stderr["tau_slow"] = np.full(len(i), np.nan)
    from_charge = s / dv * (values["total_resistance"] / rm) ** 2
    misfit = np.sqrt(rss / x.size) / noise
    values = {k: np.where(good, v, np.nan) for k, v in values.items()}
    stderr = {k: np.where(good, v, np.nan) for k, v in stderr.items()}
    values["holding_current"], stderr["holding_current"] = r["i_hold"], np.sqrt(cov[:, 0, 0])
    for k in MODEL_FREE[1:]:  # the samples' own, whatever the decay
        values[k], stderr[k] = r["steady"][k], r["steady"][k + "_se"]
    return MembraneTest(values=values, stderr=stderr,
                        capacitance_from_charge=np.where(good, from_charge, np.nan),
                        misfit=np.where(good, misfit, np.nan), status=status,
                        drift=r["steady"]["drift"],
                        v_hold=r["v_hold"], v_step=r["v_step"], edge=float(edge),
                        end=float(r["end"]), passive_end=float(r["cut"]),
                        components=components, delta_aicc=delta)
