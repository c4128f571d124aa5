"""GHK current, fluxes and conductances against a 50-digit reference and exact identities."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

import ionjax as ij
import reference as ref

TEMPERATURES = (279.45, 295.15, 310.15)
VALENCES = (-1, 1, 2, 3)
VOLTAGES = (0.0, 1e-12, -1e-12, 1e-7, -1e-7, 1e-4, -1e-3, 0.01, -0.05, 0.2, -0.3, 0.6, -1.0, 1.0)
CONCENTRATIONS = ((140.0, 5.0), (1e-4, 2.0), (10.0, 10.0), (4.0, 500.0))
# acceptance tolerances: (value, first derivative, second derivative), relative to the scales below
TOLERANCE = {np.float64: (1e-11, 1e-7, 1e-5), np.float32: (3e-6, 3e-3, 3e-3)}


def _scales(v, p, c_in, c_out, z, t):
    """|zFp(c_in + c_out)| max(1, |u|) and its counterparts for dI/dv and d2I/dv2."""
    v_t = float(ref.R * t / ref.F)
    u = abs(z * v / v_t)
    s0 = abs(z * float(ref.F) * p * (c_in + c_out)) * max(1.0, u)
    return s0, s0 * abs(z) / v_t, s0 * (z / v_t) ** 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_ghk_current_matches_50_digit_reference(dtype, temperature):
    p = dtype(1e-6)
    points = list(itertools.product(VOLTAGES, CONCENTRATIONS))
    v = np.asarray([x for x, _ in points], dtype)
    c_in, c_out = (np.asarray([c[k] for _, c in points], dtype) for k in (0, 1))
    t = float(dtype(temperature))  # the temperature the computation actually used
    for z in VALENCES:
        def current(x, ci, co, z=z):
            return ij.ghk_current(x, p, ci, co, z, temperature=temperature)

        # value, first and second derivative at every point: one vmapped program per valence
        got = jax.jit(jax.vmap(lambda x, ci, co: (current(x, ci, co),
                                                  jax.grad(current)(x, ci, co),
                                                  jax.grad(jax.grad(current))(x, ci, co))))(
            v, c_in, c_out)
        assert all(g.dtype == dtype for g in got)
        for n in range(len(points)):
            args = (float(v[n]), float(p), float(c_in[n]), float(c_out[n]), z, t)
            want = (ref.ghk_current(*args), ref.ghk_current_derivative(*args, 1),
                    ref.ghk_current_derivative(*args, 2))
            for order, (g, w, s, tol) in enumerate(zip((g[n] for g in got), want, _scales(*args),
                                                       TOLERANCE[dtype])):
                err = abs(float(g) - float(w)) / s
                assert err < tol, (order, z, args[0], args[2], args[3], err)


def test_matches_neuron_published_values():
    """NEURON's own unit tests (test/unit_tests/test_eion.py, nrn 9): ghk(v mV, ci, co, z) at
    celsius = 6.3 returns 1e-3 z F (ci f(-u) - co f(u)), i.e. 1e-3 times ionjax's A/m^2 at p = 1."""
    t = 279.45
    for v_mv, c_in, c_out, z, want in [(-10, 0.1, 10, 2, -2828.3285716150644),
                                       (1e-6, 0.1, 10, 2, -1910.40949510667)]:
        got = 1e-3 * float(ij.ghk_current(v_mv * 1e-3, 1.0, c_in, c_out, z, temperature=t))
        assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("v0", [0.0, 1e-12, -1e-9, 1e-3, -0.02])
