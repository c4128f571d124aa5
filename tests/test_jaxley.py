"""ionjax.jaxley: GHK current densities in Jaxley's units, and GHK channels simulated by Jaxley.

Truths: a closed-form GHK in CGS units (mpmath), ``ionjax.ghk_current`` converted by hand,
Jaxley's own HH sign convention, the analytic derivative of a current that is linear in the
permeability, the exact exponential relaxation of a first-order gate at a clamped voltage, the
resting potential where the membrane currents cancel, and central finite differences.
Simulations are few and share fixtures (Jaxley traces and compiles each one: a few seconds).
"""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

jx = pytest.importorskip("jaxley")

import ionjax  # noqa: E402
from ionjax.jaxley import GHKChannel, ghk_current_density  # noqa: E402

T = 295.15  # K
K_IN, K_OUT = 140.0, 5.0  # mM
NA_IN, NA_OUT = 12.0, 145.0
DT = 0.025  # ms
E_K = float(ionjax.nernst_potential(K_IN, K_OUT, 1, temperature=T) / ionjax.units.mV)


def _closed_form(v_mV, p_cm_per_s, c_in, c_out, z):
    """I [mA/cm^2] = 1e3 * p z^2 F^2 v/(RT) (c_in - c_out e^-u)/(1 - e^-u), c in mol/cm^3."""
    mpmath.mp.dps = 40
    F, R = mpmath.mpf(ionjax.FARADAY), mpmath.mpf(ionjax.GAS_CONSTANT)
    v = mpmath.mpf(v_mV) / 1000
    u = z * F * v / (R * T)
    c_in, c_out = mpmath.mpf(c_in) * mpmath.mpf("1e-6"), mpmath.mpf(c_out) * mpmath.mpf("1e-6")
    a_per_cm2 = p_cm_per_s * z * z * F * F * v / (R * T) * (c_in - c_out * mpmath.exp(-u)) / (
        1 - mpmath.exp(-u))
    return float(1000 * a_per_cm2)


def _naive(v_mV, p, c_in, c_out, z):
    """The textbook formula as usually typed: 0/0 at v = 0."""
    u = z * ionjax.FARADAY * v_mV * 1e-3 / (ionjax.GAS_CONSTANT * T)
    return 1e-3 * p * z * ionjax.FARADAY * u * (c_in - c_out * jnp.exp(-u)) / (1 - jnp.exp(-u))


def test_density_is_si_ghk_converted_by_hand():
    v = jnp.array([-120.0, -85.0, -1e-9, 0.0, 1e-9, 30.0, 80.0])
    for z, c_in, c_out in ((1, K_IN, K_OUT), (2, 5e-5, 2.0), (-1, 10.0, 120.0)):
        got = ghk_current_density(v, 3e-5, c_in, c_out, z, temperature=T)
        si = ionjax.ghk_current(v * 1e-3, 3e-5 * 1e-2, c_in, c_out, z, temperature=T)  # A/m^2
        np.testing.assert_allclose(got, 0.1 * si, rtol=1e-15, atol=0)
        assert got.dtype == jnp.float64


@pytest.mark.parametrize("z,c_in,c_out", [(1, K_IN, K_OUT), (2, 5e-5, 2.0), (-1, 10.0, 120.0)])
def test_density_matches_closed_form(z, c_in, c_out):
    for v in (-120.0, -70.0, -5.0, 0.5, 20.0, 60.0):
        got = float(ghk_current_density(v, 2e-4, c_in, c_out, z, temperature=T))
        assert got == pytest.approx(_closed_form(v, 2e-4, c_in, c_out, z), rel=1e-13)


