"""A fixed set of recordings and fits whose results are saved in ``data/golden_fits.npz``.

The file was written from main before ``fitting`` was split into engine / io / app (issue 10),
with ``python tests/golden_fits.py``; ``test_fit_regression.py`` refits the same inputs and
requires every value to be identical. The cases cover every built-in model, a user ``Model``,
NaN-masked points, failing recordings (too few points, all-zero current), ``sigma``, both
solvers, float32 and float64, and a batch above one chunk (the staged solver path).
"""

from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_fits.npz"
MV, PA, NS = 1e-3, 1e-12, 1e-9
T = 295.15


def _user_model():
    import jax.numpy as jnp

    import fitting
    import ionjax

    def fn(params, v):
        return ionjax.ohmic_current(v, params["g"] * jnp.tanh(params["a"] * v + 1.0), params["e"])

    return fitting.Model(fn, params={"g": 2e-9, "a": 5.0, "e": -0.02}, positive=("g",),
                         units={"g": (1e-9, "nS"), "e": (1e-3, "mV")}, name="tanh-gated")


def inputs():
    """name -> dict(v, i, sigma or None): the recordings (SI units), deterministic."""
    rng = np.random.default_rng(20261201)
    v = np.linspace(-100, 50, 16) * MV
    out = {}
    g = rng.uniform(1, 10, (6, 1)) * NS
    e = rng.uniform(-80, 20, (6, 1)) * MV
    i = g * (v - e) + rng.normal(0, 5, (6, 16)) * PA
    i[1, 3] = np.nan
    i[2, :14] = np.nan  # 2 points for 2 parameters: fitted, zero dof
    i[3, :15] = np.nan  # 1 point: too few
    i[4] = 0.0  # all-zero current
    out["ohmic"] = dict(v=v, i=i, sigma=None)
    out["ohmic_sigma"] = dict(v=v, i=i[:2], sigma=np.full(16, 5 * PA))
    import ionjax

    unit = np.asarray(ionjax.ghk_current(v, 1.0, 140.0, 5.0, 1, temperature=T))
    p = rng.uniform(0.5, 2, (4, 1)) * 1e-18
    out["ghk"] = dict(v=v, i=p * unit + rng.normal(0, 3, (4, 16)) * PA, sigma=None)
    unit_na = np.asarray(ionjax.ghk_current(v, 1.0, 10.0, 140.0, 1, temperature=T))
    pk, pna = rng.uniform(0.5, 2, (4, 1)) * 1e-18, rng.uniform(0.02, 0.2, (4, 1)) * 1e-18
    out["multi"] = dict(v=v, i=pk * unit + pna * unit_na + rng.normal(0, 3, (4, 16)) * PA,
                        sigma=None)
    n = 200  # above one chunk of 128: the staged solver
    vh = rng.uniform(-50, -10, (n, 1)) * MV
    s = rng.uniform(4, 12, (n, 1)) * MV
    gm = rng.uniform(5, 20, (n, 1)) * NS
    er = rng.uniform(40, 60, (n, 1)) * MV
    ib = gm / (1 + np.exp((vh - v) / s)) * (v - er) + rng.normal(0, 20, (n, 16)) * PA
    ib[:20] = (rng.uniform(1, 3, (20, 1)) * NS) * (v - 0.0) + rng.normal(0, 20, (20, 16)) * PA
    ib[25, ::3] = np.nan
    out["boltzmann"] = dict(v=v, i=ib, sigma=None)
    ca = np.asarray(ionjax.ghk_current(v, 1.0, 1e-4, 2.0, 2, temperature=T))
    pm = rng.uniform(1, 3, (5, 1)) * 1e-19
    vh = rng.uniform(-30, 0, (5, 1)) * MV
    out["boltzmann_ghk"] = dict(v=v, i=pm / (1 + np.exp((vh - v) / (6 * MV))) * ca
                                + rng.normal(0, 2, (5, 16)) * PA, sigma=None)
    gu = rng.uniform(1, 3, (3, 1)) * NS
    out["user"] = dict(v=v, i=gu * np.tanh(4.0 * v + 1.0) * (v + 0.03)
                       + rng.normal(0, 2, (3, 16)) * PA, sigma=None)
    return out


def cases():
    """name -> (model, data name, fit keyword arguments, dtype)."""
    import fitting

    ghk = fitting.GHK(z=1, c_in=140.0, c_out=5.0, temperature=T)
    multi = fitting.MultiIonGHK(z=(1, 1), c_in=(140.0, 10.0), c_out=(5.0, 140.0), temperature=T,
                                reference=0)
    bghk = fitting.BoltzmannGHK(z=2, c_in=1e-4, c_out=2.0, temperature=T)
    user = _user_model()
    return {
        "ohmic_lm": (fitting.Ohmic(), "ohmic", {}, np.float64),
        "ohmic_lbfgs": (fitting.Ohmic(), "ohmic", dict(method="lbfgs"), np.float64),
        "ohmic_f32": (fitting.Ohmic(), "ohmic", {}, np.float32),
        "ohmic_sigma": (fitting.Ohmic(), "ohmic_sigma", {}, np.float64),
        "ghk": (ghk, "ghk", {}, np.float64),
        "multi": (multi, "multi", {}, np.float64),
        "multi_f32": (multi, "multi", {}, np.float32),
        "boltzmann_lm": (fitting.BoltzmannOhmic(), "boltzmann", {}, np.float64),
        "boltzmann_f32": (fitting.BoltzmannOhmic(), "boltzmann", {}, np.float32),
        "boltzmann_lbfgs": (fitting.BoltzmannOhmic(), "boltzmann", dict(method="lbfgs",
                                                                       max_steps=100), np.float64),
        "boltzmann_ghk": (bghk, "boltzmann_ghk", {}, np.float64),
        "user": (user, "user", {}, np.float64),
    }


def run_case(name, data=None):
    """Fit one case; returns a flat dict of NumPy arrays (every result leaf, E_rev, status)."""
    import fitting

    data = data or inputs()
    model, key, kwargs, dtype = cases()[name]
    d = data[key]
    sigma = None if d["sigma"] is None else d["sigma"].astype(dtype)
    res = fitting.fit(model, d["v"].astype(dtype), d["i"].astype(dtype), sigma=sigma, **kwargs)
    e = fitting.reversal_potential(res)
    out = {}
    for field in ("cov_scaled", "param_scale", "loss", "rmse", "aic", "bic", "n_steps", "status",
                  "n_points", "n_masked", "v_range"):
        out[field] = np.asarray(getattr(res, field))
    for group in ("params", "stderr"):
        for k, x in getattr(res, group).items():
            out[f"{group}.{k}"] = np.asarray(x)
    out["e_rev"], out["e_rev_stderr"] = np.asarray(e.value), np.asarray(e.stderr)
    return out


def write():
    import jax

    jax.config.update("jax_enable_x64", True)
    data = inputs()
    arrays = {}
    for name in cases():
        for field, value in run_case(name, data).items():
            arrays[f"{name}/{field}"] = value
    GOLDEN.parent.mkdir(exist_ok=True)
    np.savez_compressed(GOLDEN, **arrays)
    print(f"{len(arrays)} arrays written to {GOLDEN}")


if __name__ == "__main__":
    write()
