"""Where XLA's fast compile (backend optimisation off) stops paying: fresh process per case.

For relaxation fits (``fitting.kinetics``'s model, one exponential) of R sweeps x n samples, each
case runs in a fresh Python process (a user's first call) twice: once with ``fast_compile=True``
and once with ``fast_compile=False``, and prints the first call (compile + run) and a second call
of the same shapes (run only) of each, and the ratio unoptimised/optimised of the first call.
``fitting.engine.driver.FAST_COMPILE_MAX_POINTS`` (points per recording) is the size above which
``IONJAX_FAST_COMPILE=1`` no longer applies; this script is the measurement behind it.

    python bench/bench_fast_compile.py
"""

import json
import os
import subprocess
import sys

from _common import machine

CASE = r"""
import json, sys, time
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import fitting
rows, n, fast = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
t = np.linspace(0.0005, 0.05, n)
rng = np.random.default_rng(0)
tau = rng.uniform(0.003, 0.02, (rows, 1))
i = 1e-9 * np.exp(-t / tau) + 2e-10 + rng.normal(0, 1e-12, (rows, n))
from fitting.models.relaxation import Exponentials
model = Exponentials(components=1)
times = []
for _ in range(2):
    start = time.perf_counter()
    res = fitting.fit(model, t, i, fast_compile=fast)
    np.asarray(res.status)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def run(rows, n, fast):
    env = dict(os.environ, IONJAX_NO_CACHE="1")
    out = subprocess.run([sys.executable, "-c", CASE, str(rows), str(n), "1" if fast else "0"],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    print(machine())
    print(f"{'rows x samples':>16} {'values':>8} {'fast 1st/2nd [s]':>18} "
          f"{'optimised 1st/2nd [s]':>22} {'1st-call ratio':>15}")
    for rows, n in [(4, 500), (10, 800), (10, 2000), (40, 2000), (100, 2000)]:
        fast, full = run(rows, n, True), run(rows, n, False)
        print(f"{rows:>6} x {n:<7} {rows * n:>8} {fast[0]:>8.2f}/{fast[1]:<8.2f} "
              f"{full[0]:>11.2f}/{full[1]:<9.2f} {fast[0] / full[0]:>15.2f}")


if __name__ == "__main__":
    main()