def test_sign_matches_jaxley_hh_and_nernst_zero():
    """Jaxley: HH sodium current g m^3 h (v - e_Na) is positive (outward) above e_Na."""
    hh = jx.channels.HH()
    states = {"HH_m": 1.0, "HH_h": 1.0, "HH_n": 0.0}
    params = dict(hh.channel_params, HH_gK=0.0, HH_gLeak=0.0)
    assert hh.compute_current(states, 60.0, params) > 0 > hh.compute_current(states, 40.0, params)
    e_na = float(ionjax.nernst_potential(NA_IN, NA_OUT, 1, temperature=T) / ionjax.units.mV)
    i_na = ghk_current_density(jnp.array([e_na - 10, e_na, e_na + 10]), 1e-4, NA_IN, NA_OUT, 1,
                               temperature=T)
    assert i_na[0] < 0 < i_na[2] and abs(i_na[1]) < 1e-12 * abs(i_na[0])
    assert ghk_current_density(0.0, 1e-4, K_IN, K_OUT, 1, temperature=T) > 0  # K+ efflux


def test_naive_formula_is_nan_at_zero_and_ionjax_is_not():
    assert jnp.isnan(_naive(0.0, 1e-4, K_IN, K_OUT, 1))
    guarded = lambda v: jnp.where(v == 0, 0.0, _naive(v, 1e-4, K_IN, K_OUT, 1))  # noqa: E731
    assert jnp.isnan(jax.grad(guarded)(0.0))  # the "where" trap: NaN gradient anyway
    exact = lambda v, p: ghk_current_density(v, p, K_IN, K_OUT, 1, temperature=T)  # noqa: E731
    value, grads = exact(0.0, 1e-4), jax.grad(exact, argnums=(0, 1))(0.0, 1e-4)
    assert np.isfinite([value, *grads]).all()
    assert float(value) == pytest.approx(1e-3 * 1e-4 * ionjax.FARADAY * (K_IN - K_OUT), rel=1e-14)


# --- voltage clamp: compartments at 0 mV, E_K and -40 mV; three channels; one simulation ---
V_CLAMP = np.array([0.0, E_K, -40.0])
N_STEPS = 40
GATE = (-30.0, 8.0, 2.0)  # v_half [mV], slope [mV], tau [ms]


@pytest.fixture(scope="module")
def clamp_run():
    branch = jx.Branch(jx.Compartment(), ncomp=3)
    branch.insert(GHKChannel(c_in=K_IN, c_out=K_OUT, temperature=T, pbar=2e-4))
    branch.insert(GHKChannel("Kg", c_in=K_IN, c_out=K_OUT, temperature=T, gate=GATE))
    branch.insert(GHKChannel(ion="Na", c_in=NA_IN, c_out=NA_OUT, temperature=T, gate=GATE[:2]))
    branch.set("v", V_CLAMP)  # initial state = clamp: every current is computed at V_CLAMP
    for state in ("v", "i_GHK_K", "i_Kg", "Kg_m", "i_GHK_Na"):
        branch.record(state, verbose=False)
    # a clamp of N steps gives N + 1 samples: the initial state, then one per step
    branch.clamp("v", jnp.repeat(jnp.asarray(V_CLAMP)[:, None], N_STEPS, axis=1), verbose=False)
    branch.make_trainable("GHK_K_pbar", verbose=False)

    def loss(params):
        rec = jx.integrate(branch, params=params, delta_t=DT)
        return jnp.mean(rec[:3] ** 2) + jnp.mean(rec[3:6] ** 2), rec

    params = branch.get_parameters()
    (value, rec), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
    names = ("v", "i_K", "i_Kg", "m", "i_Na")
    return {"rec": {n: np.asarray(rec[3 * k:3 * k + 3]) for k, n in enumerate(names)},
            "value": value, "grad": grads[0]["GHK_K_pbar"], "pbar": params[0]["GHK_K_pbar"]}


def test_clamp_traces_have_no_nan_and_hold_the_voltage(clamp_run):
    rec = clamp_run["rec"]
    assert all(np.isfinite(r).all() for r in rec.values())
    np.testing.assert_array_equal(rec["v"], np.repeat(V_CLAMP[:, None], N_STEPS + 1, axis=1))
    assert np.abs(rec["i_K"][1]).max() < 1e-12 * np.abs(rec["i_K"][0]).max()  # zero at E_K


