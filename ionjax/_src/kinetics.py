"""Gating in time: Hodgkin-Huxley gates and Markov schemes under a sampled voltage protocol.

A gate x opens with rate alpha(v) and closes with rate beta(v):

    dx/dt = alpha (1 - x) - beta x = (x_inf - x) / tau,
    x_inf = alpha / (alpha + beta),  tau = 1 / (alpha + beta).

A Markov scheme of n states has occupancies p (summing to 1) with dp/dt = Q(v) p, where the
generator Q holds the rate from state j to state i at Q[i, j] (i != j) and Q[j, j] = -sum of
column j's other entries (each column sums to zero; probability is conserved).

Both are linear in the state for a given voltage. A recorded protocol is sampled: this module
holds the voltage constant over each sample interval [t_n, t_n + dt) (zero-order hold, how a
digital amplifier applies a command), and then each interval has an **exact** solution,

    x(t_n + dt) = x_inf + (x(t_n) - x_inf) exp(-dt / tau),      p(t_n + dt) = expm(Q dt) p(t_n),

with no step-size error and no stiffness limit (a gate with tau << dt simply lands on x_inf).
Each step is kept as its departure from the identity (1 - exp(-dt / tau) by expm1, expm(Q dt) - I
without cancellation), so a step with dt << tau keeps full relative precision in float32.

Why the exact step and not an adaptive solver. Every Hodgkin-Huxley gate and every Markov scheme
with rates that depend on the voltage only is a *linear* ODE in its state for a given voltage,
and a sampled protocol holds the voltage constant over each sample: the solution is then the
exact step above, per sample, with no tolerance to choose. An adaptive solver (diffrax's Kvaerno5
or Tsit5 with a PID controller, scipy's BDF, CVODE as in Beattie et al.) must restart at every
one of the 80,000 sample edges of an 8 s protocol (or step across them and lose its order), so
it is slower and only as accurate as its tolerance; tests/test_gating_current.py cross-checks
``gate_trace`` against diffrax (Tsit5, PID controller, rtol 1e-12: 1e-12 apart) and
tests/test_kinetics_time.py against scipy's BDF. diffrax is the right tool for *non-linear*
models, which this module does not cover: a rate that depends on the state (e.g. a
concentration-dependent rate with ion accumulation), a voltage that the current itself changes
(current clamp, a neuron), or a voltage given as a continuous function rather than samples.

The exact steps are affine maps x -> A x + B, and a sequence of affine maps is composed by
``jax.lax.associative_scan`` in O(log T) depth: a whole trace costs a few vectorised passes,
differentiates in forward and reverse mode, and rounds like a tree of T products (error about
log2(T) ulp), not a chain of T.

The current of N channels with open probability P_open(t) (a product of gates, or the summed
occupancy of the open states of a scheme) is P_open times the open channels' current: ohmic,
I = g P_open (v - E_rev) (``gated_ohmic_current``), or GHK,
I = P_open p z F [c_in f(-u) - c_out f(u)] (``gated_ghk_current``, built on ``ghk_current``).

Rate laws (rates in 1/s, v in V):

    exponential:  k(v) = rate * exp(sensitivity * v)                 (Beattie et al. 2018)
    boltzmann:    k(v) = rate / (1 + exp(-(v - v_half) / slope))     (saturating)

Reference: Hodgkin & Huxley (1952) J Physiol 117:500; Colquhoun & Hawkes (1995) in Single-Channel
Recording ch. 18; Beattie et al. (2018) J Physiol 596:1813.
"""

import jax
import jax.numpy as jnp

from ionjax._src._common import as_float, check_concrete, nan_unless
from ionjax._src.ghk import ghk_current
from ionjax._src.validation import MAX_VOLTAGE

__all__ = [
    "gate_steady_state", "gate_trace", "gated_ghk_current", "gated_ohmic_current",
    "markov_generator", "markov_steady_state", "markov_trace", "rate_boltzmann",
    "rate_exponential",
]


def rate_exponential(v, rate, sensitivity):
    """Exponential rate law k(v) = rate * exp(sensitivity * v).

    Args:
      v: membrane potential [V], any shape.
      rate: the rate at 0 V [1/s], >= 0.
      sensitivity: d ln k / dv [1/V]; > 0 for a rate that rises with depolarization. (A paper's
        p2 in 1/mV is 1000 * p2 in 1/V.)

    Returns:
      k [1/s], broadcast shape; NaN where ``rate`` < 0.
    """
    v, rate, sensitivity = as_float(v, rate, sensitivity)
    return nan_unless(rate >= 0, rate * jnp.exp(sensitivity * v))


