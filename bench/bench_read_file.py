"""Where one file's reading time goes (issue 25): per real step recording, in one warm process,
the median of ``--repeat`` calls of

* pyabf's header parse alone (``pyabf.ABF(path, loadData=False)``),
* pyabf's open with the data (``pyabf.ABF(path)``: header, all channels scaled to float32),
* the baseline script's whole per-file work (open, ``setSweep`` per sweep, window means,
  ``curve_fit``: ``bench_folder.SCRIPT``'s loop body),
* ``fitting.read(path)``: ionjax's whole reading (header, sweeps, epoch and user-list checks,
  unit plausibility, extraction), split into its header + sweeps (``Recording``) and the rest.

    python bench/bench_read_file.py [--repeat 30] [--data ../shared/data]

Run it with another checkout first on ``PYTHONPATH`` to compare two versions of ionjax.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ("14o16001_vc_pair_step.abf", "171116sh_0012.abf", "hcn2_20d10009.abf")


def script_file(path):
    """The baseline script's per-file work (bench_folder.SCRIPT's loop body)."""
    import pyabf
    from scipy.optimize import curve_fit

    abf = pyabf.ABF(path)
    tables = []
    for s in abf.sweepList:
        abf.setSweep(s)
        tables.append((abf.sweepEpochs, abf.sweepY))
    levels = np.array([t.levels for t, _ in tables])
    k = int(np.argmax(np.ptp(levels, axis=0) > 0))
    v, i = [], []
    for t, y in tables:
        a, b = t.p1s[k], t.p2s[k]
        v.append(t.levels[k] * 1e-3)
        i.append(y[a + int(0.6 * (b - a)):a + int(0.95 * (b - a))].mean() * 1e-12)
    return curve_fit(lambda v, g, e: g * (v - e), np.array(v), np.array(i), p0=(1e-9, -0.05))


def median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--data", default=os.environ.get(
        "IONJAX_DATA", os.path.join(ROOT, "..", "shared", "data")))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import pyabf

    import fitting
    from fitting.recordings.formats import abf as abf_format
    from fitting.recordings.model import ReadOptions

    print(machine())
    print(f"fitting from {os.path.dirname(fitting.__file__)}")
    for name in NAMES:
        path = os.path.join(args.data, "abf", name)
        header = median_ms(lambda: pyabf.ABF(path, loadData=False), args.repeat)
        opened = median_ms(lambda: pyabf.ABF(path), args.repeat)
        script = median_ms(lambda: script_file(path), args.repeat)
        whole = median_ms(lambda: fitting.read(path), args.repeat)
        sweeps = median_ms(lambda: abf_format.read(path, ReadOptions()), args.repeat)
        print(f"{name}: pyabf header {header:.2f} ms, pyabf with data {opened:.2f} ms; "
              f"script per file {script:.2f} ms; fitting.read {whole:.2f} ms (header + sweeps "
              f"{sweeps:.2f} ms, checks and extraction {whole - sweeps:.2f} ms); "
              f"script / ionjax {script / whole:.2f}x")


if __name__ == "__main__":
    main()
