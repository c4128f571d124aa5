"""Bounds on user-model parameters are honoured by both solvers (issue 11)."""

import numpy as np
import pytest

import fitting

MV, PA, NS = 1e-3, 1e-12, 1e-9
V = np.arange(-90, 41, 10) * MV


def _leak(p, v):
    return p["g"] * (v - p["e"])


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return 3 * NS * (V + 0.07) + rng.normal(0, 5 * PA, (2, V.size))  # e_rev = -70 mV


@pytest.mark.parametrize("method", ["lm", "lbfgs"])
def test_an_optimum_outside_the_bounds_stops_inside_them(method):
    i = _data()
    model = fitting.Model(_leak, params={"g": 1e-9, "e": -0.03}, bounds={"e": (-0.05, 0.0)})
    res = fitting.fit(model, V, i, method=method, max_steps=2000)
    e = np.asarray(res.params["e"])
    free = fitting.fit(fitting.Ohmic(), V, i)
    assert np.all(np.asarray(free.params["e_rev"]) < -0.06)  # the free optimum is outside
    finite = np.isfinite(e)
    assert np.all((e[finite] >= -0.05) & (e[finite] <= 0.0))
    assert np.all(np.isin(np.asarray(res.status), [fitting.Status.SINGULAR,
                                                  fitting.Status.MAX_STEPS,
                                                  fitting.Status.CONVERGED]))


@pytest.mark.parametrize("bounds", [{"e": (-0.2, 0.1)}, {"e": (-0.2, None)},
                                    {"e": (None, 0.1)}, {"g": (0.0, 1e-6)}])
def test_bounds_that_do_not_bind_give_the_free_optimum(bounds):
    i = _data(1)
    model = fitting.Model(_leak, params={"g": 1e-9, "e": -0.03}, bounds=bounds)
    res = fitting.fit(model, V, i)
    free = fitting.fit(fitting.Ohmic(), V, i)
    assert np.all(np.asarray(res.converged))
    np.testing.assert_allclose(res.params["e"], free.params["e_rev"], rtol=1e-7)
    np.testing.assert_allclose(res.params["g"], free.params["g"], rtol=1e-7)
    np.testing.assert_allclose(res.stderr["e"], free.stderr["e_rev"], rtol=1e-5)
    np.testing.assert_allclose(res.stderr["g"], free.stderr["g"], rtol=1e-5)
    intervals = fitting.profile_intervals(res, V, i, ["e"])["e"]
    ref = fitting.profile_intervals(free, V, i, ["e_rev"])["e_rev"]
    np.testing.assert_allclose(intervals.lower, ref.lower, rtol=1e-6)
    np.testing.assert_allclose(intervals.upper, ref.upper, rtol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(bounds={"e": (0.0, -0.1)}), "lower must be < upper"),
    (dict(bounds={"e": (0.0, 0.1)}), "strictly inside"),
    (dict(bounds={"x": (0.0, 0.1)}), "bounds names unknown"),
    (dict(bounds={"g": (0.0, 1.0)}, positive=("g",)), "both positive and bounded"),
    (dict(bounds={"e": "wide"}), "must be \\(lower, upper\\)"),
])
def test_bad_bounds_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fitting.Model(_leak, params={"g": 1e-9, "e": -0.03}, **kwargs)


def test_an_optimum_on_a_bound_has_no_standard_error_with_either_solver():
    rng = np.random.default_rng(5)
    i = 2 * NS * (V + 0.03) + rng.normal(0, 1 * PA, V.size)  # e_rev = -30 mV
    model = fitting.Model(_leak, params={"g": 1e-9, "e": -0.045}, bounds={"e": (None, -0.04)})
    for method in ("lm", "lbfgs"):
        res = fitting.fit(model, V, i, method=method, max_steps=2000)
        assert int(res.status) == fitting.Status.SINGULAR, (method, int(res.status))


def test_user_model_whose_start_gives_no_current_is_refused():
    """g = 0 makes the current, and e's derivative, zero everywhere: the fit used to end
    'converged' at e = 0 or at absurd values. A zero start of a signed parameter is fine."""
    import fitting

    with pytest.raises(ValueError, match="zero current at every voltage"):
        fitting.Model(lambda p, v: p["g"] * (v - p["e"]), params={"g": 0.0, "e": 0.0})
    v = np.linspace(-0.09, 0.04, 17)
    i = 1.955e-9 * (v + 0.0193)
    res = fitting.fit(fitting.Model(lambda p, v: p["g"] * (v - p["e"]),
                                    params={"g": 1e-9, "e": 0.0}), v, i)
    np.testing.assert_allclose([res.params["g"], res.params["e"]], [1.955e-9, -0.0193],
                               rtol=1e-6)
