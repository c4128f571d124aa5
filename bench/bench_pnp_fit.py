"""Fitting a charged pore to one I-V: ``fitting.fit(PNPChannel)`` vs scipy ``least_squares``.

    python bench/bench_pnp_fit.py [--n-grid 64] [--points 25] [--repeat 3] [--float32]

Data: the single-channel I-V of a pore (K+ and Cl-, KCl 100 | 20 mM, L = 5 nm, A = 1 nm^2,
D = 1500 and 600 um^2/s, uniform charge -200 mM) at ``--points`` voltages from -120 to +120 mV
with 0.05 pA of Gaussian noise. Both fits start from the model's defaults (D = 1000 um^2/s each,
Q = 0) and fit (D_K, D_Cl, Q).

* ionjax: ``fitting.fit(fitting.PNPChannel(...), v, i)``: Levenberg-Marquardt with the
  Jacobian by forward-mode autodiff through the implicit function theorem, standard errors.
  The first call (trace, compile, run; this process's first fit) is reported separately.
* baselines, all ``scipy.optimize.least_squares`` (trust-region reflective, 2-point finite-
  difference Jacobian) on the residuals (I(v) - i) / 0.05 pA in (log D, Q / 100 mM):
  - "scipy + solve_bvp": what a user without ionjax writes: each I-V from
    ``scipy.integrate.solve_bvp`` (tests/pnp_reference.py, tol 1e-7, warm starts along the
    sweep, as in bench_pnp.py), default tolerances; timed once (it takes seconds);
  - "scipy + ionjax current": the current from ``ionjax.pnp_steady`` compiled once
    (``jax.jit``), so only the optimizer differs; default tolerances (ftol = xtol = gtol =
    1e-8), and tight ones (1e-14, about ionjax's: relative cost change 64 eps, step 8 sqrt(eps)),
    since the two stop at different points of the same convergence.

Prints the warm times (best of ``--repeat``, in alternation; the solve_bvp baseline once),
the ratios, the first calls, and the optima (they should agree to well within the standard
errors).
"""

import argparse
import os
import time

import numpy as np

from _common import interleaved, machine

