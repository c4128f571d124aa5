"""Permeability ratios from measured reversal potentials (GHK theory, any valences).

At the reversal potential E the GHK currents of all permeant ions sum to zero, and that sum is
linear in the permeabilities. One measured E therefore fixes one unknown permeability relative
to the others:

    sum_k p_k j_k(E) = 0,   j_k(E) = z_k [c_in,k f(-u_k) - c_out,k f(u_k)],  u_k = z_k F E / RT,

with f(u) = u/(e^u - 1) (see :mod:`ionjax._src.ghk`). The classic special cases follow:

* bi-ionic (ion X only outside, reference Y only inside), monovalent:
  p_X / p_Y = ([Y]_in / [X]_out) exp(EF/RT); for X = Ca2+, Y monovalent (Lewis 1979):
  p_Ca / p_Y = [Y]_in e^{EF/RT} (1 + e^{EF/RT}) / (4 [Ca]_out);
* substitution of the external ion A by B (inside unchanged), monovalent:
  p_B / p_A = ([A]_out / [B]_out) exp(Delta E F / RT), Delta E = E_B - E_A.

Concentrations here may be 0 (an ion absent from one side is what bi-ionic conditions mean); they
must not be negative. Where a ratio's formula divides by a concentration that is 0, the ratio is
+inf (its limit: no finite permeability of an absent ion explains a finite reversal); where it is
0/0, NaN. Each function says which.

References: Hille (2001) ch. 14; B. Lewis, J. Physiol. 286, 417 (1979),
doi:10.1113/jphysiol.1979.sp012629; P.H. Barry & J.W. Lynch, J. Membr. Biol. 121, 101 (1991),
doi:10.1007/BF01870526.
"""

import jax.numpy as jnp

from ionjax._src._common import as_float, nan_unless, valid_temperature, valid_valence
from ionjax._src.constants import FARADAY, GAS_CONSTANT
from ionjax._src.ghk import f_pair


def _u(e, z, t):
    return z * e * (FARADAY / GAS_CONSTANT) / t


def _over(numerator, c, factor):
    """numerator / (c * factor) for a concentration c >= 0 where numerator / factor >= 0: +inf
    where c = 0 != numerator, NaN where both are 0 (double where: no 0/0 reaches the gradients
    of the other entries, and the sign of a -0.0 does not matter)."""
    zero = c == 0
    ratio = numerator / (jnp.where(zero, 1, c) * factor)
    return jnp.where(zero, jnp.where(numerator == 0, jnp.nan, jnp.inf), ratio)


def permeability_ratio_bi_ionic(e_rev, c_out_x, z_x, c_in_ref, z_ref, *, temperature):
    """p_X / p_ref under bi-ionic conditions: ion X only outside, reference ion only inside.

        p_X / p_ref = z_ref c_in,ref f(-u_ref) / (z_X c_out,X f(u_X)),  u_k = z_k F E / RT.

    Args:
      e_rev: measured reversal potential [V].
      c_out_x: extracellular concentration of the test ion X [mol/m^3 = mM], >= 0.
      z_x: valence of X (same sign as ``z_ref``; otherwise no reversal exists and NaN results).
      c_in_ref: intracellular concentration of the reference ion [mol/m^3 = mM], >= 0.
      z_ref: valence of the reference ion.
      temperature: [K], keyword-only.

    Returns:
      The permeability ratio (dimensionless), broadcast shape. 0 where c_in_ref = 0 < c_out_x
      (linear in c_in_ref: exact derivatives there), +inf where c_out_x = 0 < c_in_ref, NaN where
      both are 0 and for invalid input.

    Reference: Hille (2001) eq. 14-10; Lewis (1979) doi:10.1113/jphysiol.1979.sp012629.
    """
    e, c_x, c_ref, z_x, z_ref, t = as_float(e_rev, c_out_x, c_in_ref, config=(z_x, z_ref, temperature))
    f_x, _ = f_pair(_u(e, z_x, t))
    _, f_minus_ref = f_pair(_u(e, z_ref, t))
    ratio = _over(z_ref * c_ref * f_minus_ref, c_x, z_x * f_x)
    valid = (c_x >= 0) & (c_ref >= 0) & (z_x * z_ref > 0) & valid_temperature(t)
    return nan_unless(valid, ratio)