def rate_boltzmann(v, rate, v_half, slope):
    """Saturating (Boltzmann-form) rate law k(v) = rate / (1 + exp(-(v - v_half) / slope)).

    Args:
      v: membrane potential [V], any shape.
      rate: the maximal rate [1/s], >= 0.
      v_half: the potential of half-maximal rate [V].
      slope: slope factor [V], non-zero; > 0 for a rate that rises with depolarization.

    Returns:
      k [1/s], broadcast shape; NaN where ``rate`` < 0 or ``slope`` == 0.
    """
    v, rate, v_half, slope = as_float(v, rate, v_half, slope)
    k = rate * jax.nn.sigmoid((v - v_half) / slope)
    return nan_unless((rate >= 0) & (slope != 0), k)


def gate_steady_state(alpha, beta):
    """Steady state and time constant of a gate: x_inf = alpha / (alpha + beta), tau = 1 / (alpha + beta).

    Args:
      alpha: opening rate [1/s], >= 0.
      beta: closing rate [1/s], >= 0 (alpha + beta > 0).

    Returns:
      (x_inf [dimensionless], tau [s]), broadcast shapes; NaN where a rate is negative or both are 0.
    """
    alpha, beta = as_float(alpha, beta)
    total = alpha + beta
    valid = (alpha >= 0) & (beta >= 0) & (total > 0)
    safe = jnp.where(valid, total, 1)
    return nan_unless(valid, alpha / safe), nan_unless(valid, 1 / safe)


def _relax(earlier, later):
    """``later o earlier`` for elementwise affine maps x -> x - c x + b, kept as (c, b).

    c = 1 - exp(-dt / tau) is the fraction relaxed. Storing c rather than exp(-dt / tau) keeps
    its relative precision when dt << tau (1 - 0.999 in float32 keeps 4 digits; expm1 keeps 7).
    """
    c1, b1 = earlier
    c2, b2 = later
    return c1 + c2 * (1 - c1), b1 - c2 * b1 + b2


def _chain(earlier, later):
    """``later o earlier`` for linear maps I + E, kept as E: (I + E2)(I + E1) = I + E1 + E2 + E2 E1."""
    return earlier + later + later @ earlier


EXPM_THETA = 0.5  # the Taylor series is summed for |X / 2^s|_1 <= 0.5 (14 terms: 1e-16)
EXPM_TERMS = 14
EXPM_SQUARINGS = 40  # at most 40 squarings: |X|_1 up to 5e11 (a rate of 5e15 /s at dt 0.1 ms)


def _small_matmul(a, b):
    """a @ b for small matrices (..., n, n) as element-wise products and a sum, which XLA fuses
    with the Taylor sum and the squarings around it (n is a handful of states)."""
    return jnp.sum(a[..., :, :, None] * b[..., None, :, :], axis=-2)


def _expm_minus_identity(x):
    """expm(X) - I without cancellation, by scaling and squaring in the departure from I.

    With s = ceil(log2(|X|_1 / 0.5)) (at least 0), E_0 = expm(X / 2^s) - I is the Taylor sum
    X' (I + X'/2 (I + X'/3 (...))) of 14 terms (truncation below 1e-16 for |X'|_1 <= 0.5), and
    each squaring uses expm(2Y) - I = (I + E)^2 - I = E (E + 2I), never forming I + E. Error
    relative to |E|: about 2^s eps (each squaring doubles a column-sum error; against mpmath in
    tests/test_markov_step.py). Shapes (..., n, n); NaN beyond 40 squarings (|X|_1 > 5e11)."""
    n = x.shape[-1]
    eye = jnp.eye(n, dtype=x.dtype)
    norm = jax.lax.stop_gradient(jnp.max(jnp.sum(jnp.abs(x), axis=-2), axis=-1))
    s = jnp.clip(jnp.ceil(jnp.log2(jnp.maximum(norm, 1e-300) / EXPM_THETA)), 0, EXPM_SQUARINGS)
    y = x * jnp.exp2(-s)[..., None, None]
    h = eye
    for k in range(EXPM_TERMS, 1, -1):
        h = eye + _small_matmul(y, h) / k
    e = _small_matmul(y, h)
    for k in range(EXPM_SQUARINGS):
        e = jnp.where((k < s)[..., None, None], _small_matmul(e, e) + 2 * e, e)
    ok = norm <= EXPM_THETA * 2.0 ** EXPM_SQUARINGS
    return nan_unless(ok[..., None, None], e)


