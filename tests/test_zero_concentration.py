"""Zero concentrations are physics (issue 27 item 1): an ion absent from one side.

Bi-ionic conditions, NMDG or choline substitution and Ca-free solutions put c = 0 on one side of
the membrane; the GHK current, fluxes, conductances and voltage are finite there and must be
exact, with exact derivatives, also at c = 0 together with v = 0. Where the equation itself is
infinite or undefined (a Nernst potential, a ratio divided by an absent concentration, a reversal
with no carrier for one direction of current) the result is +-inf or NaN as documented, never a
plausible finite number. Truth is the 50-digit mpmath reference of ``reference.py``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ionjax as ij
import reference as ref

T = 295.15
V_T = float(ref.R * T / ref.F)
DTYPES = (np.float64, np.float32)
# relative accuracy of values and derivatives that involve no cancellation
RTOL = {np.float64: 1e-13, np.float32: 1e-5}
# the contract's tolerances for the v-derivatives of the current (as in test_ghk.py)
TOLERANCE = {np.float64: (1e-11, 1e-7, 1e-5), np.float32: (3e-6, 3e-3, 3e-3)}
VOLTAGES = (0.0, 1e-12, -1e-12, 1e-7, -1e-4, 0.01, -0.05, 0.2, -0.3, 1.0)
ABSENT = ((0.0, 145.0), (140.0, 0.0), (0.0, 0.0))


def _close(got, want, rtol, scale=None):
    got, want = float(got), float(want)
    return abs(got - want) <= rtol * (abs(want) if scale is None else scale)


# --- GHK current and fluxes ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("z", [1, -1, 2, -2])
@pytest.mark.parametrize("c_in, c_out", ABSENT)
def test_ghk_current_and_all_its_derivatives_at_zero_concentration(dtype, z, c_in, c_out):
    """I, dI/dv, d2I/dv2, dI/dp, dI/dc_in, dI/dc_out against 50 digits, v = 0 included."""
    p = dtype(1e-6)
    v = jnp.asarray(VOLTAGES, dtype)
    c_in, c_out = dtype(c_in), dtype(c_out)

    def current(v, p, c_in, c_out):
        return ij.ghk_current(v, p, c_in, c_out, z, temperature=T)

    at_each_v = dict(in_axes=(0, None, None, None))
    value = jax.jit(current)(v, p, c_in, c_out)
    first = jax.jit(jax.vmap(jax.grad(current, argnums=(0, 1, 2, 3)), **at_each_v))(
        v, p, c_in, c_out)
    second = jax.jit(jax.vmap(jax.grad(jax.grad(current)), **at_each_v))(v, p, c_in, c_out)
    assert value.dtype == dtype and all(g.dtype == dtype for g in (*first, second))
    t = float(dtype(T))
    tol = TOLERANCE[dtype]
    for k, x in enumerate(np.asarray(v, float)):
        u = abs(z * x / V_T)
        unit = abs(z * float(ref.F) * float(p)) * max(1.0, u)  # |zFp| max(1, |u|)
        scale = unit * max(float(c_in) + float(c_out), 1.0)
        args = (x, float(p), float(c_in), float(c_out), z, t)
        assert _close(value[k], ref.ghk_current(*args), tol[0], scale), (x, value[k])
        assert _close(first[0][k], ref.ghk_current_derivative(*args, 1), tol[1],
                      scale * abs(z) / V_T)
        assert _close(second[k], ref.ghk_current_derivative(*args, 2), tol[2],
                      scale * (z / V_T) ** 2)
        assert _close(first[1][k], ref.ghk_current(*args) / float(p), tol[0], scale / float(p))
        # linear in c: dI/dc_in = zFp f(-u), dI/dc_out = -zFp f(u), exact at c = 0
        assert _close(first[2][k], ref.ghk_current(x, float(p), 1, 0, z, t), tol[0], unit)
        assert _close(first[3][k], ref.ghk_current(x, float(p), 0, 1, z, t), tol[0], unit)
    if c_in == 0 and c_out == 0:
        assert np.all(value == 0) and np.all(first[0] == 0) and np.all(second == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_issue_example_and_its_gradient(dtype):
    """ghk_current(-0.05, 1e-6, 0, 145, 1) was NaN with gradient 0."""
    args = [dtype(a) for a in (-0.05, 1e-6, 0.0, 145.0)]
    current = jax.jit(lambda v, p, c_in, c_out: ij.ghk_current(v, p, c_in, c_out, 1, temperature=T))
    want = ref.ghk_current(-0.05, float(args[1]), 0.0, 145.0, 1, float(dtype(T)))
    assert _close(current(*args), want, RTOL[dtype]) and float(current(*args)) < 0  # influx only
    d_c_in = jax.grad(current, argnums=2)(*args)
    assert _close(d_c_in, ref.ghk_current(-0.05, float(args[1]), 1, 0, 1, float(dtype(T))),
                  RTOL[dtype])
    assert float(d_c_in) > 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c_in, c_out", ABSENT)
def test_unidirectional_fluxes_at_zero_concentration(dtype, c_in, c_out):
    v = jnp.asarray([0.0, 1e-9, -0.06, 0.04], dtype)
    c_in, c_out = dtype(c_in), dtype(c_out)
    fluxes = jax.jit(lambda v, ci, co: ij.ghk_fluxes(v, dtype(1e-6), ci, co, 2, temperature=T))
    influx, efflux = fluxes(v, c_in, c_out)
    d_influx = jax.vmap(jax.grad(lambda v, co: fluxes(v, c_in, co)[0], argnums=1),
                        in_axes=(0, None))(v, c_out)
    d_efflux = jax.vmap(jax.grad(lambda v, ci: fluxes(v, ci, c_out)[1], argnums=1),
                        in_axes=(0, None))(v, c_in)
    t = float(dtype(T))
    for k, x in enumerate(np.asarray(v, float)):
        u = ref.mp.mpf(2) * ref.F * x / (ref.R * t)
        assert _close(influx[k], 1e-6 * float(c_out) * ref.f(u), RTOL[dtype], 1e-6 * 145)
        assert _close(efflux[k], 1e-6 * float(c_in) * ref.f(-u), RTOL[dtype], 1e-6 * 145)
        assert _close(d_influx[k], 1e-6 * ref.f(u), RTOL[dtype])
        assert _close(d_efflux[k], 1e-6 * ref.f(-u), RTOL[dtype])
    assert np.all(influx == 0) if c_out == 0 else np.all(influx > 0)
    assert np.all(efflux == 0) if c_in == 0 else np.all(efflux > 0)


def test_ussing_flux_ratio_at_zero_concentration():
    """efflux/influx = (c_in/c_out) e^u: 0 without efflux (slope e^u/c_out), +inf without
    influx, NaN with neither."""
    for dtype in DTYPES:
        ratio = jax.jit(lambda v, ci, co: ij.ussing_flux_ratio(v, ci, co, 1, temperature=T))
        v = jnp.asarray([0.0, -0.08, 0.05, 3.0], dtype)  # 3 V: e^u overflows float32
        zero = ratio(v, dtype(0.0), dtype(145.0))
        assert zero.dtype == dtype and np.all(zero == 0)
        assert np.all(ratio(v, dtype(140.0), dtype(0.0)) == np.inf)
        assert np.all(np.isnan(ratio(v, dtype(0.0), dtype(0.0))))
        slope = jax.vmap(jax.grad(ratio, argnums=1), in_axes=(0, None, None))(
            v[:3], dtype(0.0), dtype(145.0))
        for k, x in enumerate(np.asarray(v[:3], float)):
            want = ref.mp.exp(ref.F * x / (ref.R * float(dtype(T)))) / 145
            assert _close(slope[k], want, RTOL[dtype])


# --- conductances ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c_in, c_out", ABSENT)
def test_slope_conductance_at_zero_concentration(dtype, c_in, c_out):
    v = jnp.asarray([0.0, 1e-12, -0.06, 0.03], dtype)
    c_in, c_out = dtype(c_in), dtype(c_out)

    def slope(v, c_in):
        return ij.ghk_slope_conductance(v, dtype(1e-6), c_in, c_out, -1, temperature=T)

    g = jax.jit(slope)(v, c_in)
    d_c_in = jax.jit(jax.vmap(jax.grad(slope, argnums=1), in_axes=(0, None)))(v, c_in)
    t = float(dtype(T))
    for k, x in enumerate(np.asarray(v, float)):
        want = ref.ghk_current_derivative(x, 1e-6, float(c_in), float(c_out), -1, t)
        scale = float(ref.F) * 1e-6 * 145 / V_T
        assert _close(g[k], want, TOLERANCE[dtype][1], scale)
        mixed = ref.ghk_current_derivative(x, 1e-6, 1, 0, -1, t)  # d2I/dv dc_in
        assert _close(d_c_in[k], mixed, TOLERANCE[dtype][1], scale / 145)


@pytest.mark.parametrize("dtype", DTYPES)
def test_chord_conductance_and_slope_at_reversal_vanish_with_an_infinite_slope(dtype):
    """E_ion is infinite, so I/(v - E) = 0 and g(E) = 0: both decay like 1/ln(1/c) or
    c ln(1/c), with derivative +inf in the absent concentration and 0 in everything else."""
    v, p = dtype(0.02), dtype(1e-6)

    def chord(v, p, c_in, c_out):
        return ij.ghk_chord_conductance(v, p, c_in, c_out, 1, temperature=T)

    def at_reversal(v, p, c_in, c_out):
        del v
        return ij.ghk_conductance_at_reversal(p, c_in, c_out, 1, temperature=T)

    for func in (chord, at_reversal):
        for c_in, c_out, steep in [(0.0, 145.0, 2), (140.0, 0.0, 3), (0.0, 0.0, None)]:
            args = (v, p, dtype(c_in), dtype(c_out))
            value = jax.jit(func)(*args)
            grads = jax.jit(jax.grad(func, argnums=(0, 1, 2, 3)))(*args)
            assert value.dtype == dtype and value == 0, (func, c_in, c_out)
            for k, g in enumerate(grads):
                assert g.dtype == dtype
                assert g == (np.inf if k == steep else 0.0), (func.__name__, c_in, c_out, k, g)
            minus = jax.grad(lambda *a: func(a[0], -a[1], *a[2:]), argnums=steep or 1)(*args)
            assert minus == (-np.inf if steep else 0.0)  # a negative p flips the slope
    # the limit, approached: I / (v - E) of 50 digits, falling towards 0 as c_in -> 0
    previous = np.inf
    for c_in in (1e-3, 1e-30, 1e-300):
        got = float(ij.ghk_chord_conductance(0.02, 1e-6, c_in, 145.0, 1, temperature=T))
        e_ion = ref.nernst(c_in, 145.0, 1, T)
        want = ref.ghk_current(0.02, 1e-6, c_in, 145.0, 1, T) / (0.02 - e_ion)
        assert got == pytest.approx(float(want), rel=1e-9) and 0 < got < previous
        previous = got


def test_permeability_from_conductance_at_zero_concentration():
    """g(E) = 0 for every p there: no finite permeability gives a non-zero slope."""
    got = ij.permeability_from_conductance(jnp.asarray([1e-9, -1e-9, 0.0]), 0.0, 145.0, 1,
                                           temperature=T)
    assert got[0] == np.inf and got[1] == -np.inf and np.isnan(got[2])


# --- GHK voltage --------------------------------------------------------------------------------

# (p, c_in, c_out, z): bi-ionic K+/Na+ (the issue's example, -58.56 mV), bi-ionic K+/Ca2+, Na+
# absent inside with Cl- absent outside, a Ca-free bath, cation and anion outside only, a
# trivalent test ion beside an anion absent from both sides, cation and anion inside only
FINITE = [
    ([1.0, 0.1], [140.0, 0.0], [0.0, 140.0], [1, 1]),
    ([1.0, 3.0], [140.0, 0.0], [0.0, 10.0], [1, 2]),
    ([1.0, 0.05, 0.4], [140.0, 0.0, 10.0], [5.0, 145.0, 0.0], [1, 1, -1]),
    ([1.0, 0.04, 0.45, 0.1], [140.0, 10.0, 10.0, 1e-4], [5.0, 145.0, 120.0, 0.0], [1, 1, -1, 2]),
    ([1.0, 0.5], [0.0, 0.0], [150.0, 100.0], [1, -1]),
    ([1.0, 0.2, 0.7], [140.0, 0.0, 0.0], [0.0, 5.0, 0.0], [1, 3, -2]),
    ([1.0, 0.5], [140.0, 10.0], [0.0, 0.0], [1, -1]),
]
# value and gradient accuracy against the 50-digit root (float32: a few ulp of the root)
V_ATOL = {np.float64: 1e-15, np.float32: 3e-8}
GRAD_RTOL = {np.float64: 1e-12, np.float32: 1e-5}


def _exact_gradients(p, c_in, c_out, z, root):
    """Implicit-function theorem with 50 digits: dv/dtheta = -(dI/dtheta) / (dI/dv)."""
    di_dv = ref.mp.fsum(ref.ghk_current_derivative(root, *a, T) for a in zip(p, c_in, c_out, z))
    d_p = [-ref.ghk_current(root, 1, ci, co, zk, T) / di_dv for ci, co, zk in zip(c_in, c_out, z)]
    d_in = [-ref.ghk_current(root, pk, 1, 0, zk, T) / di_dv for pk, zk in zip(p, z)]
    d_out = [-ref.ghk_current(root, pk, 0, 1, zk, T) / di_dv for pk, zk in zip(p, z)]
    return d_p, d_in, d_out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(FINITE)))
def test_ghk_voltage_with_absent_ions_matches_50_digits_with_gradients(dtype, case):
    p, c_in, c_out, z = FINITE[case]
    root = ref.ghk_voltage(p, c_in, c_out, z, T)
    want = _exact_gradients(p, c_in, c_out, z, root)
    methods = ("auto", "root") if max(map(abs, z)) <= 2 else ("root",)
    for method in methods:
        def v_rev(p, c_in, c_out):
            return ij.ghk_voltage(p, c_in, c_out, np.asarray(z), temperature=T, method=method)

        args = [jnp.asarray(a, dtype) for a in (p, c_in, c_out)]
        v = jax.jit(v_rev)(*args)
        grads = jax.jit(jax.grad(v_rev, argnums=(0, 1, 2)))(*args)
        assert v.dtype == dtype and abs(float(v) - float(root)) <= V_ATOL[dtype], (method, v)
        for got, exact in zip(grads, want):
            assert got.dtype == dtype
            for g, w in zip(np.asarray(got, float), exact):
                assert _close(g, w, GRAD_RTOL[dtype]), (method, got, exact)


def test_the_issue_bi_ionic_example_and_its_limit():
    """ghk_voltage([1, 0.1], [140, 0], [0, 140], [1, 1]) was NaN; 1e-30 for 0 gave -58.56 mV."""
    v = ij.ghk_voltage([1, 0.1], [140, 0], [0, 140], [1, 1], temperature=T)
    assert float(v) == pytest.approx(V_T * np.log(0.1), rel=1e-14)
    assert round(float(v) * 1e3, 2) == -58.56
    near = ij.ghk_voltage([1, 0.1], [140, 1e-30], [1e-30, 140], [1, 1], temperature=T)
    assert float(near) == pytest.approx(float(v), rel=1e-14)


@pytest.mark.parametrize("method", ["auto", "root"])
def test_ghk_voltage_is_infinite_without_a_carrier_for_one_direction(method):
    """No permeant cation inside and no permeant anion outside: the current is inward at every v
    and the reversal is +inf (a single cation's Nernst potential with c_in = 0); the mirror case
    is -inf; no permeant ion at all is NaN. Derivatives of an infinite root are NaN, and a finite
    neighbour in the same batch keeps its exact value and gradient."""
    p = jnp.asarray([[1.0, 0.5], [1.0, 0.5], [1.0, 0.5], [1.0, 0.5], [1.0, 0.0], [1.0, 0.1]])
    c_in = jnp.asarray([[0.0, 140.0], [140.0, 0.0], [140.0, 0.0], [0.0, 0.0], [0.0, 140.0],
                        [140.0, 0.0]])
    c_out = jnp.asarray([[145.0, 0.0], [0.0, 120.0], [0.0, 0.0], [0.0, 0.0], [0.0, 140.0],
                         [0.0, 140.0]])
    z = np.array([1, -1]) if method == "auto" else np.array([2, -1])
    z = np.stack([z] * 4 + [np.array([1, 1])] * 2)

    def v_rev(p, c_in, c_out):
        return ij.ghk_voltage(p, c_in, c_out, z, temperature=T, method=method)

    v = jax.jit(v_rev)(p, c_in, c_out)
    assert v[0] == np.inf and v[1] == -np.inf and v[2] == -np.inf and np.isnan(v[3])
    assert np.isnan(v[4])  # the only permeant ion is absent from both sides
    assert float(v[5]) == pytest.approx(V_T * np.log(0.1), rel=1e-14)
    grads = jax.jit(jax.grad(lambda *a: jnp.sum(jnp.where(jnp.isfinite(v_rev(*a)), v_rev(*a), 0)),
                             argnums=(0, 1, 2)))(p, c_in, c_out)
    alone = jax.grad(lambda *a: v_rev(*a)[5], argnums=(0, 1, 2))(p, c_in, c_out)
    for g, a in zip(grads, alone):
        np.testing.assert_allclose(g[5], a[5], rtol=1e-14)
        assert np.all(np.isfinite(g[5]))
    for k in (0, 1, 2):
        d = jax.grad(lambda p: v_rev(p, c_in, c_out)[k])(p)
        assert np.all(np.isnan(d[k]))


def test_single_ion_reversal_is_its_infinite_nernst_potential():
    for z in (1, -1, 2):
        for c_in, c_out in [(0.0, 5.0), (5.0, 0.0)]:
            e = ij.nernst_potential(c_in, c_out, z, temperature=T)
            for method in ("auto", "root"):
                v = ij.ghk_voltage(jnp.ones(1), jnp.asarray([c_in]), jnp.asarray([c_out]),
                                   np.array([z]), temperature=T, method=method)
                assert np.isinf(v) and v == e


def test_ghk_voltage_still_refuses_negative_and_nan_concentrations_inside_jit():
    for bad in (-1e-3, np.nan):
        v = jax.jit(lambda c: ij.ghk_voltage(jnp.ones(2), c, jnp.asarray([0.0, 5.0]),
                                             np.array([1, 1]), temperature=T))(
            jnp.asarray([140.0, bad]))
        assert np.isnan(v)


# --- permeability ratios ----------------------------------------------------------------------


def test_bi_ionic_and_substitution_ratios_at_zero_concentration():
    e, mp = -0.02, ref.mp
    x = mp.exp(mp.mpf(e) / (ref.R * T / ref.F))
    bi_ionic = jax.jit(lambda c_x, c_ref: ij.permeability_ratio_bi_ionic(e, c_x, 2, c_ref, 1,
                                                                         temperature=T))
    assert bi_ionic(10.0, 0.0) == 0.0 and bi_ionic(0.0, 140.0) == np.inf
    assert np.isnan(bi_ionic(0.0, 0.0)) and np.isnan(bi_ionic(10.0, -1.0))
    # linear in c_ref (Lewis 1979): d/dc_ref = x (1 + x) / (4 c_Ca), exact at c_ref = 0
    assert _close(jax.grad(bi_ionic, argnums=1)(10.0, 0.0), x * (1 + x) / 40, 1e-13)
    assert _close(jax.grad(bi_ionic, argnums=0)(10.0, 0.0), 0.0, 1e-13, 1.0)

    def substitution(c_ref, c_test):
        return ij.permeability_ratio_substitution(e, 0.01, c_ref, c_test, 1, 1, temperature=T)

    assert substitution(0.0, 20.0) == 0.0 and substitution(150.0, 0.0) == np.inf
    assert np.isnan(substitution(0.0, 0.0)) and np.isnan(substitution(-1.0, 20.0))
    want = mp.exp(mp.mpf(0.01 - e) / (ref.R * T / ref.F)) / 20  # d/dc_ref of (c_ref/c_test) e^..
    assert _close(jax.grad(substitution)(0.0, 20.0), want, 1e-12)


def test_permeability_from_reversal_with_absent_ions_and_its_gradient():
    """Round trip through the 50-digit root of a solution with ions absent from one side, and
    the exact derivative in a concentration that is 0: d p_x / d c = -p_k dj_k/dc / j_x."""
    p, c_in, c_out, z = (np.asarray(a) for a in ([1.0, 0.05, 0.4, 0.2], [140.0, 0.0, 10.0, 0.0],
                                                 [5.0, 145.0, 0.0, 2.0], [1, 1, -1, 2]))
    root = ref.ghk_voltage(p, c_in, c_out, z, T)
    e = float(root)
    for k in range(4):
        got = ij.permeability_from_reversal(e, p, c_in, c_out, z, index=k, temperature=T)
        assert float(got) == pytest.approx(p[k], rel=1e-9)

    def p_na(c_out):
        return ij.permeability_from_reversal(e, p, c_in, c_out, z, index=1, temperature=T)

    d = jax.grad(p_na)(jnp.asarray(c_out))
    j_na = ref.ghk_current(root, 1, c_in[1], c_out[1], 1, T)
    want = -p[2] * ref.ghk_current(root, 1, 0, 1, -1, T) / j_na  # Cl- absent outside
    assert float(d[2]) == pytest.approx(float(want), rel=1e-12)
    # an unknown ion absent from both sides carries no current: p_x undetermined, NaN
    absent = np.arange(4) == 1
    none = ij.permeability_from_reversal(e, p, np.where(absent, 0.0, c_in),
                                         np.where(absent, 0.0, c_out), z, index=1, temperature=T)
    assert np.isnan(none)
