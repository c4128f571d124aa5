"""fitting.fit on batches: masking, failures, status codes, buckets, devices, user models."""

import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import numpy as np
import pytest

import fitting
import ionjax as ij

V = np.linspace(-0.1, 0.05, 15)
TRUTH = dict(g=2e-9, e_rev=-0.07)


def _ohmic_batch(b, seed=0, noise=5e-12):
    rng = np.random.default_rng(seed)
    g = 2e-9 * (1 + 0.2 * rng.standard_normal(b))
    e = -0.07 + 0.01 * rng.standard_normal(b)
    return g, e, g[:, None] * (V - e[:, None]) + rng.normal(0, noise, (b, V.size))


def _ols(v, i):
    x = np.stack([v, np.ones_like(v)], axis=1)
    (a, b), *_ = np.linalg.lstsq(x, i, rcond=None)
    return a, -b / a


def test_batch_equals_one_by_one_and_keeps_batch_shape():
    _, _, i = _ohmic_batch(6)
    res = fitting.fit(fitting.Ohmic(), V, i.reshape(2, 3, -1))
    assert res.params["g"].shape == (2, 3) and res.covariance.shape == (2, 3, 2, 2)
    for k in range(6):
        one = fitting.fit(fitting.Ohmic(), V, i[k])
        assert float(one.params["g"]) == pytest.approx(float(res.params["g"].ravel()[k]), rel=1e-10)
        g, e = _ols(V, i[k])
        assert float(one.params["e_rev"]) == pytest.approx(e, rel=1e-9)
    assert np.all(res.converged)


def test_nan_points_are_masked_counted_and_do_not_disturb_the_batch():
    _, _, i = _ohmic_batch(5, seed=1)
    dirty = i.copy()
    dirty[1, [2, 7]] = np.nan
    dirty[3, :] = np.nan  # a recording with no valid point at all
    dirty[4, 3:] = np.nan  # too few points (3 valid) is fine for 2 parameters; (1 valid) is not
    dirty[4, 1:] = np.nan
    res = fitting.fit(fitting.Ohmic(), V, dirty)
    np.testing.assert_array_equal(res.n_masked, [0, 2, 0, 15, 14])
    np.testing.assert_array_equal(res.n_points, [15, 13, 15, 0, 1])
    np.testing.assert_array_equal(res.status, [0, 0, 0, 2, 2])
    assert list(res.message) == [fitting.STATUS_MESSAGES[s] for s in (0, 0, 0, 2, 2)]
    assert np.all(np.isnan(res.params["g"][3:])) and np.all(np.isnan(res.stderr["g"][3:]))
    keep = ~np.isnan(dirty[1])
    assert float(res.params["g"][1]) == pytest.approx(_ols(V[keep], dirty[1, keep])[0], rel=1e-9)
    clean = fitting.fit(fitting.Ohmic(), V, i[[0, 2]])
    np.testing.assert_allclose(np.asarray(res.params["g"])[[0, 2]], clean.params["g"], rtol=1e-12)


def test_explicit_mask_equals_dropping_points():
    _, _, i = _ohmic_batch(1, seed=2)
    mask = np.ones(V.size, bool)
    mask[::3] = False
    res = fitting.fit(fitting.Ohmic(), V, i[0], mask=mask)
    ref = fitting.fit(fitting.Ohmic(), V[mask], i[0, mask])
    for key in ("g", "e_rev"):
        assert float(res.params[key]) == pytest.approx(float(ref.params[key]), rel=1e-10)
        assert float(res.stderr[key]) == pytest.approx(float(ref.stderr[key]), rel=1e-8)


@pytest.mark.parametrize("v, i, match", [
    (np.zeros(5), np.zeros(6), r"v \(5,\), i \(6,\)"),
    (np.zeros((3, 5)), np.zeros((2, 5)), r"v \(3, 5\), i \(2, 5\)"),
    (np.zeros(1), np.zeros(1), r"1 valid points for 2 parameters"),
    (np.array([0.0, 0.01, np.nan]), np.array([1e-10, np.nan, 2e-10]), r"1 valid points"),
])
def test_bad_shapes_and_too_few_points_raise_on_a_single_recording(v, i, match):
    with pytest.raises(ValueError, match=match):
        fitting.fit(fitting.Ohmic(), v, i)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="sigma must be > 0"):
        fitting.fit(fitting.Ohmic(), V, 1e-8 * V, sigma=0.0)
    with pytest.raises(ValueError, match="method"):
        fitting.fit(fitting.Ohmic(), V, 1e-8 * V, method="newton")
    # mV and pA numbers passed as SI: refused, not fitted as volts and amperes
    with pytest.raises(ValueError, match="v holds values up to 100: fitting.fit takes SI"):
        fitting.fit(fitting.Ohmic(), V * 1e3, 1e-8 * V)
    with pytest.raises(ValueError, match="i holds values up to .*Convert with ionjax.units"):
        fitting.fit(fitting.Ohmic(), V, 1e4 * V)
    with pytest.raises(ValueError, match="c_in must be > 0"):  # 0 is valid (issue 27): absent
        fitting.GHK(z=1, c_in=-1.0, c_out=5.0, temperature=300.0)
    with pytest.raises(TypeError, match="temperature"):
        fitting.GHK(z=1, c_in=1.0, c_out=5.0, temperature=None)


