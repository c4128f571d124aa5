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
* Any other valences (or valences that are traced under jit): a bracketed bisection between the
  extreme Nernst potentials, run to the dtype's resolution, inside ``jax.lax.custom_root`` so that
  derivatives with respect to p and the concentrations come from the implicit function theorem,
  dv_r/dtheta = -(dI/dtheta) / (dI/dv), never from the iterations.

References: Goldman (1943); Hodgkin & Katz (1949); for the divalent case B. Lewis,
J. Physiol. 286, 417 (1979), doi:10.1113/jphysiol.1979.sp012629, and W.F. Spangler,
Ala. J. Med. Sci. 9, 218 (1972).
"""

import jax
import jax.numpy as jnp
import numpy as np

from ionjax._src._common import as_float, nan_unless, valid_ion
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
    return 2 + jnp.finfo(dtype).nmant + 8  # bracket < 2^8 V_T, halved to the last bit


def _root_solve(p, c_in, c_out, z, v_t):
    """Bisection + implicit-function-theorem gradients; arrays have the ion axis last."""

    def net_current(v):  # sum_k z_k p_k [c_in f(-u) - c_out f(u)], in units of F
        f_u, f_minus_u = f_pair(z * v[..., None] / v_t[..., None])
        return jnp.sum(z * p * (c_in * f_minus_u - c_out * f_u), axis=-1)

    e_k = v_t[..., None] / z * jnp.log(c_out / c_in)

    def bisect(func, guess):
        del guess
        lo = jax.lax.stop_gradient(jnp.min(e_k, axis=-1))
        hi = jax.lax.stop_gradient(jnp.max(e_k, axis=-1))

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
      c_in, c_out: concentrations [mol/m^3 = mM], > 0, broadcastable against ``p``.
      z: valences, non-zero integers, broadcastable against ``p``.
      temperature: [K], keyword-only; broadcastable against the result.
      axis: the ion axis of the broadcast inputs (default the last).
      method: "auto" (closed form when the valences are known at trace time and all in
        {+-1, +-2}, else root solve), "closed" or "root".

    Returns:
      v_r [V], the broadcast shape with the ion axis removed, dtype of the floating inputs. NaN
      where any c <= 0, z not a non-zero integer, p < 0, all p == 0 or T <= 0.

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
    valid = jnp.all(valid_ion(c_in, c_out, z, 1.0) & (p >= 0), axis=-1) & jnp.any(p > 0, axis=-1)
    t = jnp.broadcast_to(t, jnp.broadcast_shapes(t.shape, p.shape[:-1]))
    valid = valid & (t > 0)
    v_t = t * (GAS_CONSTANT / FARADAY)
    # Only ratios of p and of c matter: rescale (outside the derivative) against under/overflow.
    p = p / jax.lax.stop_gradient(jnp.max(jnp.abs(p), axis=-1, keepdims=True))
    scale_c = jax.lax.stop_gradient(jnp.maximum(jnp.max(jnp.abs(c_in), axis=-1, keepdims=True),
                                                jnp.max(jnp.abs(c_out), axis=-1, keepdims=True)))
    c_in, c_out = c_in / scale_c, c_out / scale_c

    use_closed = z_np is not None and np.all(np.isin(np.abs(z_np), (1, 2)))
    if method == "closed" and not use_closed:
        raise ValueError("method='closed' needs valences known at trace time, all in {+-1, +-2}; "
                         f"got z={z_np if z_np is not None else 'a traced array'}")
    if method not in ("auto", "closed", "root"):
        raise ValueError(f"method must be 'auto', 'closed' or 'root'; got {method!r}")
    if use_closed:
        v_r = _closed_form(p, c_in, c_out, z_np, v_t)
    else:
        # Sanitise invalid entries so that the solver runs on finite numbers; they become NaN.
        ok = valid[..., None]
        c_in = jnp.where(ok, c_in, 1.0)
        c_out = jnp.where(ok, c_out, 1.0)
        z = jnp.where(ok, z, 1.0)
        p = jnp.where(ok, p, 1.0)
        v_r = _root_solve(p, c_in, c_out, z, jnp.where(valid, v_t, 1.0))
    return nan_unless(valid, v_r)
