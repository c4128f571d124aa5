"""One I-V curve of a charged pore and its gradient: ionjax.pnp_steady vs scipy solve_bvp.

    python bench/bench_pnp.py [--n-grid 128] [--repeat 3] [--bvp-tol 1e-7] [--fd-step 3e-6]

Problem (float64): K+ and Cl- (D = 1.96e-9, 2.03e-9 m^2/s) through a pore of length 5 nm and
cross-section 1 nm^2, 100 mM baths inside, 20 mM outside, permanent charge -300 mM sin^2(pi x/L)
(Debye length ~1 nm < L), 298.15 K, eps_r 80; 50 voltages from -100 to +100 mV. Loss: sum over
the voltages of ((I(v) - target(v)) / 1 pA)^2, I the total current; the target is the I-V of
another pore (D = 1.5e-9, 2.4e-9 m^2/s, charge -250 mM), computed beforehand by scipy (untimed).
Measured: the loss and its gradient with respect to the 2 diffusion coefficients and the charge
amplitude.

* ionjax: ``jax.jit(jax.value_and_grad(loss))`` with ``pnp_steady`` (``--n-grid`` cells, one
  vmapped call for the 50 voltages, implicit-function gradients). The first call (trace,
  compile, run) is timed alone in a fresh process, before any other JAX program is compiled.
* baseline: ``scipy.integrate.solve_bvp`` (tests/pnp_reference.py) for the 50 voltages, and the
  gradient by forward finite differences: 3 more I-V curves, 4 x 50 solves, step ``--fd-step``
  relative to each parameter. Warm starts, as a scipy user sweeping voltages would do: the
  first voltage starts cold (linear profiles on ``--bvp-nodes`` uniform nodes, default 101),
  each next voltage from the previous voltage's solution (mesh and profiles, the potential
  shifted to the new v; about 2x faster than cold starts), and each perturbed solve of the finite
  differences from the unperturbed solution at the same voltage (same mesh as far as solve_bvp
  keeps it, so that mesh changes do not swamp the differences).
* accuracy: the defaults (``--bvp-tol 1e-7``, ``--fd-step 3e-6``) are the cheapest of those
  tried (tol 1e-6, 1e-7, 1e-8; steps 1e-4 to 1e-6) whose I-V (~1e-10) and gradient (<= 6e-5
  relative per component) are more accurate than ionjax's at 128 cells (I-V 1.5e-5; gradient
  8e-5, 5e-4, 1.2e-4), measured against Richardson-extrapolated ionjax gradients (128 and 256
  cells), which tight scipy differences (tol 1e-8, step 1e-6) confirm to 2e-5. At tol 1e-6 the
  baseline takes about half the time but its D_Cl derivative is off by ~1e-3 (solver noise).
  With ``--n-grid 512`` ionjax is the more accurate of the two (I-V ~1e-6, gradient ~1e-5).

Both are timed in alternation, ``--repeat`` rounds, best of each. Prints both times, their
ratio (baseline / ionjax warm), the first calls, the difference of the two I-Vs (max |dI| /
max |I|, total current) and of the two gradients (per component, relative).
"""

import argparse
import os
import sys
import time

import numpy as np

from _common import interleaved, machine

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))

T, AREA, EPS_R, LENGTH = 298.15, 1e-18, 80.0, 5e-9
Z = np.array([1.0, -1.0])
C_IN, C_OUT = np.array([100.0, 100.0]), np.array([20.0, 20.0])
D0, Q0 = np.array([1.96e-9, 2.03e-9]), -300.0
D_TARGET, Q_TARGET = np.array([1.5e-9, 2.4e-9]), -250.0
VOLTAGES = np.linspace(-0.1, 0.1, 50)
PA = 1e-12  # loss unit


def profile(x_hat, amplitude):
    """Permanent charge / F [mol/m^3] at x_hat in [0, 1]: amplitude sin^2(pi x_hat)."""
    return amplitude * np.sin(np.pi * x_hat) ** 2