def test_no_batch_size_compiles_again():
    """One program per problem kind (a fixed-size block); batch sizes from 1 to more than a
    block reuse it."""
    from fitting.engine import driver
    # a user model is its own compile-cache key: no other test can have compiled it before
    model = fitting.Model(lambda p, v: p["g"] * (v - p["e_rev"]), params={"g": 1e-9, "e_rev": 0.0})
    _, _, i = _ohmic_batch(driver.block_size() + 5, seed=3)
    before = driver.cache_size()
    first = fitting.fit(model, V, i[:33])
    assert driver.cache_size() == before + driver.PROGRAMS_PER_KIND
    for b in (1, 2, 34, driver.chunk_size() + 1, len(i)):
        res = fitting.fit(model, V, i[:b])
        np.testing.assert_array_equal(res.params["g"][:min(b, 33)], first.params["g"][:b])
    assert driver.cache_size() == before + driver.PROGRAMS_PER_KIND
    v17 = np.linspace(-0.1, 0.06, 17)  # 17 points: another points bucket (a multiple of 8)
    fitting.fit(model, v17, 1e-9 * (v17 + 0.05) + np.random.default_rng(1).normal(0, 1e-12, 17))
    assert driver.cache_size() == before + 2 * driver.PROGRAMS_PER_KIND


def test_recordings_of_similar_length_share_one_program_and_padding_changes_nothing():
    """65..80 points are padded to 80 (batch.padded_points): one program for all of them; 81
    points is the next size. Each fit equals the closed-form least-squares line."""
    from fitting.engine import driver
    from fitting.engine.batch import padded_points

    model = fitting.Model(lambda p, v: p["g"] * (v - p["e_rev"]), params={"g": 2e-9, "e_rev": -0.01})
    rng = np.random.default_rng(11)
    before = driver.cache_size()
    for n in (65, 71, 80, 81):
        v = np.linspace(-0.1, 0.05, n)
        i = 3e-9 * (v + 0.07) + rng.normal(0, 1e-12, n)
        res = fitting.fit(model, v, i)
        slope, intercept = np.polyfit(v, i, 1)  # I = g v - g E: a straight line
        assert float(res.params["g"]) == pytest.approx(slope, rel=1e-9)
        assert float(res.params["e_rev"]) == pytest.approx(-intercept / slope, rel=1e-9)
        programs = 1 if padded_points(n) == padded_points(65) else 2
        assert driver.cache_size() == before + programs * driver.PROGRAMS_PER_KIND, n


def test_user_model_with_autodiff_jacobian_matches_the_builtin():
    t, c_in, c_out = 295.0, 10.0, 110.0
    truth_p = 3e-16
    i = truth_p * ij.ghk_current(V, 1.0, c_in, c_out, 1, temperature=t)
    i = np.asarray(i) + np.random.default_rng(4).normal(0, 2e-12, V.size)

    def fn(params, v):
        return params["p"] * ij.ghk_current(v, 1.0, c_in, c_out, 1, temperature=t)

    user = fitting.fit(fitting.Model(fn, params={"p": 1e-16}, positive=("p",)), V, i)
    builtin = fitting.fit(fitting.GHK(z=1, c_in=c_in, c_out=c_out, temperature=t), V, i)
    assert user.converged and builtin.converged
    assert float(user.params["p"]) == pytest.approx(float(builtin.params["p"]), rel=1e-8)
    assert float(user.stderr["p"]) == pytest.approx(float(builtin.stderr["p"]), rel=1e-6)
    e_user = fitting.reversal_potential(user)  # numeric zero crossing + implicit function theorem
    e_nernst = ij.nernst_potential(c_in, c_out, 1, temperature=t)
    assert float(e_user.value) == pytest.approx(float(e_nernst), abs=1e-12)
    with pytest.raises(ValueError, match="positive names unknown"):
        fitting.Model(fn, params={"p": 1.0}, positive=("q",))


