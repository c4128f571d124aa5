"""Record every ``ionjax`` command's outputs on the shared recordings and the bundled example,
and compare two such records to 1 ulp (issue 22 rule 6: a restructuring of ``fitting`` must
leave the behaviour identical).

    python tests/snapshot_cli.py record --repo PATH --out DIR [--jobs 2] [--only REGEX]
    python tests/snapshot_cli.py compare DIR_A DIR_B
    python tests/snapshot_cli.py list --repo PATH          # the runs, without running them

A script, not a test module. ``record`` runs each command in a fresh ``python -m fitting``
subprocess with ``PYTHONPATH=PATH`` (plus a folder holding this harness's ``sitecustomize``) and
``cwd=PATH``, over every recording in ``../shared/data`` (``abf/*.abf``, ``protocols/*.abf``;
``$IONJAX_DATA`` names another folder), the bundled example (``example``, and the example CSV
found under ``PATH/fitting``), the WinWCP file of ``tests/data`` and a few bad inputs. Per run
it stores the argv (paths as placeholders: ``<DATA>``, ``<IN>``, ``<OUT>``, ``<EXAMPLE_CSV>``,
``<REPO>``), the exit status, stdout, stderr and every file written: JSON and CSV as text,
Parquet and NWB as text dumps of their contents, and each figure as the DATA it plots (lines,
points, error bars, bars, labels, titles, legends, limits; captured by wrapping matplotlib's
``Figure.savefig`` through ``sitecustomize``), never the PNG bytes. It also refits the golden
cases of ``tests/golden_fits.py`` through the public API (``fitting.fit``, defined again here so
that the harness does not depend on that file) and stores every result field.

Normalised, because they legitimately differ between runs: absolute paths (data folder, the
run's temporary folders, the repository), the ``ionjax_version`` string, and in NWB dumps the
identifier, object ids (UUIDs) and the dates pynwb stamps. Nothing else: the commands print
no timings. The environment is fixed (``JAX_PLATFORMS=cpu``, ``TZ=UTC``, ``PYTHONHASHSEED=0``,
no inherited ``XLA_FLAGS``/``IONJAX_*``) and the runs share one JAX compilation cache, kept
between records (``--jax-cache``; a cached program gives the numbers of a fresh compile, which
two records, the first cold, check).

``compare`` compares the texts exactly except numbers: every number token (also ``nan``,
``inf``) is parsed as float64 and two differing tokens are equal when one is the other's
neighbour (``np.nextafter``); NaN equals NaN; the same value written differently is a
difference. Prints each difference (run, file, line, both values); exit status 1 if any.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[2] / "shared" / "data"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / \
    "ionjax-snapshot" / "xla"
TIMEOUT_S = 300
FORMAT = 1  # layout version of a snapshot folder

# ---------------------------------------------------------------------------------------------
# the runs
# ---------------------------------------------------------------------------------------------


class Run:
    """One command: ``argv`` after ``python -m fitting`` with placeholders; ``inputs`` are
    files the harness writes into ``<IN>`` first (name -> text, or ("copy", source))."""

    def __init__(self, name, argv, inputs=None, kind="cli", env=None):
        self.name, self.argv, self.inputs, self.kind = name, list(argv), inputs or {}, kind
        self.env = env or {}


def _key(path):
    """A short name of a recording for run names: folder-stem."""
    p = Path(path)
    return f"{p.parent.name}-{p.stem}"


def _rel(path, data):
    return "<DATA>/" + Path(path).relative_to(data).as_posix()


def example_csv(repo):
    """The bundled example's CSV inside the repository (it moves with the package)."""
    found = sorted(glob.glob(str(Path(repo) / "fitting" / "**" / "example_iv.csv"),
                             recursive=True))
    return found[0] if found else None


GOLDEN_CASES = ("ohmic_lm", "ohmic_lbfgs", "ohmic_f32", "ohmic_sigma", "ghk", "multi",
                "multi_f32", "boltzmann_lm", "boltzmann_f32", "boltzmann_lbfgs", "boltzmann_ghk",
                "user")

MODEL_OPTIONS = {  # per model, the ion options it needs (a file's own solutions where known)
    "ohmic": [],
    "boltzmann-ohmic": [],
    "ghk": ["--ion", "K", "--c-in", "140", "--c-out", "5", "--temperature", "22C"],
    "boltzmann-ghk": ["--ion", "K", "--c-in", "140", "--c-out", "5", "--temperature", "22C"],
    "multi-ghk": ["--ions", "Na,K", "--c-in", "10,140", "--c-out", "140,5", "--temperature",
                  "22C"],
}
HCN2_IONS = {  # the HCN2 sample's solutions (shared/data/README.md)
    "ghk": ["--ion", "K", "--c-in", "130", "--c-out", "30", "--temperature", "25C"],
    "boltzmann-ghk": ["--ion", "K", "--c-in", "130", "--c-out", "30", "--temperature", "25C"],
    "multi-ghk": ["--ions", "Na,K", "--c-in", "10,130", "--c-out", "110,30", "--temperature",
                  "25C", "--reference", "K"],
}
EXAMPLE_IONS = {  # the example is a peak Na+ I-V
    "ghk": ["--ion", "Na", "--c-in", "10", "--c-out", "140", "--temperature", "22C"],
    "boltzmann-ghk": ["--ion", "Na", "--c-in", "10", "--c-out", "140", "--temperature", "22C"],
    "multi-ghk": ["--ions", "Na,K", "--c-in", "10,140", "--c-out", "140,5", "--temperature",
                  "22C"],
}
MODELS = ("ohmic", "ghk", "multi-ghk", "boltzmann-ohmic", "boltzmann-ghk")  # fitting.cli (the --model choices)
PROTOCOLS = ("membrane-test", "activation", "inactivation", "isochronal", "ramp", "kinetics",
             "tail")
CALCULATORS = ("nernst", "ghk-voltage", "ljp")
NP = "--no-progress"


