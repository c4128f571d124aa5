"""Issue 23 item 4: physical upper bounds, float32 fits of any current magnitude, and the LJP of
solutions that list an ion at 0 mM.

* bounds: concentrations <= 10 M, temperatures 200..400 K (37 K is degC given as kelvin),
  |z| <= 4 for activity coefficients, pore lengths <= 100 um, electroneutral PNP baths; NaN inside
  jit, a one-line error on the host and on the command line;
* float32: fits of attoampere to microampere currents, and a 0.13 pA Ca I-V with BoltzmannGHK,
  against scipy.optimize.least_squares in float64 on the same data;
* LJP: "Ca=0" is an ion absent from that solution; the Henderson value against its closed form.
"""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import least_squares

import fitting
import ionjax
from ionjax._src.constants import FARADAY, GAS_CONSTANT
from ionjax._src.pnp import pnp_steady

from test_zero_concentration_cli import run  # the command in a fresh process, float32 JAX

T = 295.15  # 22 degC


def refused(out, message):
    """Exit 2 with one line on stderr holding ``message``, and no number on stdout."""
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stdout == ""


# --- 1. physical bounds ------------------------------------------------------------------------

def test_temperature_in_kelvin_outside_liquid_water_is_nan_in_jit_and_refused_on_host():
    """37 K (degC typed as K) gives NaN under jit and grad, and (issue 23) a ValueError where
    the temperature is concrete (eager, or a constant closed over by jit); 310.15 K the Nernst
    value RT/(zF) ln(c_out/c_in) computed here."""
    e = ionjax.nernst_potential(140.0, 5.0, 1, temperature=310.15)
    np.testing.assert_allclose(float(e), GAS_CONSTANT * 310.15 / FARADAY * np.log(5 / 140),
                               rtol=1e-12)
    for t in (37.0, 25.0, 450.0):
        with pytest.raises(ValueError, match="temperature must be in kelvin"):
            ionjax.nernst_potential(140.0, 5.0, 1, temperature=t)
        with pytest.raises(ValueError, match="temperature must be in kelvin"):
            jax.jit(lambda c: ionjax.nernst_potential(c, 5.0, 1, temperature=t))(140.0)
        assert np.isnan(float(jax.jit(lambda tt: ionjax.nernst_potential(
            140.0, 5.0, 1, temperature=tt))(t)))
        assert np.isnan(float(ionjax.thermal_voltage(temperature=t)))
        with pytest.raises(ValueError, match="temperature must be in kelvin"):
            ionjax.ghk_current(-0.05, 1e-19, 140.0, 5.0, 1, temperature=t)
        assert np.isnan(float(jax.jit(lambda tt: ionjax.ghk_current(
            -0.05, 1e-19, 140.0, 5.0, 1, temperature=tt))(t)))
    grad = jax.grad(lambda c: ionjax.nernst_potential(c, 5.0, 1, temperature=T))(140.0)
    np.testing.assert_allclose(float(grad), -GAS_CONSTANT * T / FARADAY / 140.0, rtol=1e-12)
    with pytest.raises(ValueError, match=r"got 37 K: did you mean 37 degC \(310.15 K\)"):
        ionjax.validate_inputs(temperature=37.0)
    with pytest.raises(ValueError, match=r"200\.\.400 K .*got 1000 K$"):
        ionjax.validate_inputs(temperature=1000.0)
    ionjax.validate_inputs(temperature=[273.15, 310.15, 373.15])
    with pytest.raises(ValueError, match="kelvin"):  # the fitting models say the same
        fitting.GHK(z=1, c_in=140.0, c_out=5.0, temperature=37.0)