def test_numeric_reversal_stderr_matches_the_closed_form():
    """A user ohmic model: root + IFT delta method equals the closed-form e_rev and stderr."""
    _, _, i = _ohmic_batch(3, seed=5)
    user = fitting.Model(lambda p, v: p["g"] * (v - p["e_rev"]), params={"g": 1e-9, "e_rev": 0.0})
    res_u = fitting.fit(user, V, i)
    res_o = fitting.fit(fitting.Ohmic(), V, i)
    e_u, e_o = fitting.reversal_potential(res_u), fitting.reversal_potential(res_o)
    np.testing.assert_allclose(e_u.value, e_o.value, rtol=1e-9)
    np.testing.assert_allclose(e_u.stderr, e_o.stderr, rtol=1e-6)
    np.testing.assert_allclose(e_o.stderr, res_o.stderr["e_rev"], rtol=1e-12)


def test_lbfgs_reaches_the_lm_optimum():
    m = fitting.BoltzmannOhmic()
    truth = dict(g_max=5e-9, e_rev=0.05, v_half=-0.03, slope=0.006)
    v = np.linspace(-0.09, 0.04, 15)
    i = np.asarray(m.current(truth, v)) + np.random.default_rng(6).normal(0, 1e-11, v.size)
    lm = fitting.fit(m, v, i)
    bfgs = fitting.fit(m, v, i, method="lbfgs", max_steps=2000)
    assert lm.converged and bfgs.converged
    assert float(bfgs.loss) == pytest.approx(float(lm.loss), rel=1e-6)
    for key in truth:
        assert float(bfgs.params[key]) == pytest.approx(float(lm.params[key]), rel=1e-3)


def test_predict_summary_and_compare():
    _, _, i = _ohmic_batch(4, seed=7)
    res = fitting.fit(fitting.Ohmic(), V, i)
    pred = res.predict(V)
    assert pred.shape == (4, V.size)
    np.testing.assert_allclose(np.sum((i - pred) ** 2, axis=1), res.loss, rtol=1e-9)
    text = res[0].summary()
    assert "nS" in text and "mV" in text and "converged" in text and "g " in text
    assert "4 recordings, 4 converged" in res.summary()
    cmp = fitting.compare({"ohmic": res, "boltzmann": fitting.fit(fitting.BoltzmannOhmic(), V, i)})
    assert cmp.best.shape == (4,) and np.all(cmp.best == 0)  # truth is ohmic: fewer parameters win
    np.testing.assert_allclose(cmp.weights.sum(axis=0), 1.0)
    assert "ohmic" in str(cmp)


def test_two_electrode_sizes_print_in_uS_and_nA():
    """An oocyte's 20 uS and microampere currents: the summary prints uS and nA (the values
    are the SI ones scaled), not 20000 nS and 10^6 pA; a patch's stay in nS and pA."""
    rng = np.random.default_rng(3)
    big = fitting.fit(fitting.Ohmic(), V, 20e-6 * (V + 0.09) + rng.normal(0, 2e-8, V.size))
    text = big.summary()
    g_line = next(t for t in text.splitlines() if t.split()[:1] == ["g"])
    assert g_line.split()[-1] == "uS"
    assert float(g_line.split()[1]) == pytest.approx(float(big.params["g"]) * 1e6, rel=1e-5)
    assert "rmse = " in text and " nA   RSS = " in text and "nA^2" in text
    rmse = float(text.split("rmse = ")[1].split()[0])
    assert rmse == pytest.approx(float(big.rmse) * 1e9, rel=1e-5)
    small = fitting.fit(fitting.Ohmic(), V, 2e-9 * (V + 0.09) + rng.normal(0, 2e-12, V.size))
    assert " nS" in small.summary() and " pA   RSS" in small.summary()
    batch = fitting.fit(fitting.Ohmic(), V, np.stack([20e-6 * (V + 0.09)] * 2)
                        + rng.normal(0, 2e-8, (2, V.size)))
    assert "] uS" in batch.summary()


def test_float32_stays_float32():
    _, _, i = _ohmic_batch(3, seed=8)
    res = fitting.fit(fitting.Ohmic(), V.astype(np.float32), i.astype(np.float32))
    assert res.params["g"].dtype == jnp.float32 and res.covariance.dtype == jnp.float32
    assert np.all(res.converged)