def build_runs(repo, data):
    """Every run of a record, in a fixed order (names unique)."""
    repo, data = Path(repo), Path(data)
    steps = sorted(glob.glob(str(data / "abf" / "*.abf")))
    protocols = sorted(glob.glob(str(data / "protocols" / "*.abf")))
    recordings = steps + protocols
    hcn2 = data / "abf" / "hcn2_20d10009.abf"
    pair = data / "abf" / "14o16001_vc_pair_step.abf"
    steps7 = data / "abf" / "171116sh_0012.abf"
    memtest = data / "protocols" / "171116sh_0011.abf"
    ramp = data / "protocols" / "DM1_0002.abf"
    H, B, C = _rel(hcn2, data), _rel(pair, data), _rel(steps7, data)
    M, R = _rel(memtest, data), _rel(ramp, data)
    runs = []

    def add(name, argv, **kw):
        runs.append(Run(name, argv, **kw))

    # golden fits through the public API (slowest first), as tests/golden_fits.py wrote them
    # (the optimised program) and as tests/test_fit_regression.py refits them (conftest.py
    # sets IONJAX_FAST_COMPILE=1: XLA's backend optimisation off)
    order = ("boltzmann_lbfgs", "boltzmann_lm", "boltzmann_f32") + tuple(
        c for c in GOLDEN_CASES if not c.startswith("boltzmann_") or c == "boltzmann_ghk")
    for case in order:
        add(f"golden.{case}", [case], kind="golden")
    for case in order:
        add(f"golden-fast-compile.{case}", [case], kind="golden",
            env={"IONJAX_FAST_COMPILE": "1"})

    # the bundled example, end to end
    add("example", [NP, "example", "--out-dir", "<OUT>"])

    # every recording x every fit model, every analyze protocol, iv (defaults; JSON/CSV
    # alternate so that both writers see every command)
    for k, path in enumerate(recordings):
        f, key = _rel(path, data), _key(path)
        ions = HCN2_IONS if Path(path) == hcn2 else MODEL_OPTIONS
        for j, model in enumerate(MODELS):
            ext = "json" if (j + k) % 2 == 0 else "csv"
            add(f"fit.{key}.{model}", [NP, "fit", f, "--model", model,
                                       *ions.get(model, []), "--out", f"<OUT>/fit.{ext}"])
        for j, protocol in enumerate(PROTOCOLS):
            ext = "csv" if (j + k) % 2 == 0 else "json"
            add(f"analyze.{key}.{protocol}", [NP, "analyze", f, "--protocol", protocol,
                                              "--out", f"<OUT>/analyze.{ext}"])
        add(f"iv.{key}", [NP, "iv", f, "--out", "<OUT>/iv.csv"])

    # fit: options, figures, other formats, batches, folders (hcn2 and the others)
    add("fit.hcn2.readme-multi-ghk", [NP, "fit", H, "--model", "multi-ghk", "--ions", "Na,K",
        "--c-in", "10,130", "--c-out", "110,30", "--temperature", "25C", "--reference", "K",
        "--window", "2.5ms,7.5ms", "--leak", "ramp", "--ljp", "3.18mV", "--out", "<OUT>/r.json",
        "--plot", "<OUT>/fit.png"])
    add("fit.hcn2.ohmic-intervals-csv", [NP, "fit", H, "--model", "ohmic", "--window",
        "2.5ms,7.5ms", "--leak", "ramp", "--intervals", "--out", "<OUT>/r.csv"])
    add("fit.hcn2.ghk-intervals-json", [NP, "fit", H, "--model", "ghk", *HCN2_IONS["ghk"],
        "--window", "2.5ms,7.5ms", "--intervals", "--out", "<OUT>/r.json", "--plot",
        "<OUT>/fit.svg"])
    add("fit.hcn2.boltzmann-ghk-intervals", [NP, "fit", H, "--model", "boltzmann-ghk",
        *HCN2_IONS["boltzmann-ghk"], "--intervals", "--out", "<OUT>/r.json"])
    add("fit.hcn2.boltzmann-ohmic-lbfgs", [NP, "fit", H, "--model", "boltzmann-ohmic",
        "--method", "lbfgs", "--out", "<OUT>/r.json"])
    add("fit.hcn2.peak-max-steps", [NP, "fit", H, "--model", "boltzmann-ohmic", "--statistic",
        "peak", "--max-steps", "3", "--out", "<OUT>/r.csv"])
    add("fit.hcn2.epoch-units-rs", [NP, "fit", H, "--model", "ohmic", "--epoch", "8",
        "--voltage-unit", "mV", "--current-unit", "pA", "--series-resistance", "10MOhm",
        "--compensation", "0.5", "--out", "<OUT>/r.json"])
    add("fit.hcn2.solutions-ljp", [NP, "fit", H, "--model", "ghk", "--ion", "K", "--c-in",
        "130", "--c-out", "30", "--temperature", "25C", "--pipette", "K=140,gluconate=140",
        "--bath", "Na=140,Cl=140", "--out", "<OUT>/r.csv"])
    add("fit.hcn2.parquet", [NP, "fit", H, "--model", "ohmic", "--window", "2.5ms,7.5ms",
        "--intervals", "--out", "<OUT>/r.parquet"])
    add("fit.hcn2.nwb", [NP, "fit", H, "--model", "multi-ghk", *HCN2_IONS["multi-ghk"],
        "--window", "2.5ms,7.5ms", "--out", "<OUT>/r.nwb"])
    add("fit.hcn2.stdout-only", [NP, "fit", H, "--model", "ohmic"])
    add("fit.abf-all.readme-batch", [NP, "fit", *[_rel(p, data) for p in steps], "--model",
        "boltzmann-ohmic", "--series-resistance", "8MOhm", "--compensation", "0.7",
        "--pipette", "K=140,gluconate=140", "--bath", "Na=140,Cl=140", "--temperature", "22C",
        "--out", "<OUT>/all.csv", "--plot", "<OUT>/all.png"])
    add("fit.abf-folder.batch-summary-plot", [NP, "fit", "<DATA>/abf", "--model", "ohmic",
        "--max-rows", "1", "--out", "<OUT>/all.json", "--plot", "<OUT>/summary.png"])
    add("fit.abf-all.intervals-multi-ghk", [NP, "fit", *[_rel(p, data) for p in steps],
        "--model", "multi-ghk", *MODEL_OPTIONS["multi-ghk"], "--reference", "k",
        "--intervals", "--out", "<OUT>/all.json"])
    add("fit.pair.channel1", [NP, "fit", B, "--model", "boltzmann-ohmic", "--channel", "1",
        "--out", "<OUT>/r.json", "--plot", "<OUT>/fit.png"])
    add("fit.pair.leak-range", [NP, "fit", B, "--model", "ohmic", "--leak",
        "range:-110,-80", "--intervals", "--out", "<OUT>/r.csv"])
    add("fit.steps7.window-times", [NP, "fit", C, "--model", "ohmic", "--window",
        "2ms,20ms", "--statistic", "min", "--out", "<OUT>/r.json"])

    # the bundled example's CSV table through fit and iv
    for j, model in enumerate(MODELS):
        ext = "json" if j % 2 == 0 else "csv"
        add(f"fit.example-csv.{model}", [NP, "fit", "<EXAMPLE_CSV>", "--model", model,
            *EXAMPLE_IONS.get(model, []), "--out", f"<OUT>/fit.{ext}"])
    add("fit.example-csv.ljp-intervals-plot", [NP, "fit", "<EXAMPLE_CSV>", "--model",
        "boltzmann-ohmic", "--pipette", "K=140,gluconate=140", "--bath", "Na=140,Cl=140",
        "--temperature", "22C", "--intervals", "--out", "<OUT>/r.json", "--plot",
        "<OUT>/fit.png"])
    add("fit.example-csv.copy-and-units", [NP, "fit", "<IN>/cells.csv", "--model", "ohmic",
        "--voltage-unit", "mV", "--current-unit", "pA", "--leak", "range:-100,-80",
        "--out", "<OUT>/r.csv"], inputs={"cells.csv": ("copy", "<EXAMPLE_CSV>")})
    add("iv.example-csv", [NP, "iv", "<EXAMPLE_CSV>", "--ljp", "2mV", "--out", "<OUT>/iv.csv"])

    # iv: options
    add("iv.hcn2.window-leak-ljp", [NP, "iv", H, "--window", "2.5ms,7.5ms", "--leak", "ramp",
        "--ljp", "3.18mV", "--out", "<OUT>/iv.csv"])
    add("iv.hcn2.solutions-peak-rs", [NP, "iv", H, "--statistic", "peak", "--pipette",
        "K=140,gluconate=140", "--bath", "Na=140,Cl=140", "--temperature", "22C",
        "--series-resistance", "8MOhm", "--compensation", "0.7", "--out", "<OUT>/iv.csv"])
    add("iv.abf-all", [NP, "iv", *[_rel(p, data) for p in steps], "--out", "<OUT>/iv.csv"])
    add("iv.abf-folder", [NP, "iv", "<DATA>/abf", "--out", "<OUT>/iv.csv"])
    add("iv.pair.channel1", [NP, "iv", B, "--channel", "1", "--window", "60%,95%",
        "--out", "<OUT>/iv.csv"])
    add("iv.ramp.epoch", [NP, "iv", R, "--epoch", "2", "--out", "<OUT>/iv.csv"])

    # analyze: the README's and the tests' option sets, figures, other formats
    add("analyze.memtest.csv-plot", [NP, "analyze", M, "--protocol", "membrane-test",
        "--out", "<OUT>/mt.csv", "--plot", "<OUT>/mt.png"])
    add("analyze.memtest.epoch-channel", [NP, "analyze", M, "--protocol", "membrane-test",
        "--epoch", "1", "--channel", "0", "--current-unit", "pA", "--out", "<OUT>/mt.json"])
    add("analyze.memtest.nwb", [NP, "analyze", M, "--protocol", "membrane-test",
        "--out", "<OUT>/mt.nwb"])
    add("analyze.ramp.readme", [NP, "analyze", R, "--protocol", "ramp", "--iv-out",
        "<OUT>/ramp_iv.csv", "--out", "<OUT>/ramp.csv", "--plot", "<OUT>/ramp.png"])
    add("analyze.ramp.bin-ljp-leak", [NP, "analyze", R, "--protocol", "ramp", "--bin-width",
        "2mV", "--ljp", "3.18mV", "--leak", "range:-100,-80", "--out", "<OUT>/ramp.json",
        "--iv-out", "<OUT>/ramp_iv.csv"])
    add("analyze.ramp.parquet", [NP, "analyze", R, "--protocol", "ramp", "--out",
        "<OUT>/ramp.parquet"])
    add("analyze.hcn2.activation-plot", [NP, "analyze", H, "--protocol", "activation",
        "--window", "2.5ms,7.5ms", "--leak", "ramp", "--ljp", "3.18mV", "--out",
        "<OUT>/act.csv", "--plot", "<OUT>/act.png"])
    add("analyze.hcn2.activation-ghk", [NP, "analyze", H, "--protocol", "activation", "--ion",
        "K", "--c-in", "130", "--c-out", "30", "--temperature", "25C", "--window",
        "2.5ms,7.5ms", "--out", "<OUT>/act.json"])
    add("analyze.hcn2.activation-e-rev-peak", [NP, "analyze", H, "--protocol", "activation",
        "--statistic", "peak", "--e-rev=-25mV", "--out", "<OUT>/act.csv"])
    add("analyze.hcn2.activation-nwb", [NP, "analyze", H, "--protocol", "activation",
        "--window", "2.5ms,7.5ms", "--out", "<OUT>/act.nwb"])
    add("analyze.hcn2.tail-readme-plot", [NP, "analyze", H, "--protocol", "tail", "--window",
        "5ms,30%", "--out", "<OUT>/tail.csv", "--plot", "<OUT>/tail.png"])
    add("analyze.hcn2.tail-ions-leak", [NP, "analyze", H, "--protocol", "tail", "--window",
        "5ms,30%", "--leak", "ramp", "--ion", "Na,K", "--c-in", "10,130", "--c-out", "110,30",
        "--temperature", "25C", "--out", "<OUT>/tail.json"])
    add("analyze.hcn2.tail-one-ion", [NP, "analyze", H, "--protocol", "tail", "--window",
        "5ms,30%", "--ion", "K", "--c-in", "130", "--c-out", "30", "--temperature", "25C",
        "--out", "<OUT>/tail.csv"])
    add("analyze.hcn2.tail-2exp-rs-ljp", [NP, "analyze", H, "--protocol", "tail", "--window",
        "5ms,30%", "--components", "2", "--ljp", "3.18mV", "--series-resistance", "10MOhm",
        "--compensation", "0.5", "--out", "<OUT>/tail.csv"])
    add("analyze.hcn2.tail-parquet", [NP, "analyze", H, "--protocol", "tail", "--window",
        "5ms,30%", "--out", "<OUT>/tail.parquet"])
    add("analyze.hcn2.recipe", [NP, "analyze", H, "--recipe", "<IN>/tail.toml", "--window",
        "6ms,30%", "--out", "<OUT>/tail.json"],
        inputs={"tail.toml": 'protocol = "tail"\nwindow = "5ms,30%"\nepoch = 8\n'})
    add("analyze.hcn2.kinetics-plot", [NP, "analyze", H, "--protocol", "kinetics", "--window",
        "10ms,100%", "--out", "<OUT>/tau.csv", "--plot", "<OUT>/tau.png"])
    add("analyze.hcn2.kinetics-2exp", [NP, "analyze", H, "--protocol", "kinetics", "--window",
        "2ms,100%", "--components", "2", "--epoch", "8", "--out", "<OUT>/tau.json"])
    add("analyze.hcn2.inactivation-corrections", [NP, "analyze", H, "--protocol",
        "inactivation", "--leak", "ramp", "--ljp", "3.18mV", "--series-resistance", "10MOhm",
        "--window", "0%,30%", "--out", "<OUT>/inact.json", "--plot", "<OUT>/inact.png"])
    add("analyze.hcn2.inactivation-epochs", [NP, "analyze", H, "--protocol", "inactivation",
        "--epoch", "8", "--test-epoch", "9", "--statistic", "mean", "--out", "<OUT>/inact.csv"])
    add("analyze.hcn2.isochronal-leak-plot", [NP, "analyze", H, "--protocol", "isochronal",
        "--window", "2ms,10%", "--leak", "ramp", "--out", "<OUT>/iso.csv", "--plot",
        "<OUT>/iso.png"])
    add("analyze.steps7.activation-readme", [NP, "analyze", C, "--protocol", "activation",
        "--statistic", "peak", "--e-rev", "50mV", "--out", "<OUT>/act.csv"])
    add("analyze.steps7.inactivation-test-epoch-plot", [NP, "analyze", C, "--protocol",
        "inactivation", "--test-epoch", "3", "--window", "0%,30%", "--out", "<OUT>/inact.json",
        "--plot", "<OUT>/inact.png"])
    add("analyze.steps7.isochronal-plot", [NP, "analyze", C, "--protocol", "isochronal",
        "--out", "<OUT>/iso.csv", "--plot", "<OUT>/iso.png"])
    add("analyze.pair.activation-channel1", [NP, "analyze", B, "--protocol", "activation",
        "--channel", "1", "--out", "<OUT>/act.json"])
    add("analyze.abf-all.activation-plot", [NP, "analyze", *[_rel(p, data) for p in steps],
        "--protocol", "activation", "--out", "<OUT>/act.csv", "--plot", "<OUT>/act.png"])
    add("analyze.abf-all.kinetics-plot", [NP, "analyze", *[_rel(p, data) for p in steps],
        "--protocol", "kinetics", "--out", "<OUT>/tau.json", "--plot", "<OUT>/tau.png"])

    # the calculators (stdout only: they have no --out)
    for name, argv in (
            ("nernst.readme", ["nernst", "--ion", "K", "--c-in", "140", "--c-out", "5",
                               "--temperature", "37C"]),
            ("nernst.valence", ["nernst", "--z", "2", "--c-in", "0.0001", "--c-out", "2",
                                "--temperature", "295.15K"]),
            ("nernst.units", ["nernst", "--ion", "cl", "--c-in", "10mM", "--c-out", "0.13M",
                              "--temperature", "22C"]),
            ("ghk-voltage.readme", ["ghk-voltage", "--ions", "K,Na,Cl", "--p", "1,0.04,0.45",
                                    "--c-in", "400,50,40", "--c-out", "20,440,560",
                                    "--temperature", "6.3C"]),
            ("ghk-voltage.valences", ["ghk-voltage", "--ions", "Na,K,Ca", "--p", "0.05,1,0.1",
                                      "--c-in", "10,140,0.0001", "--c-out", "140,5,2", "--z",
                                      "1,1,2", "--temperature", "298.15K"]),
            ("ljp.readme", ["ljp", "--pipette", "K=140,gluconate=140", "--bath",
                            "Na=140,Cl=140", "--temperature", "22C"]),
            ("ljp.cs", ["ljp", "--pipette", "Cs=120,Cl=130,Na=10", "--bath",
                        "Na=140,K=5,Cl=145", "--temperature", "25C"])):
        add(f"calc.{name}", [NP, *argv])

    # help texts (no jax)
    add("help", ["--help"])
    for command in ("fit", "iv", "analyze", "example") + CALCULATORS:
        add(f"help.{command}", [command, "--help"])

    # expected failures: exit status and message
    wcp = "<REPO>/tests/data/winwcp/wcp-file.wcp"
    for name, argv, inputs in (
            ("no-command", [], None),
            ("unknown-model", ["fit", H, "--model", "linear"], None),
            ("ghk-without-ion", [NP, "fit", H, "--model", "ghk", "--temperature", "25C"], None),
            ("ghk-without-temperature", [NP, "fit", H, "--model", "ghk", "--ion", "K",
                                         "--c-in", "130", "--c-out", "30"], None),
            ("ohmic-with-ion", [NP, "fit", H, "--model", "ohmic", "--ion", "K"], None),
            ("reference-not-in-ions", [NP, "fit", H, "--model", "multi-ghk",
                                       *MODEL_OPTIONS["multi-ghk"], "--reference", "Cl"], None),
            ("missing-file", [NP, "fit", "<DATA>/abf/no_such_file.abf", "--model", "ohmic"],
             None),
            ("bad-out-format", [NP, "fit", H, "--model", "ohmic", "--out", "<OUT>/r.txt"],
             None),
            ("bad-plot-format", [NP, "fit", H, "--model", "ohmic", "--plot", "<OUT>/f.xyz"],
             None),
            ("out-is-input", [NP, "fit", "<IN>/cells.csv", "--model", "ohmic", "--out",
                              "<IN>/cells.csv"], {"cells.csv": ("copy", "<EXAMPLE_CSV>")}),
            ("bad-window", [NP, "fit", H, "--model", "ohmic", "--window", "1,2,3"], None),
            ("bad-leak", [NP, "fit", H, "--model", "ohmic", "--leak", "linear"], None),
            ("max-steps-zero", [NP, "fit", H, "--model", "ohmic", "--max-steps", "0"], None),
            ("command-channel-absent", [NP, "fit", H, "--model", "ohmic", "--command-channel",
                                        "3"], None),
            ("mat-file", [NP, "iv", "<DATA>/beattie2018/sine_wave/sine_wave_16704007.mat",
                          "--out", "<OUT>/iv.csv"], None),
            ("winwcp-iv", [NP, "iv", wcp, "--out", "<OUT>/iv.csv"], None),
            ("winwcp-fit-epoch", [NP, "fit", wcp, "--model", "ohmic", "--epoch", "1",
                                  "--out", "<OUT>/r.json"], None),
            ("iv-without-out", [NP, "iv", H], None),
            ("iv-not-csv", [NP, "iv", H, "--out", "<OUT>/iv.json"], None),
            ("memtest-on-steps", [NP, "analyze", H, "--protocol", "membrane-test"], None),
            ("ramp-with-e-rev", [NP, "analyze", R, "--protocol", "ramp", "--e-rev", "0mV"],
             None),
            ("ramp-zero-bin", [NP, "analyze", R, "--protocol", "ramp", "--bin-width", "0mV"],
             None),
            ("tail-ion-without-temperature", [NP, "analyze", H, "--protocol", "tail", "--ion",
                                              "K", "--c-in", "130", "--c-out", "30"], None),
            ("inactivation-leak-range", [NP, "analyze", H, "--protocol", "inactivation",
                                         "--leak", "range:-110,-80"], None),
            ("activation-e-rev-and-ion", [NP, "analyze", H, "--protocol", "activation",
                                          "--e-rev", "0mV", "--ion", "K", "--c-in", "130",
                                          "--c-out", "30", "--temperature", "25C"], None),
            ("recipe-bad-key", [NP, "analyze", H, "--recipe", "<IN>/bad.toml"],
             {"bad.toml": 'protocol = "tail"\nbogus = 1\n'}),
            ("recipe-not-toml", [NP, "analyze", H, "--recipe", "<IN>/bad.toml"],
             {"bad.toml": "protocol = tail\n"}),
            ("nernst-without-ion", [NP, "nernst", "--c-in", "140", "--c-out", "5",
                                    "--temperature", "37C"], None),
            ("nernst-negative-concentration", [NP, "nernst", "--ion", "K", "--c-in", "-1",
                                               "--c-out", "5", "--temperature", "37C"], None),
            ("nernst-hot", [NP, "nernst", "--ion", "K", "--c-in", "140", "--c-out", "5",
                            "--temperature", "200C"], None),
            ("ghk-voltage-zero-p", [NP, "ghk-voltage", "--ions", "K,Na", "--p", "0,0",
                                    "--c-in", "140,10", "--c-out", "5,140", "--temperature",
                                    "22C"], None),
            ("ljp-unknown-ion", [NP, "ljp", "--pipette", "Xx=140", "--bath", "Na=140,Cl=140",
                                 "--temperature", "22C"], None),
            ("example-no-folder", [NP, "example", "--out-dir", "<OUT>/missing"], None)):
        add(f"fail.{name}", argv, inputs=inputs)
    names = [r.name for r in runs]
    assert len(names) == len(set(names)), "run names must be unique"
    return runs


