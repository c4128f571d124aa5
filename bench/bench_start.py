"""Time to first result, the way a user meets it: fresh processes, whole-process wall time.

    python bench/bench_start.py [--abf PATH] [--repeat 3]

Each figure is the best of ``--repeat`` runs, ionjax and its baseline run in alternation:

* ``ionjax fit FILE.abf --model ohmic --out ...`` against the equivalent script a physiologist
  writes today (pyabf + numpy + scipy ``curve_fit``: step levels from the epoch table, mean
  current over 60-95% of the step, a line fitted with standard errors), with the persistent
  cache warm (one run before) and cold (a new empty cache folder for every run);
* ``ionjax --help`` against ``python -c "import numpy"``;
* in a fresh process, the first ``fitting.fit`` after ``import fitting, jax`` (7 Boltzmann
  curves), warm and cold cache, and the imports themselves (``import fitting`` alone does not
  import jax: the first fit would).

Default ABF: ../shared/data/abf/14o16001_vc_pair_step.abf (13 steps, pyABF sample).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _common import machine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ABF = os.path.join(ROOT, "..", "shared", "data", "abf", "14o16001_vc_pair_step.abf")

SCIPY_SCRIPT = r"""
import sys, warnings
import numpy as np, pyabf
from scipy.optimize import curve_fit
warnings.simplefilter("ignore")
abf = pyabf.ABF(sys.argv[1])
levels, currents = [], []
for s in abf.sweepList:
    abf.setSweep(s)
    p1s, p2s, lv = abf.sweepEpochs.p1s, abf.sweepEpochs.p2s, abf.sweepEpochs.levels
    k = 4  # the test step of this protocol
    a, b = p1s[k] + int(0.6 * (p2s[k] - p1s[k])), p1s[k] + int(0.95 * (p2s[k] - p1s[k]))
    levels.append(lv[k] * 1e-3); currents.append(abf.sweepY[a:b].mean() * 1e-12)
v, i = np.array(levels), np.array(currents)
popt, pcov = curve_fit(lambda v, g, e: g * (v - e), v, i, p0=(1e-9, -0.07))
print("g = %.4g +- %.2g S, e_rev = %.4g +- %.2g V" % (popt[0], pcov[0, 0] ** .5, popt[1],
                                                      pcov[1, 1] ** .5))
"""

FIRST_FIT = r"""
import time
t0 = time.perf_counter()
import numpy as np
import fitting
import jax  # fitting imports jax when it first fits: timed with the imports, as a script that
t1 = time.perf_counter()  # imports jax (or fitting before issue 12) meets it
v = np.linspace(-0.09, 0.04, 15)
i = 5e-9 / (1 + np.exp((-0.03 - v) / 0.007)) * (v - 0.05)
i = i + np.random.default_rng(0).normal(0, 2e-11, (7, 15))
res = fitting.fit(fitting.BoltzmannOhmic(), v, i)
t2 = time.perf_counter()
assert (res.status == 0).all(), res.status
print(t1 - t0, t2 - t1)
"""


def wall(cmd, env):
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def best(pairs, repeat):
    """Best wall time of each command (dict name -> (cmd, env factory)), in alternation."""
    out = dict.fromkeys(pairs, float("inf"))
    for _ in range(repeat):
        for name, (cmd, env) in pairs.items():
            out[name] = min(out[name], wall(cmd, env()))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--abf", default=DEFAULT_ABF)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    work = tempfile.mkdtemp(prefix="ionjax-bench-")
    warm_cache = os.path.join(work, "warm")
    base = dict(os.environ)

    def warm():
        return dict(base, IONJAX_CACHE_DIR=warm_cache)

    def cold():
        return dict(base, IONJAX_CACHE_DIR=tempfile.mkdtemp(dir=work))

    ionjax = [sys.executable, "-m", "fitting", "--no-progress", "fit", args.abf, "--model",
              "ohmic", "--out", os.path.join(work, "out.json")]
    script = os.path.join(work, "scipy_fit.py")
    with open(script, "w") as handle:
        handle.write(SCIPY_SCRIPT)
    baseline = ([sys.executable, script, args.abf], lambda: base)
    wall(ionjax, warm())  # fills the warm cache
    t = best({"ionjax": (ionjax, warm), "scipy": baseline}, args.repeat)
    print(f"ionjax fit (ABF, ohmic), warm cache: {t['ionjax']:.2f} s; pyabf + scipy script: "
          f"{t['scipy']:.2f} s; ratio {t['ionjax'] / t['scipy']:.2f}x (target <= 3x, aim 1.5x)")
    c = best({"ionjax": (ionjax, cold)}, max(1, args.repeat - 1))
    print(f"ionjax fit (ABF, ohmic), cold cache: {c['ionjax']:.2f} s; ratio "
          f"{c['ionjax'] / t['scipy']:.2f}x (target <= 5x)")
    h = best({"help": ([sys.executable, "-m", "fitting", "--help"], lambda: base),
              "numpy": ([sys.executable, "-c", "import numpy"], lambda: base)}, 5)
    print(f"ionjax --help: {h['help']:.3f} s; python -c 'import numpy': {h['numpy']:.3f} s; "
          f"ratio {h['help'] / h['numpy']:.2f}x (target <= 2x)")
    subprocess.run([sys.executable, "-c", FIRST_FIT], env=warm(), check=True, capture_output=True)
    for name, env in (("warm", warm), ("cold", cold)):
        runs = [subprocess.run([sys.executable, "-c", FIRST_FIT], env=env(), check=True,
                               capture_output=True, text=True).stdout.split()
                for _ in range(args.repeat)]
        imports, first = min(float(r[0]) for r in runs), min(float(r[1]) for r in runs)
        target = "<= 0.5 s, aim 0.2 s" if name == "warm" else "<= 1.5 s"
        print(f"in-process first fit after import, {name} cache: {first:.2f} s (target {target}); "
              f"import numpy + fitting + jax: {imports:.2f} s")


if __name__ == "__main__":
    main()
