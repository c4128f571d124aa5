"""Elementwise GHK current: jit ionjax.ghk_current vs the plain NumPy formula vs the floor.

    python bench/bench_ghk_eval.py [--points 4194304]

Same 4M float32 voltages for all three. Baselines, measured side by side in this process:
* NumPy: the textbook formula p z^2 F^2 v/(RT) (c_in - c_out e^{-u}) / (1 - e^{-u}) in float32
  (no care for v = 0: it returns NaN there, which is the point of the library);
* the floor: a jitted kernel that reads v, computes one ``expm1`` per point and writes the
  result: the GHK current needs one transcendental per point, so this bounds any implementation.
The three are timed in alternation (best of 31 each). Prints throughput and the ratios.
"""

import argparse

import numpy as np

from _common import interleaved, machine


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=4 * 1024 * 1024)
    args = parser.parse_args()
    import jax
    import jax.numpy as jnp

    import ionjax

    print(machine())
    rng = np.random.default_rng(0)
    v_np = rng.uniform(-0.12, 0.06, args.points).astype(np.float32)
    v = jnp.asarray(v_np)
    p, c_in, c_out, z, t = 1e-6, 10.0, 100.0, 2, 295.0
    f, r = 96485.33212331001, 8.31446261815324

    ghk = jax.jit(lambda v: ionjax.ghk_current(v, jnp.float32(p), jnp.float32(c_in),
                                               jnp.float32(c_out), z, temperature=t))
    floor = jax.jit(lambda v: jnp.expm1(v * jnp.float32(z * f / (r * t))))

    def numpy_ghk(v):
        u = np.float32(z * f / (r * t)) * v
        e = np.exp(-u)
        return np.float32(p * z * f) * u * (np.float32(c_in) - np.float32(c_out) * e) / (1 - e)

    jax.block_until_ready(ghk(v))
    jax.block_until_ready(floor(v))
    times = interleaved({"ghk": lambda: jax.block_until_ready(ghk(v)),
                         "floor": lambda: jax.block_until_ready(floor(v)),
                         "numpy": lambda: numpy_ghk(v_np)}, repeat=31)
    t_ghk, t_floor, t_np = times["ghk"], times["floor"], times["numpy"]
    n = args.points
    print(f"ionjax.ghk_current (jit, float32): {t_ghk * 1e3:.2f} ms = {n / t_ghk / 1e6:.0f} M points/s")
    print(f"NumPy formula (float32):            {t_np * 1e3:.2f} ms = {n / t_np / 1e6:.0f} M points/s")
    print(f"floor, one expm1 per point (jit):  {t_floor * 1e3:.2f} ms = {n / t_floor / 1e6:.0f} M points/s")
    print(f"speed-up vs NumPy: {t_np / t_ghk:.2f}x; fraction of the one-expm1 floor: "
          f"{t_floor / t_ghk:.2f}")
    check = np.asarray(ghk(v), np.float64)
    ok = np.abs(v_np) > 1e-3
    ref = numpy_ghk(v_np.astype(np.float64))
    scale = abs(z * f * p) * (c_in + c_out) * np.maximum(1.0, np.abs(z * f * v_np[ok] / (r * t)))
    print(f"max error vs float64 NumPy away from 0 mV, relative to |zFp(c_in+c_out)| max(1,|u|): "
          f"{np.max(np.abs(check[ok] - ref[ok]) / scale):.2e}")


if __name__ == "__main__":
    main()