def test_check_grads_second_order_around_zero(dtype, v0):
    """Forward and reverse derivatives to second order agree with finite differences."""
    def current(v_mv, p, c_in, c_out):  # v in mV and I scaled to O(1), for the step and atol
        return ij.ghk_current(v_mv * 1e-3, p, c_in, c_out, 2, temperature=295.15) / 1e6

    args = tuple(dtype(a) for a in (v0 * 1e3, 1.0, 2.0, 20.0))
    current = jax.jit(current)  # one compiled program per derivative, not eager primitives
    if dtype == np.float64:
        check_grads(current, args, order=2, modes=("fwd", "rev"), eps=1e-4, atol=1e-6, rtol=1e-6)
    else:  # float32 finite differences are too noisy for all arguments at once: v alone
        check_grads(lambda v: current(v, *args[1:]), args[:1], order=2, modes=("fwd", "rev"),
                    eps=3e-2, atol=2e-2, rtol=2e-2)


def test_jit_eager_and_vmap_agree():
    v = jnp.linspace(-0.2, 0.2, 101).at[50].set(0.0)
    c_in, c_out = jnp.full(101, 10.0), jnp.full(101, 100.0)

    def current(v, c_in, c_out):
        return ij.ghk_current(v, 1e-6, c_in, c_out, 2, temperature=300.0)

    eager = current(v, c_in, c_out)
    # XLA may fuse and reorder: agreement to a few ulp, not bit for bit
    np.testing.assert_allclose(jax.jit(current)(v, c_in, c_out), eager, rtol=1e-14, atol=0)
    np.testing.assert_allclose(jax.vmap(current)(v, c_in, c_out), eager, rtol=1e-14, atol=0)
    grads = jax.vmap(jax.grad(current))(v, c_in, c_out)
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(current)))(v, c_in, c_out), grads,
                               rtol=1e-14)


def test_no_non_finite_values_or_gradients_float32():
    """20,000 random float32 points, v in [-0.3, 0.3] V, c in [1e-5, 500] mM, z in {+-1, +-2}."""
    rng = np.random.default_rng(0)
    n = 20_000
    v = rng.uniform(-0.3, 0.3, n).astype(np.float32)
    v[:50] = 0.0
    v[50:100] = rng.uniform(-1e-7, 1e-7, 50)
    c_in, c_out = (10 ** rng.uniform(-5, np.log10(500), n).astype(np.float32) for _ in range(2))
    z = rng.choice(np.array([-2, -1, 1, 2], np.int32), n)

    def current(v, c_in, c_out, z):
        return ij.ghk_current(v, jnp.float32(1e-12), c_in, c_out, z, temperature=310.15)

    values = jax.jit(current)(v, c_in, c_out, z)
    grads = jax.jit(jax.vmap(jax.grad(current, argnums=(0, 1, 2))))(v, c_in, c_out, z)
    assert values.dtype == jnp.float32
    assert np.all(np.isfinite(values))
    for g in grads:
        assert g.dtype == jnp.float32 and np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_reduced_potential_does_not_overflow(dtype):
    v = jnp.asarray([-20.0, -5.0, 5.0, 20.0, 1e3], dtype)  # |zv| of volts: e^u overflows float32
    for z in (-2, 1, 3):
        def current(x, z=z):
            return ij.ghk_current(x, dtype(1.0), dtype(3.0), dtype(7.0), z, temperature=300.0)

        i = jax.jit(current)(v)
        d1 = jax.jit(jax.vmap(jax.grad(current)))(v)
        d2 = jax.jit(jax.vmap(jax.grad(jax.grad(current))))(v)
        assert all(np.all(np.isfinite(x)) for x in (i, d1, d2))
        # far from 0 the current is ohmic with slope z^2 F^2 p c / RT on the conducting side
        v_t = float(ref.R * 300 / ref.F)
        c_conducting = np.where(z * np.asarray(v) > 0, 3.0, 7.0)
        np.testing.assert_allclose(d1, z * z * float(ref.F) * c_conducting / v_t, rtol=1e-5)


@settings(max_examples=60, deadline=None)
@given(log_c_in=st.floats(-5, 2.7), log_c_out=st.floats(-5, 2.7), z=st.sampled_from([-2, -1, 1, 2, 3]),
       t=st.floats(270.0, 320.0))