def gate_trace(alpha, beta, dt, x0):
    """A gate's value at each sample time of a protocol, by the exact step of each interval.

    The rates of sample n hold over [t_n, t_n + dt); x[0] = x0 and
    x[n + 1] = x_inf[n] + (x[n] - x_inf[n]) exp(-dt / tau[n]).

    Args:
      alpha: opening rates [1/s], shape (..., T): the rates under the protocol's samples.
      beta: closing rates [1/s], shape (..., T).
      dt: the sample interval [s], > 0 (a scalar).
      x0: the value at t_0, shape broadcastable to (...,) (often the steady state at the
        holding potential: ``gate_steady_state(alpha[..., 0], beta[..., 0])[0]``).

    Returns:
      x, shape (..., T): the gate at t_0, ..., t_{T-1} (the last sample's rates are not used).
      NaN where a rate is invalid (see ``gate_steady_state``) or dt <= 0.
    """
    alpha, beta, x0, dt = as_float(alpha, beta, x0, config=(dt,))
    x_inf, tau = gate_steady_state(alpha, beta)
    relaxed = -jnp.expm1(-dt / tau)  # 1 - exp(-dt / tau), accurate for dt << tau
    c, b = jax.lax.associative_scan(_relax, (relaxed[..., :-1], (relaxed * x_inf)[..., :-1]),
                                    axis=alpha.ndim - 1)
    x0 = jnp.broadcast_to(x0, alpha.shape[:-1])[..., None]
    x = jnp.concatenate([x0, x0 - c * x0 + b], axis=-1)
    return nan_unless(dt > 0, x)


def markov_generator(rates, transitions, n_states):
    """The generator Q of a Markov scheme from its transition rates.

    Args:
      rates: transition rates [1/s], shape (..., m), one per transition.
      transitions: m pairs (from_state, to_state) of integers in [0, n_states), a static tuple.
      n_states: the number of states n.

    Returns:
      Q, shape (..., n, n): Q[..., to, from] = rate, each column summing to 0, so that
      dp/dt = Q p. NaN where a rate is negative.
    """
    (rates,) = as_float(rates)
    if len(transitions) != rates.shape[-1]:
        raise ValueError(f"{len(transitions)} transitions but {rates.shape[-1]} rates")
    for i, j in transitions:
        if not (0 <= i < n_states and 0 <= j < n_states) or i == j:
            raise ValueError(f"transition {(i, j)} is not between two of the {n_states} states")
    q = jnp.zeros(rates.shape[:-1] + (n_states, n_states), rates.dtype)
    for k, (i, j) in enumerate(transitions):
        q = q.at[..., j, i].add(rates[..., k]).at[..., i, i].add(-rates[..., k])
    return nan_unless(jnp.all(rates >= 0, axis=-1)[..., None, None], q)


def markov_steady_state(q):
    """The stationary occupancy p_inf of a generator: Q p_inf = 0 with sum(p_inf) = 1.

    By the Grassmann-Taksar-Heyman elimination (Grassmann, Taksar & Heyman, Oper. Res. 33:1107,
    1985): states are removed from the last, the rates among the remaining ones updated as
    r_ij += r_ik r_kj / sum_{l<k} r_kl, then p_j = sum_{i<j} p_i r_ij / sum_{l<j} r_jl from
    p_0 = 1, normalised. Every operation adds or divides non-negative rates, so each occupancy
    keeps its relative precision however stiff the scheme (rates 1e-6 to 1e8 per s), and the
    elimination is unrolled element-wise: no LAPACK call inside a fit's loops.

    Args:
      q: generators, shape (..., n, n) (``markov_generator``: Q[..., to, from] = rate).

    Returns:
      p_inf, shape (..., n); NaN (or inf) for a reducible scheme, whose steady state depends on
      where it starts, and where a rate is NaN.
    """
    (q,) = as_float(q)
    n = q.shape[-1]
    r = jnp.swapaxes(q, -1, -2) * (1 - jnp.eye(n, dtype=q.dtype))  # r[..., i, j]: rate i -> j
    for k in range(n - 1, 0, -1):
        out = jnp.sum(r[..., k, :k], axis=-1)  # from k into the states still kept
        r = r.at[..., :k, k].divide(out[..., None])
        r = r.at[..., :k, :k].add(r[..., :k, k, None] * r[..., k, None, :k])
    p = [jnp.ones(q.shape[:-2], q.dtype)]
    for j in range(1, n):
        p.append(sum(p[i] * r[..., i, j] for i in range(j)))
    p = jnp.stack(p, axis=-1)
    return p / jnp.sum(p, axis=-1, keepdims=True)