def permeability_ratio_substitution(e_rev_ref, e_rev_test, c_out_ref, c_out_test, z_ref, z_test,
                                    *, temperature, z_inside=1):
    """p_test / p_ref from the reversal shift when the external ion ref is replaced by test.

    Assumes: in each solution the substituted ion is the only permeant extracellular ion, the
    intracellular solution is unchanged and its permeant ions share the valence ``z_inside``.
    Then sum over inside ions of p z c_in f(-u) is K f(-z_inside F E / RT) with K constant, and

        p_test / p_ref = z_ref c_ref f(u_ref(E_ref)) f(-u_in(E_test))
                         / (z_test c_test f(u_test(E_test)) f(-u_in(E_ref))),

    which for monovalent ions is (c_ref / c_test) exp((E_test - E_ref) F / RT).

    Args:
      e_rev_ref: reversal potential with the reference ion outside [V].
      e_rev_test: reversal potential with the test ion outside [V].
      c_out_ref, c_out_test: their extracellular concentrations [mol/m^3 = mM], >= 0.
      z_ref, z_test: their valences (non-zero).
      temperature: [K], keyword-only.
      z_inside: valence of the permeant intracellular ions (default +1).

    Returns:
      The permeability ratio (dimensionless), broadcast shape. 0 where c_out_ref = 0 < c_out_test
      (linear in c_out_ref: exact derivatives there), +inf where c_out_test = 0 < c_out_ref, NaN
      where both are 0 and for invalid input.

    Reference: Hille (2001) ch. 14; Barry & Lynch (1991) doi:10.1007/BF01870526.
    """
    e1, e2, c1, c2, z1, z2, z_in, t = as_float(
        e_rev_ref, e_rev_test, c_out_ref, c_out_test, config=(z_ref, z_test, z_inside, temperature))
    f1, _ = f_pair(_u(e1, z1, t))
    f2, _ = f_pair(_u(e2, z2, t))
    _, g1 = f_pair(_u(e1, z_in, t))
    _, g2 = f_pair(_u(e2, z_in, t))
    ratio = _over(z1 * c1 * f1 * g2, c2, z2 * f2 * g1)
    valid = (c1 >= 0) & (c2 >= 0) & (z1 * z_in > 0) & (z2 * z_in > 0) & valid_temperature(t)
    return nan_unless(valid, ratio)


def permeability_from_reversal(e_rev, p, c_in, c_out, z, *, index, temperature, axis=-1):
    """The permeability of ion ``index`` that makes ``e_rev`` the zero-current potential.

        p_x = -sum_{k != x} p_k j_k(E) / j_x(E),  j_k(E) = z_k [c_in,k f(-u_k) - c_out,k f(u_k)].

    The general form behind every permeability-ratio formula: give the other permeabilities as
    ratios to a reference (e.g. p_K = 1) and the result is p_x / p_ref.

    Args:
      e_rev: measured reversal potential [V], broadcastable against the result.
      p: permeabilities of all ions [any unit]; the entry at ``index`` is ignored. Ions along
        ``axis``.
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0 (0 = absent from that side).
      z: valences, non-zero.
      index: position of the unknown ion along ``axis`` (a Python int).
      temperature: [K], keyword-only.
      axis: the ion axis (default the last).

    Returns:
      p_x in the unit of ``p``, the broadcast shape with ``axis`` removed; linear in the
      concentrations, so finite with exact derivatives at c = 0. NaN where inputs are invalid,
      where the result is negative (no positive permeability reverses there), and where ion x
      carries no current at ``e_rev`` (absent from both sides, or ``e_rev`` is its Nernst
      potential), which leaves p_x undetermined.

    Reference: Hille (2001) ch. 14; Goldman (1943) doi:10.1085/jgp.27.1.37.
    """
    e, p, c_in, c_out, z, t = as_float(e_rev, p, c_in, c_out, config=(z, temperature))
    p, c_in, c_out, z = (jnp.moveaxis(x, axis, -1)
                         for x in jnp.broadcast_arrays(p, c_in, c_out, z))
    f_u, f_minus_u = f_pair(_u(e[..., None], z, t[..., None]))
    j = z * (c_in * f_minus_u - c_out * f_u)
    others = jnp.sum(jnp.where(jnp.arange(p.shape[-1]) == index % p.shape[-1], 0.0, p * j), -1)
    j_x = j[..., index]
    p_x = -others / jnp.where(j_x == 0, 1, j_x)  # double where: no 0/0 in the gradients
    valid = (jnp.all((c_in >= 0) & (c_out >= 0) & valid_valence(z), axis=-1)
             & valid_temperature(t) & (p_x >= 0) & (j_x != 0))
    return nan_unless(valid, p_x)