_SHARDED = textwrap.dedent("""
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import fitting
    assert jax.device_count() == 4, jax.devices()
    data = json.loads(sys.stdin.read())
    res = fitting.fit(fitting.BoltzmannOhmic(), np.array(data["v"]), np.array(data["i"]))
    from fitting.engine import driver
    print(json.dumps(dict(
        g=res.params["g_max"].tolist(), v_half=np.asarray(res.params["v_half"]).tolist(),
        status=np.asarray(res.status).tolist(),
        devices=len(jax.devices()))))
""")


def test_four_simulated_devices_give_the_one_device_answers():
    rng = np.random.default_rng(9)
    m = fitting.BoltzmannOhmic()
    v = np.linspace(-0.09, 0.04, 15)
    b = 12
    truth = dict(g_max=rng.uniform(2e-9, 8e-9, b), e_rev=rng.uniform(0.0, 0.05, b),
                 v_half=rng.uniform(-0.05, -0.01, b), slope=rng.uniform(0.004, 0.01, b))
    i = np.stack([np.asarray(m.current({k: x[j] for k, x in truth.items()}, v)) for j in range(b)])
    # noise well below the signal: every fit is well conditioned, so the one- and four-device
    # answers (different XLA fusions, so different rounding) must agree to 1e-9
    i += rng.normal(0, 2e-12, i.shape)
    one = fitting.fit(m, v, i)
    env = dict(**__import__("os").environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", _SHARDED], input=json.dumps(dict(v=v.tolist(), i=i.tolist())),
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    many = json.loads(out.stdout.strip().splitlines()[-1])
    assert many["devices"] == 4
    np.testing.assert_array_equal(many["status"], one.status)
    np.testing.assert_allclose(many["g"], one.params["g_max"], rtol=1e-9)
    np.testing.assert_allclose(many["v_half"], one.params["v_half"], rtol=1e-9)


def _boltzmann_curves(b, seed):
    rng = np.random.default_rng(seed)
    v = np.linspace(-0.09, 0.04, 15)
    g, e = rng.uniform(1e-9, 2e-8, (b, 1)), rng.uniform(-0.01, 0.06, (b, 1))
    vh, s = rng.uniform(-0.05, 0.0, (b, 1)), rng.uniform(0.003, 0.012, (b, 1))
    clean = g / (1 + np.exp((vh - v) / s)) * (v - e)
    noise = rng.uniform(0.01, 0.08, (b, 1)) * np.abs(clean).max(axis=1, keepdims=True)
    return v, clean + noise * rng.standard_normal(clean.shape)


def test_large_batches_run_in_stages_with_the_iterations_of_one_by_one_fits():
    """A batch above one chunk is solved in stages (unfinished recordings regrouped between
    them); each recording must still get the iterations and the result of fitting it alone
    (here: in sub-batches of one chunk, the unstaged path). The same compiled programs run both,
    so only the grouping differs."""
    from fitting.engine import driver

    chunk = driver.chunk_size()
    v, i = _boltzmann_curves(3 * chunk + 17, seed=11)
    model = fitting.BoltzmannOhmic()
    staged = fitting.fit(model, v, i)
    steps = np.asarray(staged.n_steps)
    assert steps.max() > max(driver.STAGE_LIMITS)  # every stage was needed
    pieces = [fitting.fit(model, v, i[k:k + chunk]) for k in range(0, len(i), chunk)]
    alone = np.concatenate([np.asarray(p.n_steps) for p in pieces])
    assert np.max(np.abs(steps - alone)) <= 1 and np.mean(steps == alone) >= 0.99
    np.testing.assert_array_equal(staged.status, np.concatenate([p.status for p in pieces]))
    loss = np.concatenate([np.asarray(p.loss) for p in pieces])
    np.testing.assert_allclose(staged.loss, loss, rtol=1e-9)
    # parameters: equal to a negligible fraction of their standard error (flat optima of nearly
    # degenerate fits, slope -> 0, move by rounding; a mix-up of recordings would move by the
    # spread of the population)
    for name in model.param_names:
        one = np.concatenate([np.asarray(p.params[name]) for p in pieces])
        se = np.concatenate([np.asarray(p.stderr[name]) for p in pieces])
        mine = np.asarray(staged.params[name])
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(one))  # refused alike
        ok = ~np.isnan(one)
        assert np.all(np.abs(mine - one)[ok] <= 1e-3 * se[ok] + 1e-12 * np.abs(one[ok]))