class Baseline:
    """scipy solve_bvp I-Vs, loss and forward-difference gradient (see module doc)."""

    def __init__(self, tol, nodes, fd_step):
        self.tol, self.nodes, self.fd_step = tol, nodes, fd_step
        self.solves = 0

    def solve(self, v, d, q, guess):
        from pnp_reference import solve_bvp_pnp

        self.solves += 1
        return solve_bvp_pnp(v, Z, d, C_IN, C_OUT, lambda x: profile(x, q), length=LENGTH,
                             area=AREA, temperature=T, permittivity=EPS_R, tol=self.tol,
                             nodes=self.nodes, guess=guess)

    def iv(self, d, q, guesses=None):
        """Per-species currents (50, 2) and the solutions; warm starts from ``guesses`` (one
        per voltage) or else along the sweep."""
        currents, solutions, previous = [], [], None
        for k, v in enumerate(VOLTAGES):
            current, sol = self.solve(v, d, q, previous if guesses is None else guesses[k])
            currents.append(current)
            solutions.append(sol)
            previous = sol
        return np.array(currents), solutions

    def value_and_grad(self, target):
        def loss(currents):
            return np.sum(((currents.sum(axis=1) - target) / PA) ** 2)

        currents, solutions = self.iv(D0, Q0)
        value = loss(currents)
        grad = []
        for k in range(3):
            d, q = D0.copy(), Q0
            if k < 2:
                step = self.fd_step * d[k]
                d[k] += step
            else:
                step = self.fd_step * abs(q)
                q += step
            grad.append((loss(self.iv(d, q, solutions)[0]) - value) / step)
        return value, np.array(grad), currents


def make_ionjax(n_grid):
    """jit(value_and_grad) of the loss with respect to (d, q); aux: the per-species currents."""
    import jax
    import jax.numpy as jnp

    import ionjax

    x_hat = jnp.linspace(0.0, 1.0, n_grid + 1)
    voltages = jnp.asarray(VOLTAGES)

    def loss(d, q, target):
        s = ionjax.pnp_steady(voltages, Z, d, C_IN, C_OUT, length=LENGTH, area=AREA,
                              temperature=T, permittivity=EPS_R,
                              fixed_charge=q * jnp.sin(jnp.pi * x_hat) ** 2, n_grid=n_grid)
        return jnp.sum(((s.total - target) / PA) ** 2), (s.current, s.converged)

    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-grid", type=int, default=128, help="cells of pnp_steady")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds; each times both, in alternation, and the best is kept")
    parser.add_argument("--bvp-tol", type=float, default=1e-7, help="solve_bvp tol")
    parser.add_argument("--bvp-nodes", type=int, default=101,
                        help="initial uniform mesh of the first (cold) solve_bvp")
    parser.add_argument("--fd-step", type=float, default=3e-6,
                        help="forward-difference step, relative to each parameter")
    args = parser.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    print(machine())
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))

    baseline = Baseline(args.bvp_tol, args.bvp_nodes, args.fd_step)
    target = Baseline(1e-8, 101, 0.0).iv(D_TARGET, Q_TARGET)[0].sum(axis=1)
    d0, q0 = jax.numpy.asarray(D0), jax.numpy.asarray(Q0)
    fn = make_ionjax(args.n_grid)
    holder = {}

    def run_ionjax():
        holder["ionjax"] = jax.block_until_ready(fn(d0, q0, target))

    def run_baseline():
        holder["baseline"] = baseline.value_and_grad(target)

    start = time.perf_counter()
    run_ionjax()
    first = time.perf_counter() - start
    start = time.perf_counter()
    run_baseline()
    first_baseline = time.perf_counter() - start
    solves = baseline.solves
    times = interleaved({"ionjax": run_ionjax, "baseline": run_baseline}, repeat=args.repeat)

    (value, (currents, converged)), grad = holder["ionjax"]
    grad = np.concatenate([np.asarray(grad[0]), np.asarray(grad[1])[None]])
    value_b, grad_b, currents_b = holder["baseline"]
    t_j, t_b = times["ionjax"], times["baseline"]
    total, total_b = np.asarray(currents).sum(axis=1), currents_b.sum(axis=1)
    print(f"ionjax pnp_steady, n_grid {args.n_grid}, 50 voltages, value_and_grad (jit): "
          f"{t_j:.3f} s warm (best of {args.repeat}); first call (trace + compile + run) "
          f"{first:.2f} s; converged {int(np.sum(converged))}/50")
    print(f"scipy solve_bvp (tol {args.bvp_tol:g}, warm starts) 50 voltages + forward "
          f"differences (step {args.fd_step:g}), {solves} solves: {t_b:.3f} s "
          f"(best of {args.repeat}); first call {first_baseline:.2f} s")
    print(f"speed-up: {t_b / t_j:.2f}x  (baseline time / ionjax warm time; baseline: scipy "
          f"solve_bvp + finite differences)")
    print(f"I-V difference: max |I_ionjax - I_scipy| / max |I_scipy| = "
          f"{np.max(np.abs(total - total_b)) / np.max(np.abs(total_b)):.2e} (total current); "
          f"per species {np.max(np.abs(currents - currents_b) / np.abs(currents_b).max(0)):.2e}")
    rel = np.abs(grad - grad_b) / np.abs(grad_b)
    print(f"loss {float(value):.6g} (ionjax) vs {value_b:.6g} (scipy); gradient relative "
          f"difference (D_K, D_Cl, charge): {rel[0]:.1e}, {rel[1]:.1e}, {rel[2]:.1e}")


if __name__ == "__main__":
    main()