def test_concentrations_above_10_molar_are_refused_on_the_host():
    ionjax.validate_inputs(c_in=1e4, c_out=[0.0, 6100.0], z=1, temperature=T)
    with pytest.raises(ValueError, match=r"c_in must be <= 10000 mol/m\^3 \(10 M.*got 1e\+30"):
        ionjax.validate_inputs(c_in=1e30, c_out=5.0, z=1, temperature=T)
    with pytest.raises(ValueError, match="activity must be <= 10000"):
        ionjax.validate_inputs(activity=2e4)
    with pytest.raises(ValueError, match="c_in must be <= 10000"):
        fitting.GHK(z=1, c_in=1e9, c_out=5.0, temperature=T)  # 1e12 uM


def test_valence_bound_of_activity_coefficients():
    """Davies: log10 gamma = -A z^2 (sqrt(I)/(1 + sqrt(I)) - 0.3 I); defined up to |z| = 4, NaN
    beyond (z = 5000 used to give gamma = 0)."""
    a, _ = ionjax.debye_huckel_constants(temperature=T)
    strength = 0.15  # mol/L
    for z in (1, -2, 3, 4):
        want = 10 ** (-float(a) * z * z * (np.sqrt(strength) / (1 + np.sqrt(strength))
                                           - 0.3 * strength))
        got = float(ionjax.activity_coefficient(150.0, z, temperature=T))
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for z in (5, -5, 5000):
        assert np.isnan(float(ionjax.activity_coefficient(150.0, z, temperature=T)))
    with pytest.raises(ValueError, match=r"\|z\| <= 4"):
        ionjax.validate_inputs(z=[1, 5000])


Z2, D2 = np.array([1.0, -1.0]), np.array([1.33e-9, 2.03e-9])
CIN2, COUT2 = np.array([15.0, 15.0]), np.array([150.0, 150.0])
PORE = dict(length=5e-9, area=1e-18, temperature=T, n_grid=32)


@pytest.mark.parametrize("change", [dict(temperature=25.0), dict(temperature=37.0),
                                    dict(length=5e-3), dict(c_out=np.array([2e4, 2e4]))])
def test_pnp_outside_physics_is_nan_and_not_converged(change):
    kwargs = dict(PORE, c_out=COUT2)
    kwargs.update(change)
    good = pnp_steady(jnp.array([0.03]), Z2, D2, CIN2, **dict(PORE, c_out=COUT2))
    assert bool(jnp.all(good.converged)) and np.all(np.isfinite(np.asarray(good.total)))
    s = jax.jit(pnp_steady, static_argnames="n_grid")(jnp.array([0.03]), Z2, D2, CIN2, **kwargs)
    assert np.all(np.isnan(np.asarray(s.total))) and not bool(jnp.any(s.converged))
    with pytest.raises(ValueError, match="must be"):  # concrete: the host says which (issue 23)
        pnp_steady(jnp.array([0.03]), Z2, D2, CIN2, **kwargs)
    with pytest.raises(ValueError, match="length must be <= 0.0001 m"):
        ionjax.validate_inputs(length=5e-3)


def test_pnp_refuses_a_bath_that_is_not_electroneutral():
    """c_in has 150 mM cations and 100 mM anions: sum z c = 50 mM, 20 % of sum |z| c."""
    with pytest.raises(ValueError, match=r"the c_in bath is not electroneutral: sum z c = 50 "
                                         r"mol/m\^3 \(20 % of sum \|z\| c\)"):
        pnp_steady(0.03, Z2, D2, np.array([150.0, 100.0]), COUT2, **PORE)
    with pytest.raises(ValueError, match="c_out bath is not electroneutral"):
        pnp_steady(0.03, Z2, D2, CIN2, np.array([150.0, 149.0]), **PORE)
    # neutral with a divalent ion: 10 Ca2+ + 20 Cl-
    s = pnp_steady(0.03, np.array([2.0, -1.0]), D2, np.array([10.0, 20.0]),
                   np.array([10.0, 20.0]), **PORE)
    assert bool(s.converged)