def test_equal_user_models_share_one_compiled_program():
    """Two Model(...) objects built alike (same function, layout, start) are one cache key; a
    different start value or layout is another."""
    from fitting.engine import driver

    def fn(p, v):
        return p["g"] * (v - p["e_rev"])

    def make(**start):
        return fitting.Model(fn, params={"g": 1e-9, "e_rev": 0.0, **start}, positive=("g",),
                             units={"g": "nS", "e_rev": (1e-3, "mV")})

    first, second = make(), make()
    assert first == second and hash(first) == hash(second) and first is not second
    assert make(e_rev=0.01) != first
    _, _, i = _ohmic_batch(5, seed=8)
    before = driver.cache_size()
    a = fitting.fit(first, V, i)
    assert driver.cache_size() == before + driver.PROGRAMS_PER_KIND
    b = fitting.fit(second, V, i)
    assert driver.cache_size() == before + driver.PROGRAMS_PER_KIND  # no recompilation for the equal model
    np.testing.assert_array_equal(a.params["g"], b.params["g"])
    fitting.fit(make(e_rev=0.01), V, i)
    assert driver.cache_size() == before + 2 * driver.PROGRAMS_PER_KIND


def test_user_model_with_an_unhashable_callable_is_compared_by_identity():
    import dataclasses

    @dataclasses.dataclass
    class Leak:  # eq=True without frozen: instances cannot be hashed
        e_rev: float

        def __call__(self, p, v):
            return p["g"] * (v - self.e_rev)

    leak = Leak(0.002)
    a, b = (fitting.Model(leak, params={"g": 1e-9}) for _ in range(2))
    assert a == b and hash(a) == hash(b)
    assert a != fitting.Model(Leak(0.002), params={"g": 1e-9})
    _, _, i = _ohmic_batch(2, seed=12)
    assert np.all(np.asarray(fitting.fit(a, V, i).converged))


def test_status_enumeration_and_usable_rule():
    from fitting.engine.status import MESSAGES

    assert [int(s) for s in fitting.Status] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # 9: EXTRAPOLATED
    assert fitting.Status(4).message.startswith("singular") and MESSAGES[2].startswith("too few")
    codes = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    np.testing.assert_array_equal(fitting.usable(codes), [True, True] + [False] * 8)
    np.testing.assert_array_equal(fitting.usable(jnp.asarray(codes)), fitting.usable(codes))
    np.testing.assert_array_equal(fitting.usable([0, 1, 3]), [True, True, False])
    assert fitting.STATUS_MESSAGES == MESSAGES
    _, _, i = _ohmic_batch(3, seed=9)
    i = np.array(i)
    # 2 points left (-100 and +50 mV, around E_rev: not extrapolated): fitted with zero
    # degrees of freedom; 1 point: too few
    i[1, 1:-1] = np.nan
    i[2, 1:] = np.nan
    res = fitting.fit(fitting.Ohmic(), V, i)
    np.testing.assert_array_equal(res.status, [fitting.Status.CONVERGED] * 2
                                  + [fitting.Status.TOO_FEW_POINTS])
    np.testing.assert_array_equal(res.usable, [True, True, False])
    assert list(res.message) == [fitting.Status(int(s)).message for s in res.status]


def test_user_model_units_reach_summary_and_export(tmp_path):
    import json

    from fitting import io

    model = fitting.Model(lambda p, v: p["g"] * (v - p["e"]), params={"g": 1e-9, "e": 0.0},
                          units={"g": "nS", "e": (1e-3, "mV")})
    _, _, i = _ohmic_batch(1, seed=10)
    res = fitting.fit(model, V, i[0])
    lines = res.summary().splitlines()
    assert any(line.split()[0] == "g" and line.endswith("nS") for line in lines[5:])
    assert any(line.split()[0] == "e" and line.endswith("mV") for line in lines[5:])
    path = tmp_path / "r.json"
    io.write_results(path, res, ["cell"], fitting.reversal_potential(res))
    row = json.loads(path.read_text())["recordings"][0]
    assert {"g_S", "g_stderr_S", "e_V", "e_stderr_V"} <= set(row)
    assert row["g_S"] == pytest.approx(float(res.params["g"]), rel=1e-15)
    loose = fitting.Model(lambda p, v: p["x"] * v, params={"x": 1.0}, units={"x": (1e-3, "mX")})
    assert loose.spec_of("x").si_unit == "" and loose.spec_of("x").unit == "mX"
    with pytest.raises(ValueError, match="not in ionjax.units.UNITS"):
        fitting.Model(lambda p, v: p["x"] * v, params={"x": 1.0}, units={"x": "mX"})
    assert fitting.Model(lambda p, v: p["x"] * v, params={"x": 1.0},
                         units={"x": "µS"}).spec_of("x").si_unit == "S"
    custom = fitting.Model(lambda p, v: p["x"] * v, params={"x": 1.0},
                           units={"x": (1e-3, "mX", "X")})
    assert custom.spec_of("x").si_unit == "X"
    with pytest.raises(ValueError, match="units names unknown"):
        fitting.Model(lambda p, v: p["x"] * v, params={"x": 1.0}, units={"y": "nS"})


