"""A differentiable point neuron built from ionjax: Hodgkin-Huxley Na+/K+ plus a GHK Ca2+ current.

Used by ``07_differentiable_neuron.ipynb`` and by ``tests/test_neuron_model.py``; not part of the
installed package (it lives beside the notebooks).

The membrane (one isopotential compartment, per unit area):

    c_m dV/dt = -[I_Na + I_K + I_leak + I_Ca] + I_stim
    I_Na   = g_na m^3 h (V - e_na)             ohmic, ionjax.ohmic_current
    I_K    = g_k n^4 (V - e_k)                 ohmic
    I_leak = g_leak (V - e_leak)               ohmic
    I_Ca   = s^2 I_GHK(V; p_ca, [Ca]_in, [Ca]_out, z=2)     ionjax.ghk_current
    dx/dt  = alpha_x(V) (1 - x) - beta_x(V) x   for x in m, h, n (Hodgkin & Huxley 1952)
    ds/dt  = (s_inf(V) - s) / tau_s,  s_inf = ionjax.boltzmann(V, v_half_ca, slope_ca)

Intracellular Ca2+ lives in a thin shell of depth ``shell_depth`` under the membrane and is
removed with first-order kinetics toward ``ca_rest``:

    d[Ca]_in/dt = (influx - efflux) / shell_depth - ([Ca]_in - ca_rest) / tau_ca

with the unidirectional GHK fluxes of ``ionjax.ghk_fluxes`` (influx = s^2 p c_out f(u), efflux =
s^2 p [Ca]_in f(-u); zF (efflux - influx) is exactly I_Ca). Two activation gates (s^2) keep the
resting Ca2+ influx negligible, so [Ca]_in rests at ca_rest. The equation is linear in [Ca]_in,
d[Ca]/dt = A - B [Ca] with A >= 0 and B > 0, and is advanced with its exact solution over a step
(exponential Euler), so [Ca]_in stays > 0 for every step size. E_Ca = ionjax.nernst_potential
moves as Ca2+ accumulates during spikes.

Numerics: fixed step ``dt``; gates by exponential Euler (exact for frozen V); V by exponential
Euler on the ohmic conductances with I_Ca and I_stim held over the step (stable for the stiff
Na+ conductance at the spike peak); one ``jax.lax.scan`` over time. Everything is a pure function
of a dict of parameters, so ``jax.grad``, ``jax.jit`` and ``jax.vmap`` (populations) apply.

Units: SI throughout, per unit membrane area: V [V], t [s], conductances [S/m^2]
(1 mS/cm^2 = 10 S/m^2), currents [A/m^2] (1 uA/cm^2 = 0.01 A/m^2), capacitance [F/m^2]
(1 uF/cm^2 = 0.01 F/m^2), permeability [m/s], concentrations [mol/m^3 = mM]. The HH rate
functions are the classic ones in mV and 1/ms (resting potential -65 mV convention, 6.3 degC),
converted at their boundary. Dtype: follows the parameters (float32 in, float32 out).
"""

import jax
import jax.numpy as jnp

import ionjax as ij
from ionjax.units import celsius

TEMPERATURE = celsius(6.3)  # [K]: squid axon temperature of the HH rate constants (phi = 1)

# Default parameters (SI, per unit area). HH's squid axon, plus a Ca2+ channel and shell.
DEFAULTS = {
    "c_m": 0.01,            # F/m^2    (1 uF/cm^2)
    "g_na": 1200.0,         # S/m^2    (120 mS/cm^2)
    "g_k": 360.0,           # S/m^2    (36 mS/cm^2)
    "g_leak": 3.0,          # S/m^2    (0.3 mS/cm^2)
    "e_na": 0.050,          # V
    "e_k": -0.077,          # V
    "e_leak": -0.0544,      # V
    "p_ca": 5e-6,           # m/s      Ca2+ permeability of the open Ca channels
    "v_half_ca": -0.020,    # V        Ca channel activation midpoint
    "slope_ca": 0.006,      # V        Ca channel activation slope factor
    "tau_s": 1e-3,          # s        Ca channel activation time constant
    "ca_out": 2.0,          # mM       extracellular Ca2+
    "ca_rest": 5e-5,        # mM       resting intracellular Ca2+ (50 nM)
    "tau_ca": 0.030,        # s        first-order removal of Ca2+ from the shell
    "shell_depth": 1e-6,    # m        depth of the submembrane shell (1 um)
}