def test_cli_refuses_concentrations_and_temperatures_outside_physics():
    refused(run("nernst", "--ion", "K", "--c-in", "1e30", "--c-out", "5", "--temperature",
                "22C"), "--c-in 1e+30 mM = 1e+27 M is above 10 M, more than any salt dissolves")
    refused(run("nernst", "--ion", "K", "--c-in", "140", "--c-out", "5", "--temperature",
                "37K"), "'37K' = 37 K is outside -10..100 degC (liquid water): did you mean "
                        "37 degC (310.15 K)?")
    refused(run("ghk-voltage", "--ions", "K,Na", "--p", "1,0.05", "--c-in", "1e12uM,10",
                "--c-out", "5,140", "--temperature", "22C"),
            "--c-in '1e12uM' = 1e+06 M is above 10 M")
    refused(run("ljp", "--pipette", "K=20000,Cl=20000", "--bath", "Na=140,Cl=140",
                "--temperature", "22C"), "concentration of K '20000' = 20 M is above 10 M")


# --- 3. LJP of solutions with an ion at 0 mM ---------------------------------------------------

def _henderson(pipette, bath, temperature):
    """The Henderson equation written out here, from the table's D and z (closed form)."""
    names = set(pipette) | set(bath)
    z = {n: ionjax.ion_mobility(n)[0] for n in names}
    d = {n: ionjax.ion_mobility(n)[1] for n in names}
    dc = {n: bath.get(n, 0.0) - pipette.get(n, 0.0) for n in names}
    a = sum(z[n] * d[n] * dc[n] for n in names)
    b = sum(z[n] ** 2 * d[n] * dc[n] for n in names)
    s_pip = sum(z[n] ** 2 * d[n] * pipette.get(n, 0.0) for n in names)
    s_bath = sum(z[n] ** 2 * d[n] * bath.get(n, 0.0) for n in names)
    return -GAS_CONSTANT * temperature / FARADAY * a / b * np.log(s_bath / s_pip)


def test_ljp_solutions_may_list_an_ion_at_zero():
    """KCl pipette (Ca listed at 0) against NaCl + 2 CaCl2: the value printed is the closed form,
    and a 0 is the ion left out. Lewis-Sargent for the plain bi-ionic pair: (RT/F)
    ln((D_K + D_Cl)/(D_Na + D_Cl))."""
    pipette, bath = {"K": 140.0, "Cl": 140.0, "Ca": 0.0}, {"Na": 140.0, "Cl": 144.0, "Ca": 2.0}
    want = _henderson(pipette, bath, T)
    np.testing.assert_allclose(float(ionjax.liquid_junction_potential(
        pipette, bath, temperature=T)), want, rtol=1e-12)
    out = run("ljp", "--pipette", "K=140,Cl=140,Ca=0", "--bath", "Na=140,Cl=144,Ca=2",
              "--temperature", "22C")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"LJP = {round(want * 1e3, 2):.2f} mV at 22 degC"), out.stdout
    d = {n: ionjax.ion_mobility(n)[1] for n in ("K", "Na", "Cl")}
    lewis_sargent = GAS_CONSTANT * T / FARADAY * np.log((d["K"] + d["Cl"]) / (d["Na"] + d["Cl"]))
    out = run("ljp", "--pipette", "K=150,Cl=150,Na=0", "--bath", "Na=150,Cl=150,K=0mM",
              "--temperature", "22C")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"LJP = {round(lewis_sargent * 1e3, 2):.2f} mV"), out.stdout
    refused(run("ljp", "--pipette", "K=0,Cl=0", "--bath", "Na=150,Cl=150", "--temperature",
                "22C"), "--pipette 'K=0,Cl=0' holds no ion (every concentration is 0)")


