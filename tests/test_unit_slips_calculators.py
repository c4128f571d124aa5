"""Unit slips in the calculators and in ``FitResult.summary(v=, i=)`` (issue 23, items 4-5).

On concrete inputs a slip is a one-line ValueError naming the argument and the slip (temperature
37: degC passed as kelvin; v -50: mV passed as volts; a negative conductance); traced (jit, grad,
vmap) the functions answer NaN as documented, and on valid input jit, grad and vmap give the
eager numbers, in float64 and float32. The references are the closed forms.
"""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

import fitting
import ionjax as ij
from ionjax import FARADAY, GAS_CONSTANT

T = 295.15
Z2, D2 = np.array([1.0, -1.0]), np.array([1.33e-9, 2.03e-9])
CIN2, COUT2 = np.array([15.0, 15.0]), np.array([150.0, 150.0])
PORE = dict(length=5e-9, area=1e-18, temperature=T, n_grid=32)
CELSIUS = r"temperature must be in kelvin.*got 37 K.*: did you mean 37 degC \(310.15 K\)"


# -- concrete slips: one-line errors ------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda: ij.nernst_potential(140.0, 5.0, 1, temperature=37.0),
    lambda: ij.ghk_current(-0.05, 1e-18, 140.0, 5.0, 1, temperature=37.0),
    lambda: ij.gated_ghk_current(-0.05, 0.5, 1e-18, 140.0, 5.0, 1, temperature=37.0),
    lambda: ij.nernst_potential(140.0, 5.0, 1, temperature=np.array([310.0, 37.0])),
], ids=["nernst", "ghk", "gated_ghk", "nernst_array"])
def test_a_celsius_temperature_is_refused_with_the_fix(call):
    with pytest.raises(ValueError, match=CELSIUS + r".*celsius") as info:
        call()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, match", [
    (dict(v=-50.0), r"v must be in volts, \|v\| <= 1 V .*mV.*got -50"),
    (dict(e_rev=80.0), r"e_rev must be in volts.*got 80"),
    (dict(g=-1e-9), r"g must be >= 0; got -1e-09"),
    (dict(v=np.array([-0.08, -80.0])), r"got -80 at index \(1,\)"),
])
def test_gated_ohmic_current_refuses_millivolts_and_a_negative_conductance(kwargs, match):
    args = dict(v=-0.05, p_open=0.5, g=1e-9, e_rev=0.05)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ij.gated_ohmic_current(**args)


def test_pnp_steady_refuses_millivolts():
    """-50 (mV passed as V) converged before to a current of a 50 V membrane."""
    with pytest.raises(ValueError, match=r"v must be in volts.*got -50"):
        ij.pnp_steady(jnp.array([-50.0]), Z2, D2, CIN2, COUT2, **PORE)
    good = ij.pnp_steady(jnp.array([-0.05]), Z2, D2, CIN2, COUT2, **PORE)
    assert bool(jnp.all(good.converged)) and np.isfinite(float(good.total[0]))


def test_pnp_steady_refuses_a_diffusion_coefficient_in_cm2_per_s():
    """Na+ and Cl- at 1.33e-5 and 2.03e-5 cm^2/s, passed as m^2/s, gave a current 1e4 times too
    large; 1e-7 m^2/s is ten times H+'s 9.3e-9 in water."""
    with pytest.raises(ValueError, match=r"diffusion must be in m\^2/s, <= 1e-07 .*cm\^2/s.*"
                                         r"got 1.33e-05 at index \(0,\)"):
        ij.pnp_steady(jnp.array([-0.05]), Z2, D2 * 1e4, CIN2, COUT2, **PORE)


def test_the_thresholds_are_the_stated_physical_ones():
    from ionjax._src.validation import MAX_VOLTAGE, TEMPERATURE_RANGE

    assert MAX_VOLTAGE == 1.0 and TEMPERATURE_RANGE == (200.0, 400.0)
    ij.gated_ohmic_current(np.array([-1.0, 1.0]), 0.5, 0.0, -1.0)  # the bounds themselves pass
    ij.nernst_potential(140.0, 5.0, 1, temperature=np.array([200.0, 400.0]))
    with pytest.raises(ValueError):
        ij.gated_ohmic_current(1.0 + 1e-9, 0.5, 1e-9, 0.0)
    with pytest.raises(ValueError):
        ij.nernst_potential(140.0, 5.0, 1, temperature=400.5)