def test_api_edges_give_clear_errors_or_right_answers():
    _, _, i = _ohmic_batch(3, seed=13)
    res = fitting.fit(fitting.Ohmic(), V, i)
    with pytest.raises(IndexError, match="batch shape \\(3,\\)"):
        res[10]
    np.testing.assert_array_equal(res[2].params["g"], res.params["g"][2])
    np.testing.assert_array_equal(res[-1].params["g"], res.params["g"][2])
    with pytest.raises(ValueError, match="no data to fit"):
        fitting.fit(fitting.Ohmic(), V, np.zeros((0, V.size)))
    with pytest.raises(ValueError, match="must hold real numbers"):
        fitting.fit(fitting.Ohmic(), V, ["a"] * V.size)
    with pytest.raises(ValueError, match="at least one"):
        fitting.MultiIonGHK(z=(), c_in=(), c_out=(), temperature=295.0)
    as_list = fitting.fit(fitting.Ohmic(), list(V), list(np.asarray(i[0])))
    assert float(as_list.params["g"]) == pytest.approx(float(res.params["g"][0]), rel=1e-12)
    with pytest.raises(ValueError, match="float16, which cannot hold SI values"):
        fitting.fit(fitting.Ohmic(), V, np.asarray(i[0]).astype(np.float16))
    sigma = np.full(V.size, 5e-12)
    sigma[3] = np.nan  # a point without a noise estimate is dropped and counted
    counted = fitting.fit(fitting.Ohmic(), V, i[0], sigma=sigma)
    assert int(counted.n_masked) == 1 and int(counted.n_points) == V.size - 1


def test_aicc_small_sample_correction_and_t_based_error_bars():
    _, _, i = _ohmic_batch(2, seed=14)
    res = fitting.fit(fitting.Ohmic(), V, i)
    n, k = V.size, 2
    np.testing.assert_allclose(res.aicc, np.asarray(res.aic) + 2 * k * (k + 1) / (n - k - 1),
                               rtol=1e-12)
    cmp = fitting.compare({"ohmic": res, "boltzmann": fitting.fit(fitting.BoltzmannOhmic(), V,
                                                                  i)})
    assert cmp.criterion == "aicc" and "AICc" in str(cmp)
    np.testing.assert_allclose(cmp.delta[0], 0.0)
    assert "RSS = " in res[0].summary() and "pA^2" in res[0].summary()
    from fitting.engine.profile import t_quantile

    assert float(t_quantile(0.95, 5)) == pytest.approx(2.5705818366147395, rel=1e-6)
    from fitting.plot import plot_fit

    fig = plot_fit(res, V, i)
    labels = [t.get_text() for ax in fig.axes for t in
              (ax.get_legend().get_texts() if ax.get_legend() else [])]
    assert any(f"(95%, t with {n - k} dof)" in label for label in labels), labels


def test_refusals_found_by_the_hostile_user():
    import ionjax

    # a linear I-V crossing below E_K: only a negative P_Na fits it; refused, not converged
    model = fitting.MultiIonGHK(z=(1, 1), c_in=(10, 130), c_out=(110, 30), temperature=298.15,
                                reference=1)
    res = fitting.fit(model, V, 3e-9 * (V + 0.08))
    assert int(res.status) == fitting.Status.OUT_OF_RANGE and np.isnan(float(res.loss))
    with pytest.raises(ValueError, match="at least two ions"):
        fitting.MultiIonGHK(z=(1,), c_in=(130,), c_out=(30,), temperature=298.15)
    with pytest.raises(ValueError, match="max_steps must be an integer from 1"):
        fitting.fit(fitting.Ohmic(), V, V * 1e-9, max_steps=0)
    # AICc needs n > k + 1: three points for a two-parameter line have none; no model has the
    # criterion for that recording, so there is no best model
    v3 = V[:3]
    line = fitting.fit(fitting.Ohmic(), v3, 2e-9 * (v3 + 0.02))
    ghk = fitting.fit(fitting.GHK(z=1, c_in=130, c_out=30, temperature=298.15), v3,
                      np.asarray(ionjax.ghk_current(v3, 1e-17, 130, 30, 1, temperature=298.15)))
    assert np.isnan(float(line.aicc))
    cmp = fitting.compare({"line": line, "ghk": ghk}, criterion="aic")
    assert cmp.names[int(cmp.best)] in ("line", "ghk")
    # an empty selection reports and exports without error
    _, _, i = _ohmic_batch(3, seed=15)
    empty = fitting.fit(fitting.Ohmic(), V, i)[[]]
    assert "0 recordings" in empty.summary()