def test_ljp_from_solutions_states_its_temperature(tmp_path):
    """``ionjax iv --pipette --bath`` notes the LJP and the temperature it used: the default
    22 degC said to be one, or the --temperature given."""
    v = np.linspace(-100, 40, 8)
    path = tmp_path / "iv.csv"
    path.write_text("voltage_mV,current_pA\n" + "".join(f"{a:g},{0.5 * a + 3:g}\n" for a in v))
    solutions = ("--pipette", "K=140,gluconate=140", "--bath", "Na=140,Cl=140")
    ljp22 = _henderson({"K": 140.0, "gluconate": 140.0}, {"Na": 140.0, "Cl": 140.0}, T)
    out = run("iv", path, *solutions, "--out", tmp_path / "a.csv")
    assert out.returncode == 0, out.stderr
    assert (f"LJP of --pipette/--bath = {ljp22 * 1e3:.2f} mV at 22 degC (the default: give "
            "--temperature)") in out.stderr, out.stderr
    t30 = ionjax.units.celsius(30.0)
    out = run("iv", path, *solutions, "--temperature", "30C", "--out", tmp_path / "b.csv")
    assert out.returncode == 0, out.stderr
    assert f"= {ljp22 * t30 / T * 1e3:.2f} mV at 30 degC\n" in out.stderr, out.stderr


# --- 2. float32 fits of any current magnitude ---------------------------------------------------

V = np.linspace(-0.1, 0.06, 17)


def _scipy(fn, x0, v, i):
    """scipy.optimize.least_squares (float64, trust region reflective) with x_scale='jac', on
    residuals in units of the largest current (its tolerances are absolute in the gradient)."""
    size = np.max(np.abs(i))
    sol = least_squares(lambda x: (fn(x, v) - i) / size, x0, x_scale="jac", xtol=1e-15,
                        ftol=1e-15, gtol=1e-15, max_nfev=10000)
    assert sol.status > 0 and np.all(np.abs(sol.grad) < 1e-10), sol
    return sol.x


@pytest.mark.parametrize("amplitude", [1e-20, 1e-18, 1e-15, 1e-12, 1e-9, 1e-6])
def test_float32_ohmic_fit_of_any_current_magnitude_matches_float64_least_squares(amplitude):
    """Attoampere to microampere currents: the float32 fit converges to the float64 least-squares
    line (np.polyfit: g (v - E) is linear in g and g E), to ~1e-4 relative in g and a few uV in
    E, with the RMSE of that line."""
    g, e = amplitude / 0.1, -0.03
    i = g * (V - e) * (1 + 0.01 * np.random.default_rng(0).standard_normal(V.size))
    slope, intercept = np.polyfit(V, i, 1)
    res = fitting.fit(fitting.Ohmic(), V.astype(np.float32), i.astype(np.float32))
    assert res.status == fitting.Status.CONVERGED, res.summary()
    assert res.params["g"].dtype == np.float32
    np.testing.assert_allclose(float(res.params["g"]), slope, rtol=2e-4)
    np.testing.assert_allclose(float(res.params["e_rev"]), -intercept / slope, atol=5e-6)
    rmse = np.sqrt(np.mean((i - (slope * V + intercept)) ** 2))
    np.testing.assert_allclose(float(res.rmse), rmse, rtol=1e-3)
    assert np.isfinite(float(res.aic))


def test_float32_boltzmann_ghk_of_a_femtoampere_calcium_iv_matches_scipy():
    """A 0.13 pA Ca2+ I-V (100 nM inside, 2 mM outside, gate at -20 mV, slope 6 mV): float32
    finds the float64 scipy least-squares optimum (it was UNIDENTIFIABLE: the weighted GHK
    features, ~1e24, overflowed float32 when squared in the starting-value projection)."""
    v = np.linspace(-0.08, 0.06, 15)
    c_in, c_out = 1e-4, 2.0
    unit = np.asarray(ionjax.ghk_current(v, 1.0, c_in, c_out, 2, temperature=T))

    def model(x, v_):
        u = np.interp(v_, v, unit)  # v_ is v
        return x[0] * 1e-24 * u / (1 + np.exp((x[1] - v_) / x[2]))

    truth = np.array([1.0, -0.02, 0.006])
    clean = model(truth, v)
    truth[0] *= 0.13e-12 / np.max(np.abs(clean))
    i = model(truth, v) * (1 + 0.01 * np.random.default_rng(2).standard_normal(v.size))
    assert 0.12e-12 < np.max(np.abs(i)) < 0.14e-12
    ref = _scipy(model, truth, v, i)
    m = fitting.BoltzmannGHK(z=2, c_in=c_in, c_out=c_out, temperature=T)
    res64 = fitting.fit(m, v, i)
    res32 = fitting.fit(m, v.astype(np.float32), i.astype(np.float32))
    for res, rtol in ((res64, 1e-6), (res32, 2e-3)):
        assert res.status == fitting.Status.CONVERGED, res.summary()
        np.testing.assert_allclose(float(res.params["p_max"]), ref[0] * 1e-24, rtol=rtol)
        np.testing.assert_allclose(float(res.params["v_half"]), ref[1], rtol=rtol, atol=1e-5)
        np.testing.assert_allclose(float(res.params["slope"]), ref[2], rtol=rtol)