def test_current_is_zero_at_the_nernst_potential(log_c_in, log_c_out, z, t):
    c_in, c_out = 10.0**log_c_in, 10.0**log_c_out
    e = ij.nernst_potential(c_in, c_out, z, temperature=t)
    i = ij.ghk_current(e, 1.0, c_in, c_out, z, temperature=t)
    # relative to either unidirectional flux at E (they are equal there: dynamic equilibrium)
    influx, efflux = ij.ghk_fluxes(e, 1.0, c_in, c_out, z, temperature=t)
    assert float(influx) > 0 and float(influx) == pytest.approx(float(efflux), rel=1e-12)
    assert abs(float(i)) <= 1e-12 * abs(z) * float(ref.F) * float(efflux)


@settings(max_examples=60, deadline=None)
@given(v=st.floats(-0.3, 0.3, allow_subnormal=False), log_c_in=st.floats(-3, 2.7), log_c_out=st.floats(-3, 2.7),
       z=st.sampled_from([-2, -1, 1, 2]))
def test_fluxes_give_the_current_and_obey_ussing(v, log_c_in, log_c_out, z):
    c_in, c_out, t = 10.0**log_c_in, 10.0**log_c_out, 300.0
    influx, efflux = ij.ghk_fluxes(v, 1e-6, c_in, c_out, z, temperature=t)
    i = ij.ghk_current(v, 1e-6, c_in, c_out, z, temperature=t)
    assert float(i) == pytest.approx(z * float(ref.F) * float(efflux - influx),
                                     rel=1e-12, abs=1e-12 * float(ref.F) * float(efflux + influx))
    ratio = ij.ussing_flux_ratio(v, c_in, c_out, z, temperature=t)
    assert float(efflux / influx) == pytest.approx(float(ratio), rel=1e-10)
    # Ussing: the ratio is exp(Delta mu-bar / RT)
    dmu = ij.electrochemical_driving_force(c_in, c_out, v, z, temperature=t)
    assert float(ratio) == pytest.approx(float(mp_exp(float(dmu) / float(ref.R * t))), rel=1e-10)


def mp_exp(x):
    return ref.mp.exp(ref.mp.mpf(float(x)))


@settings(max_examples=60, deadline=None)
@given(log_c_in=st.floats(-4, 2.7), log_c_out=st.floats(-4, 2.7), z=st.sampled_from([-2, -1, 1, 2, 3]))
def test_slope_at_reversal_equals_closed_form(log_c_in, log_c_out, z):
    c_in, c_out, t, p = 10.0**log_c_in, 10.0**log_c_out, 295.0, 1e-6
    e = ij.nernst_potential(c_in, c_out, z, temperature=t)
    slope = ij.ghk_slope_conductance(e, p, c_in, c_out, z, temperature=t)
    closed = ij.ghk_conductance_at_reversal(p, c_in, c_out, z, temperature=t)
    chord = ij.ghk_chord_conductance(e, p, c_in, c_out, z, temperature=t)
    # closed form from the textbook: z^2 F^2 p / RT * c_in c_out ln(c_out/c_in) / (c_out - c_in)
    mp = ref.mp
    ci, co = mp.mpf(c_in), mp.mpf(c_out)
    mean = ci if ci == co else ci * co * mp.log(co / ci) / (co - ci)
    want = float(z * z * ref.F**2 * p / (ref.R * t) * mean)
    assert float(closed) == pytest.approx(want, rel=1e-12)
    assert float(slope) == pytest.approx(want, rel=1e-9)
    assert float(chord) == pytest.approx(want, rel=1e-9)
    assert float(ij.permeability_from_conductance(closed, c_in, c_out, z, temperature=t)) == \
        pytest.approx(p, rel=1e-13)


