"""GHK voltage equation: the zero-current potential of several permeant ions of any valences.

The reversal potential v_r of a membrane permeable to ions k (permeabilities p_k, valences z_k)
solves sum_k I_k(v_r) = 0 with I_k the GHK current. Each I_k increases with v, so the root is
unique and lies between the smallest and the largest Nernst potential.

* Valences in {+-1, +-2} (the physiological case: Na+, K+, Cl-, Ca2+, Mg2+, ...). Dividing by v and
  multiplying by (x^2 - 1), with x = e^{v/V_T}, turns the sum into the quadratic
  A x^2 + B x + C = 0 with
      A = sum_{+1} p c_in + sum_{-1} p c_out + 4 sum_{+2} p c_in + 4 sum_{-2} p c_out  (> 0)
      B = sum_{+1} p (c_in - c_out) - sum_{-1} p (c_in - c_out)
      C = -(sum_{+1} p c_out + sum_{-1} p c_in + 4 sum_{+2} p c_out + 4 sum_{-2} p c_in)  (< 0)
  whose single positive root is taken with the cancellation-free form of the quadratic formula.
  With monovalent ions only it factors as (x + 1)(A x + C) and gives the classic closed form
  v_r = V_T ln[(sum_cat p c_out + sum_an p c_in) / (sum_cat p c_in + sum_an p c_out)].
* Any other valences (or valences that are traced under jit): a bracketed bisection, run to the
  dtype's resolution, inside ``jax.lax.custom_root`` so that derivatives with respect to p and the
  concentrations come from the implicit function theorem, dv_r/dtheta = -(dI/dtheta) / (dI/dv),
  never from the iterations. The bracket is the span of the Nernst potentials, cut down to
  [-max(1, ln(1.6 S_out/S_in)), max(1, ln(1.6 S_in/S_out))] V_T (see below), which stays finite
  when an ion is absent from one side and its Nernst potential is infinite.

Zero concentrations. An ion absent from one side (bi-ionic conditions, NMDG or choline
substitution, Ca-free solutions) is the classic use of this equation, and the root stays finite as
long as both directions of current have a carrier. Write the current of ion k as
|z| p f(|z| x) [a e^{|z| x} - b], x = v/V_T, where a is the concentration whose flux carries
outward current (c_in of a cation, c_out of an anion) and b the other; then
S_out = sum z^2 p a = A and S_in = sum z^2 p b = -C of the quadratic above. With S_out = 0 the
current is negative at every finite v and the reversal is +inf; with S_in = 0 it is -inf; with
both 0 (no permeant ion present at all) it is NaN. Since f(-y) >= y and f(y) <= 1.582 y e^{-y}
for y >= 1, the current is positive for x >= max(1, ln(1.6 S_in/S_out)) and negative for
x <= -max(1, ln(1.6 S_out/S_in)): the bracket above.

References: Goldman (1943); Hodgkin & Katz (1949); for the divalent case B. Lewis,
J. Physiol. 286, 417 (1979), doi:10.1113/jphysiol.1979.sp012629, and W.F. Spangler,
Ala. J. Med. Sci. 9, 218 (1972).
"""

import jax
import jax.numpy as jnp
import numpy as np

from ionjax._src._common import as_float, nan_unless, valid_ion, valid_temperature
from ionjax._src.constants import FARADAY, GAS_CONSTANT
from ionjax._src.ghk import f_pair


def _concrete_valences(z):
    """The valences as a NumPy array if they are known at trace time, else None."""
    try:
        return np.asarray(z)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _closed_form(p, c_in, c_out, z_np, v_t):
    """Positive root of the quadratic in x = e^{v/V_T}; arrays have the ion axis last."""
    dtype = p.dtype

    def weight(valence):
        return jnp.asarray(np.broadcast_to(z_np == valence, p.shape), dtype)

    w_p1, w_m1, w_p2, w_m2 = (weight(k) for k in (1, -1, 2, -2))

    def total(x):
        return jnp.sum(x, axis=-1)

    a = total(p * (w_p1 * c_in + w_m1 * c_out + 4 * (w_p2 * c_in + w_m2 * c_out)))
    b = total(p * (w_p1 - w_m1) * (c_in - c_out))
    c = -total(p * (w_p1 * c_out + w_m1 * c_in + 4 * (w_p2 * c_out + w_m2 * c_in)))
    root_d = jnp.sqrt(b * b - 4 * a * c)
    x = jnp.where(b >= 0, -2 * c / (b + root_d), (root_d - b) / (2 * a))
    return v_t * jnp.log(x)


