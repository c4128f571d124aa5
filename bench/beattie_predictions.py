"""Validation by prediction: ionjax's simulator on the protocols of Beattie et al. (2018) it was not
built against, with the authors' own parameters.

    python bench/beattie_predictions.py --sine-wave-repo PATH [--cells 16713110,...]
        [--params authors|ionjax]

PATH is a checkout (or extracted copy) of the authors' supplementary repository, github
mirams/sine-wave (CC BY 4.0; checked at commit 54ca435): ``Protocols/<name>_protocol.mat`` (mV,
0.1 ms samples), ``ExperimentalData/<cell>/<name>_<cell>_dofetilide_subtracted_leak_subtracted.mat``
(nA), and for cell 5 (16713110) the authors' own simulations of Figures 4a (sine wave) and 6 (action
potential). Nothing of it is stored in this repository. The parameters are each cell's
maximum-likelihood fit to the sine wave (tests/beattie_reference.py: their MCMC chains), or with
``--params ionjax`` ionjax's own: ``fitting.fit_traces`` on each cell's sine-wave recording of
the repository (all cells in one batched call, default starts, the 5 ms after each step edge
left out), the fitted parameters then simulated as the authors' are; each row then also gives
the RMS error with the authors' parameters, for comparison.

For each cell and protocol it prints, against the recorded current: the RMS error [nA] over all
samples and without the 5 ms after each voltage jump of 5 mV or more in one sample (the
capacitive spikes, which the model does not have; the authors leave them out of the sine-wave
fit), the authors' goodness-of-fit measure (mean absolute error over all samples, their
``CalculatingGoodnessOfFit*.m``) [nA], and the RMS of the recording for scale; for the sine
wave, the log-likelihood of the authors' loss next to the one their code reported; and, where the
authors provide their own simulation, the largest difference between theirs and ionjax's
relative to the largest current.

How it simulates (as the authors' MexHH.c does): a starts at 0 and r at 1 (their initial
condition [0, 0, 0] of the four-state form leaves all probability in the state "a closed, r not
inactivated"; the data README's "both gates start at 0" is not what their code does); a tabulated
protocol's
sample n holds over [t_n, t_n + 0.1 ms) (the authors read v = V[floor(10 t)]), so the exact
zero-order-hold step is their ODE; the sine wave is followed at mid-sample
(``beattie_reference.sine_wave_midpoint``), their simulation being continuous in time there;
I = g a r (V - E_K) with the authors' E_K (their R and F, the cell's temperature).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from _common import machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import beattie_reference as ref  # noqa: E402

PROTOCOLS = ("sine_wave", "activation_kinetics_1", "activation_kinetics_2", "steady_activation",
             "deactivation", "inactivation", "ap")
AUTHORS_SIMULATION = {  # cell 5's published simulations: (file, column of the current)
    "sine_wave": "Figures/figure_4/figure_4_a/figure_4_model_fit_new_model_fit.txt",
    "ap": "Figures/figure_6/figure_6_ap_new_model_prediction.txt",
}


def _load(path):
    from scipy.io import loadmat
    return loadmat(path)["T"][:, 0].astype(float)


def _without_spikes(v_mv, jump_mv=5.0, after=50):
    """True except on the ``after`` samples (5 ms) from each jump of ``jump_mv`` or more."""
    keep = np.ones(v_mv.size, bool)
    for edge in np.flatnonzero(np.abs(np.diff(v_mv)) >= jump_mv) + 1:
        keep[edge:edge + after] = False
    return keep


def _simulator():
    import jax
    import jax.numpy as jnp

    import ionjax

    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def current(v_hold, v, p, e_k):
        """I [A] of the paper's model under v_hold [V], a from 0 and r from 1 (their MexHH.c
        starts its four-state form in the state a = 0, r = 1); (v - E_K) with v [V]."""
        s = 1e3  # 1/ms -> 1/s, 1/mV -> 1/V
        k1 = ionjax.rate_exponential(v_hold, p[0] * s, p[1] * s)
        k2 = ionjax.rate_exponential(v_hold, p[2] * s, -p[3] * s)
        k3 = ionjax.rate_exponential(v_hold, p[4] * s, p[5] * s)
        k4 = ionjax.rate_exponential(v_hold, p[6] * s, -p[7] * s)
        a0, r0 = jnp.asarray(ref.A0, v.dtype), jnp.asarray(ref.R0, v.dtype)
        p_open = ionjax.gate_trace(k1, k2, 1e-4, a0) * ionjax.gate_trace(k4, k3, 1e-4, r0)
        return ionjax.gated_ohmic_current(v, p_open, p[8] * 1e-6, e_k)

    def simulate(protocol, v_mv, cell, params=None):
        """I [nA] with ``params`` (paper units, p1..p8 and g [uS]; default the authors')."""
        v_hold = ref.sine_wave_midpoint(v_mv) if protocol == "sine_wave" else v_mv
        e_k = ref.e_k_authors(ref.TEMPERATURE_C[cell]) * 1e-3
        p = ref.MAXIMUM_LIKELIHOOD[cell] if params is None else params
        i = current(jnp.asarray(v_hold * 1e-3), jnp.asarray(v_mv * 1e-3), jnp.asarray(p), e_k)
        return np.asarray(i) * 1e9  # nA

    return simulate


def _ionjax_fits(root, cells):
    """cell -> ionjax's fitted parameters in paper units (p1..p8 per ms and per mV, g uS), from
    one batched ``fit_traces`` of the cells' sine-wave recordings in the repository; prints the
    fit's time and each cell's status."""
    from fitting.engine.traces import fit_traces, step_edge_mask
    from ionjax.units import celsius

    v = _load(root / "Protocols" / "sine_wave_protocol.mat") * 1e-3
    i = np.stack([_load(root / "ExperimentalData" / c / (
        f"sine_wave_{c}_dofetilide_subtracted_leak_subtracted.mat")) * 1e-9 for c in cells])
    t = np.arange(v.size) * 1e-4
    start = time.perf_counter()
    res = fit_traces(t, v, i, temperature=celsius(np.array([ref.TEMPERATURE_C[c] for c in cells])),
                     mask=step_edge_mask(v, 1e-4))
    print(f"ionjax fit_traces, {len(cells)} cells in one call: "
          f"{time.perf_counter() - start:.1f} s (compilation included); status "
          + ", ".join(f"{c} {res.message(k) if not res.usable[k] else 'ok'}"
                      for k, c in enumerate(cells)))
    si = np.array([1e3, 1e3] * 4 + [1e-6])  # paper unit in SI
    fitted = {c: res.out["x"][k] / si for k, c in enumerate(cells) if res.usable[k]}
    names = res.model.param_names
    print("ionjax's fit against the authors' maximum-likelihood parameters (their MCMC): "
          "largest |relative difference| and the parameter; all differences [%]")
    for c, p in fitted.items():
        rel = 100 * (p / np.asarray(ref.MAXIMUM_LIKELIHOOD[c]) - 1)
        j = int(np.argmax(np.abs(rel)))
        print(f"  {c}: {abs(rel[j]):.3g}% ({names[j]}); "
              + " ".join(f"{n} {r:+.2g}" for n, r in zip(names, rel)))
    return fitted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sine-wave-repo", required=True, type=Path,
                        help="checkout or extracted copy of github mirams/sine-wave")
    parser.add_argument("--cells", default=",".join(ref.CELLS),
                        help="comma-separated cell numbers (default: the paper's 9)")
    parser.add_argument("--params", choices=("authors", "ionjax"), default="authors",
                        help="whose sine-wave fit to simulate (default: the authors')")
    args = parser.parse_args()
    root = args.sine_wave_repo
    if not (root / "Protocols" / "sine_wave_protocol.mat").is_file():
        sys.exit(f"error: --sine-wave-repo {root} has no Protocols/sine_wave_protocol.mat: "
                 "is it a copy of github mirams/sine-wave?")
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = [c for c in cells if c not in ref.MAXIMUM_LIKELIHOOD]
    if unknown:
        sys.exit(f"error: --cells {','.join(unknown)}: not one of the paper's cells "
                 f"{', '.join(ref.CELLS)}")

    print(machine())
    print(f"Beattie et al. (2018) doi:{ref.DOI}; parameters from mirams/sine-wave@{ref.COMMIT[:7]} "
          "(maximum likelihood, MCMC)")
    simulate = _simulator()
    fitted = _ionjax_fits(root, cells) if args.params == "ionjax" else {}
    print(f"{'cell':>3} {'file':>8} {'protocol':<22} {'samples':>8} {'RMS err':>9} "
          f"{'no spikes':>9} {'mean|err|':>9} {'RMS data':>9}  [nA]; other"
          + ("  (errors with ionjax's fit; 'authors' the RMS error with theirs)"
             if fitted else ""))
    start, missing = time.perf_counter(), []
    for cell in cells:
        number = ref.CELLS.index(cell) + 1
        for protocol in PROTOCOLS:
            recording = root / "ExperimentalData" / cell / (
                f"{protocol}_{cell}_dofetilide_subtracted_leak_subtracted.mat")
            if not recording.is_file() or recording.stat().st_size == 0:
                missing.append(f"{cell}/{protocol}")
                continue
            v_mv = _load(root / "Protocols" / f"{protocol}_protocol.mat")
            data = _load(recording)
            if data.size != v_mv.size:
                print(f"{number:>3} {cell:>8} {protocol:<22} refused: {data.size} recorded samples "
                      f"but {v_mv.size} protocol samples")
                continue
            if args.params == "ionjax" and cell not in fitted:
                print(f"{number:>3} {cell:>8} {protocol:<22} no ionjax fit (refused)")
                continue
            sim = simulate(protocol, v_mv, cell, fitted.get(cell))
            err = sim - data
            other = ""
            if fitted:
                theirs_err = simulate(protocol, v_mv, cell) - data
                other = f"authors {np.sqrt(np.mean(theirs_err ** 2)):.4f}; "
            if protocol == "sine_wave":
                other += (f"log-likelihood {ref.log_likelihood(sim, data):.2f} "
                         f"(authors' code: {ref.LOG_LIKELIHOOD[cell]:.2f})")
            theirs = root / AUTHORS_SIMULATION.get(protocol, "-")
            if cell == "16713110" and theirs.is_file() and not fitted:
                authors = np.loadtxt(theirs)[:, 1]
                if authors.size == sim.size:
                    worst = np.abs(sim - authors).max() / np.abs(authors).max()
                    other += f"{'; ' if other else ''}vs authors' simulation: max |diff| "
                    other += f"{worst:.1e} of max |I|"
            calm = _without_spikes(v_mv)
            print(f"{number:>3} {cell:>8} {protocol:<22} {data.size:>8} "
                  f"{np.sqrt(np.mean(err**2)):>9.4f} {np.sqrt(np.mean(err[calm]**2)):>9.4f} "
                  f"{np.mean(np.abs(err)):>9.4f} "
                  f"{np.sqrt(np.mean(data**2)):>9.4f}  {other}")
    print(f"{time.perf_counter() - start:.1f} s for all simulations (compilation included)")
    if missing:
        print("not in this copy of the repository (empty or absent recordings): "
              + ", ".join(missing))


if __name__ == "__main__":
    main()