# ---------------------------------------------------------------------------------------------
# recording one run
# ---------------------------------------------------------------------------------------------

SITECUSTOMIZE = r'''
"""snapshot_cli.py: record the data of every figure saved (SNAPSHOT_FIGDATA_DIR)."""
import os as _os
import sys as _sys

_DIR = _os.environ.get("SNAPSHOT_FIGDATA_DIR")


def _floats(x):
    import numpy as np

    a = np.ma.filled(np.ma.asarray(x, dtype=float), np.nan)
    return a.tolist()


def _text(t):
    return None if t is None else t.get_text()


def _figure_data(fig):
    from matplotlib.colors import to_hex

    out = {"suptitle": _text(getattr(fig, "_suptitle", None)),
           "size_inches": _floats(fig.get_size_inches()), "axes": []}
    for ax in fig.axes:
        legend = ax.get_legend()
        a = {"visible": ax.get_visible(), "title": ax.get_title(), "xlabel": ax.get_xlabel(),
             "ylabel": ax.get_ylabel(), "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
             "xlim": _floats(ax.get_xlim()), "ylim": _floats(ax.get_ylim()),
             "legend": None if legend is None else [t.get_text() for t in legend.get_texts()],
             "texts": [t.get_text() for t in ax.texts], "lines": [], "collections": [],
             "patches": []}
        for line in ax.get_lines():
            a["lines"].append({"label": line.get_label(), "x": _floats(line.get_xdata()),
                               "y": _floats(line.get_ydata()),
                               "linestyle": str(line.get_linestyle()),
                               "marker": str(line.get_marker()),
                               "color": to_hex(line.get_color(), keep_alpha=True)})
        for c in ax.collections:
            item = {"type": type(c).__name__, "label": c.get_label(),
                    "offsets": _floats(c.get_offsets())}
            if hasattr(c, "get_segments"):
                item["segments"] = [_floats(s) for s in c.get_segments()]
            a["collections"].append(item)
        for p in ax.patches:
            item = {"type": type(p).__name__}
            if hasattr(p, "get_width"):
                item.update(x=float(p.get_x()), y=float(p.get_y()), width=float(p.get_width()),
                            height=float(p.get_height()))
            a["patches"].append(item)
        out["axes"].append(a)
    return out


def _patch(module):
    import json

    original = module.Figure.savefig
    counter = [0]

    def savefig(self, fname, *args, **kwargs):
        result = original(self, fname, *args, **kwargs)
        ext = _os.path.splitext(_os.fspath(fname))[1] if isinstance(fname, (str, _os.PathLike)) \
            else ""
        data = dict(format=kwargs.get("format") or ext.lstrip("."), figure=_figure_data(self))
        path = _os.path.join(_DIR, f"figure-{counter[0]}.json")
        counter[0] += 1
        with open(path, "w") as handle:
            json.dump(data, handle, indent=1, allow_nan=True)
        return result

    module.Figure.savefig = savefig


if _DIR:
    import importlib.abc
    import importlib.util

    class _Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name != "matplotlib.figure":
                return None
            _sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            exec_module = spec.loader.exec_module

            def patched(module):
                exec_module(module)
                _patch(module)

            spec.loader.exec_module = patched
            return spec

    _sys.meta_path.insert(0, _Hook())
'''