def default_params(dtype=None, **changes):
    """The default parameter dict, as 0-d arrays of ``dtype`` (default: jax's default float)."""
    unknown = set(changes) - set(DEFAULTS)
    if unknown:
        raise KeyError(f"unknown parameters {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    values = dict(DEFAULTS, **changes)
    dtype = dtype or jnp.result_type(float)
    return {k: jnp.asarray(v, dtype) for k, v in values.items()}


def _exprel(y):
    """y / (1 - exp(-y)), with its removable singularity at y = 0 handled (double where)."""
    small = jnp.abs(y) < 1e-2
    safe = jnp.where(small, jnp.ones_like(y), y)
    series = 1 + y / 2 + y * y / 12  # error < y^4/720 < 2e-11 relative for |y| < 1e-2
    return jnp.where(small, series, safe / -jnp.expm1(-safe))


def hh_rates(v):
    """Classic HH rate constants (Hodgkin & Huxley 1952, rest at -65 mV) at v [V], in 1/s.

    Returns:
      dict gate -> (alpha, beta) for gates "m", "h", "n".
    """
    u = v * 1e3  # mV
    am = _exprel((u + 40) / 10)                 # 0.1 (u+40) / (1 - exp(-(u+40)/10))
    bm = 4.0 * jnp.exp(-(u + 65) / 18)
    ah = 0.07 * jnp.exp(-(u + 65) / 20)
    bh = jax.nn.sigmoid((u + 35) / 10)          # 1 / (1 + exp(-(u+35)/10))
    an = 0.1 * _exprel((u + 55) / 10)           # 0.01 (u+55) / (1 - exp(-(u+55)/10))
    bn = 0.125 * jnp.exp(-(u + 65) / 80)
    per_ms = {"m": (am, bm), "h": (ah, bh), "n": (an, bn)}
    return {k: (a * 1e3, b * 1e3) for k, (a, b) in per_ms.items()}


def steady_state(v, params):
    """Gates at their steady state for a fixed v [V], and [Ca]_in = ca_rest: a state dict."""
    rates = hh_rates(v)
    state = {k: a / (a + b) for k, (a, b) in rates.items()}
    state["s"] = ij.boltzmann(v, params["v_half_ca"], params["slope_ca"])
    state["v"] = v
    state["ca"] = params["ca_rest"]
    return state


def calcium_reversal(ca_in, params, temperature=TEMPERATURE):
    """E_Ca [V] for intracellular Ca2+ ``ca_in`` [mM] (Nernst, z = 2)."""
    return ij.nernst_potential(ca_in, params["ca_out"], 2, temperature=temperature)


def currents(state, params, temperature=TEMPERATURE):
    """Membrane currents [A/m^2] (positive outward) of a state dict: Na, K, leak, Ca."""
    v = state["v"]
    i_na = ij.ohmic_current(v, params["g_na"] * state["m"] ** 3 * state["h"], params["e_na"])
    i_k = ij.ohmic_current(v, params["g_k"] * state["n"] ** 4, params["e_k"])
    i_leak = ij.ohmic_current(v, params["g_leak"], params["e_leak"])
    i_ca = state["s"] ** 2 * ij.ghk_current(v, params["p_ca"], state["ca"], params["ca_out"], 2,
                                            temperature=temperature)
    return {"na": i_na, "k": i_k, "leak": i_leak, "ca": i_ca}


def _relax(x, x_inf, decay):
    """Exponential-Euler update x_inf + (x - x_inf) * decay, decay = exp(-dt / tau)."""
    return x_inf + (x - x_inf) * decay


def step(state, i_stim, params, dt, temperature=TEMPERATURE):
    """Advance a state dict by ``dt`` [s] with injected current density ``i_stim`` [A/m^2]."""
    v, ca = state["v"], state["ca"]
    new = {}
    # Gates: exact for V frozen over the step.
    for gate, (a, b) in hh_rates(v).items():
        new[gate] = _relax(state[gate], a / (a + b), jnp.exp(-dt * (a + b)))
    s_inf = ij.boltzmann(v, params["v_half_ca"], params["slope_ca"])
    new["s"] = _relax(state["s"], s_inf, jnp.exp(-dt / params["tau_s"]))
    # Voltage: ohmic conductances implicit in the exponent, I_Ca and I_stim held over the step.
    g_na = params["g_na"] * state["m"] ** 3 * state["h"]
    g_k = params["g_k"] * state["n"] ** 4
    g_total = g_na + g_k + params["g_leak"]
    open_ca = state["s"] ** 2
    i_ca = open_ca * ij.ghk_current(v, params["p_ca"], ca, params["ca_out"], 2,
                                    temperature=temperature)
    v_inf = (g_na * params["e_na"] + g_k * params["e_k"] + params["g_leak"] * params["e_leak"]
             - i_ca + i_stim) / g_total
    new["v"] = _relax(v, v_inf, jnp.exp(-dt * g_total / params["c_m"]))
    # Calcium: d ca/dt = A - B ca (linear in ca), solved exactly over the step: stays > 0.
    one = jnp.ones_like(ca)
    influx, efflux_per_mM = ij.ghk_fluxes(v, open_ca * params["p_ca"], one, params["ca_out"],
                                          2, temperature=temperature)  # mol/(m^2 s), per mM in
    rate_a = influx / params["shell_depth"] + params["ca_rest"] / params["tau_ca"]    # mM/s
    rate_b = efflux_per_mM / params["shell_depth"] + 1 / params["tau_ca"]             # 1/s
    new["ca"] = _relax(ca, rate_a / rate_b, jnp.exp(-dt * rate_b))
    return new


@jax.jit
def simulate(params, i_stim, dt, *, v0=-0.065, temperature=TEMPERATURE):
    """Integrate the neuron for ``len(i_stim)`` steps of ``dt`` [s] with jax.lax.scan.

    Compiled with ``jax.jit`` (once per stimulus length and dtype); it composes with ``jax.grad``
    and ``jax.vmap``.

    Args:
      params: dict of parameters (see ``DEFAULTS``; 0-d arrays or floats), SI units.
      i_stim: injected current density [A/m^2] per step, shape (n_steps,); positive
        depolarizes.
      dt: time step [s] (25 us is accurate for these 6.3 degC kinetics; 50 us is usable).
      v0: initial potential [V]; gates start at their steady state there, [Ca]_in at ca_rest.
      temperature: [K] of the GHK current and E_Ca (default 6.3 degC, that of the HH rates).

    Returns:
      dict of traces of shape (n_steps,) AFTER each step: "v" [V], "ca" ([Ca]_in, mM),
      "e_ca" [V], "i_ca" [A/m^2]. The dtype follows ``params`` and ``i_stim``.
    """
    dtype = jnp.result_type(*jax.tree_util.tree_leaves(params), i_stim)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype), params)
    i_stim = jnp.asarray(i_stim, dtype)
    dt = jnp.asarray(dt, dtype)
    state = steady_state(jnp.asarray(v0, dtype), params)

    def body(state, i_now):
        state = step(state, i_now, params, dt, temperature)
        e_ca = calcium_reversal(state["ca"], params, temperature)
        i_ca = currents(state, params, temperature)["ca"]
        return state, {"v": state["v"], "ca": state["ca"], "e_ca": e_ca, "i_ca": i_ca}

    _, trace = jax.lax.scan(body, state, i_stim)
    return trace


