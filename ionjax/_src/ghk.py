"""Goldman-Hodgkin-Katz (GHK) constant-field current, fluxes and conductances.

With u = zFv/(RT) and f(u) = u / (e^u - 1), the GHK current of one ion species is

    I = z F p [c_in f(-u) - c_out f(u)]
      = p z^2 F^2 v / (RT) * (c_in - c_out e^{-u}) / (1 - e^{-u}),

the difference of two unidirectional fluxes, efflux p c_in f(-u) and influx p c_out f(u), whose
ratio obeys Ussing's flux-ratio equation efflux/influx = (c_in/c_out) e^u = exp(Delta mu-bar/RT).
At the Nernst potential both fluxes are non-zero and equal (dynamic equilibrium).

Concentrations may be 0: an ion absent from one side (bi-ionic conditions, NMDG or choline
substitution, Ca-free solutions) is the classic use of these equations, and the current and both
fluxes are finite there, linear in c_in and c_out with exact derivatives (also at v = 0). Only
quantities that take a logarithm of a concentration ratio are infinite there (the Nernst
potential, the Ussing flux ratio). The conductances live in :mod:`ionjax._src.ghk_conductance`.

Numerics. f has a removable singularity at u = 0 (f(0) = 1) and e^u overflows for large u. Every
function here evaluates f at a = |u| >= 0 only, with one ``expm1`` per point:

* f(a) = a / expm1(a) for a > 0 and 1 at a = 0: expm1 is accurate to rounding near 0, so the value
  needs no series. Its derivative is defined in closed form, f'(a) = f(a) (1 - f(a) - a) / a,
  which never forms e^a or expm1(a)^2, so derivatives of any order stay finite when e^a
  overflows (there f(a) = a / inf = 0, below the smallest normal number anyway). That closed form
  cancels near 0, so below a dtype-dependent threshold (1e-2 in float64, 0.1 in float32) the
  derivative is that of the Bernoulli series 1 - a/2 + a^2/12 - a^4/720 + a^6/30240 - a^8/1209600
  (the "double where": the unused branch is fed a safe argument so that no NaN reaches a
  gradient); second and higher derivatives follow from differentiating that rule;
* f(-a) = f(a) + a (an exact identity; a sum of positive terms, so no cancellation).

Both f(u) and f(-u) are therefore accurate to a few ulp relative for every finite u, and the
value, first and second derivatives are exact and finite at and around v = 0 in float32 and
float64.

References: D.E. Goldman, J. Gen. Physiol. 27, 37 (1943), doi:10.1085/jgp.27.1.37;
A.L. Hodgkin & B. Katz, J. Physiol. 108, 37 (1949), doi:10.1113/jphysiol.1949.sp004310;
H.H. Ussing, Acta Physiol. Scand. 19, 43 (1949); Hille (2001) ch. 14.
"""

import functools

import jax
import jax.numpy as jnp

from ionjax._src._common import as_float, check_concrete, log_ratio, nan_unless, valid_ion
from ionjax._src.constants import FARADAY, GAS_CONSTANT

# Bernoulli series of a / (e^a - 1) = sum_n B_n a^n / n!: coefficients of a^0 .. a^8.
_SERIES = (1.0, -0.5, 1.0 / 12.0, 0.0, -1.0 / 720.0, 0.0, 1.0 / 30240.0, 0.0, -1.0 / 1209600.0)
# its derivative, coefficients of a^0 .. a^7
_SERIES_DERIVATIVE = tuple(n * c for n, c in enumerate(_SERIES))[1:]


def _series_threshold(dtype):
    """|u| below which the derivative comes from the series (chosen so that the closed-form
    derivative of the direct formula, which loses about eps/a^k to cancellation, stays accurate
    above it, while the truncated series is exact to rounding below it)."""
    bits = jnp.finfo(dtype).bits
    return {64: 1e-2, 32: 0.1}.get(bits, 1.0)


@jax.custom_jvp
def _f_abs(a):
    """f(a) = a / expm1(a) for a >= 0: 1 at a = 0, 0 where expm1 overflows.

    The value needs no series: expm1 is accurate to rounding near 0, so a / expm1(a) is correct
    to a few ulp for every a > 0, and a = 0 is a single point. Only the derivative cancels near 0.
    """
    return jnp.where(a > 0, a / jnp.expm1(a), jnp.ones_like(a))


