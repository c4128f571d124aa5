"""Conductances of the GHK current: slope dI/dv, chord I/(v - E_ion) and the slope at E_ion.

The GHK current (see :mod:`ionjax._src.ghk`) is not ohmic, so "its conductance" means one of
three things. The slope conductance dI/dv is the conductance of small signals at v; the chord
conductance I/(v - E_ion) is the one of the ohmic model that passes the same current at v; both
tend to the closed-form slope at the Nernst potential, the ohmic linearization

    g(E_ion) = (z^2 F^2 p / RT) c_in c_out ln(c_out/c_in) / (c_out - c_in).

An ion absent from one side (c = 0) has an infinite Nernst potential. Its slope conductance is
finite everywhere (the current is), while the chord conductance and the slope at E_ion are 0:
both vanish like 1/ln(1/c) or c ln(1/c), so their derivative with respect to the absent
concentration is +inf there (for p > 0), and their derivatives with respect to v, p and the other
concentration are 0. Reverse mode (``jax.grad``) gives exactly that; in forward mode a zero
tangent of the absent concentration meets that infinite slope and gives NaN, as it does for
``jax.scipy.special.entr`` at 0.

Reference: B. Hille, Ion Channels of Excitable Membranes, 3rd ed. (2001), ch. 14.
"""

import jax
import jax.numpy as jnp

from ionjax._src._common import as_float, log_ratio, nan_unless, valid_ion
from ionjax._src.constants import FARADAY, GAS_CONSTANT
from ionjax._src.ghk import f_pair, ghk_current, reduced_potential


@jax.custom_jvp
def _zero_with_infinite_slope(c):
    """0, with derivative +inf where c == 0 and 0 elsewhere (callers pass either the absent
    concentration, 0, or a placeholder of 1 where the infinite slope does not apply)."""
    return jnp.zeros_like(c)


@_zero_with_infinite_slope.defjvp
def _zero_with_infinite_slope_jvp(primals, tangents):
    (c,), (dc,) = primals, tangents
    slope = jnp.where(c == 0, jnp.asarray(jnp.inf, c.dtype), jnp.zeros_like(c))
    return jnp.zeros_like(c), dc * slope


def _vanishing(scale, c_in, c_out):
    """scale * 0 where an ion is absent from one side or both: the value of the chord conductance
    and of the slope at E_ion there, with derivative sign(scale) * inf in the concentration that
    is 0 while the other is not, and 0 in everything else."""
    scale, c_in, c_out = jnp.broadcast_arrays(scale, c_in, c_out)
    steep = scale != 0
    absent_in = jnp.where(steep & (c_in == 0) & (c_out > 0), c_in, 1)
    absent_out = jnp.where(steep & (c_out == 0) & (c_in > 0), c_out, 1)
    return scale * (_zero_with_infinite_slope(absent_in) + _zero_with_infinite_slope(absent_out))


def _z2f2_over_rt(z, t):
    return z * z * FARADAY * (FARADAY / GAS_CONSTANT) / t


def ghk_slope_conductance(v, p, c_in, c_out, z, *, temperature):
    """Slope conductance dI/dv of the GHK current, by forward-mode differentiation.

    Args:
      v: membrane potential [V].
      p: permeability [m/s] or permeability * area [m^3/s].
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0 (0 = absent from that side).
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      dI/dv [S/m^2] or [S], broadcast shape. At v = E_ion it equals
      ``ghk_conductance_at_reversal`` (the ohmic linearization). Finite at c = 0 (the current is
      linear in c), with exact derivatives; NaN for invalid input.

    Reference: Hille (2001) ch. 14 (slope vs chord conductance).
    """
    v, p, c_in, c_out, z, t = as_float(v, p, c_in, c_out, config=(z, temperature))
    v = jnp.broadcast_to(v, jnp.broadcast_shapes(v.shape, p.shape, c_in.shape, c_out.shape,
                                                 z.shape, t.shape))

    def current(v):
        return ghk_current(v, p, c_in, c_out, z, temperature=t)

    slope = jax.jvp(current, (v,), (jnp.ones_like(v),))[1]
    return nan_unless(valid_ion(c_in, c_out, z, t), slope)