def _subst(text, mapping):
    for k, v in mapping.items():
        text = text.replace(k, v)
    return text


_VERSION = re.compile(r'(\\?"ionjax_version\\?":\s*\\?")[^"\\]*(\\?")')


def normalise(text, replacements):
    """Absolute paths -> placeholders (longest first, also their real paths), the version."""
    pairs = []
    for real, holder in replacements:
        for variant in {str(real), os.path.realpath(str(real))}:
            pairs.append((variant, holder))
    for real, holder in sorted(pairs, key=lambda p: -len(p[0])):
        text = text.replace(real, holder)
    return _VERSION.sub(r"\1<VERSION>\2", text)


def _dump_parquet(path):
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    lines = ["schema:", table.schema.to_string(show_schema_metadata=False), "metadata:"]
    for k, v in sorted((table.schema.metadata or {}).items()):
        if k == b"pandas":
            continue
        try:
            v = json.dumps(json.loads(v), indent=1, sort_keys=False)
        except ValueError:
            v = v.decode("utf-8", "replace")
        lines.append(f"{k.decode()}: {v}")
    lines.append("rows:")
    for row in table.to_pylist():
        lines.append(repr(row))
    return "\n".join(lines) + "\n"


_NWB_VARYING_DATASETS = {"identifier": "<IDENTIFIER>", "session_start_time": "<DATETIME>",
                         "file_create_date": "<DATETIME>",
                         "timestamps_reference_time": "<DATETIME>"}