def test_profile_argument_checks():
    _, _, i = _ohmic_batch(2, seed=16)
    res = fitting.fit(fitting.Ohmic(), V, i)
    one = fitting.profile_intervals(res, V, i, "g")  # a single name, not its letters
    assert set(one) == {"g"}
    with pytest.raises(ValueError, match="batch shape"):
        fitting.profile_intervals(res, V, i[:1], ["g"])


def test_plot_with_an_empty_recording_and_longdouble_input():
    from fitting.plot import plot_fit

    _, _, i = _ohmic_batch(2, seed=17)
    i = np.array(i)
    i[1] = np.nan
    res = fitting.fit(fitting.Ohmic(), V, i)
    fig = plot_fit(res, V, i)
    assert "no data" in fig.axes[1].get_title()
    wide = fitting.fit(fitting.Ohmic(), V.astype(np.longdouble), i[0].astype(np.longdouble))
    assert bool(wide.converged)
    from fitting import io

    with pytest.raises(ValueError, match="pass fitting.reversal_potential"):
        io.write_results("x.json", res, ["a", "b"], fitting.reversal_potential(res[0]))


def test_no_information_criterion_without_residual_degrees_of_freedom():
    """Two points, two parameters: the line passes through both, the RSS is rounding, and
    n ln(RSS/n) would be an arbitrary number; AIC/BIC are NaN, the parameters exact."""
    v = np.array([-0.05, 0.03])
    res = fitting.fit(fitting.Ohmic(), v, 2e-9 * (v + 0.02))
    assert res.status == 0 and np.isnan(res.aic) and np.isnan(res.bic) and np.isnan(res.aicc)
    np.testing.assert_allclose([res.params["g"], res.params["e_rev"]], [2e-9, -0.02], rtol=1e-9)


def test_comparison_table_keeps_valid_models_when_one_is_refused_everywhere():
    """A model refused in every recording must not blank the others' rows (it did: the table
    averaged over the recordings where every model had a criterion, i.e. none)."""
    rng = np.random.default_rng(0)
    v = np.linspace(-0.09, 0.04, 15)
    i = 5e-9 / (1 + np.exp((-0.03 - v) / 0.007)) * (v - 0.05) + rng.normal(0, 2e-11, (4, 15))
    refused = fitting.fit(fitting.GHK(z=1, c_in=140.0, c_out=5.0, temperature=295.0), v, i)
    assert np.all(refused.status == fitting.Status.OUT_OF_RANGE)  # inward current, E_K -85 mV
    ohmic, boltz = fitting.fit(fitting.Ohmic(), v, i), fitting.fit(fitting.BoltzmannOhmic(), v, i)
    cmp = fitting.compare({"ohmic": ohmic, "boltzmann": boltz, "ghk": refused})
    rows = {line.split()[0]: line.split()[1:] for line in str(cmp).splitlines()[1:4]}
    # the means are over the recordings where both remaining models are usable (a straight line
    # through a sigmoid I-V can have a slope not told from 0: that E_rev is refused, Fieller)
    both = np.asarray(ohmic.usable & boltz.usable)
    assert both.sum() >= 3
    np.testing.assert_allclose(float(rows["boltzmann"][0]), np.mean(boltz.aicc[both]), rtol=1e-6)
    np.testing.assert_allclose(float(rows["ohmic"][0]), np.mean(ohmic.aicc[both]), rtol=1e-6)
    assert rows["ghk"] == ["-"] * 5 and np.all(cmp.best == 1)


def test_fully_optimised_program_gives_the_fast_compile_answers():
    """The suite runs with IONJAX_FAST_COMPILE=1 (conftest); users get XLA's full optimisation
    by default. Same statuses, iterations within one, v_half within the solver's xtol.
    Recordings of more than FAST_COMPILE_MAX_POINTS points get the optimised program anyway."""
    from fitting.engine import driver

    assert driver.default_fast_compile(driver.FAST_COMPILE_MAX_POINTS)
    assert not driver.default_fast_compile(driver.FAST_COMPILE_MAX_POINTS + 1)
    v, i = _boltzmann_curves(40, seed=5)
    fast = fitting.fit(fitting.BoltzmannOhmic(), v, i)
    full = fitting.fit(fitting.BoltzmannOhmic(), v, i, fast_compile=False)
    np.testing.assert_array_equal(full.status, fast.status)
    assert np.max(np.abs(full.n_steps - fast.n_steps)) <= 1
    ok = fitting.usable(fast.status)
    np.testing.assert_allclose(full.params["v_half"][ok], fast.params["v_half"][ok],
                               rtol=8 * np.sqrt(np.finfo(float).eps))