def ghk_chord_conductance(v, p, c_in, c_out, z, *, temperature):
    """Chord conductance I / (v - E_ion) of the GHK current, finite at v = E_ion.

    With delta = u - ln(c_out/c_in) the closed form is
    g = z^2 F^2 p c_in f(-u) / (RT f(-delta)), which tends to the slope conductance at v = E_ion.

    Args:
      v: membrane potential [V].
      p: permeability [m/s] or permeability * area [m^3/s].
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0 (0 = absent from that side).
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      g_chord [S/m^2] or [S], broadcast shape. 0 where c_in or c_out is 0 (E_ion is infinite, the
      current finite), with derivative +inf (for p > 0) in the absent concentration and 0 in
      v, p and the other one (see the module docstring); NaN for invalid input.

    Reference: Hille (2001) ch. 14.
    """
    v, p, c_in, c_out, z, t = as_float(v, p, c_in, c_out, config=(z, temperature))
    both = (c_in > 0) & (c_out > 0)
    c_in_ok, c_out_ok = jnp.where(both, c_in, 1), jnp.where(both, c_out, 1)  # double where
    u = reduced_potential(v, z, t)
    _, f_minus_u = f_pair(u)
    _, f_minus_delta = f_pair(u - log_ratio(c_out_ok, c_in_ok))
    scale = _z2f2_over_rt(z, t) * p
    g = jnp.where(both, scale * c_in_ok * f_minus_u / f_minus_delta,
                  _vanishing(scale, c_in, c_out))
    return nan_unless(valid_ion(c_in, c_out, z, t), g)


def _per_permeability(c_in, c_out):
    """c_in c_out ln(c_out/c_in) / (c_out - c_in) = c_in f(-ln(c_out/c_in)) for c_in, c_out > 0
    (no 0/0 at c_in = c_out); 0 where either is 0 (double where: safe arguments there)."""
    both = (c_in > 0) & (c_out > 0)
    c_in_ok, c_out_ok = jnp.where(both, c_in, 1), jnp.where(both, c_out, 1)
    _, f_minus = f_pair(log_ratio(c_out_ok, c_in_ok))
    return both, jnp.where(both, c_in_ok * f_minus, 0)


def ghk_conductance_at_reversal(p, c_in, c_out, z, *, temperature):
    """Closed-form GHK slope conductance at the Nernst potential (the ohmic linearization).

        g = (z^2 F^2 p / RT) * c_in c_out ln(c_out/c_in) / (c_out - c_in)
          = (z^2 F^2 p / RT) * c_in c_out / L(c_in, c_out),

    with L the logarithmic mean; g = z^2 F^2 p c / RT when c_in = c_out = c (evaluated without
    the 0/0 there). Conductance scales as z^2.

    Args:
      p: permeability [m/s] or permeability * area [m^3/s].
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0 (0 = absent from that side).
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      g [S/m^2] or [S], broadcast shape. 0 where c_in or c_out is 0 (the limit: E_ion is
      infinite and the slope vanishes there), with derivative +inf (for p > 0) in the absent
      concentration, whose term c ln(1/c) has an infinite slope at 0, and 0 in p and the other
      one; NaN for invalid input.

    Reference: Hille (2001) ch. 14; see also D.J. Aidley & P.R. Stanfield, Ion Channels (1996).
    """
    p, c_in, c_out, z, t = as_float(p, c_in, c_out, config=(z, temperature))
    scale = _z2f2_over_rt(z, t) * p
    both, per_p = _per_permeability(c_in, c_out)
    g = jnp.where(both, scale * per_p, _vanishing(scale, c_in, c_out))
    return nan_unless(valid_ion(c_in, c_out, z, t), g)


def permeability_from_conductance(g, c_in, c_out, z, *, temperature):
    """Inverse of ``ghk_conductance_at_reversal``: the permeability whose GHK slope at E_ion is g.

    Args:
      g: slope conductance at the reversal potential [S/m^2] or [S].
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0.
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      p [m/s] (for g in S/m^2) or p * area [m^3/s] (for g in S), broadcast shape. Where c_in or
      c_out is 0 the slope at E_ion is 0 for every p: +inf for g > 0 (-inf for g < 0), NaN for
      g = 0. NaN for invalid input.

    Reference: Hille (2001) ch. 14.
    """
    g, c_in, c_out, z, t = as_float(g, c_in, c_out, config=(z, temperature))
    p = g / (_z2f2_over_rt(z, t) * _per_permeability(c_in, c_out)[1])
    return nan_unless(valid_ion(c_in, c_out, z, t), p)
