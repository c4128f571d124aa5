"""Profile-likelihood intervals of a trace fit: one compiled program for every parameter (the
profiled index traced, ``trace_profile_intervals``) against the baseline of one program per
parameter (the index static, as before 2026-12-07), side by side in one fresh process without
the persistent cache, on 2 simulated cells of the paper's model (2.5 s at 0.2 ms). Prints the
time for 3 parameters and for a 4th, and checks that both give the same intervals.

    python bench/bench_trace_profile.py
"""

import functools
import os
import sys
import time

import numpy as np

from _common import machine

os.environ.setdefault("IONJAX_NO_CACHE", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))


def main():
    import jax
    import jax.numpy as jnp

    from fitting.engine import trace_profile
    from fitting.engine.traces import fit_traces, step_edge_mask
    from fitting.models.trace import beattie2018
    from test_trace_fit import AUTHORS_CELL5, PAPER_TO_SI, _protocol

    print(machine())
    t, v = _protocol(dt=2e-4, seconds=2.5)
    truth, model = AUTHORS_CELL5 * PAPER_TO_SI, beattie2018()
    clean = np.asarray(model.current(jnp.asarray(truth), jnp.asarray(v), 2e-4, -0.088))
    i = np.stack([clean, clean]) + 5e-12 * np.random.default_rng(2).standard_normal((2, t.size))
    res = fit_traces(t, v, i, model=model, e_rev=-0.088, sigma=5e-12,
                     mask=step_edge_mask(v, 2e-4), starts=np.stack([[truth * 1.05]] * 2))
    traced = trace_profile._batch

    @functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
    def static(model, dt, level, bisections, j, cells, x_hat, se_log, ok):  # the baseline
        return jax.vmap(lambda *a: trace_profile._one(model, dt, j, level, bisections, *a))(
            cells, x_hat, se_log, ok)

    found = {}
    for label, batch, index in (("one program, j traced", traced, jnp.asarray),
                                ("a program per j (baseline)", static, int)):
        trace_profile._batch = lambda m, dt, lv, b, j, *a, f=batch, c=index: f(m, dt, lv, b,
                                                                              c(j), *a)
        start = time.perf_counter()
        first = trace_profile.trace_profile_intervals(res, ["p1", "p2", "p3"])
        three = time.perf_counter() - start
        start = time.perf_counter()
        trace_profile.trace_profile_intervals(res, ["p4"])
        found[label] = (three, time.perf_counter() - start, first["p2"].upper)
        print(f"{label:<28} 3 parameters {three:6.1f} s, a 4th {found[label][1]:5.1f} s")
    trace_profile._batch = traced
    (a3, a1, up_a), (b3, b1, up_b) = found.values()
    assert np.allclose(up_a, up_b, rtol=1e-10, equal_nan=True)
    print(f"ratio (baseline / traced): {b3 / a3:.2f}x for 3 parameters, {b1 / a1:.2f}x for a 4th")


if __name__ == "__main__":
    main()