def _dump_nwb(path):
    """Every group, dataset and attribute of an HDF5 file but /specifications (the NWB schema
    of the installed pynwb), with object ids, the identifier and dates as placeholders."""
    import h5py
    import numpy as np

    lines = []

    def value(x, f):
        if isinstance(x, h5py.Reference):
            return f"<ref {f[x].name}>" if x else "<null ref>"
        if isinstance(x, bytes):
            return x.decode("utf-8", "replace")
        if isinstance(x, np.ndarray):
            return [value(e, f) for e in x.tolist()] if x.dtype.kind in "OSU" or \
                x.dtype.names else x.tolist()
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, (list, tuple)):
            return [value(e, f) for e in x]
        return x

    def attrs(obj, f, indent):
        for k in sorted(obj.attrs):
            v = "<UUID>" if k == "object_id" else value(obj.attrs[k], f)
            lines.append(f"{indent}@{k} = {v!r}")

    with h5py.File(path, "r") as f:
        attrs(f, f, "")

        def walk(group, indent):
            for name in sorted(group):
                if group.name == "/" and name == "specifications":
                    lines.append(f"{indent}{name}/ (NWB schema of the installed pynwb, omitted)")
                    continue
                obj = group.get(name, getlink=False)
                link = group.get(name, getlink=True)
                if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                    lines.append(f"{indent}{name} -> {link.path}")
                    continue
                if isinstance(obj, h5py.Group):
                    lines.append(f"{indent}{name}/")
                    attrs(obj, f, indent + "  ")
                    walk(obj, indent + "  ")
                else:
                    if name in _NWB_VARYING_DATASETS:
                        data = _NWB_VARYING_DATASETS[name]
                    else:
                        data = value(obj[()], f)
                    lines.append(f"{indent}{name} {obj.dtype} {obj.shape} = {data!r}")
                    attrs(obj, f, indent + "  ")

        walk(f, "")
    return "\n".join(lines) + "\n"


def _file_record(path):
    """(stored name, text) of an output file."""
    name = path.name
    ext = path.suffix.lower()
    if ext == ".parquet":
        return name + ".dump.txt", _dump_parquet(path)
    if ext == ".nwb":
        return name + ".dump.txt", _dump_nwb(path)
    if ext in (".png", ".svg", ".svgz", ".pdf", ".jpg", ".jpeg", ".tif", ".tiff", ".webp",
               ".eps", ".ps"):
        return name + ".txt", "figure file written (its data: figures/; bytes not compared)\n"
    try:
        return name, path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        import hashlib

        return name + ".sha256", hashlib.sha256(path.read_bytes()).hexdigest() + "\n"