def markov_trace(q, dt, p0):
    """A Markov scheme's occupancies at each sample time, by the exact step expm(Q dt) per interval.

    Args:
      q: generators [1/s], shape (..., T, n, n): Q under each sample's voltage.
      dt: the sample interval [s], > 0 (a scalar).
      p0: the occupancies at t_0, shape broadcastable to (..., n), summing to 1 (often
        ``markov_steady_state(q[..., 0, :, :])``).

    Returns:
      p, shape (..., T, n): occupancies at t_0, ..., t_{T-1} (the last sample's Q is not used).
      NaN where dt <= 0.
    """
    q, p0, dt = as_float(q, p0, config=(dt,))
    steps = _expm_minus_identity(q[..., :-1, :, :] * dt)  # expm(Q dt) - I
    e = jax.lax.associative_scan(_chain, steps, axis=q.ndim - 3)
    p0 = jnp.broadcast_to(p0, q.shape[:-3] + q.shape[-1:])
    later = p0[..., None, :] + jnp.einsum("...tij,...j->...ti", e, p0)
    return nan_unless(dt > 0, jnp.concatenate([p0[..., None, :], later], axis=-2))


def _valid_open_probability(p_open):
    """True where 0 <= P_open <= 1 up to rounding (sqrt(eps): a product of exact steps may land
    an ulp outside [0, 1], which is not an error; 1.5 or -0.2 is)."""
    slack = jnp.sqrt(jnp.finfo(p_open.dtype).eps)
    return (p_open >= -slack) & (p_open <= 1 + slack)


def gated_ohmic_current(v, p_open, g, e_rev):
    """Current of gated ohmic channels: I = g P_open (v - E_rev).

    Args:
      v: membrane potential [V], shape (..., T) (the protocol's samples) or any broadcastable shape.
      p_open: open probability [dimensionless] in [0, 1], broadcastable with ``v`` (e.g.
        ``gate_trace(...) * gate_trace(...)`` or an open state's column of ``markov_trace``).
      g: maximal conductance, all channels open [S] (Beattie et al.'s g in uS is g * 1e-6 S).
      e_rev: reversal potential [V] (e.g. ``nernst_potential(130, 4, 1, temperature=...)``).

    Returns:
      I [A], broadcast shape, dtype of the floating inputs; positive = outward. NaN where
      ``p_open`` is outside [0, 1] (beyond rounding), g < 0, or |v| or |e_rev| exceeds
      ``MAX_VOLTAGE`` = 1 V (no membrane holds a volt: mV passed as volts).

    Raises:
      ValueError: where those inputs are concrete (not traced inside jit, grad or vmap): a
        negative g, or |v| or |e_rev| > 1 V (e.g. v=-50 for -50 mV; ``check_concrete``).

    Reference: Hodgkin & Huxley (1952) J Physiol 117:500, doi:10.1113/jphysiol.1952.sp004764;
    Beattie et al. (2018) J Physiol 596:1813, doi:10.1113/JP275733 (eq. 1).
    """
    check_concrete(v=v, g=g, e_rev=e_rev)
    v, p_open, g, e_rev = as_float(v, p_open, g, e_rev)
    valid = (_valid_open_probability(p_open) & (g >= 0) & (jnp.abs(v) <= MAX_VOLTAGE)
             & (jnp.abs(e_rev) <= MAX_VOLTAGE))
    return nan_unless(valid, g * p_open * (v - e_rev))


def gated_ghk_current(v, p_open, p, c_in, c_out, z, *, temperature):
    """Current of gated channels with GHK permeation: I = P_open ghk_current(v, p, c_in, c_out, z).

    I = P_open p z F [c_in f(-u) - c_out f(u)], u = zFv/(RT), f(u) = u / (e^u - 1): the open
    channels pass the constant-field current (rectifying when c_in != c_out), so the current
    reverses at the Nernst potential whatever P_open is.

    Args:
      v: membrane potential [V], shape (..., T) or any broadcastable shape.
      p_open: open probability [dimensionless] in [0, 1], broadcastable with ``v``.
      p: permeability of all channels open times the membrane area [m^3/s] (current in A), or
        the permeability [m/s] (current density in A/m^2).
      c_in, c_out: intracellular and extracellular concentrations [mol/m^3 = mM], >= 0.
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      I [A] (or [A/m^2]), broadcast shape, dtype of the floating inputs; positive = outward.
      NaN where ``p_open`` is outside [0, 1] (beyond rounding) or ``ghk_current`` is NaN.

    Raises:
      ValueError: a concrete (not traced) temperature outside 200..400 K, e.g. 37 (degC passed
        as kelvin: give ``ionjax.units.celsius(37)``), from ``ghk_current``.

    Reference: Goldman (1943) doi:10.1085/jgp.27.1.37; Hodgkin & Katz (1949)
    doi:10.1113/jphysiol.1949.sp004310; Hille (2001) ch. 14.
    """
    v, p_open, p, c_in, c_out = as_float(v, p_open, p, c_in, c_out)
    current = p_open * ghk_current(v, p, c_in, c_out, z, temperature=temperature)
    return nan_unless(_valid_open_probability(p_open), current)
