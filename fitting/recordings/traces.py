"""Whole current traces for ``fitting.fit_traces``: the Beattie et al. (2018) dataset layout.

``read_beattie2018(folder)`` reads the folder laid out as the authors' supplementary data
(github mirams/sine-wave, CC BY 4.0): ``sine_wave_protocol.mat`` (the command [mV], one sample
per 0.1 ms) and ``sine_wave/sine_wave_<cell>.mat`` (the leak- and dofetilide-subtracted current
[nA]), each a MATLAB file with one variable ``T`` (n, 1), and ``cell_index.txt`` (the paper's
cell numbers). Temperatures per cell are those of the paper's code (``TEMPERATURES``, degrees
Celsius), so that E_K comes from Nernst at each cell's temperature. Everything returned is SI.

Reference: Beattie et al. (2018) J Physiol 596:1813, doi:10.1113/JP275733.
"""

import re
from pathlib import Path
from typing import Any

import numpy as np

from ionjax.units import celsius, mV, ms, nA

__all__ = ["TEMPERATURES", "read_beattie2018"]

# the cells' temperatures [degrees Celsius] (the authors' code; the dataset README)
TEMPERATURES = {"16708016": 21.8, "16708060": 21.7, "16704047": 21.6, "16704007": 21.2,
                "16713003": 21.3, "16713110": 21.4, "16715049": 21.4, "16707014": 21.4,
                "16708118": 21.7}
SAMPLE = 0.1 * ms  # the dataset's sample interval [s]


def _matrix(path):
    from scipy.io import loadmat  # here: scipy loads only when a .mat file is read

    data = loadmat(str(path))
    if "T" not in data:
        raise ValueError(f"{path}: no variable 'T' (this dataset's layout); found "
                         f"{sorted(k for k in data if not k.startswith('__'))}")
    return np.asarray(data["T"], float).ravel()


def _paper_order(folder):
    """Cell ids in the paper's numbering (cell 1 first), from cell_index.txt when present."""
    index = folder / "cell_index.txt"
    if index.is_file():
        found = re.findall(r"cell\s*(\d+)\s*=\s*(\d+)", index.read_text())
        if found:
            return [cell for _, cell in sorted(found, key=lambda x: int(x[0]))]
    return sorted(TEMPERATURES)


def read_beattie2018(folder: Any, cells: Any = None) -> dict:
    """The sine-wave traces of the dataset in ``folder``, all cells stacked.

    Args:
      folder: the dataset folder (``sine_wave_protocol.mat``, ``sine_wave/``).
      cells: cell ids (e.g. ["16713110"]); default all, in the paper's order (cell 1..9).

    Returns:
      dict with ``t`` (T,) [s], ``v`` (T,) [V], ``i`` (C, T) [A], ``temperature`` (C,) [K],
      ``cells`` (C,) ids and ``numbers`` (C,) the paper's cell numbers (1-based).
    """
    folder = Path(folder)
    protocol = folder / "sine_wave_protocol.mat"
    if not protocol.is_file():
        raise FileNotFoundError(f"{protocol} not found: is {folder} the beattie2018 folder?")
    order = _paper_order(folder)
    cells = order if cells is None else [str(c) for c in cells]
    unknown = [c for c in cells if c not in TEMPERATURES]
    if unknown:
        raise ValueError(f"unknown cell(s) {unknown}: the dataset has {sorted(TEMPERATURES)}")
    v = _matrix(protocol) * mV
    currents = []
    for cell in cells:
        i = _matrix(folder / "sine_wave" / f"sine_wave_{cell}.mat") * nA
        if i.shape != v.shape:
            raise ValueError(f"sine_wave_{cell}.mat has {i.size} samples, the protocol {v.size}")
        currents.append(i)
    return dict(t=np.arange(v.size) * SAMPLE, v=v, i=np.stack(currents),
                temperature=np.array([celsius(TEMPERATURES[c]) for c in cells]),
                cells=np.array(cells),
                numbers=np.array([order.index(c) + 1 if c in order else 0 for c in cells]))