T, LENGTH, AREA = 298.15, 5e-9, 1e-18
Z, C_IN, C_OUT = (1, -1), (100.0, 100.0), (20.0, 20.0)
TRUE_D, TRUE_Q = np.array([1.5e-9, 0.6e-9]), -200.0
NOISE = 0.05e-12


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-grid", type=int, default=64)
    parser.add_argument("--points", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--float32", action="store_true", help="float32 (default float64)")
    args = parser.parse_args()
    import jax

    jax.config.update("jax_enable_x64", not args.float32)
    import jax.numpy as jnp
    from scipy.optimize import least_squares

    import fitting
    import ionjax

    print(machine())
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    dtype = np.float32 if args.float32 else np.float64
    model = fitting.PNPChannel(z=Z, c_in=C_IN, c_out=C_OUT, temperature=T, length=LENGTH,
                               area=AREA, n_grid=args.n_grid, ions=("K", "Cl"))
    v = np.linspace(-0.12, 0.12, args.points).astype(dtype)
    clean = np.asarray(model.current({"diffusion": jnp.asarray(TRUE_D, dtype),
                                      "fixed_charge": jnp.asarray(TRUE_Q, dtype)}, v))
    i = (clean + NOISE * np.random.default_rng(0).standard_normal(v.size)).astype(dtype)

    @jax.jit
    def current(d, q):
        return ionjax.pnp_steady(v, np.asarray(Z, float), d, jnp.asarray(C_IN, dtype),
                                 jnp.asarray(C_OUT, dtype), length=LENGTH, area=AREA,
                                 temperature=T, fixed_charge=q, n_grid=args.n_grid).total

    def residual(x):
        d = jnp.asarray(np.exp(x[:2]), dtype)
        return (np.asarray(current(d, jnp.asarray(100.0 * x[2], dtype)), float) - i) / NOISE

    holder = {}

    def run_ionjax():
        holder["ionjax"] = fitting.fit(model, v, i)
        jax.block_until_ready(holder["ionjax"].loss)

    x0 = np.array([np.log(1e-9), np.log(1e-9), 0.0])

    def run_scipy():
        holder["scipy"] = least_squares(residual, x0)

    def run_scipy_tight():
        holder["tight"] = least_squares(residual, x0, ftol=1e-14, xtol=1e-14, gtol=1e-14)

    firsts = {}
    for name, fn in (("ionjax", run_ionjax), ("scipy", run_scipy)):
        start = time.perf_counter()
        fn()
        firsts[name] = time.perf_counter() - start
    times = interleaved({"ionjax": run_ionjax, "scipy": run_scipy, "tight": run_scipy_tight},
                        repeat=args.repeat)
    start = time.perf_counter()
    pure = least_squares(_bvp_residual(v, i), x0)
    times["bvp"] = time.perf_counter() - start

    res, sol = holder["ionjax"], holder["scipy"]
    print(f"PNPChannel fit, {args.points} points, n_grid {args.n_grid}, "
          f"{'float32' if args.float32 else 'float64'}:")
    print(f"  ionjax fitting.fit: {times['ionjax']:.3f} s warm (best of {args.repeat}); "
          f"first call {firsts['ionjax']:.2f} s; status {int(res.status)}, "
          f"{int(res.n_steps)} steps")
    print(f"  scipy least_squares (2-point FD Jacobian) on the jitted ionjax current: "
          f"{times['scipy']:.3f} s warm; first call {firsts['scipy']:.2f} s; "
          f"{sol.nfev} function evaluations, status {sol.status}")
    tight = holder["tight"]
    print(f"  the same, tight tolerances (1e-14): {times['tight']:.3f} s warm; "
          f"{tight.nfev} function evaluations, status {tight.status}")
    print(f"  scipy least_squares on solve_bvp I-Vs (no ionjax): {times['bvp']:.2f} s (once); "
          f"{pure.nfev} function evaluations, status {pure.status}")
    print(f"  ratios (baseline / ionjax warm): scipy + solve_bvp "
          f"{times['bvp'] / times['ionjax']:.1f}x; "
          f"scipy + ionjax current {times['scipy'] / times['ionjax']:.2f}x (default tolerances), "
          f"{times['tight'] / times['ionjax']:.2f}x (tight)")
    d_s, q_s = np.exp(sol.x[:2]), 100.0 * sol.x[2]
    print(f"  ionjax: D = {np.asarray(res.params['diffusion']) * 1e12} um^2/s, "
          f"Q = {float(res.params['fixed_charge']):.3f} mM "
          f"(SE {np.asarray(res.stderr['diffusion']) * 1e12} um^2/s, "
          f"{float(res.stderr['fixed_charge']):.3f} mM)")
    print(f"  scipy:  D = {d_s * 1e12} um^2/s, Q = {q_s:.3f} mM")
    print(f"  scipy + solve_bvp: D = {np.exp(pure.x[:2]) * 1e12} um^2/s, "
          f"Q = {100.0 * pure.x[2]:.3f} mM")


def _bvp_residual(v, i):
    """Residuals of the pure-scipy fit: each I-V by solve_bvp (warm starts along the sweep)."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))), "tests"))
    from pnp_reference import solve_bvp_iv

    def residual(x):
        q = 100.0 * x[2]
        currents = solve_bvp_iv(np.asarray(v, float), np.asarray(Z, float), np.exp(x[:2]),
                                np.asarray(C_IN), np.asarray(C_OUT), lambda x_hat: q + 0 * x_hat,
                                length=LENGTH, area=AREA, temperature=T, permittivity=80.0,
                                tol=1e-7, nodes=101)
        return (currents.sum(axis=1) - np.asarray(i, float)) / NOISE
    return residual


if __name__ == "__main__":
    main()
