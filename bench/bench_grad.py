"""Cost of jax.grad of a loss over 1e6 points relative to evaluating the loss.

    python bench/bench_grad.py [--points 1000000]

Loss: sum over points of (I(v) - data)^2 with I the sum of the GHK currents of Na+, K+ and Ca2+;
gradient with respect to the 3 permeabilities and the 6 concentrations. Baseline: the forward
evaluation of the same loss (jit), measured side by side.
"""

import argparse

import numpy as np

from _common import best_of, machine


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
    import jax
    import jax.numpy as jnp

    import ionjax

    print(machine())
    rng = np.random.default_rng(0)
    v = jnp.asarray(rng.uniform(-0.12, 0.06, args.points).astype(np.float32))
    data = jnp.asarray(rng.normal(0, 1e-10, args.points).astype(np.float32))
    ions = ((1, 10.0, 110.0), (1, 130.0, 30.0), (2, 1e-4, 2.0))  # Na, K, Ca: z, c_in, c_out

    def loss(p, c_in, c_out):
        i = sum(ionjax.ghk_current(v, p[k], c_in[k], c_out[k], ions[k][0], temperature=295.0)
                for k in range(len(ions)))
        return jnp.sum((i - data) ** 2)

    args_ = (jnp.asarray([1e-17, 3e-17, 1e-18], jnp.float32),
             jnp.asarray([ion[1] for ion in ions], jnp.float32),
             jnp.asarray([ion[2] for ion in ions], jnp.float32))
    forward = jax.jit(loss)
    grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
    jax.block_until_ready(forward(*args_))
    jax.block_until_ready(grad(*args_))
    t_f = best_of(lambda: jax.block_until_ready(forward(*args_)), repeat=7)
    t_g = best_of(lambda: jax.block_until_ready(grad(*args_)), repeat=7)
    print(f"three ions (Na, K, Ca): forward loss over {args.points} points {t_f * 1e3:.2f} ms; "
          f"jax.grad (9 inputs) {t_g * 1e3:.2f} ms")
    print(f"  gradient / forward cost: {t_g / t_f:.2f}x  (baseline: the forward evaluation)")

    def loss_one(p, c_in, c_out):  # one ion (Ca2+), scalar parameters
        i = ionjax.ghk_current(v, p, c_in, c_out, 2, temperature=295.0)
        return jnp.sum((i - data) ** 2)

    one = (jnp.float32(1e-18), jnp.float32(1e-4), jnp.float32(2.0))
    forward1 = jax.jit(loss_one)
    grad1 = jax.jit(jax.grad(loss_one, argnums=(0, 1, 2)))
    jax.block_until_ready(forward1(*one))
    jax.block_until_ready(grad1(*one))
    t_f1 = best_of(lambda: jax.block_until_ready(forward1(*one)), repeat=7)
    t_g1 = best_of(lambda: jax.block_until_ready(grad1(*one)), repeat=7)
    print(f"one ion (Ca): forward {t_f1 * 1e3:.2f} ms; jax.grad (3 inputs) {t_g1 * 1e3:.2f} ms")
    print(f"  gradient / forward cost: {t_g1 / t_f1:.2f}x  (baseline: the forward evaluation)")


if __name__ == "__main__":
    main()