def step_current(amplitude, t_stop, dt, *, t_on=0.0, t_off=None, dtype=None):
    """A current step [A/m^2] on [t_on, t_off) within [0, t_stop) sampled every dt [s]."""
    n = int(round(t_stop / dt))
    t = jnp.arange(n, dtype=dtype or jnp.result_type(float)) * dt
    t_off = t_stop if t_off is None else t_off
    return jnp.where((t >= t_on) & (t < t_off), amplitude, 0.0).astype(t.dtype)


def simulate_population(params, i_stim, dt, **kwargs):
    """``simulate`` vmapped over a population of neurons.

    Args:
      params: dict whose leaves all have the same leading (population) axis; give shared values
        with ``jnp.broadcast_to`` or build the dict with ``population_params``.
      i_stim: shared stimulus (n_steps,) or one per neuron (population, n_steps) [A/m^2].
      dt, **kwargs: as ``simulate``.

    Returns:
      dict of traces of shape (population, n_steps).
    """
    i_axis = 0 if jnp.ndim(i_stim) == 2 else None
    return jax.vmap(lambda p, i: simulate(p, i, dt, **kwargs), in_axes=(0, i_axis))(params, i_stim)


def population_params(size, dtype=None, **varied):
    """Parameter dict for ``size`` neurons: defaults broadcast, plus ``varied`` name -> (size,)."""
    base = default_params(dtype)
    out = {k: jnp.broadcast_to(v, (size,)) for k, v in base.items()}
    for k, v in varied.items():
        if k not in base:
            raise KeyError(f"unknown parameter {k!r}")
        out[k] = jnp.broadcast_to(jnp.asarray(v, base[k].dtype), (size,))
    return out


def spike_count(v, threshold=0.0):
    """Number of upward crossings of ``threshold`` [V] along the last axis (not differentiable)."""
    above = v >= threshold
    return jnp.sum(above[..., 1:] & ~above[..., :-1], axis=-1)
