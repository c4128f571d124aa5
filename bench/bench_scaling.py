"""Scaling of the batched fit from 1e2 to 1e6 curves: time, peak memory, compilations.

    python bench/bench_scaling.py [--max 1000000]

Each size runs in a fresh subprocess (so peak resident memory is its own). Baseline for the
linearity claim: the per-curve time at 1e4 curves, printed beside every size as a ratio. Also
prints the first call (compile, or load from the persistent cache) and shows that a new batch
size (n - 1) compiles nothing (compiled programs counted before and after, and its wall time).
"""

import argparse
import json
import subprocess
import sys

from _common import machine

CHILD = r"""
import json, resource, sys, time
import numpy as np, jax
import fitting
from fitting.engine import driver
n = int(sys.argv[1])
rng = np.random.default_rng(0)
v = np.linspace(-0.09, 0.04, 15).astype(np.float32)
g = rng.uniform(1e-9, 20e-9, (n, 1)); e = rng.uniform(-0.01, 0.06, (n, 1))
vh = rng.uniform(-0.05, 0.0, (n, 1)); s = rng.uniform(0.003, 0.012, (n, 1))
i = g / (1 + np.exp((vh - v) / s)) * (v - e)
i = (i + 0.02 * np.abs(i).max(1, keepdims=True) * rng.standard_normal(i.shape)).astype(np.float32)
model = fitting.BoltzmannOhmic()
t0 = time.perf_counter(); r = fitting.fit(model, v, i); jax.block_until_ready(r.params)
first = time.perf_counter() - t0
t0 = time.perf_counter(); r = fitting.fit(model, v, i); jax.block_until_ready(r.params)
second = time.perf_counter() - t0
before = driver.cache_size()
smaller = max(1, n - 1)
t0 = time.perf_counter(); r2 = fitting.fit(model, v, i[:smaller])
jax.block_until_ready(r2.params); new_size = time.perf_counter() - t0
recompiled = driver.cache_size() - before
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(n=n, first=first, second=second, peak_mb=peak, recompiled=recompiled,
                      smaller=smaller, new_size=new_size, converged=float(np.mean(np.asarray(r.status) == 0)))))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max", type=int, default=1_000_000)
    args = parser.parse_args()
    print(machine())
    sizes = [n for n in (100, 1_000, 10_000, 100_000, 1_000_000) if n <= args.max]
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True,
                             check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = next((r for r in rows if r["n"] == 10_000), rows[-1])
    per_base = base["second"] / base["n"]
    print(f"{'curves':>9} {'first call':>11} {'steady':>9} {'us/curve':>9} {'vs 1e4':>7} "
          f"{'peak RSS':>9} {'converged':>9}  new size (n - 1)")
    for r in rows:
        per = r["second"] / r["n"]
        print(f"{r['n']:>9} {r['first']:>10.2f}s {r['second']:>8.3f}s {per * 1e6:>9.1f} "
              f"{per / per_base:>7.2f} {r['peak_mb']:>7.0f}MB {r['converged']:>9.4f}  "
              f"{r['smaller']} curves -> {r['recompiled']} recompilation(s), {r['new_size']:.3f}s")


if __name__ == "__main__":
    main()