def _env(repo, site, base, figdir, cache):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(base)),
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC",
        "PYTHONPATH": os.pathsep.join([str(repo), str(site)]),
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
        "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(base / "mpl"),
        "IONJAX_CACHE_DIR": str(cache), "XDG_CACHE_HOME": str(base / "xdg"),
        "COLUMNS": "100", "TMPDIR": str(base / "tmp"), "SNAPSHOT_FIGDATA_DIR": str(figdir),
    }
    return env


def _record_run(run, repo, data, base, site, snap, example, cache):
    """Run one command; write its record under ``snap/runs/NAME``. Returns (name, seconds,
    exit status)."""
    work = Path(tempfile.mkdtemp(prefix="run-", dir=base / "runs"))
    indir, outdir, figdir = work / "in", work / "out", work / "fig"
    for d in (indir, outdir, figdir):
        d.mkdir()
    mapping = {"<EXAMPLE_CSV>": str(example or "<EXAMPLE_CSV missing>"), "<DATA>": str(data),
               "<IN>": str(indir), "<OUT>": str(outdir), "<REPO>": str(repo)}
    for name, content in run.inputs.items():
        if isinstance(content, tuple):
            shutil.copyfile(_subst(content[1], mapping), indir / name)
        else:
            (indir / name).write_text(content)
    argv = [_subst(a, mapping) for a in run.argv]
    env = _env(repo, site, base, figdir, cache)
    env.update(run.env)
    if run.kind == "golden":
        cmd = [sys.executable, str(HERE), "_golden", run.argv[0], str(outdir / "golden.json")]
    else:
        cmd = [sys.executable, "-m", "fitting", *argv]
    t0 = time.monotonic()
    code, stdout, stderr, cpu = _run(cmd, cwd=repo, env=env, timeout=TIMEOUT_S)
    seconds = time.monotonic() - t0
    replacements = [(indir, "<IN>"), (outdir, "<OUT>"), (work, "<RUN>"), (base, "<TMP>"),
                    (data, "<DATA>"), (repo, "<REPO>")]
    if example:
        replacements.append((example, "<EXAMPLE_CSV>"))

    def norm(text):
        return normalise(text, replacements)

    dest = snap / "runs" / run.name
    (dest / "files").mkdir(parents=True)
    (dest / "argv.txt").write_text(
        "\n".join(["python -m fitting" if run.kind == "cli" else "golden fit (public API)",
                   *run.argv]) + "\n")
    (dest / "exit_status.txt").write_text(f"{code}\n")
    (dest / "stdout.txt").write_text(norm(stdout.decode("utf-8", "replace")))
    (dest / "stderr.txt").write_text(norm(stderr.decode("utf-8", "replace")))
    for path in sorted(outdir.rglob("*")):
        if path.is_file():
            stored, text = _file_record(path)
            rel = path.relative_to(outdir).parent / stored
            (dest / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / "files" / rel).write_text(norm(text))
    figures = sorted(figdir.glob("figure-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    if figures:
        (dest / "figures").mkdir()
        for path in figures:
            (dest / "figures" / path.name).write_text(norm(path.read_text()))
    shutil.rmtree(work, ignore_errors=True)
    return run.name, seconds, cpu, code


def _run(cmd, cwd, env, timeout):
    """(exit status, stdout, stderr, CPU seconds) of a subprocess; the status is a string
    'TIMEOUT after N s' when it ran out of time (it is killed, with its process group)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    out = {}
    readers = [threading.Thread(target=lambda k=k, s=s: out.__setitem__(k, s.read()))
               for k, s in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for t in readers:
        t.start()
    expired = threading.Event()

    def kill():
        expired.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    proc.stdout.close()
    proc.stderr.close()
    code = f"TIMEOUT after {timeout} s" if expired.is_set() else proc.returncode
    return code, out.get("stdout", b""), out.get("stderr", b""), usage.ru_utime + usage.ru_stime


def _check_import(repo, site, base, cache):
    env = _env(repo, site, base, base, cache)
    p = subprocess.run([sys.executable, "-c", "import fitting, ionjax; print(fitting.__file__);"
                        "print(ionjax.__file__)"], cwd=repo, env=env, capture_output=True,
                       text=True, check=False)
    files = p.stdout.split()
    if p.returncode != 0 or not files or not all(
            os.path.realpath(f).startswith(os.path.realpath(repo) + os.sep) for f in files):
        sys.exit(f"snapshot_cli: with PYTHONPATH={repo}, fitting/ionjax import from {files} "
                 f"(stderr: {p.stderr.strip()[-400:]}); expected the repository's own")
    # warm matplotlib's font cache so that no run prints "building the font cache"
    subprocess.run([sys.executable, "-c", "import matplotlib; matplotlib.use('Agg');"
                    "import matplotlib.pyplot as plt; plt.figure().savefig("
                    f"{str(base / 'warm.png')!r})"], cwd=repo, env=env, capture_output=True)


def _git_state(repo):
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return {"head": head, "tracked_changes": dirty.splitlines()}
    except OSError:
        return {}


def record(args):
    repo = Path(args.repo).resolve()
    data = Path(args.data).resolve()
    snap = Path(args.out).resolve()
    if not (repo / "fitting" / "__main__.py").is_file():
        sys.exit(f"snapshot_cli: {repo} has no fitting/__main__.py")
    if not data.is_dir():
        sys.exit(f"snapshot_cli: no recordings at {data}")
    if snap.exists() and any(snap.iterdir()):
        sys.exit(f"snapshot_cli: {snap} exists and is not empty")
    runs = build_runs(repo, data)
    if args.only:
        runs = [r for r in runs if re.search(args.only, r.name)]
    example = example_csv(repo)
    snap.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="ionjax-snapshot-"))
    try:
        for d in ("runs", "mpl", "xla", "xdg", "tmp", "site"):
            (base / d).mkdir()
        (base / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        cache = base / "xla" if args.jax_cache == "fresh" else Path(args.jax_cache)
        cache.mkdir(parents=True, exist_ok=True)
        _check_import(repo, base / "site", base, cache)
        t0 = time.monotonic()
        timings, cpu_total = {}, 0.0
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(_record_run, run, repo, data, base, base / "site", snap,
                                   example, cache) for run in runs]
            for k, fut in enumerate(concurrent.futures.as_completed(futures), 1):
                name, seconds, cpu, code = fut.result()
                timings[name] = [round(seconds, 2), round(cpu, 2)]
                cpu_total += cpu
                print(f"[{k}/{len(runs)}] {name}: exit {code} ({seconds:.1f} s, CPU {cpu:.1f} s)",
                      flush=True)
        total = time.monotonic() - t0
    finally:
        shutil.rmtree(base, ignore_errors=True)
    (snap / "runs.txt").write_text("".join(f"{r.name}\n" for r in runs))
    import platform

    import numpy

    meta = {"format": FORMAT, "repo": str(repo), "git": _git_state(repo), "data": str(data),
            "example_csv": example, "python": sys.version, "numpy": numpy.__version__,
            "platform": platform.platform(), "jobs": args.jobs, "runs": len(runs),
            "seconds": round(total, 1), "cpu_seconds": round(cpu_total, 1),
            "jax_cache": args.jax_cache, "run_seconds_wall_cpu": timings,
            "versions": _versions(repo)}
    (snap / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{len(runs)} runs recorded into {snap} in {total:.0f} s (CPU {cpu_total:.0f} s)")
    return 0


def _versions(repo):
    p = subprocess.run([sys.executable, "-c", "import jax, jaxlib, numpy, scipy, matplotlib;"
                        "print(jax.__version__, jaxlib.__version__, numpy.__version__, "
                        "scipy.__version__, matplotlib.__version__)"],
                       capture_output=True, text=True, cwd=repo,
                       env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(repo),
                            "JAX_PLATFORMS": "cpu"})
    names = ("jax", "jaxlib", "numpy", "scipy", "matplotlib")
    return dict(zip(names, p.stdout.split()))


# ---------------------------------------------------------------------------------------------
# golden fits (public API only), run as ``snapshot_cli.py _golden CASE OUT.json``
# ---------------------------------------------------------------------------------------------


def _golden_inputs():
    """The inputs of tests/golden_fits.py (same seed and order: the same arrays)."""
    import numpy as np

    import ionjax

    MV, PA, NS, T = 1e-3, 1e-12, 1e-9, 295.15
    rng = np.random.default_rng(20261201)
    v = np.linspace(-100, 50, 16) * MV
    out = {}
    g = rng.uniform(1, 10, (6, 1)) * NS
    e = rng.uniform(-80, 20, (6, 1)) * MV
    i = g * (v - e) + rng.normal(0, 5, (6, 16)) * PA
    i[1, 3] = np.nan
    i[2, :14] = np.nan
    i[3, :15] = np.nan
    i[4] = 0.0
    out["ohmic"] = dict(v=v, i=i, sigma=None)
    out["ohmic_sigma"] = dict(v=v, i=i[:2], sigma=np.full(16, 5 * PA))
    unit = np.asarray(ionjax.ghk_current(v, 1.0, 140.0, 5.0, 1, temperature=T))
    p = rng.uniform(0.5, 2, (4, 1)) * 1e-18
    out["ghk"] = dict(v=v, i=p * unit + rng.normal(0, 3, (4, 16)) * PA, sigma=None)
    unit_na = np.asarray(ionjax.ghk_current(v, 1.0, 10.0, 140.0, 1, temperature=T))
    pk, pna = rng.uniform(0.5, 2, (4, 1)) * 1e-18, rng.uniform(0.02, 0.2, (4, 1)) * 1e-18
    out["multi"] = dict(v=v, i=pk * unit + pna * unit_na + rng.normal(0, 3, (4, 16)) * PA,
                        sigma=None)
    n = 200
    vh = rng.uniform(-50, -10, (n, 1)) * MV
    s = rng.uniform(4, 12, (n, 1)) * MV
    gm = rng.uniform(5, 20, (n, 1)) * NS
    er = rng.uniform(40, 60, (n, 1)) * MV
    ib = gm / (1 + np.exp((vh - v) / s)) * (v - er) + rng.normal(0, 20, (n, 16)) * PA
    ib[:20] = (rng.uniform(1, 3, (20, 1)) * NS) * (v - 0.0) + rng.normal(0, 20, (20, 16)) * PA
    ib[25, ::3] = np.nan
    out["boltzmann"] = dict(v=v, i=ib, sigma=None)
    ca = np.asarray(ionjax.ghk_current(v, 1.0, 1e-4, 2.0, 2, temperature=T))
    pm = rng.uniform(1, 3, (5, 1)) * 1e-19
    vh = rng.uniform(-30, 0, (5, 1)) * MV
    out["boltzmann_ghk"] = dict(v=v, i=pm / (1 + np.exp((vh - v) / (6 * MV))) * ca
                                + rng.normal(0, 2, (5, 16)) * PA, sigma=None)
    gu = rng.uniform(1, 3, (3, 1)) * NS
    out["user"] = dict(v=v, i=gu * np.tanh(4.0 * v + 1.0) * (v + 0.03)
                       + rng.normal(0, 2, (3, 16)) * PA, sigma=None)
    return out


def _golden_cases():
    import jax.numpy as jnp
    import numpy as np

    import fitting
    import ionjax

    T = 295.15

    def fn(params, v):
        return ionjax.ohmic_current(v, params["g"] * jnp.tanh(params["a"] * v + 1.0), params["e"])

    user = fitting.Model(fn, params={"g": 2e-9, "a": 5.0, "e": -0.02}, positive=("g",),
                         units={"g": (1e-9, "nS"), "e": (1e-3, "mV")}, name="tanh-gated")
    ghk = fitting.GHK(z=1, c_in=140.0, c_out=5.0, temperature=T)
    multi = fitting.MultiIonGHK(z=(1, 1), c_in=(140.0, 10.0), c_out=(5.0, 140.0), temperature=T,
                                reference=0)
    bghk = fitting.BoltzmannGHK(z=2, c_in=1e-4, c_out=2.0, temperature=T)
    return {
        "ohmic_lm": (fitting.Ohmic(), "ohmic", {}, np.float64),
        "ohmic_lbfgs": (fitting.Ohmic(), "ohmic", dict(method="lbfgs"), np.float64),
        "ohmic_f32": (fitting.Ohmic(), "ohmic", {}, np.float32),
        "ohmic_sigma": (fitting.Ohmic(), "ohmic_sigma", {}, np.float64),
        "ghk": (ghk, "ghk", {}, np.float64),
        "multi": (multi, "multi", {}, np.float64),
        "multi_f32": (multi, "multi", {}, np.float32),
        "boltzmann_lm": (fitting.BoltzmannOhmic(), "boltzmann", {}, np.float64),
        "boltzmann_f32": (fitting.BoltzmannOhmic(), "boltzmann", {}, np.float32),
        "boltzmann_lbfgs": (fitting.BoltzmannOhmic(), "boltzmann",
                            dict(method="lbfgs", max_steps=100), np.float64),
        "boltzmann_ghk": (bghk, "boltzmann_ghk", {}, np.float64),
        "user": (user, "user", {}, np.float64),
    }


def _golden(case, out_path):
    """Fit one golden case as tests/golden_fits.py does (x64 on); write every result field
    (the fields of golden_fits.npz) and the summary."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpy as np

    import fitting

    model, key, kwargs, dtype = _golden_cases()[case]
    d = _golden_inputs()[key]
    sigma = None if d["sigma"] is None else d["sigma"].astype(dtype)
    res = fitting.fit(model, d["v"].astype(dtype), d["i"].astype(dtype), sigma=sigma, **kwargs)
    e = fitting.reversal_potential(res)
    fields = {}
    for field in ("cov_scaled", "param_scale", "loss", "rmse", "aic", "bic", "n_steps", "status",
                  "n_points", "n_masked", "v_range"):
        fields[field] = np.asarray(getattr(res, field))
    for group in ("params", "stderr"):
        for k, x in getattr(res, group).items():
            fields[f"{group}.{k}"] = np.asarray(x)
    fields["e_rev"], fields["e_rev_stderr"] = np.asarray(e.value), np.asarray(e.stderr)
    out = {"case": case, "model": res.model.name, "dtype": np.dtype(dtype).name,
           "fields": {k: {"dtype": x.dtype.name, "shape": list(x.shape),
                          "values": np.asarray(x, float if x.dtype.kind == "f" else x.dtype)
                          .ravel().tolist()} for k, x in fields.items()}}
    text = json.dumps(out, indent=1, allow_nan=True)
    summary = res.summary() if not res.batch_shape else res.summary(max_rows=1000)
    Path(out_path).write_text(text + "\n")
    Path(out_path).with_name("summary.txt").write_text(str(summary) + "\n")
    print(f"golden case {case}: {len(fields)} fields")


# ---------------------------------------------------------------------------------------------
# comparing two snapshots
# ---------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![A-Za-z_])(?:[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
                     r"|[-+]?(?:nan|NaN|inf|Infinity)(?![A-Za-z_]))")


def _split(line):
    """Texts and number tokens alternately: [text, number, text, ..., text]."""
    parts, at = [], 0
    for m in _NUMBER.finditer(line):
        parts += [line[at:m.start()], m.group()]
        at = m.end()
    return parts + [line[at:]]


def _as_float(token):
    t = token.lower().replace("infinity", "inf")
    return float(t)


def _token_diff(a, b):
    """None when the tokens are equal (text, or within 1 ulp in float64), else a reason."""
    import numpy as np

    if a == b:
        return None
    x, y = _as_float(a), _as_float(b)
    if np.isnan(x) and np.isnan(y):
        return "NaN written differently"
    if x == y:
        return "the same value written differently"
    if np.isnan(x) or np.isnan(y) or np.isinf(x) or np.isinf(y):
        return "differ"
    if np.nextafter(x, y) == y:
        return None  # 1 ulp
    ulps = abs(x - y) / np.spacing(max(abs(x), abs(y)))
    return f"differ by {ulps:.3g} ulp (rel {abs(x - y) / max(abs(x), abs(y)):.3g})"


def _compare_lines(n, x, y):
    """Differences between line n of A (x) and of B (y): [(n, description)]."""
    px, py = _split(x), _split(y)
    if len(px) != len(py) or any(px[k] != py[k] for k in range(0, len(px), 2)):
        return [(n, f"text differs:\n      A: {x[:400]}\n      B: {y[:400]}")]
    out = []
    for k in range(1, len(px), 2):
        why = _token_diff(px[k], py[k])
        if why:
            out.append((n, f"{px[k]} vs {py[k]}: {why}"))
    return out


def compare_texts(a, b, limit=20):
    """Differences between two texts: [(line number in A, description)]. Lines are paired in
    order; where lines were added or removed, difflib aligns the rest."""
    import difflib

    la, lb = a.splitlines(), b.splitlines()
    out = []
    if len(la) == len(lb):
        pairs = [("replace", 0, len(la), 0, len(lb))]
    else:
        out.append((0, f"{len(la)} lines vs {len(lb)} lines"))
        pairs = difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in pairs:
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for k in range(i2 - i1):
                if la[i1 + k] != lb[j1 + k]:
                    out += _compare_lines(i1 + k + 1, la[i1 + k], lb[j1 + k])
        else:
            removed = "".join(f"\n      A: {line[:400]}" for line in la[i1:i2])
            added = "".join(f"\n      B: {line[:400]}" for line in lb[j1:j2])
            where = (f"B adds lines {j1 + 1}-{j2} after line {i1} of A" if op == "insert" else
                     f"lines {i1 + 1}-{i2} of A are not in B" if op == "delete" else
                     f"lines {i1 + 1}-{i2} of A are lines {j1 + 1}-{j2} of B")
            out.append((i1 + 1, f"{where}:{removed}{added}"))
        if len(out) > limit:
            out.append((i1 + 1, "... (more differences in this file not shown)"))
            break
    return out


def _files(run_dir):
    return sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())