def test_invalid_input_that_is_no_slip_stays_nan():
    """NaN and 0 K are invalid input (NaN, as documented), not a unit slip."""
    assert np.isnan(float(ij.nernst_potential(140.0, 5.0, 1, temperature=0.0)))
    assert np.isnan(float(ij.ghk_current(0.01, 1.0, 10.0, 100.0, 1, temperature=np.nan)))
    assert np.isnan(float(ij.gated_ohmic_current(np.nan, 0.5, 1e-9, 0.0)))


# -- traced: NaN, no error; valid input unchanged under jit, grad, vmap ----------------------------

def test_traced_slips_give_nan():
    assert np.isnan(float(jax.jit(lambda t: ij.nernst_potential(
        140.0, 5.0, 1, temperature=t))(37.0)))
    assert np.isnan(float(jax.jit(lambda t: ij.ghk_current(
        -0.05, 1e-18, 140.0, 5.0, 1, temperature=t))(37.0)))
    assert np.isnan(float(jax.jit(lambda t: ij.gated_ghk_current(
        -0.05, 0.5, 1e-18, 140.0, 5.0, 1, temperature=t))(37.0)))
    ohmic = jax.jit(ij.gated_ohmic_current)
    assert np.isnan(float(ohmic(-50.0, 0.5, 1e-9, 0.05)))
    assert np.isnan(float(ohmic(-0.05, 0.5, -1e-9, 0.05)))
    assert np.isnan(float(ohmic(-0.05, 0.5, 1e-9, 50.0)))
    pnp = jax.jit(ij.pnp_steady, static_argnames="n_grid")
    s = pnp(jnp.array([-50.0, -0.05]), Z2, D2, CIN2, COUT2, **PORE)
    assert np.isnan(float(s.total[0])) and not bool(s.converged[0])
    assert np.isfinite(float(s.total[1])) and bool(s.converged[1])


def _closed_forms(v, t):
    """Nernst, GHK current (p = 1e-18 m^3/s) and gated ohmic current, written out here."""
    e_k = GAS_CONSTANT * t / FARADAY * np.log(5.0 / 140.0)
    u = FARADAY * v / (GAS_CONSTANT * t)
    ghk = FARADAY * 1e-18 * u * (140.0 - 5.0 * np.exp(-u)) / (1 - np.exp(-u))
    return e_k, ghk, 2e-9 * 0.3 * (v - e_k)


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.float32])
def test_jit_grad_and_vmap_match_the_eager_values_and_the_closed_forms(dtype):
    v = jnp.linspace(-0.1, 0.05, 6, dtype=dtype)  # not v = 0, where the written-out form is 0/0
    t = dtype(T)
    rtol = 1e-12 if dtype == jnp.float64 else 2e-5
    e_ref, ghk_ref, ohm_ref = _closed_forms(np.asarray(v, float), T)

    def nernst(t):
        return ij.nernst_potential(dtype(140.0), dtype(5.0), 1, temperature=t)

    def ghk(v, t):
        return ij.gated_ghk_current(v, dtype(1.0), dtype(1e-18), dtype(140.0), dtype(5.0), 1,
                                    temperature=t)

    def ohm(v, g):
        return ij.gated_ohmic_current(v, dtype(0.3), g, dtype(e_ref))

    for eager, compiled, ref in ((nernst(t), jax.jit(nernst)(t), e_ref),
                                 (ghk(v, t), jax.jit(ghk)(v, t), ghk_ref),
                                 (ohm(v, dtype(2e-9)), jax.jit(ohm)(v, dtype(2e-9)), ohm_ref)):
        assert eager.dtype == dtype and compiled.dtype == dtype
        np.testing.assert_allclose(np.asarray(compiled), np.asarray(eager), rtol=rtol)
        np.testing.assert_allclose(np.asarray(eager, float), ref, rtol=10 * rtol,
                                   atol=1e-6 * np.max(np.abs(ref)) if dtype == jnp.float32 else 0)
    vm = jax.vmap(ghk, in_axes=(0, None))(v, t)
    np.testing.assert_allclose(np.asarray(vm), np.asarray(ghk(v, t)), rtol=rtol)
    vm_t = jax.vmap(nernst)(jnp.array([T, 310.15], dtype))
    assert np.all(np.isfinite(np.asarray(vm_t)))
    # d/dT of E_K = E_K / T; d/dg of the ohmic current = 0.3 (v - E_K); dI/dv of GHK at v
    np.testing.assert_allclose(float(jax.grad(nernst)(t)), e_ref / T, rtol=10 * rtol)
    dohm = jax.vmap(jax.grad(ohm, argnums=1), in_axes=(0, None))(v, dtype(2e-9))
    np.testing.assert_allclose(np.asarray(dohm, float), 0.3 * (np.asarray(v, float) - e_ref),
                               rtol=10 * rtol, atol=1e-7)
    dghk = jax.vmap(jax.grad(ghk), in_axes=(0, None))(v, t)
    fd_v = np.asarray(v, float)
    fd = (_closed_forms(fd_v + 1e-6, T)[1] - _closed_forms(fd_v - 1e-6, T)[1]) / 2e-6
    np.testing.assert_allclose(np.asarray(dghk, float), fd, rtol=1e-5 if dtype == jnp.float64
                               else 1e-3)


