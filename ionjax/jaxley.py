"""Adapter to Jaxley (https://github.com/jaxleyverse/jaxley): GHK currents as Jaxley channels.

Jaxley (checked against 0.14.0) works in mV, ms, um, mM and uF/cm^2; ``Channel.compute_current``
returns a current density in mA/cm^2 (the class must set ``current_is_in_mA_per_cm2 = True``
before ``Channel.__init__``, which raises otherwise), and channel currents are positive outward:
its HH sodium current is g m^3 h (v - e_Na), and the solver integrates C dv/dt = -sum(I) + i_ext.
ionjax is SI (V, m/s, mol/m^3 = mM, A/m^2) with the same sign convention, so the adapter converts
units only:

    1 mV = 1e-3 V,   1 cm/s = 1e-2 m/s,   1 mM = 1 mol/m^3,   1 A/m^2 = 0.1 mA/cm^2,

i.e. I[mA/cm^2] = 0.1 * ghk_current(1e-3 v[mV], 1e-2 p[cm/s], c_in, c_out, z) = 1e-3 * p[cm/s]
z F c[mM] (...), the same numbers as NEURON's ``ghk()`` times ``pbar`` in cm/s.

This module imports jaxley; ``import ionjax`` does not import it (``pip install 'ionjax[jaxley]'``).
"""

import jax.numpy as jnp

try:
    import jaxley.channels
    from jaxley.solver_gate import exponential_euler
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("ionjax.jaxley needs Jaxley: pip install 'ionjax[jaxley]'") from exc

from ionjax._src.gating import boltzmann
from ionjax._src.ghk import ghk_current

_MV = 1e-3  # V per mV
_CM_PER_S = 1e-2  # m/s per cm/s
_A_PER_M2 = 0.1  # mA/cm^2 per A/m^2

__all__ = ["GHKChannel", "ghk_current_density"]


def ghk_current_density(v_mV, p_cm_per_s, c_in_mM, c_out_mM, z, *, temperature):
    """GHK current density in Jaxley's units: I = z F p [c_in f(-u) - c_out f(u)].

    With u = zFv/(RT) and f(u) = u / (e^u - 1); equivalently
    I = p z^2 F^2 v / (RT) * (c_in - c_out e^{-u}) / (1 - e^{-u}), evaluated by
    ``ionjax.ghk_current`` (finite, with exact derivatives, at v = 0) after converting units.

    Args:
      v_mV: membrane potential phi_in - phi_out [mV], floating array of any shape.
      p_cm_per_s: permeability [cm/s] (NEURON's ``pbar`` convention), broadcastable; linear.
      c_in_mM, c_out_mM: intracellular and extracellular concentration [mM = mol/m^3], > 0,
        broadcastable.
      z: valence, non-zero integer (scalar or broadcastable).
      temperature: [K], keyword-only.

    Returns:
      I [mA/cm^2], broadcast shape of the inputs, dtype of the floating inputs; positive =
      outward (Jaxley's sign). Zero at the Nernst potential; NaN for invalid ion input.
    """
    i_si = ghk_current(v_mV * _MV, p_cm_per_s * _CM_PER_S, c_in_mM, c_out_mM, z,
                       temperature=temperature)  # [A/m^2]
    return i_si * _A_PER_M2


def _check(z, c_in, c_out, temperature, pbar, gate):
    """Refuse, on the host, what would make every sample of a simulation NaN or wrong."""
    import math
    import numbers

    def number(x):
        return not isinstance(x, bool) and isinstance(x, numbers.Real) and math.isfinite(x)

    if not (number(z) and z != 0 and float(z).is_integer()):
        raise ValueError(f"z must be a non-zero integer valence; got {z!r}")
    for label, c in (("c_in", c_in), ("c_out", c_out)):
        if not (number(c) and c > 0):
            raise ValueError(f"{label} must be a concentration > 0 [mM]; got {c!r}")
    if not (number(temperature) and 200.0 <= temperature <= 400.0):
        raise ValueError(f"temperature is in kelvin (ionjax.units.celsius(22) = 295.15 K); got "
                         f"{temperature!r}")
    if not (number(pbar) and pbar >= 0):
        raise ValueError(f"pbar must be a permeability >= 0 [cm/s]; got {pbar!r}")
    if gate is not None:
        if not isinstance(gate, (tuple, list)) or len(gate) not in (2, 3) or \
                not all(number(g) for g in gate):
            raise ValueError(f"gate must be None, (v_half, slope) or (v_half, slope, tau) in mV "
                             f"and ms; got {gate!r}")
        if gate[1] == 0 or (len(gate) == 3 and gate[2] <= 0):
            raise ValueError(f"the gate's slope must be non-zero and its tau > 0; got {gate!r}")