@_f_abs.defjvp
def _f_abs_jvp(primals, tangents):
    """f'(a) = f (1 - f - a) / a in closed form (never forms e^a or expm1(a)^2, so derivatives
    of any order stay finite where e^a overflows), and the derivative of the Bernoulli series
    below the threshold, behind a double ``where`` (the unused branch gets a safe argument)."""
    (a,), (da,) = primals, tangents
    f = _f_abs(a)
    small = a < _series_threshold(a.dtype)
    a_safe = jnp.where(small, jnp.ones_like(a), a)
    f_safe = jnp.where(small, jnp.zeros_like(f), f)
    direct = f_safe * (1 - f_safe - a_safe) / a_safe
    series = jnp.polyval(jnp.asarray(_SERIES_DERIVATIVE[::-1], a.dtype), a)
    return f, jnp.where(small, series, direct) * da


def f_pair(u):
    """Return (f(u), f(-u)) with f(u) = u / (e^u - 1), stable for every finite u (one expm1).

    f is evaluated at a = |u| only (no overflow), and f(-a) = f(a) + a (an exact identity; a sum
    of positive terms, so no cancellation).

    Args:
      u: reduced potential zFv/(RT) [dimensionless], floating array of any shape.

    Returns:
      Two arrays of the shape and dtype of ``u``.
    """
    positive = u >= 0
    a = jnp.where(positive, u, -u)
    f_a = _f_abs(a)
    f_minus_a = f_a + a
    return jnp.where(positive, f_a, f_minus_a), jnp.where(positive, f_minus_a, f_a)


def reduced_potential(v, z, temperature):
    return z * v * (FARADAY / GAS_CONSTANT) / temperature


def ghk_current(v, p, c_in, c_out, z, *, temperature):
    """GHK current I = z F p [c_in f(-u) - c_out f(u)], u = zFv/(RT), f(u) = u/(e^u - 1).

    Args:
      v: membrane potential phi_in - phi_out [V].
      p: permeability [m/s] (current density in A/m^2), or permeability times area [m^3/s]
        (current in A). Linear in ``p``; negative values are allowed (used by linear solvers).
      c_in, c_out: intracellular and extracellular concentration [mol/m^3 = mM], >= 0 (0 = the
        ion is absent from that side).
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      I [A/m^2] or [A], broadcast shape of the inputs, dtype of the floating inputs; positive =
      outward. Zero at the Nernst potential; finite with exact first and second derivatives at
      v = 0. Finite at c = 0 with exact derivatives (I is linear in c_in and c_out:
      dI/dc_in = zFp f(-u), dI/dc_out = -zFp f(u)), e.g. I = -zFp c_out f(u), a pure influx, when
      c_in = 0. NaN where c < 0 or NaN, z is not a non-zero integer or T outside 200..400 K.

    Raises:
      ValueError: a concrete (not traced) temperature outside 200..400 K, e.g. 37 (degC passed
        as kelvin: give ``ionjax.units.celsius(37)``); traced, it gives NaN (``check_concrete``).
        ``v`` is not bounded: the current is finite for every finite v.

    Reference: Goldman (1943) doi:10.1085/jgp.27.1.37; Hodgkin & Katz (1949)
    doi:10.1113/jphysiol.1949.sp004310.
    """
    check_concrete(temperature=temperature)
    v, p, c_in, c_out, z, t = as_float(v, p, c_in, c_out, config=(z, temperature))
    return nan_unless(valid_ion(c_in, c_out, z, t), _ghk_current(v, p, c_in, c_out, z, t))


@jax.custom_jvp
def _ghk_current(v, p, c_in, c_out, z, t):
    """The value only (derivatives come from the custom JVP below, built on ``f_pair``): with
    a = |u| and f(-a) = f(a) + a, f(u) = f(a) + max(-u, 0) and f(-u) = f(a) + max(u, 0), so
    c_in f(-u) - c_out f(u) = (c_in - c_out) f(a) + c_in max(u, 0) - c_out max(-u, 0): one
    expm1, one division and a few multiply-adds per point, with no sign selects."""
    u = reduced_potential(v, z, t)
    f_a = _f_abs(jnp.abs(u))
    unit = (c_in - c_out) * f_a + c_in * jnp.maximum(u, 0) - c_out * jnp.maximum(-u, 0)
    return z * FARADAY * p * unit


def _is_zero(tangent):
    return isinstance(tangent, jax.custom_derivatives.SymbolicZero)