def _bisection_steps(dtype):
    return 2 + jnp.finfo(dtype).nmant + 10  # bracket < 2^10 V_T, halved to the last bit


def _carriers(p, c_in, c_out, z):
    """(S_out, S_in) = (sum z^2 p a, sum z^2 p b): a the concentration whose flux carries outward
    current (c_in of a cation, c_out of an anion), b the other; ions along the last axis."""
    outward, inward = jnp.where(z > 0, c_in, c_out), jnp.where(z > 0, c_out, c_in)
    weight = z * z * p
    return jnp.sum(weight * outward, axis=-1), jnp.sum(weight * inward, axis=-1)


def _bracket(p, c_in, c_out, z):
    """[lo, hi] around the root, in units of V_T, finite where S_out and S_in are > 0."""
    s_out, s_in = _carriers(p, c_in, c_out, z)
    lo = -jnp.maximum(1.0, jnp.log(1.6 * s_out / s_in))
    hi = jnp.maximum(1.0, jnp.log(1.6 * s_in / s_out))
    # the Nernst potentials of the present ions: +-inf for one absent from one side
    outward, inward = jnp.where(z > 0, c_in, c_out), jnp.where(z > 0, c_out, c_in)
    present = (p > 0) & ((outward > 0) | (inward > 0))
    e_k = jnp.log(inward / outward) / jnp.abs(z)
    lo = jnp.maximum(lo, jnp.min(jnp.where(present, e_k, jnp.inf), axis=-1))
    hi = jnp.minimum(hi, jnp.max(jnp.where(present, e_k, -jnp.inf), axis=-1))
    return jax.lax.stop_gradient(lo), jax.lax.stop_gradient(hi)


def _root_solve(p, c_in, c_out, z, v_t):
    """Bisection + implicit-function-theorem gradients; arrays have the ion axis last."""

    def net_current(v):  # sum_k z_k p_k [c_in f(-u) - c_out f(u)], in units of F
        f_u, f_minus_u = f_pair(z * v[..., None] / v_t[..., None])
        return jnp.sum(z * p * (c_in * f_minus_u - c_out * f_u), axis=-1)

    lo_x, hi_x = _bracket(p, c_in, c_out, z)

    def bisect(func, guess):
        del guess
        lo, hi = lo_x * v_t, hi_x * v_t

        def step(_, bracket):
            lo, hi = bracket
            mid = 0.5 * (lo + hi)
            above = func(mid) > 0
            return jnp.where(above, lo, mid), jnp.where(above, mid, hi)

        lo, hi = jax.lax.fori_loop(0, _bisection_steps(lo.dtype), step, (lo, hi))
        return 0.5 * (lo + hi)

    def diagonal_solve(linear, rhs):
        return rhs / linear(jnp.ones_like(rhs))

    guess = jnp.zeros(p.shape[:-1], p.dtype)
    return jax.lax.custom_root(net_current, guess, bisect, diagonal_solve)


