"""``fitting.PNPChannel``: a charged pore fitted to I-Vs, checked against truths.

* synthetic data of a known pore: the estimates lie within a few standard errors of the truth;
* the scipy optimum of the same least-squares problem (``scipy.optimize.least_squares``) and its
  Gauss-Newton standard errors;
* the constant-field limit: an uncharged pore in dilute baths fits the permeabilities of
  ``MultiIonGHK`` on the same data;
* nested comparison (charge held at 0 vs fitted), a joint fit across two baths that pins down a
  charge one bath leaves open, and the host-side refusals.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import least_squares

import fitting
from fitting.engine import driver

T = 298.15
Z, IONS = (1, -1), ("K", "Cl")
C_IN, C_OUT = (100.0, 100.0), (20.0, 20.0)
GEOMETRY = dict(temperature=T, length=5e-9, area=1e-18, n_grid=48)
TRUE_D, TRUE_Q = np.array([1.5e-9, 0.6e-9]), -200.0
V = np.linspace(-0.12, 0.12, 25)
NOISE = 0.05e-12  # A rms


def pore(**kwargs):
    return fitting.PNPChannel(z=Z, c_in=C_IN, c_out=C_OUT, ions=IONS,
                              **dict(GEOMETRY, **kwargs))


@pytest.fixture(scope="module")
def data():
    model = pore(diffusion=TRUE_D, fixed_charge=TRUE_Q)
    clean = np.asarray(model.current(model.unflatten(model.start_vector(jnp.float64)), V))
    rng = np.random.default_rng(7)
    return np.stack([clean + NOISE * rng.standard_normal(V.size) for _ in range(2)])


@pytest.fixture(scope="module")
def result(data):
    return fitting.fit(pore(), V, data)  # two recordings: one vmapped chunk each


def test_recovers_the_pore_within_its_standard_errors(result):
    assert np.all(result.status == fitting.Status.CONVERGED)
    d, q = result.params["diffusion"], result.params["fixed_charge"]
    se_d, se_q = result.stderr["diffusion"], result.stderr["fixed_charge"]
    assert np.all(np.abs(d - TRUE_D) < 4 * se_d), (d, se_d)
    assert np.all(np.abs(q - TRUE_Q) < 4 * se_q), (q, se_q)
    assert np.all(se_d / d < 0.2) and np.all(np.abs(se_q / q) < 0.2)
    # derived GHK-equivalent permeability D A / L, with its unit and the ions' names
    np.testing.assert_allclose(result.params["permeability"], d * 1e-18 / 5e-9, rtol=1e-12)
    np.testing.assert_allclose(result.stderr["permeability"], se_d * 1e-18 / 5e-9, rtol=1e-9)
    text = result[0].summary()
    for label in ("diffusion_K", "diffusion_Cl", "fixed_charge", "permeability_K", "um^2/s",
                  "m^3/s", "mM"):
        assert label in text, text


def test_batch_rows_equal_single_fits(data, result):
    """``max_chunk = 1``: each recording is its own chunk; the batch gives each row the result
    of fitting it alone."""
    assert driver.chunk_size(pore()) == 1
    alone = fitting.fit(pore(), V, data[1])
    np.testing.assert_allclose(result.params["fixed_charge"][1], alone.params["fixed_charge"],
                               rtol=1e-12)
    np.testing.assert_allclose(result.params["diffusion"][1], alone.params["diffusion"],
                               rtol=1e-12)


def test_matches_the_scipy_optimum(data, result):
    """scipy's trust-region least squares on the same residuals (log D, Q / 100 mM) from the
    truth, with the model's own compiled current: the same optimum and the same Gauss-Newton
    standard errors."""
    model = pore()
    current = jax.jit(lambda d, q, v: model.current({"diffusion": d, "fixed_charge": q}, v))
    i = data[0]

    def residual(x):
        return (np.asarray(current(jnp.exp(x[:2]), 100.0 * x[2], V)) - i) / NOISE

    x0 = np.array([*np.log(TRUE_D), TRUE_Q / 100.0])
    sol = least_squares(residual, x0, xtol=1e-14, ftol=1e-14, gtol=1e-14)
    d, q = np.exp(sol.x[:2]), 100.0 * sol.x[2]
    se = result.stderr
    np.testing.assert_allclose(result.params["diffusion"][0], d, rtol=1e-6)
    assert abs(result.params["fixed_charge"][0] - q) < 1e-4 * se["fixed_charge"][0]
    # standard errors: s^2 (J^T J)^-1 in (log D, Q) mapped to (D, Q)
    s2 = 2 * sol.cost / (V.size - 3) * NOISE**2
    cov = np.linalg.inv(sol.jac.T @ sol.jac) / NOISE**2 * s2
    np.testing.assert_allclose(se["diffusion"][0], d * np.sqrt(np.diag(cov)[:2]), rtol=1e-4)
    np.testing.assert_allclose(se["fixed_charge"][0], 100.0 * np.sqrt(cov[2, 2]), rtol=1e-4)


def test_charge_held_at_zero_loses_the_comparison(data, result):
    uncharged = pore(fit_charge=False, fixed_charge=0.0)
    assert uncharged.param_names == ("diffusion",)
    comparison = fitting.compare({"charged": result, "uncharged": fitting.fit(uncharged, V,
                                                                              data)})
    assert list(np.asarray(comparison.best)) == [0, 0], comparison
    assert np.all(np.asarray(comparison.delta)[1] > 10)  # Burnham & Anderson: no support


def test_constant_field_limit_fits_the_ghk_permeabilities():
    """Uncharged pore, baths so dilute that the Debye length is ~300 L: the PNP fit's
    permeabilities D A / L equal those of a MultiIonGHK fit of the same data."""
    c_in, c_out = (2e-3, 2e-3), (0.5e-3, 0.5e-3)
    ghk = fitting.MultiIonGHK(z=Z, c_in=c_in, c_out=c_out, temperature=T)
    p_true = np.array([3e-19, 1e-19])
    rng = np.random.default_rng(3)
    clean = np.asarray(ghk.current({"p": jnp.asarray(p_true)}, V))
    i = clean + 0.01 * np.abs(clean).max() * rng.standard_normal(V.size)
    by_ghk = fitting.fit(ghk, V, i)
    by_pnp = fitting.fit(fitting.PNPChannel(z=Z, c_in=c_in, c_out=c_out, fit_charge=False,
                                            **GEOMETRY), V, i)
    assert by_pnp.status == fitting.Status.CONVERGED
    np.testing.assert_allclose(by_pnp.params["permeability"], by_ghk.params["p"], rtol=1e-4)
    np.testing.assert_allclose(by_pnp.stderr["permeability"], by_ghk.stderr["p"], rtol=1e-3)


@pytest.mark.parametrize("change, message", [
    (dict(n_grid=4), "n_grid must be an integer from 8"),
    (dict(n_grid=32.5), "n_grid must be an integer"),
    (dict(diffusion=[1e-9] * 3), "one value or one per ion"),
    (dict(diffusion=0.0), "finite and > 0"),
    (dict(diffusion=2e-5), "was it given in cm.2/s"),  # 2e-5 cm^2/s typed as m^2/s
    (dict(length=0.0), "length"),
    (dict(area=float("nan")), "area"),
    (dict(permittivity=-80.0), "permittivity"),
    (dict(n_channels=0), "n_channels"),
    (dict(fixed_charge=float("inf")), "fixed_charge must be finite"),
    (dict(charge_profile=[1.0] * 10), "must hold n_grid . 1 = 49"),
    (dict(charge_profile=[1.0] + [0.0] * 47 + [1.0]), "zero at every interior node"),
    (dict(length=5.0), "not a pore's"),  # nm typed as m
    (dict(area=1.0), "not a pore's"),
    (dict(length=1e-7), "n_grid >= 618"),  # 100 nm; Debye length 0.971 nm at 100 mM
    (dict(length=5e-5), "too long for it"),  # 50 um at 100 mM: 309,000 cells
    (dict(charge_profile=[0.0] + [10.0] * 47 + [0.0], fixed_charge=-100.0),
     "do not resolve"),  # |Q w| = 1000 mM
    (dict(c_in=(100.0, 50.0)), "not electroneutral"),
    (dict(c_in=[[100.0, 100.0]], c_out=[[20.0, 20.0]], points=24), "a sequence"),
    (dict(fixed_charge=-3000.0), "do not resolve the Debye length"),
    (dict(c_in=[[100.0, 100.0], [10.0, 10.0]], c_out=[[20.0, 20.0], [2.0, 2.0]]),
     "need points"),
    (dict(points=(25,)), "points applies to several baths"),
    (dict(z=(1.5, -1)), "integer"),
    (dict(temperature=25.0), "kelvin"),
    (dict(ions=("K", "K")), "name each"),
])
def test_refuses_bad_configuration(change, message):
    kwargs = dict(z=Z, c_in=C_IN, c_out=C_OUT, **GEOMETRY)
    kwargs.update(change)
    with pytest.raises(ValueError, match=message):
        fitting.PNPChannel(**kwargs)


def test_degrees_celsius_refused_by_every_ion_model():
    with pytest.raises(ValueError, match="kelvin"):
        fitting.GHK(z=1, c_in=140.0, c_out=5.0, temperature=22.0)


def test_float32_standard_errors_of_tiny_derived_quantities():
    """The permeability D A / L is ~1e-19 m^3/s: its variance (~1e-40) is below float32's
    normal range, yet its standard error must not come out as 0."""
    from fitting.engine.statistics import parameters

    model = pore()
    for dtype in (np.float32, np.float64):
        x = jnp.asarray([1.5e-9, 0.6e-9, -200.0], dtype)
        cov = jnp.asarray(np.diag([0.05, 0.08, 0.1]) ** 2, dtype)  # of x / scale
        _, stderr = parameters(model, x, cov, jnp.asarray([1.5e-9, 0.6e-9, 200.0], dtype))
        expected = np.array([0.05 * 1.5e-9, 0.08 * 0.6e-9]) * 1e-18 / 5e-9
        np.testing.assert_allclose(stderr["permeability"], expected,
                                   rtol=1e-6 if dtype == np.float32 else 1e-12)


def test_two_baths_pin_down_a_charge_one_bath_leaves_open():
    """One I-V in KCl 150 | 30 mM leaves Q almost free (it trades off against D_K / D_Cl); the
    same pore's I-Vs in 150 | 30 and 15 | 3 mM, fitted jointly, determine it."""
    baths_in, baths_out = [[150.0, 150.0], [15.0, 15.0]], [[30.0, 30.0], [3.0, 3.0]]
    geometry = dict(z=Z, temperature=T, length=5e-9, area=np.pi * 0.7e-9**2, n_grid=48)
    truth = {"diffusion": jnp.asarray([1.2e-9, 0.8e-9]), "fixed_charge": jnp.asarray(-150.0)}
    v = np.linspace(-0.1, 0.1, 25)
    joint = fitting.PNPChannel(c_in=baths_in, c_out=baths_out, points=(25, 25), **geometry)
    rng = np.random.default_rng(5)
    i = [np.asarray(joint.bath_current(truth, v, k)) + 0.1e-12 * rng.standard_normal(v.size)
         for k in range(2)]
    np.testing.assert_array_equal(
        np.asarray(joint.current(truth, np.concatenate([v, v]))),
        np.concatenate([joint.bath_current(truth, v, 0), joint.bath_current(truth, v, 1)]))
    one = fitting.fit(fitting.PNPChannel(c_in=baths_in[0], c_out=baths_out[0], **geometry),
                      v, i[0])
    both = fitting.fit(joint, np.concatenate([v, v]), np.concatenate(i))
    assert both.status == fitting.Status.CONVERGED
    q, se = float(both.params["fixed_charge"]), float(both.stderr["fixed_charge"])
    assert abs(q + 150.0) < 4 * se and se < 15.0, (q, se)
    d, se_d = np.asarray(both.params["diffusion"]), np.asarray(both.stderr["diffusion"])
    assert np.all(np.abs(d - np.asarray(truth["diffusion"])) < 4 * se_d), (d, se_d)
    assert float(one.stderr["fixed_charge"]) > 5 * se, (one.stderr, se)
    # several solutions: no single reversal (NaN, not a number of one bath), no predict
    assert np.isnan(fitting.reversal_potential(both).value)
    with pytest.raises(ValueError, match="bath_current"):
        both.predict(v)
    with pytest.raises(ValueError, match="the data have 49 points"):
        fitting.fit(joint, np.concatenate([v, v])[:49], np.concatenate(i)[:49])


