"""A lab's folder, the way a user meets it: whole fresh processes, ionjax against the script a
physiologist writes today (issue 25).

    python bench/bench_folder.py [--files 600,6000] [--repeat 2] [--data ../shared/data]

The folder holds N step-family ABF files: hard links to the three real step recordings of the
data folder (``abf/``: a paired recording of 13 sweeps, 7 steps at 20 kHz, an HCN2 family of 9),
in turn, so the disk cache serves both contenders alike. For each N, in alternation, best of
``--repeat``:

* ``ionjax fit FOLDER --model ohmic --out results.csv`` (warm compile cache, as on a lab's second
  day), with the reading pool (default: the cores) and with ``IONJAX_READ_WORKERS=1``;
* the baseline: a pyabf + scipy ``curve_fit`` loop (``SCRIPT`` below: the step found as the epoch
  whose level varies, the mean current over 60-95% of it, a line fitted, a CSV written).

Prints each time, the ratio script / ionjax (above 1: ionjax is faster) and, from the two sizes,
the cost per additional file of each. ``--analyze`` adds ``ionjax iv`` and
``ionjax analyze --protocol activation`` on the largest folder.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from _common import machine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECORDINGS = ("14o16001_vc_pair_step.abf", "171116sh_0012.abf", "hcn2_20d10009.abf")

SCRIPT = r"""
import csv, os, sys, warnings
import numpy as np, pyabf
from scipy.optimize import curve_fit
warnings.simplefilter("ignore")
folder, out = sys.argv[1], sys.argv[2]
with open(out, "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["file", "g", "g_se", "e_rev", "e_rev_se"])
    for name in sorted(os.listdir(folder)):
        abf = pyabf.ABF(os.path.join(folder, name))
        tables = []
        for s in abf.sweepList:
            abf.setSweep(s)
            tables.append((abf.sweepEpochs, abf.sweepY))
        levels = np.array([t.levels for t, _ in tables])
        k = int(np.argmax(np.ptp(levels, axis=0) > 0))  # the step whose level varies
        v, i = [], []
        for t, y in tables:
            a, b = t.p1s[k], t.p2s[k]
            v.append(t.levels[k] * 1e-3)
            i.append(y[a + int(0.6 * (b - a)):a + int(0.95 * (b - a))].mean() * 1e-12)
        popt, pcov = curve_fit(lambda v, g, e: g * (v - e), np.array(v), np.array(i),
                               p0=(1e-9, -0.05))
        writer.writerow([name, popt[0], pcov[0, 0] ** .5, popt[1], pcov[1, 1] ** .5])
"""


PEAK = {}  # command name -> the largest peak resident memory seen [MB]


def wall(cmd, env, ok=(0,), name=None):
    """Whole-process seconds of ``cmd``; an exit status outside ``ok`` is an error. With
    ``name``, the process's peak resident memory is kept in ``PEAK`` (``wait4``)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in ok:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}: "
                               f"{err.read()[-2000:].decode(errors='replace')}")
    if name is not None:
        PEAK[name] = max(PEAK.get(name, 0.0), usage.ru_maxrss / 1024)
    return took


def folder_of(n, data, work):
    """A folder of ``n`` hard links to the recordings, in turn."""
    folder = os.path.join(work, f"folder{n}")
    os.makedirs(folder)
    for k in range(n):
        name = RECORDINGS[k % len(RECORDINGS)]
        os.link(os.path.join(data, "abf", name),
                os.path.join(folder, f"{os.path.splitext(name)[0]}_{k:05d}.abf"))
    return folder


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", default="600,6000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data", default=os.environ.get(
        "IONJAX_DATA", os.path.join(ROOT, "..", "shared", "data")))
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()
    sizes = [int(n) for n in args.files.split(",")]
    print(machine())
    print(f"reading pool: {len(os.sched_getaffinity(0))} workers by default")
    work = tempfile.mkdtemp(prefix="ionjax-folder-", dir=os.environ.get("TMPDIR"))
    cache = os.path.join(work, "cache")
    script = os.path.join(work, "script.py")
    with open(script, "w") as handle:
        handle.write(SCRIPT)
    base = dict(os.environ, IONJAX_CACHE_DIR=cache, IONJAX_READ_WORKERS=str(
        len(os.sched_getaffinity(0))))
    one = dict(base, IONJAX_READ_WORKERS="1")
    times = {}
    try:
        for n in sizes:
            folder = folder_of(n, args.data, work)
            out = os.path.join(work, f"out{n}.csv")
            ionjax = [sys.executable, "-m", "fitting", "--no-progress", "fit", folder,
                      "--model", "ohmic", "--out", out]
            runs = {"ionjax": (ionjax, base), "ionjax 1 worker": (ionjax, one),
                    "script": ([sys.executable, script, folder, out + ".script.csv"], base)}
            wall(ionjax, base)  # the compile cache filled, the files in the disk cache
            best = dict.fromkeys(runs, float("inf"))
            PEAK.clear()
            for _ in range(args.repeat):
                for name, (cmd, env) in runs.items():
                    best[name] = min(best[name], wall(cmd, env, name=name))
            times[n] = best
            print(f"{n} files: ionjax fit {best['ionjax']:.2f} s, with 1 reading process "
                  f"{best['ionjax 1 worker']:.2f} s; pyabf + curve_fit script "
                  f"{best['script']:.2f} s; script / ionjax {best['script'] / best['ionjax']:.2f}x"
                  f" (1 process: {best['script'] / best['ionjax 1 worker']:.2f}x); peak memory "
                  f"of the command's own process: ionjax {PEAK['ionjax']:.0f} MB (1 reading "
                  f"process {PEAK['ionjax 1 worker']:.0f} MB), script {PEAK['script']:.0f} MB")
            if args.analyze and n == sizes[-1]:
                for what, extra in (("iv", ["iv", folder, "--out", out]),
                                    ("analyze activation", ["analyze", "--protocol",
                                                            "activation", folder, "--out", out])):
                    cmd = [sys.executable, "-m", "fitting", "--no-progress", *extra]
                    ok = (0, 3, 4)  # 3: the activation route refuses a recording without
                    wall(cmd, base, ok)  # a gate (these are ohmic steps): still read and fitted
                    t = min(wall(cmd, base, ok) for _ in range(args.repeat))
                    print(f"{n} files: ionjax {what} {t:.2f} s; script / ionjax "
                          f"{best['script'] / t:.2f}x")
        if len(sizes) > 1:
            lo, hi = sizes[0], sizes[-1]
            slope = {k: (times[hi][k] - times[lo][k]) / (hi - lo) * 1e3 for k in times[hi]}
            print(f"per additional file: ionjax {slope['ionjax']:.2f} ms (1 process "
                  f"{slope['ionjax 1 worker']:.2f} ms), script {slope['script']:.2f} ms; "
                  f"ratio {slope['script'] / slope['ionjax']:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