def compare(args):
    a, b = Path(args.a), Path(args.b)
    for d in (a, b):
        if not (d / "runs.txt").is_file():
            sys.exit(f"snapshot_cli: {d} is not a snapshot (no runs.txt)")
    ra, rb = a.joinpath("runs.txt").read_text().split(), b.joinpath("runs.txt").read_text().split()
    problems = 0
    for name in sorted(set(ra) ^ set(rb)):
        print(f"{name}: only in {'A' if name in ra else 'B'}")
        problems += 1
    files_compared = 0
    ulp_equal = 0
    for name in [r for r in ra if r in set(rb)]:
        da, db = a / "runs" / name, b / "runs" / name
        fa, fb = _files(da), _files(db)
        for f in sorted(set(fa) ^ set(fb)):
            print(f"{name}: {f}: only in {'A' if f in fa else 'B'}")
            problems += 1
        for f in [x for x in fa if x in set(fb)]:
            files_compared += 1
            ta, tb = (da / f).read_text(), (db / f).read_text()
            if ta == tb:
                continue
            diffs = compare_texts(ta, tb)
            if not diffs:
                ulp_equal += 1
            for line, what in diffs:
                print(f"{name}: {f}: line {line}: {what}")
                problems += 1
    meta = [json.loads((d / "meta.json").read_text()) if (d / "meta.json").is_file() else {}
            for d in (a, b)]
    print(f"{len(set(ra) & set(rb))} runs, {files_compared} files compared "
          f"({ulp_equal} equal only to 1 ulp); record times {meta[0].get('seconds')} s and "
          f"{meta[1].get('seconds')} s")
    if problems:
        print(f"{problems} difference(s)")
        return 1
    print("identical (numbers to 1 ulp)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("record", help="run every command and store the outputs")
    p.add_argument("--repo", required=True, help="the repository (PYTHONPATH and cwd)")
    p.add_argument("--out", required=True, help="snapshot folder (new or empty)")
    p.add_argument("--data", default=os.environ.get("IONJAX_DATA", str(DEFAULT_DATA)),
                   help="the recordings (default ../shared/data beside the repository)")
    p.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    p.add_argument("--only", help="regular expression: record only the runs it finds")
    p.add_argument("--jax-cache", default=str(DEFAULT_CACHE),
                   help="JAX compilation cache folder shared by the runs and kept between "
                        f"records (default {DEFAULT_CACHE}); 'fresh': a new empty one")
    p = sub.add_parser("compare", help="compare two snapshots (numbers to 1 ulp)")
    p.add_argument("a")
    p.add_argument("b")
    p = sub.add_parser("list", help="print the runs' names and argv")
    p.add_argument("--repo", default=str(HERE.parents[1]))
    p.add_argument("--data", default=os.environ.get("IONJAX_DATA", str(DEFAULT_DATA)))
    p = sub.add_parser("_golden")  # internal: one golden fit, in its own process
    p.add_argument("case", choices=GOLDEN_CASES)
    p.add_argument("out")
    args = parser.parse_args(argv)
    if args.command == "record":
        return record(args)
    if args.command == "compare":
        return compare(args)
    if args.command == "list":
        for run in build_runs(Path(args.repo).resolve(), Path(args.data).resolve()):
            print(run.name, " ".join(run.argv), sep="\t")
        return 0
    return _golden(args.case, args.out)


if __name__ == "__main__":
    sys.exit(main())
