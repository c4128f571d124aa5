"""GHK voltage equation: closed forms, 50-digit roots, implicit-function gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ionjax as ij
import reference as ref

SQUID = dict(  # Hodgkin & Katz (1949): p_K : p_Na : p_Cl = 1 : 0.04 : 0.45, squid axon, 6.3 degC
    p=jnp.array([1.0, 0.04, 0.45]), c_in=jnp.array([400.0, 50.0, 40.0]),
    c_out=jnp.array([20.0, 440.0, 560.0]), z=jnp.array([1, 1, -1]))


def _rand_solution(rng, n_ions, valences):
    p = 10 ** rng.uniform(-3, 0, n_ions)
    c_in, c_out = 10 ** rng.uniform(-4, 2.7, (2, n_ions))
    z = rng.choice(valences, n_ions)
    return p, c_in, c_out, z


def test_classic_squid_axon_resting_potential():
    t = 6.3 + 273.15
    v = ij.ghk_voltage(**SQUID, temperature=t)
    num = 1.0 * 20 + 0.04 * 440 + 0.45 * 40
    den = 1.0 * 400 + 0.04 * 50 + 0.45 * 560
    want = float(ref.R * t / ref.F * ref.mp.log(ref.mp.mpf(num) / den))
    assert float(v) == pytest.approx(want, rel=1e-13)
    assert -0.062 < float(v) < -0.058  # about -60 mV, Hodgkin & Katz's resting potential


@settings(max_examples=80, deadline=None)
@given(log_c_in=st.floats(-5, 2.7), log_c_out=st.floats(-5, 2.7),
       z=st.sampled_from([-3, -2, -1, 1, 2, 3]), method=st.sampled_from(["auto", "root"]))
def test_single_ion_gives_its_nernst_potential(log_c_in, log_c_out, z, method):
    c_in, c_out, t = 10.0**log_c_in, 10.0**log_c_out, 300.0
    v = ij.ghk_voltage(jnp.array([2e-7]), jnp.array([c_in]), jnp.array([c_out]), jnp.array([z]),
                       temperature=t, method=method)
    e = float(ref.nernst(c_in, c_out, z, t))
    assert float(v) == pytest.approx(e, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 5))
def test_monovalent_equals_classic_closed_form(seed, n):
    rng = np.random.default_rng(seed)
    p, c_in, c_out, z = _rand_solution(rng, n, [-1, 1])
    t = 310.0
    cat, an = z > 0, z < 0
    num = np.sum(p * c_out * cat) + np.sum(p * c_in * an)
    den = np.sum(p * c_in * cat) + np.sum(p * c_out * an)
    want = float(ref.R * t / ref.F) * np.log(num / den)
    for method in ("auto", "root"):
        v = ij.ghk_voltage(p, c_in, c_out, z, temperature=t, method=method)
        assert float(v) == pytest.approx(want, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("method", ["auto", "root"])
@pytest.mark.parametrize("valences", [[-2, -1, 1, 2], [-3, -2, -1, 1, 2, 3]])
def test_mixed_valences_match_the_50_digit_root_and_its_gradient(method, valences):
    """Within 1 nV of the exact root; d v / d p_k within 1e-6 relative of the exact
    implicit-function derivative -(dI/dp_k) / (dI/dv) evaluated with 50 digits."""
    rng = np.random.default_rng(1 + len(valences))
    mp = ref.mp
    for _ in range(12):
        n = int(rng.integers(2, 5))
        p, c_in, c_out, z = _rand_solution(rng, n, valences)
        t = float(rng.choice([279.45, 295.15, 310.15]))
        if method == "auto" and np.any(np.abs(z) == 3):
            continue  # covered by the root method; "auto" with z = 3 is the same solver
        root = ref.ghk_voltage(p, c_in, c_out, z, t)
        v = ij.ghk_voltage(p, c_in, c_out, z, temperature=t, method=method)
        assert abs(float(v) - float(root)) < 1e-9, (p, c_in, c_out, z)
        grad = jax.grad(lambda p: ij.ghk_voltage(p, c_in, c_out, z, temperature=t, method=method))(p)
        di_dv = mp.fsum(ref.ghk_current_derivative(root, *a, t) for a in zip(p, c_in, c_out, z))
        for k in range(n):
            want = -ref.ghk_current(root, 1, c_in[k], c_out[k], z[k], t) / di_dv
            assert float(grad[k]) == pytest.approx(float(want), rel=1e-6, abs=1e-9 * abs(float(want)) + 1e-30)


def test_gradients_come_from_the_implicit_function_theorem():
    """Root-solve and closed-form gradients agree for concentrations too (IFT, not unrolling)."""
    p, c_in, c_out, z = (jnp.array([1.0, 0.05, 0.3]), jnp.array([140.0, 10.0, 1e-4]),
                         jnp.array([5.0, 145.0, 2.0]), np.array([1, 1, 2]))

    def v(p, c_in, c_out, method):
        return ij.ghk_voltage(p, c_in, c_out, z, temperature=300.0, method=method)

    g_closed = jax.grad(v, argnums=(0, 1, 2))(p, c_in, c_out, "closed")
    g_root = jax.grad(v, argnums=(0, 1, 2))(p, c_in, c_out, "root")
    for a, b in zip(g_closed, g_root):
        np.testing.assert_allclose(a, b, rtol=1e-8)
    jaxpr = str(jax.make_jaxpr(jax.grad(v), static_argnums=3)(p, c_in, c_out, "root"))
    assert "custom_root" in jaxpr or "custom_lin" in jaxpr or "while" in jaxpr


def test_concrete_valences_keep_the_closed_form_under_jit():
    p, c_in, c_out = jnp.array([1.0, 0.04, 0.45]), SQUID["c_in"], SQUID["c_out"]
    f = jax.jit(lambda c: ij.ghk_voltage(p, c_in, c, (1, 1, -1), temperature=300.0, method="closed"))
    jaxpr = str(jax.make_jaxpr(lambda c: ij.ghk_voltage(p, c_in, c, np.array([1, 1, -1]),
                                                        temperature=300.0))(c_out))
    assert "while" not in jaxpr and "custom_root" not in jaxpr  # "auto" picked the closed form
    assert float(f(c_out)) == pytest.approx(float(ij.ghk_voltage(p, c_in, c_out, (1, 1, -1),
                                                                 temperature=300.0)), abs=1e-15)


def test_traced_valences_use_the_root_solver_under_jit():
    p, c_in, c_out = jnp.array([1.0, 0.5]), jnp.array([140.0, 1e-4]), jnp.array([5.0, 2.0])
    z = jnp.array([1, 2])
    jitted = jax.jit(lambda z: ij.ghk_voltage(p, c_in, c_out, z, temperature=300.0))(z)
    eager = ij.ghk_voltage(p, c_in, c_out, np.array([1, 2]), temperature=300.0)
    assert float(jitted) == pytest.approx(float(eager), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_reversal_between_extreme_nernst_and_moves_toward_the_more_permeant_ion(seed):
    rng = np.random.default_rng(seed)
    p, c_in, c_out, z = _rand_solution(rng, 2, [-2, -1, 1, 2])
    t = 300.0
    e = [float(ij.nernst_potential(ci, co, zk, temperature=t)) for ci, co, zk in zip(c_in, c_out, z)]
    v = float(ij.ghk_voltage(p, c_in, c_out, z, temperature=t))
    assert min(e) - 1e-12 <= v <= max(e) + 1e-12
    more = p * np.array([100.0, 1.0])  # ion 0 a hundred times more permeant (relatively)
    v_more = float(ij.ghk_voltage(more, c_in, c_out, z, temperature=t))
    assert abs(v_more - e[0]) <= abs(v - e[0]) + 1e-12


def test_equal_concentrations_give_zero_and_scale_invariance():
    c = jnp.array([10.0, 20.0, 2.0])
    z = np.array([1, -1, 2])
    p = jnp.array([1.0, 0.3, 0.2])
    assert abs(float(ij.ghk_voltage(p, c, c, z, temperature=300.0))) < 1e-15
    v1 = ij.ghk_voltage(p, SQUID["c_in"], SQUID["c_out"], SQUID["z"], temperature=300.0)
    v2 = ij.ghk_voltage(1e-15 * p, SQUID["c_in"], SQUID["c_out"], SQUID["z"], temperature=300.0)
    assert float(v1) == pytest.approx(float(v2), rel=1e-13)


def test_axis_batching_float32_and_vmap():
    p = jnp.stack([SQUID["p"], SQUID["p"] * jnp.array([1.0, 2.0, 1.0])], axis=0)  # (2, 3)
    v_last = ij.ghk_voltage(p, SQUID["c_in"], SQUID["c_out"], SQUID["z"], temperature=290.0)
    v_first = ij.ghk_voltage(p.T, SQUID["c_in"][:, None], SQUID["c_out"][:, None],
                             SQUID["z"][:, None], temperature=290.0, axis=0)
    assert v_last.shape == (2,)
    np.testing.assert_allclose(v_first, v_last, rtol=1e-14)
    v_map = jax.vmap(lambda p: ij.ghk_voltage(p, SQUID["c_in"], SQUID["c_out"], SQUID["z"],
                                              temperature=290.0))(p)
    np.testing.assert_allclose(v_map, v_last, rtol=1e-14)
    f32 = [x.astype(jnp.float32) for x in (SQUID["p"], SQUID["c_in"], SQUID["c_out"])]
    for method in ("auto", "root"):
        v32 = ij.ghk_voltage(*f32, SQUID["z"], temperature=290.0, method=method)
        assert v32.dtype == jnp.float32
        assert float(v32) == pytest.approx(float(v_last[0]), abs=2e-6)


@pytest.mark.parametrize("method", ["auto", "root"])
@pytest.mark.parametrize("bad", [dict(c_in=-1e-3), dict(c_out=-5.0), dict(z=0), dict(p=-1.0),
                                 dict(c_in=np.nan)])
def test_invalid_input_gives_nan(method, bad):
    args = dict(p=np.array([1.0, 0.1]), c_in=np.array([140.0, 10.0]), c_out=np.array([5.0, 140.0]),
                z=np.array([1, 1]))
    for key, value in bad.items():
        args[key] = args[key].copy()
        args[key][1] = value
    v = jax.jit(lambda p, c_in, c_out: ij.ghk_voltage(p, c_in, c_out, args["z"], temperature=300.0,
                                                      method=method))(args["p"], args["c_in"], args["c_out"])
    assert np.isnan(v)
    assert np.isnan(ij.ghk_voltage(jnp.zeros(2), args["c_in"], args["c_out"], args["z"], temperature=300.0))


def test_closed_method_refuses_other_valences():
    with pytest.raises(ValueError, match="closed"):
        ij.ghk_voltage(jnp.ones(2), jnp.ones(2), jnp.ones(2), np.array([1, 3]), temperature=300.0,
                       method="closed")