def test_grid_rule_keeps_the_current_within_1e_3():
    """At the fewest cells PNPChannel accepts (module pnp_checks), the current of a charged pore
    is within 1e-3 of an 8 times finer grid, itself within ~2e-5 of the limit (second order)."""
    from fitting.models.pnp_checks import grid_needed

    v = np.array([-0.1, 0.1])
    for q, c in ((0.0, 150.0), (-300.0, 100.0), (-2000.0, 100.0)):
        needed = int(np.ceil(grid_needed(5e-9, max(2 * c, 2 * abs(q)), 80.0, T)))
        model = fitting.PNPChannel(z=Z, c_in=(c, c), c_out=(c / 5, c / 5), fixed_charge=q,
                                   **dict(GEOMETRY, n_grid=needed))
        fine = fitting.PNPChannel(z=Z, c_in=(c, c), c_out=(c / 5, c / 5), fixed_charge=q,
                                  **dict(GEOMETRY, n_grid=8 * needed))
        params = {"diffusion": jnp.asarray([1.5e-9, 0.6e-9]), "fixed_charge": jnp.asarray(q)}
        coarse, exact = np.asarray(model.current(params, v)), np.asarray(fine.current(params, v))
        assert np.max(np.abs(coarse / exact - 1)) < 1e-3, (q, c, coarse / exact - 1)


def test_a_fitted_charge_the_grid_cannot_resolve_is_out_of_range(data):
    """Started at Q = 0, a coarse grid passes the check; if the fit's charge then needs more
    cells than the grid has, the fit is refused, not reported."""
    coarse = pore(n_grid=32)  # enough for the baths and Q = 0; Q = -200 mM needs 44
    res = fitting.fit(coarse, V, data[0])
    assert res.status == fitting.Status.OUT_OF_RANGE, res.summary()
    assert np.isnan(float(res.params["fixed_charge"]))