class GHKChannel(jaxley.channels.Channel):
    """Jaxley channel carrying the GHK current of one ion, optionally Boltzmann-gated.

        I = P_o(v) * ghk_current_density(v, pbar, c_in, c_out, z, temperature=T)   [mA/cm^2]

    Gating (``gate``):
      * ``None``: P_o = 1 (a constant-field leak of one ion);
      * ``(v_half, slope)`` [mV]: instantaneous steady-state gate P_o = boltzmann(v, v_half, slope)
        = 1 / (1 + exp((v_half - v) / slope)), no channel state;
      * ``(v_half, slope, tau)`` with tau [ms] > 0: first-order gate m, dm/dt = (m_inf(v) - m)/tau,
        m_inf = boltzmann(v, v_half, slope), P_o = m, advanced by exponential Euler (exact for
        constant v over a step; Jaxley's gate scheme). State ``f"{name}_m"``, initialised to
        m_inf(v) by ``module.init_states()`` (default 0 before that).

    Jaxley names (prefix = ``name``): params ``{name}_pbar`` [cm/s], ``{name}_c_in`` and
    ``{name}_c_out`` [mM] and, with a gate, ``{name}_v_half``, ``{name}_slope`` [mV],
    ``{name}_tau`` [ms]; all per-compartment floats that ``set`` / ``make_trainable`` accept.
    The current is recorded with ``module.record(f"i_{name}")`` [mA/cm^2, outward positive].
    Arguments are checked on the host (``ValueError``): a valence that is not a non-zero
    integer, a concentration <= 0, a temperature outside 200-400 K (kelvin, not degC), a
    negative permeability, a gate with slope 0 or tau <= 0.

    Args:
      name: channel name, default ``f"GHK_{ion}"``. Jaxley merges channels of one name in a
        compartment: give two channels of one ion (a gated and an ungated one) their own names.
      ion: ion label used in the default name (e.g. "K", "Na", "Ca").
      z: valence, non-zero integer, fixed (not a Jaxley parameter).
      c_in, c_out: default intracellular / extracellular concentration [mM], > 0.
      temperature: [K], keyword-only, fixed (e.g. ``ionjax.units.celsius(22)`` = 295.15 K).
      pbar: default permeability [cm/s] (1e-4 cm/s gives ~0.1 mA/cm^2 for K 140/5 mM at -70 mV).
      gate: ``None``, ``(v_half, slope)`` or ``(v_half, slope, tau)`` as above [mV, mV, ms].
    """

    def __init__(self, name=None, *, ion="K", z=1, c_in, c_out, temperature, pbar=1e-4,
                 gate=None):
        _check(z, c_in, c_out, temperature, pbar, gate)
        self.current_is_in_mA_per_cm2 = True  # required by jaxley >= 0.5 before __init__
        super().__init__(name or f"GHK_{ion}")
        self.ion, self.z, self.temperature = ion, z, float(temperature)
        self.gate = None if gate is None else tuple(float(g) for g in gate)
        prefix = self._name
        self.channel_params = {f"{prefix}_pbar": float(pbar), f"{prefix}_c_in": float(c_in),
                               f"{prefix}_c_out": float(c_out)}
        self.channel_states = {}
        if self.gate is not None:
            self.channel_params[f"{prefix}_v_half"] = self.gate[0]
            self.channel_params[f"{prefix}_slope"] = self.gate[1]
            if self._kinetic:
                self.channel_params[f"{prefix}_tau"] = self.gate[2]
                self.channel_states[f"{prefix}_m"] = 0.0
        self.current_name = f"i_{prefix}"

    @property
    def _kinetic(self):
        return self.gate is not None and len(self.gate) == 3

    def _m_inf(self, v, params):
        prefix = self._name
        return boltzmann(v * _MV, params[f"{prefix}_v_half"] * _MV,
                         params[f"{prefix}_slope"] * _MV)

    def update_states(self, states, dt, v, params):
        """Exponential-Euler step of the gate over dt [ms] at voltage v [mV] (none if static)."""
        if not self._kinetic:
            return {}
        prefix = self._name
        m = states[f"{prefix}_m"]
        return {f"{prefix}_m": exponential_euler(m, dt, self._m_inf(v, params),
                                                 params[f"{prefix}_tau"])}

    def compute_current(self, states, v, params):
        """Current density [mA/cm^2] at voltage v [mV], outward positive (shape of v)."""
        prefix = self._name
        i = ghk_current_density(v, params[f"{prefix}_pbar"], params[f"{prefix}_c_in"],
                                params[f"{prefix}_c_out"], self.z, temperature=self.temperature)
        if self._kinetic:
            return states[f"{prefix}_m"] * i
        if self.gate is not None:
            return self._m_inf(v, params) * i
        return i

    def init_state(self, states, v, params, delta_t):
        """Gate at its steady state m_inf(v) (``module.init_states()``)."""
        if not self._kinetic:
            return {}
        return {f"{self._name}_m": self._m_inf(jnp.asarray(v), params)}