def test_recorded_currents_equal_ghk_current_density(clamp_run):
    """Equal to rounding: rtol 1e-14, and atol 1e-14 mA/cm^2 at E_K, where the current is a
    cancellation of terms of size z F p c_in ~ 3 mA/cm^2 (a few ulp of them, order 1e-16)."""
    rec, v = clamp_run["rec"], V_CLAMP[:, None]
    np.testing.assert_allclose(
        rec["i_K"], np.broadcast_to(ghk_current_density(v, 2e-4, K_IN, K_OUT, 1, temperature=T),
                                    rec["i_K"].shape), rtol=1e-14, atol=1e-14)
    p_open = ionjax.boltzmann(v * 1e-3, GATE[0] * 1e-3, GATE[1] * 1e-3)
    i_na = p_open * ghk_current_density(v, 1e-4, NA_IN, NA_OUT, 1, temperature=T)
    np.testing.assert_allclose(rec["i_Na"], np.broadcast_to(i_na, rec["i_Na"].shape),
                               rtol=1e-14, atol=1e-14)


def test_kinetic_gate_relaxes_exactly_and_scales_the_current(clamp_run):
    """m starts at 0 (no init_states); exponential Euler at a constant v is exact:
    m_k = m_inf (1 - exp(-k dt / tau))."""
    rec, v = clamp_run["rec"], V_CLAMP[:, None]
    m_inf = np.asarray(ionjax.boltzmann(v * 1e-3, GATE[0] * 1e-3, GATE[1] * 1e-3))
    k = np.arange(N_STEPS + 1)[None, :]
    np.testing.assert_allclose(rec["m"], m_inf * -np.expm1(-k * DT / GATE[2]), rtol=1e-12,
                               atol=1e-300)
    density = np.asarray(ghk_current_density(v, 1e-4, K_IN, K_OUT, 1, temperature=T))
    np.testing.assert_allclose(rec["i_Kg"], rec["m"] * density, rtol=1e-13, atol=1e-14)
    channel = GHKChannel("Kg", c_in=K_IN, c_out=K_OUT, temperature=T, gate=GATE)
    init = channel.init_state({}, V_CLAMP, channel.channel_params, DT)["Kg_m"]
    np.testing.assert_allclose(init, m_inf[:, 0], rtol=1e-15)


def test_clamp_gradient_is_finite_and_analytic(clamp_run):
    """The current is p * k(v): d mean(I^2)/dp = 2 p mean(k^2); the clamped v does not move."""
    k = ghk_current_density(V_CLAMP, 1.0, K_IN, K_OUT, 1, temperature=T)
    expected = 2 * clamp_run["pbar"] * jnp.mean(k**2)
    assert np.isfinite(clamp_run["grad"]).all()
    np.testing.assert_allclose(clamp_run["grad"], expected, rtol=1e-13)


class _NaiveGHK(GHKChannel):
    def compute_current(self, states, v, params):
        p = params[f"{self._name}_pbar"]
        return _naive(v, p, params[f"{self._name}_c_in"], params[f"{self._name}_c_out"], self.z)


def test_naive_channel_in_jaxley_is_nan_at_zero_mV():
    comp = jx.Compartment()
    comp.insert(_NaiveGHK("naive", c_in=K_IN, c_out=K_OUT, temperature=T))
    comp.set("v", 0.0)
    comp.record("i_naive", verbose=False)
    comp.clamp("v", jnp.zeros(11), verbose=False)
    assert np.isnan(np.asarray(jx.integrate(comp, delta_t=DT))).all()


# --- current clamp: gated GHK K+ channel + leak, step current; gradient vs finite differences ---
G_LEAK, E_LEAK, PBAR = 1e-3, -60.0, 1e-4  # S/cm^2, mV, cm/s
CC_GATE = (-40.0, 10.0, 2.0)


