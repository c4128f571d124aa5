"""The Jacobian of the paper's model current over the 8 s sine wave (80,000 samples, 9
parameters, jacfwd in ln x as ``fit_traces`` uses it): the blocked gate scan with its own tangent
rule (``fitting.models.trace._affine_blocked``) against the baseline of JAX differentiating the
same scan (its undecorated function), side by side in one process, warm (mean of 20 calls after
compiling). Also the simulation alone.

    python bench/bench_trace_jacobian.py [--data DIR]
"""

import argparse
import os
import time

import numpy as np

from _common import machine


def _mean_ms(f, a, n=20):
    f(a).block_until_ready()
    start = time.perf_counter()
    for _ in range(n):
        f(a).block_until_ready()
    return (time.perf_counter() - start) / n * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("IONJAX_DATA", "../shared/data"))
    args = parser.parse_args()
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    from fitting.models import trace
    from fitting.recordings.traces import read_beattie2018

    print(machine())
    d = read_beattie2018(os.path.join(args.data, "beattie2018"))
    v, dt = jnp.asarray(d["v"]), float(d["t"][1] - d["t"][0])
    # cell 5 of Beattie et al. (2018), Table F1, in SI (1/s, 1/V, S)
    x = jnp.asarray([2.26e-1, 69.9, 3.45e-2, 54.62, 87.3, 8.91, 5.15, 31.58, 1.5e-7])
    model = trace.beattie2018()

    def jacobian():
        return jax.jit(jax.jacfwd(lambda th: model.current(x * jnp.exp(th), v, dt, -0.088)))

    own = jacobian()
    rule = trace._affine_blocked
    simulate = jax.jit(lambda x: model.current(x, v, dt, -0.088))
    print(f"simulation                 {_mean_ms(simulate, x):7.1f} ms")
    ms_own = _mean_ms(own, jnp.zeros(9))
    trace._affine_blocked = rule.fun  # the baseline: JAX differentiates the scan itself
    try:
        base = jacobian()
        ms_base = _mean_ms(base, jnp.zeros(9))
        same = np.allclose(own(jnp.zeros(9)), base(jnp.zeros(9)), rtol=1e-9, atol=1e-22)
    finally:
        trace._affine_blocked = rule
    print(f"Jacobian, own rule         {ms_own:7.1f} ms")
    print(f"Jacobian, JAX's (baseline) {ms_base:7.1f} ms   equal: {same}")
    print(f"ratio (baseline / own rule): {ms_base / ms_own:.2f}x")


if __name__ == "__main__":
    main()