_CORRUPT = textwrap.dedent("""
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np, fitting
    v = np.linspace(-0.09, 0.04, 15)
    i = 4e-9 / (1 + np.exp((-0.03 - v) / 0.007)) * (v - 0.04)
    i = i + np.random.default_rng(0).normal(0, 2e-11, (40, 15))
    res = fitting.fit(fitting.BoltzmannOhmic(), v, i)
    print(json.dumps(dict(v_half=res.params["v_half"].tolist(), status=res.status.tolist())))
""")


def test_damaged_export_artifacts_are_rebuilt_not_trusted(tmp_path):
    """A flipped bit anywhere in an artifact (caught by its checksum) or a damaged module
    (caught at its first call) must give the intact program's numbers, and the artifact is
    rewritten."""
    env = dict(os.environ, IONJAX_CACHE_DIR=str(tmp_path / "cache"))
    run = lambda: json.loads(subprocess.run(  # noqa: E731
        [sys.executable, "-c", _CORRUPT], env=env, capture_output=True, text=True, check=True,
        timeout=600).stdout.strip().splitlines()[-1])
    reference = run()
    artifacts = sorted((tmp_path / "cache" / "exported").glob("*.bin"))
    assert len(artifacts) == 3
    for k, path in enumerate(artifacts):
        data = bytearray(path.read_bytes())
        data[len(data) // 2 + k] ^= 0x10  # one bit of the payload
        path.write_bytes(bytes(data))
    assert run() == reference
    for path in artifacts:  # rewritten intact: a third process reads them
        head = path.read_bytes().split(b"\n", 1)[0]
        assert head.startswith(b"ionjax-export-2 ")
    assert run() == reference


def test_subclass_of_a_built_in_model_runs_its_own_code():
    import dataclasses

    v = np.linspace(-0.1, 0.05, 16)
    i = np.stack([2e-9 * (v + 0.02)] * 2)
    fitting.fit(fitting.Ohmic(), v, i)

    @dataclasses.dataclass(frozen=True)
    class Ohmic(fitting.Ohmic):
        def current(self, params, v):
            return 4.0 * params["g"] * (v - params["e_rev"])

        def from_linear(self, a, theta):
            return {"g": a[..., 0] / 4.0, "e_rev": -a[..., 1] / a[..., 0]}

    np.testing.assert_allclose(fitting.fit(Ohmic(), v, i).params["g"], 5e-10, rtol=1e-9)


def test_lbfgs_batch_equals_one_by_one():
    v, i = _boltzmann_curves(130, seed=5)
    model = fitting.BoltzmannOhmic()
    batch = fitting.fit(model, v, i, method="lbfgs", max_steps=300)
    for k in (0, 64, 127, 129):
        alone = fitting.fit(model, v, i[k], method="lbfgs", max_steps=300)
        assert alone.n_steps == batch.n_steps[k]
        np.testing.assert_array_equal(alone.params["v_half"], batch.params["v_half"][k])


def test_max_steps_beyond_int32_is_refused():
    v, i = _boltzmann_curves(2, seed=6)
    with pytest.raises(ValueError, match="2\\*\\*31 - 1"):
        fitting.fit(fitting.BoltzmannOhmic(), v, i, max_steps=2 ** 31)


def test_a_cache_entry_left_without_its_access_time_is_dropped(tmp_path):
    """A process killed between JAX's two writes of a size-bounded cache entry leaves the entry
    without its ``-atime`` file; JAX's eviction then failed every later write with a warning on
    stderr. ionjax drops such entries when it opens the folder, and JAX writes again silently."""
    import warnings

    from jax._src.lru_cache import LRUCache

    from fitting.engine import compiled

    (tmp_path / "jit_f-aa-cache").write_bytes(b"cut short")  # the orphan
    (tmp_path / "jit_g-bb-cache").write_bytes(b"whole")
    (tmp_path / "jit_g-bb-atime").write_bytes((1).to_bytes(8, "little"))
    cache = LRUCache(str(tmp_path), max_size=2**20)
    with pytest.raises(FileNotFoundError):  # JAX's compiler turns it into the warning
        cache.put("jit_h-cc", b"new")
    assert compiled._drop_orphans(str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "jit_g-bb-atime", "jit_g-bb-cache"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.put("jit_h-cc", b"new")
    assert cache.get("jit_h-cc") == b"new" and cache.get("jit_g-bb") == b"whole"
