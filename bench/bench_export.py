"""Export of a large batch's results vs the fit itself (issue 11: export in linear time).

Fits 20,000 Boltzmann-ohmic curves (float32, warm: the compile is excluded), then writes the
results as JSON and as CSV with ``fitting.io.write_results``; prints each export's time as a
ratio to the warm fit, the named baseline. Run: ``python bench/bench_export.py [--n N]``.
"""

import argparse
import os
import sys
import tempfile

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import interleaved, machine  # noqa: E402

import fitting  # noqa: E402
from fitting import io  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    v = np.linspace(-90, 40, 15, dtype=np.float32) * 1e-3
    vh = rng.uniform(-45, -15, (args.n, 1)) * 1e-3
    i = (10e-9 / (1 + np.exp((vh - v) / 6e-3)) * (v - 0.05)
         + rng.normal(0, 20e-12, (args.n, v.size))).astype(np.float32)
    model = fitting.BoltzmannOhmic()
    res = fitting.fit(model, v, i)
    jax.block_until_ready(res.params)
    e = fitting.reversal_potential(res)
    labels = [f"cell{k}" for k in range(args.n)]
    folder = tempfile.mkdtemp()

    def fit():
        jax.block_until_ready(fitting.fit(model, v, i).params)

    def export(ext):
        return lambda: io.write_results(os.path.join(folder, "r" + ext), res, labels, e)

    best = interleaved({"fit": fit, "json": export(".json"), "csv": export(".csv")}, repeat=3)
    print(machine())
    print(f"{args.n} recordings: warm fit {best['fit']:.2f} s (baseline)")
    for name in ("json", "csv"):
        print(f"  export {name}: {best[name]:.2f} s = {best[name] / best['fit']:.2f} x the fit")


if __name__ == "__main__":
    main()