def test_current_clamp_rest_and_gradient_match_truth():
    comp = jx.Compartment()
    comp.insert(GHKChannel(c_in=K_IN, c_out=K_OUT, temperature=T, pbar=PBAR, gate=CC_GATE))
    comp.insert(jx.channels.Leak())
    comp.set("Leak_gLeak", G_LEAK)
    comp.set("Leak_eLeak", E_LEAK)
    comp.set("v", -50.0)
    comp.init_states()
    comp.stimulate(jx.step_current(15.0, 10.0, 0.03, DT, 25.0), verbose=False)
    comp.record("v", verbose=False)
    comp.make_trainable("GHK_K_pbar", verbose=False)

    def loss(params):
        v = jx.integrate(comp, params=params, delta_t=DT)[0]
        return jnp.mean(v**2), v

    value_and_grad = jax.jit(jax.value_and_grad(loss, has_aux=True))
    (value, v), grads = value_and_grad([{"GHK_K_pbar": jnp.array([PBAR])}])
    assert np.isfinite(np.asarray(v)).all() and v.max() - v.min() > 10.0

    # sign in the solver: before the stimulus v settles where I_GHK + I_leak = 0 (bisection);
    # outward-positive currents pull v there (a flipped sign would drive it away); after 15 ms
    # with membrane and gate time constants <= 2 ms it is there to ~1e-4 mV
    def net(x):
        m_inf = ionjax.boltzmann(x * 1e-3, CC_GATE[0] * 1e-3, CC_GATE[1] * 1e-3)
        i_k = m_inf * ghk_current_density(x, PBAR, K_IN, K_OUT, 1, temperature=T)
        return float(i_k + G_LEAK * (x - E_LEAK))

    lo, hi = E_K, E_LEAK
    for _ in range(60):
        lo, hi = (lo, (lo + hi) / 2) if net((lo + hi) / 2) > 0 else ((lo + hi) / 2, hi)
    assert E_K < lo < E_LEAK and float(v[int(15.0 / DT)]) == pytest.approx(lo, abs=1e-3)

    # central differences of the same compiled program; the loss is smooth in p on the scale
    # of p, so with h = 1e-4 p the truncation error is ~ (h/p)^2 = 1e-8 relative, and rounding
    # ~ eps |L| / (h |dL/dp|) ~ 1e-10 here: rtol 1e-6 leaves a wide margin over both
    h = 1e-4 * PBAR
    (plus, _), _ = value_and_grad([{"GHK_K_pbar": jnp.array([PBAR + h])}])
    (minus, _), _ = value_and_grad([{"GHK_K_pbar": jnp.array([PBAR - h])}])
    fd = (plus - minus) / (2 * h)
    ad = grads[0]["GHK_K_pbar"][0]
    assert np.isfinite(ad) and abs(ad) > 0
    assert float(ad) == pytest.approx(float(fd), rel=1e-6)


@pytest.mark.parametrize("options, message", [
    (dict(temperature=22.0), "temperature is in kelvin"),  # degC by mistake: E_K far off
    (dict(z=0), "non-zero integer"), (dict(z=1.5), "non-zero integer"),
    (dict(c_in=-140.0), "c_in must be a concentration > 0"),
    (dict(c_out=0.0), "c_out must be a concentration > 0"),
    (dict(pbar=-1e-4), "pbar must be a permeability >= 0"),
    (dict(gate=(-30.0, 0.0)), "slope must be non-zero"),
    (dict(gate=(-30.0, 5.0, -1.0)), "tau > 0"), (dict(gate=(-30.0,)), "gate must be None"),
    (dict(gate=5.0), "gate must be None"),
])
def test_channel_refuses_what_would_make_a_simulation_nan_or_wrong(options, message):
    arguments = dict(c_in=140.0, c_out=5.0, temperature=T)
    arguments.update(options)
    with pytest.raises(ValueError, match=message):
        GHKChannel(**arguments)
    GHKChannel(c_in=140.0, c_out=5.0, temperature=np.float64(T), z=np.int64(-1))  # NumPy ok
