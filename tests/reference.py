"""High-precision (mpmath, 50 digits) reference implementations used as truth by the tests.

Written from the textbook equations, independently of ionjax's numerics: no series switch, no
identities, just the definitions evaluated with 50 significant digits.
"""

import mpmath as mp

mp.mp.dps = 50
R = mp.mpf(1380649) / 10**29 * mp.mpf(602214076) * 10**15  # k_B N_A, exact
F = mp.mpf(1602176634) / 10**28 * mp.mpf(602214076) * 10**15  # e N_A, exact


def f(u):
    """u / (e^u - 1), with its limit 1 at u = 0."""
    u = mp.mpf(u)
    return mp.mpf(1) if u == 0 else u / mp.expm1(u)


def ghk_current(v, p, c_in, c_out, z, t):
    """I = p z^2 F^2 v / (RT) (c_in - c_out e^{-u}) / (1 - e^{-u}), u = zFv/RT (limit at v = 0)."""
    v, p, c_in, c_out, z, t = map(mp.mpf, (v, p, c_in, c_out, z, t))
    u = z * F * v / (R * t)
    if u == 0:
        return z * F * p * (c_in - c_out)
    return p * z * F * u * (c_in - c_out * mp.exp(-u)) / (-mp.expm1(-u))


def ghk_current_derivative(v, p, c_in, c_out, z, t, n=1):
    """n-th derivative of the GHK current with respect to v."""
    return mp.diff(lambda x: ghk_current(x, p, c_in, c_out, z, t), mp.mpf(v), n)


def nernst(c_in, c_out, z, t):
    c_in, c_out, z, t = map(mp.mpf, (c_in, c_out, z, t))
    return R * t / (z * F) * mp.log(c_out / c_in)


def ghk_voltage(p, c_in, c_out, z, t):
    """Root of sum_k I_k(v) = 0 by mpmath's bracketing solver (50 digits)."""
    def total(v):
        return mp.fsum(ghk_current(v, *args, t) for args in zip(p, c_in, c_out, z))

    if all(ci > 0 and co > 0 for ci, co in zip(c_in, c_out)):
        es = [nernst(ci, co, zk, t) for ci, co, zk in zip(c_in, c_out, z)]
        lo, hi = min(es), max(es)
    else:  # an ion absent from one side (bi-ionic): bracket generously
        lo, hi = mp.mpf(-1), mp.mpf(1)
    if hi - lo < mp.mpf(10) ** -40:
        return lo
    return mp.findroot(total, (lo, hi), solver="anderson", tol=mp.mpf(10) ** -45)