def ghk_voltage(p, c_in, c_out, z, *, temperature, axis=-1, method="auto"):
    """GHK zero-current (reversal) potential of several permeant ions of any valences.

    Solves sum_k z_k p_k [c_in,k f(-u_k) - c_out,k f(u_k)] = 0, u_k = z_k F v / RT, for v. For
    monovalent ions only this is the classic Goldman-Hodgkin-Katz voltage equation
    v = (RT/F) ln[(sum_cat p c_out + sum_an p c_in) / (sum_cat p c_in + sum_an p c_out)]; for a
    single ion it is its Nernst potential. Homogeneous of degree 0 in p: only ratios matter.

    Args:
      p: permeabilities [m/s] or [m^3/s] (any common unit), >= 0 and not all zero; ions along
        ``axis``.
      c_in, c_out: concentrations [mol/m^3 = mM], >= 0 (0 = absent from that side),
        broadcastable against ``p``.
      z: valences, non-zero integers, broadcastable against ``p``.
      temperature: [K], keyword-only; broadcastable against the result.
      axis: the ion axis of the broadcast inputs (default the last).
      method: "auto" (closed form when the valences are known at trace time and all in
        {+-1, +-2}, else root solve), "closed" or "root".

    Returns:
      v_r [V], the broadcast shape with the ion axis removed, dtype of the floating inputs.
      Finite, with exact implicit-function derivatives, wherever current of both signs has a
      carrier, zero concentrations included: bi-ionic p = (1, 0.1), c_in = (140, 0),
      c_out = (0, 140) gives (RT/F) ln(0.1) = -58.56 mV at 22 degC. +inf where no permeant ion
      can carry outward current (S_out = 0: no permeant cation inside and no permeant anion
      outside, e.g. a single cation with c_in = 0, whose Nernst potential is +inf), -inf where
      none can carry inward current (S_in = 0); derivatives there are NaN. NaN where no permeant
      ion is present on either side, any c < 0 or NaN, z is not a non-zero integer, p < 0, all
      p == 0 or T outside 200..400 K.

    Reference: Goldman (1943) doi:10.1085/jgp.27.1.37; Hodgkin & Katz (1949)
    doi:10.1113/jphysiol.1949.sp004310; Lewis (1979) doi:10.1113/jphysiol.1979.sp012629.
    """
    # read the valences before anything turns them into traced values under jit
    z_np = _concrete_valences(z) if method in ("auto", "closed") else None
    p, c_in, c_out, z, t = as_float(p, c_in, c_out, config=(z, temperature))
    shape = jnp.broadcast_shapes(p.shape, c_in.shape, c_out.shape, z.shape)
    p, c_in, c_out, z = (jnp.moveaxis(jnp.broadcast_to(x, shape), axis, -1)
                         for x in (p, c_in, c_out, z))
    if z_np is not None:
        z_np = np.moveaxis(np.broadcast_to(z_np, shape), axis, -1)
    valid = jnp.all(valid_ion(c_in, c_out, z, 300.0) & (p >= 0), axis=-1)  # T checked below
    t = jnp.broadcast_to(t, jnp.broadcast_shapes(t.shape, p.shape[:-1]))
    valid = valid & valid_temperature(t)
    v_t = t * (GAS_CONSTANT / FARADAY)
    # Only ratios of p and of c matter: rescale (outside the derivative) against under/overflow.
    p = p / jax.lax.stop_gradient(jnp.max(jnp.abs(p), axis=-1, keepdims=True))
    scale_c = jax.lax.stop_gradient(jnp.maximum(jnp.max(jnp.abs(c_in), axis=-1, keepdims=True),
                                                jnp.max(jnp.abs(c_out), axis=-1, keepdims=True)))
    c_in, c_out = c_in / scale_c, c_out / scale_c
    s_out, s_in = _carriers(p, c_in, c_out, z)
    valid = valid & ((s_out > 0) | (s_in > 0))  # NaN (all p or all c 0) gives False
    finite = valid & (s_out > 0) & (s_in > 0)
    # Both solvers run on finite numbers only: the other entries get a harmless placeholder.
    ok = finite[..., None]
    p, c_in, c_out, z = (jnp.where(ok, x, 1.0) for x in (p, c_in, c_out, z))

    use_closed = z_np is not None and np.all(np.isin(np.abs(z_np), (1, 2)))
    if method == "closed" and not use_closed:
        raise ValueError("method='closed' needs valences known at trace time, all in {+-1, +-2}; "
                         f"got z={z_np if z_np is not None else 'a traced array'}")
    if method not in ("auto", "closed", "root"):
        raise ValueError(f"method must be 'auto', 'closed' or 'root'; got {method!r}")
    if use_closed:
        v_r = _closed_form(p, c_in, c_out, z_np, v_t)
    else:
        v_r = _root_solve(p, c_in, c_out, z, jnp.where(finite, v_t, 1.0))
    # S_out = 0: no outward carrier, v_r = +inf; S_in = 0: -inf. The factor 1 + 0 (S_out + S_in)
    # keeps that value and makes its derivatives in p and c NaN (an infinite root has none), never
    # a plausible 0; finite entries multiply by 1 there, so that no NaN reaches their gradients.
    limit = jnp.where(finite, 1.0, jnp.where(s_out > 0, -jnp.inf, jnp.inf)).astype(v_r.dtype)
    return nan_unless(valid, jnp.where(finite, v_r, limit * (1 + 0 * (s_out + s_in))))