def test_pnp_grad_under_a_concrete_closure_matches_finite_differences():
    def total(v):
        return ij.pnp_steady(v[None], Z2, D2, CIN2, COUT2, **PORE).total[0]

    g = float(jax.grad(total)(jnp.asarray(-0.05)))
    v0, h = jnp.asarray(-0.05), 1e-6
    fd = (float(total(v0 + h)) - float(total(v0 - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-5)
    assert float(jax.jit(total)(v0)) == pytest.approx(float(total(v0)), rel=1e-12)


# -- FitResult.summary(v=, i=) checks what it is given -------------------------------------------

@pytest.fixture(scope="module")
def ohmic_fit():
    rng = np.random.default_rng(5)
    v = np.linspace(-0.1, 0.04, 8)
    i = 2e-9 * (v + 0.03) + rng.normal(0, 1e-12, 8)
    return fitting.fit(fitting.Ohmic(), v, i), v, i


@pytest.mark.parametrize("change, match", [
    (lambda v, i: (v * 1e3, i), r"v holds values up to 100: FitResult.summary\(v=, i=\) takes "
                                r"SI units \(V; -90 mV = -0.09\)"),
    (lambda v, i: (v, i * 1e12), r"i holds values up to .*FitResult.summary\(v=, i=\) takes SI "
                                 r"units \(A; 100 pA"),
    (lambda v, i: (v[:5], i), r"v and i shapes do not match: v \(5,\), i \(8,\)"),
    (lambda v, i: (v, np.stack([i, i])), r"batch shape \(\)"),
    # a part of the fitted data (the hostile pass: accepted, and its zero crossing checked)
    (lambda v, i: (v[:5], i[:5]), r"recording 0 has 5 finite points, but its fit used 8: pass "
                                  r"the data given to fitting.fit, not a part of it"),
    (lambda v, i: (v, np.where(np.arange(8) < 2, np.nan, i)), r"has 6 finite points"),
])
def test_summary_refuses_data_in_other_units_or_shapes(ohmic_fit, change, match):
    res, v, i = ohmic_fit
    v, i = change(v, i)
    with pytest.raises(ValueError, match=match) as info:
        res.summary(v=v, i=i)
    assert "\n" not in str(info.value)


def test_summary_with_si_data_reports_the_zero_crossing_check(ohmic_fit):
    res, v, i = ohmic_fit
    text = res.summary(v=v, i=i)
    assert "e_rev" in text and "mV" in text and "disagree" not in text  # a straight line agrees
    # a voltage has no relative error (it depends on where 0 mV lies); a conductance has
    e_line = next(line for line in text.splitlines() if line.strip().startswith("e_rev"))
    g_line = next(line for line in text.splitlines() if line.strip().startswith("g "))
    assert e_line.split()[-2:] == ["-", "mV"] and g_line.split()[-2].endswith("%")
    with pytest.raises(ValueError, match="takes both"):
        res.summary(v=v)