@functools.partial(_ghk_current.defjvp, symbolic_zeros=True)
def _ghk_current_jvp(primals, tangents):
    """Closed-form tangent, linear in the input tangents with per-point coefficients: reverse
    mode stores a few coefficient arrays and transposes to a handful of multiply-adds (the
    generic derivative of the branchy f_pair costs several times more). Inputs that are not
    differentiated (symbolic zeros) cost nothing; when neither v nor T is, f' is not even
    evaluated. The valence is an integer label: it gets no derivative."""
    v, p, c_in, c_out, z, t = primals
    dv, dp, dc_in, dc_out, _, dt = tangents
    u = reduced_potential(v, z, t)
    zf = z * FARADAY
    terms = []
    if _is_zero(dv) and _is_zero(dt):
        f_u, f_minus_u = f_pair(u)
    else:
        (f_u, f_minus_u), (df_u, df_minus_u) = jax.jvp(f_pair, (u,), (jnp.ones_like(u),))
        du = 0.0  # u = zFv / (RT); jvp of f_pair gives d f(-u)/du as df_minus_u
        if not _is_zero(dv):
            du = du + dv / t
        if not _is_zero(dt):
            du = du - v * dt / (t * t)
        terms.append(p * (c_in * df_minus_u - c_out * df_u) * (z * FARADAY / GAS_CONSTANT) * du)
    unit = c_in * f_minus_u - c_out * f_u
    if not _is_zero(dp):
        terms.append(dp * unit)
    if not _is_zero(dc_in):
        terms.append(p * dc_in * f_minus_u)
    if not _is_zero(dc_out):
        terms.append(-p * dc_out * f_u)
    out = zf * p * unit
    tangent = zf * sum(terms) if terms else jnp.zeros_like(out)
    return out, jnp.broadcast_to(tangent, out.shape).astype(out.dtype)


def ghk_fluxes(v, p, c_in, c_out, z, *, temperature):
    """Unidirectional GHK fluxes: influx = p c_out f(u) and efflux = p c_in f(-u).

    Their difference gives the net current, I = zF (efflux - influx), and their ratio obeys
    Ussing's flux-ratio equation efflux / influx = (c_in / c_out) e^u (see ``ussing_flux_ratio``).

    Args:
      v: membrane potential [V].
      p: permeability [m/s] (fluxes in mol/(m^2 s)) or permeability * area [m^3/s] (mol/s).
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0 (0 = absent from that side).
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      ``(influx, efflux)``, each of the broadcast shape, >= 0 for p >= 0; exactly 0 (with the
      exact derivatives p f(u) and p f(-u) in c_out and c_in) for an ion absent from the side it
      leaves. NaN for invalid input (c < 0 or NaN, z not a non-zero integer, T outside 200..400 K).

    Reference: Hodgkin & Katz (1949); Hille (2001) ch. 14 (unidirectional fluxes).
    """
    v, p, c_in, c_out, z, t = as_float(v, p, c_in, c_out, config=(z, temperature))
    f_u, f_minus_u = f_pair(reduced_potential(v, z, t))
    valid = valid_ion(c_in, c_out, z, t)
    return nan_unless(valid, p * c_out * f_u), nan_unless(valid, p * c_in * f_minus_u)


def ussing_flux_ratio(v, c_in, c_out, z, *, temperature):
    """Ussing flux ratio efflux / influx = (c_in / c_out) exp(zFv/RT) = exp(Delta mu-bar / RT).

    Independent of the permeability (and of the mechanism, for independent passive movement);
    equal to 1 at the Nernst potential.

    Args:
      v: membrane potential [V].
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0.
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      The dimensionless ratio, broadcast shape. 0 where c_in = 0 < c_out (no efflux), with the
      exact derivative e^u / c_out in c_in (NaN where that overflows, |u| >~ 700 in float64,
      88 in float32); +inf where c_out = 0 < c_in (no influx); NaN where both are 0 (no flux at
      all) and for invalid input.

    Reference: H.H. Ussing, Acta Physiol. Scand. 19, 43 (1949).
    """
    v, c_in, c_out, z, t = as_float(v, c_in, c_out, config=(z, temperature))
    u = reduced_potential(v, z, t)
    both = (c_in > 0) & (c_out > 0)
    # double where: each branch gets safe arguments where it is not used, so that nothing
    # overflows there and no NaN reaches a gradient
    ratio = jnp.exp(jnp.where(both, u, 0) + log_ratio(jnp.where(both, c_in, 1),
                                                      jnp.where(both, c_out, 1)))
    # c_in = 0 < c_out: c_in e^u / c_out is 0, with slope e^u / c_out in c_in
    no_efflux = (c_in == 0) & (c_out > 0)
    slope = jnp.exp(jnp.where(no_efflux, u, 0) - jnp.log(jnp.where(no_efflux, c_out, 1)))
    vanishing = jnp.where(jnp.isfinite(slope), c_in * slope, 0)
    one_sided = jnp.where(c_in == 0, vanishing, jnp.inf)
    ratio = jnp.where(both, ratio, jnp.where((c_in == 0) & (c_out == 0), jnp.nan, one_sided))
    return nan_unless(valid_ion(c_in, c_out, z, t), ratio)