def test_float32_ghk_fit_at_ten_molar_finds_the_least_squares_permeability():
    """c_in = 10 M (the largest concentration accepted): the float32 fit used to report
    CONVERGED with p = 1e-18 m^3/s, six decades above the exact least-squares p = sum(u i) /
    sum(u u), and an RMSE of 1e3 pA."""
    unit = np.asarray(ionjax.ghk_current(V, 1.0, 1e4, 5.0, 1, temperature=T))
    i = 1.2e-24 * unit * (1 + 0.01 * np.random.default_rng(1).standard_normal(V.size))
    exact = unit @ i / (unit @ unit)
    res = fitting.fit(fitting.GHK(z=1, c_in=1e4, c_out=5.0, temperature=T),
                      V.astype(np.float32), i.astype(np.float32))
    assert res.status == fitting.Status.CONVERGED, res.summary()
    np.testing.assert_allclose(float(res.params["p"]), exact, rtol=1e-4)
    np.testing.assert_allclose(float(res.rmse), np.sqrt(np.mean((i - exact * unit) ** 2)),
                               rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_answer_short_of_the_optimum_is_not_converged(dtype):
    """The rule behind Status.STALLED, on the solver's own output: the least-squares optimum of
    a noisy Boltzmann-Ohmic I-V is CONVERGED; the same answer moved by two standard errors of
    v_half (a solver that stopped early, as float32 rounding made LM do) is STALLED, with NaN
    parameters."""
    from fitting.engine import statistics
    from fitting.engine.config import FitConfig
    from fitting.engine.problem import internal, physical, prepare, residual_fn
    from fitting.engine.solvers import levenberg_marquardt

    v = np.linspace(-0.12, 0.04, 17).astype(dtype)
    gate = 1 / (1 + np.exp((-0.05 - v) / 0.008))
    i = (2e-9 * gate * (v + 0.03) + 2e-12 * np.random.default_rng(3).standard_normal(
        v.size)).astype(dtype)
    model = fitting.BoltzmannOhmic()
    config = FitConfig(model=model)
    problem = prepare(config, jnp.asarray(v), jnp.asarray(i), jnp.ones_like(i),
                      jnp.ones(v.shape, bool))
    residual = residual_fn(model, problem)
    solved = levenberg_marquardt(residual, problem["theta0"], 200)
    out = statistics.finish(config, problem, solved)
    assert int(out["status"]) == fitting.Status.CONVERGED
    x = physical(model, problem, solved[0])
    k = list(model.unflatten(x)).index("v_half")
    theta = internal(model, problem["scale"], x.at[k].add(2 * out["stderr"]["v_half"]))
    r, jac = residual(theta), jax.jacfwd(residual)(theta)
    stalled = statistics.finish(config, problem, (theta, 5, fitting.Status.CONVERGED, r, jac))
    assert int(stalled["status"]) == fitting.Status.STALLED
    assert np.isnan(float(stalled["params"]["v_half"]))
    assert not bool(fitting.usable(stalled["status"]))
