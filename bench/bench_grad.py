"""Cost of jax.grad of a loss over 1e6 points relative to evaluating the loss.

    python bench/bench_grad.py [--points 1000000]

Loss: sum over points of (I(v) - data)^2 with I the sum of the GHK currents of Na+, K+ and Ca2+;
gradient with respect to the 3 permeabilities and the 6 concentrations. Baseline: the forward
evaluation of the same loss (jit), measured side by side.
"""

import argparse

import numpy as np

from _common import interleaved, machine


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()
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
    compare(f"three ions (Na, K, Ca), {args.points} points, 9 inputs", loss, args_)

    def loss_one(p, c_in, c_out):  # one ion (Ca2+), scalar parameters
        i = ionjax.ghk_current(v, p, c_in, c_out, 2, temperature=295.0)
        return jnp.sum((i - data) ** 2)

    compare(f"one ion (Ca), {args.points} points, 3 inputs", loss_one,
            (jnp.float32(1e-18), jnp.float32(1e-4), jnp.float32(2.0)))


def compare(label, loss, args):
    """Print forward and jax.grad times of ``loss(*args)`` and their ratio."""
    import jax

    forward = jax.jit(loss)
    grad = jax.jit(jax.grad(loss, argnums=tuple(range(len(args)))))
    jax.block_until_ready(forward(*args))
    jax.block_until_ready(grad(*args))
    times = interleaved({"forward": lambda: jax.block_until_ready(forward(*args)),
                         "grad": lambda: jax.block_until_ready(grad(*args))}, repeat=15)
    t_f, t_g = times["forward"], times["grad"]
    print(f"{label}: forward {t_f * 1e3:.2f} ms; jax.grad {t_g * 1e3:.2f} ms; "
          f"gradient / forward cost {t_g / t_f:.2f}x  (baseline: the forward evaluation)")


if __name__ == "__main__":
    main()