def test_conductance_at_reversal_equal_concentrations_and_valence_scaling():
    t = 300.0
    g1 = ij.ghk_conductance_at_reversal(1e-6, 50.0, 50.0, 1, temperature=t)
    assert float(g1) == pytest.approx(float(ref.F**2 * 1e-6 * 50 / (ref.R * t)), rel=1e-14)
    near = ij.ghk_conductance_at_reversal(1e-6, 50.0, 50.0 * (1 + 1e-9), 1, temperature=t)
    assert float(near) == pytest.approx(float(g1), rel=1e-8)
    g2 = ij.ghk_conductance_at_reversal(1e-6, 50.0, 50.0, -2, temperature=t)
    assert float(g2) == pytest.approx(4 * float(g1), rel=1e-14)  # conductance scales as z^2


@settings(max_examples=60, deadline=None)
@given(v=st.floats(-0.2, 0.2, allow_subnormal=False), log_c_in=st.floats(-3, 2.7), log_c_out=st.floats(-3, 2.7),
       z=st.sampled_from([-2, -1, 1, 2]))
def test_chord_conductance_is_current_over_driving_potential(v, log_c_in, log_c_out, z):
    c_in, c_out, t = 10.0**log_c_in, 10.0**log_c_out, 300.0
    e = float(ij.nernst_potential(c_in, c_out, z, temperature=t))
    if abs(v - e) < 1e-6:
        return
    want = ref.ghk_current(v, 1e-6, c_in, c_out, z, t) / (ref.mp.mpf(v) - ref.nernst(c_in, c_out, z, t))
    got = ij.ghk_chord_conductance(v, 1e-6, c_in, c_out, z, temperature=t)
    assert float(got) == pytest.approx(float(want), rel=1e-8)


def test_rectification_follows_the_concentration_gradient():
    """With c_out >> c_in a cation current is larger inward than outward at equal |v - E|."""
    t, c_in, c_out = 300.0, 5.0, 100.0
    e = float(ij.nernst_potential(c_in, c_out, 1, temperature=t))
    out = ij.ghk_current(e + 0.05, 1.0, c_in, c_out, 1, temperature=t)
    inward = ij.ghk_current(e - 0.05, 1.0, c_in, c_out, 1, temperature=t)
    assert float(out) > 0 > float(inward) and abs(float(inward)) > abs(float(out))


@pytest.mark.parametrize("bad", [dict(c_in=-1e-3), dict(c_out=-1.0), dict(z=0), dict(temperature=0.0),
                                 dict(c_in=jnp.nan)])
def test_non_physical_input_gives_nan_inside_jit(bad):
    args = dict(v=0.01, p=1e-6, c_in=10.0, c_out=100.0, z=1, temperature=300.0)
    args.update(bad)
    t = args.pop("temperature")
    funcs = [lambda **a: ij.ghk_current(**a, temperature=t),
             lambda **a: ij.ghk_slope_conductance(**a, temperature=t),
             lambda **a: ij.ghk_chord_conductance(**a, temperature=t),
             lambda **a: ij.ghk_fluxes(**a, temperature=t)[0]]
    for func in funcs:
        assert np.isnan(jax.jit(func)(**args))
    assert np.isnan(jax.jit(lambda: ij.ghk_conductance_at_reversal(
        args["p"], args["c_in"], args["c_out"], args["z"], temperature=t))())


def test_broadcasting_and_dtype():
    v = jnp.linspace(-0.1, 0.1, 7, dtype=jnp.float32)[:, None]
    c_in = jnp.asarray([1.0, 10.0, 100.0], jnp.float32)
    i = ij.ghk_current(v, jnp.float32(1e-6), c_in, jnp.float32(50.0), 1, temperature=np.float64(300.0))
    assert i.shape == (7, 3) and i.dtype == jnp.float32
    g = ij.ghk_slope_conductance(v, jnp.float32(1e-6), c_in, jnp.float32(50.0), 1, temperature=300.0)
    assert g.shape == (7, 3) and g.dtype == jnp.float32
