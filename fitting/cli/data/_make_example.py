"""Generate ``example_iv.csv``: a SYNTHETIC peak Na+ current I-V of four cells (not a recording).

Run ``python -m fitting.cli.data._make_example`` to regenerate it (deterministic seed).

What it simulates: whole-cell peak Na+ currents at command potentials -90..+50 mV (10 mV steps),
Boltzmann-gated ohmic I = g_max P_o(v) (v - E_rev), with cell-to-cell variation, 12 pA Gaussian
noise, and the liquid junction potential of the solutions below: the amplifier's command
potential is v_cmd = v_membrane + LJP, so the table's voltages are command potentials and an
analysis must correct them (V_m = V_cmd - LJP), as ``ionjax example`` does.

Solutions (mM): pipette Cs 130, F 120, Cl 20, Na 10; bath Na 140, K 4, Ca 2, Mg 1, Cl 150, at
22 degC. True parameters per cell are in ``TRUTH`` (SI).
"""

from pathlib import Path

import numpy as np

from ionjax.units import celsius

PIPETTE = {"Cs": 130.0, "F": 120.0, "Cl": 20.0, "Na": 10.0}
BATH = {"Na": 140.0, "K": 4.0, "Ca": 2.0, "Mg": 1.0, "Cl": 150.0}
TEMPERATURE = celsius(22.0)  # [K]
NOISE = 12e-12
TRUTH = {
    "g_max": (9e-9, 12e-9, 7.5e-9, 10.5e-9),
    "e_rev": (0.058, 0.055, 0.061, 0.057),
    "v_half": (-0.027, -0.022, -0.030, -0.025),
    "slope": (0.0062, 0.0071, 0.0058, 0.0066),
}


def simulate(seed=20261124):
    import ionjax

    v_cmd = np.arange(-90.0, 50.1, 10.0) * 1e-3
    ljp = float(ionjax.liquid_junction_potential(PIPETTE, BATH, temperature=TEMPERATURE))
    v_m = v_cmd - ljp
    rng = np.random.default_rng(seed)
    currents = []
    for k in range(len(TRUTH["g_max"])):
        p = {name: values[k] for name, values in TRUTH.items()}
        i = p["g_max"] / (1 + np.exp((p["v_half"] - v_m) / p["slope"])) * (v_m - p["e_rev"])
        currents.append(i + rng.normal(0.0, NOISE, v_m.size))
    return v_cmd, np.array(currents), ljp


def main():
    v_cmd, currents, _ = simulate()
    header = "voltage_mV," + ",".join(f"cell{k + 1}_pA" for k in range(len(currents)))
    rows = [",".join([f"{v * 1e3:.1f}"] + [f"{i * 1e12:.2f}" for i in col])
            for v, col in zip(v_cmd, currents.T)]
    path = Path(__file__).with_name("example_iv.csv")
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
