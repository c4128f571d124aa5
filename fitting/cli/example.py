"""``ionjax example``: the main job, end to end, on the bundled SYNTHETIC recording.

Reads ``fitting/cli/data/example_iv.csv`` (peak Na+ I-V of four simulated cells, see
``fitting.cli.data._make_example``), corrects the liquid junction potential computed from the named
solutions, fits a Boltzmann-gated ohmic model to all cells in one batched call, compares it with a
plain ohmic line, prints the report and the reversal potentials, and writes a figure.
"""

import os

import numpy as np

import ionjax
from fitting import engine, models  # lazy packages: jax loads on first use
from fitting.cli.calculators import UsageError
from fitting.cli.data import _make_example as example
from fitting.cli.data import example_path
from fitting.cli.plot import plot_fit
from fitting.recordings.corrections import correct_liquid_junction
from fitting.recordings.formats.table import read_csv

__all__ = ["COMMAND", "command", "run"]


def run(out_dir: str = ".") -> int:
    """Run the example, print its report and write ``ionjax-example.png`` into ``out_dir``;
    returns the exit status 0."""
    figure = os.path.join(out_dir, "ionjax-example.png")
    path = example_path()
    iv = read_csv(path)
    ljp = float(ionjax.liquid_junction_potential(example.PIPETTE, example.BATH,
                                                 temperature=example.TEMPERATURE))
    iv = correct_liquid_junction(iv, ljp)
    print(f"ionjax example: {os.path.basename(str(path))} (synthetic peak Na+ I-V, "
          f"{len(iv.labels)} cells)")
    print(f"liquid junction potential (Henderson, pipette {example.PIPETTE}, bath {example.BATH})"
          f" = {ljp * 1e3:.2f} mV; V_m = V_cmd - LJP\n")
    res = engine.fit(models.BoltzmannOhmic(), iv.v, iv.i, fast_compile=True)  # 4 curves
    print(res.summary(max_rows=len(iv.labels)))
    ohmic = engine.fit(models.Ohmic(), iv.v, iv.i, fast_compile=True)
    print("\nmodel comparison (mean over cells):")
    print(engine.compare({"BoltzmannOhmic": res, "Ohmic": ohmic}))
    e = engine.reversal_potential(res)
    print()
    for label, value, err, true in zip(iv.labels, np.asarray(e.value), np.asarray(e.stderr),
                                       example.TRUTH["e_rev"]):
        print(f"E_rev {label}: {value * 1e3:.2f} ± {err * 1e3:.2f} mV (stderr; simulated truth "
              f"{true * 1e3:.1f} mV)")
    plot_fit(res, iv.v, iv.i, labels=iv.labels, path=figure)
    print(f"\nfigure written to {figure}")
    return 0


def command(args) -> int:
    """``ionjax example [--out-dir DIR]``."""
    if not os.path.isdir(args.out_dir):
        raise UsageError(f"{args.out_dir}: no such folder (--out-dir)")
    return run(args.out_dir)


COMMAND = {"example": command}
