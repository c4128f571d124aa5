"""Host-side checks of a ``PNPChannel``'s configuration: geometry, baths, the grid.

Accuracy rule of the grid: Scharfetter-Gummel is second order in the cell h = L / N, and its
error is set by h against the shortest Debye length in the pore, lambda_D = sqrt(eps0 eps_r R T
/ (F^2 I)) with I the largest of the baths' sum z^2 c and 2 |Q| max|w| (the charge's counter-ions
as a 1:1 salt). N >= GRID_PER_DEBYE * L / lambda_D keeps the current within ~1e-3 of the grid
limit (``tests/test_pnp_fit.py`` checks it against a fine grid).
"""

from typing import Any

import numpy as np

from ionjax._src.constants import FARADAY, GAS_CONSTANT, VACUUM_PERMITTIVITY
from ionjax._src.validation import MAX_LENGTH, NEUTRALITY_RTOL

__all__ = ["AREA_RANGE", "GRID_PER_DEBYE", "GRID_RANGE", "LENGTH_RANGE", "NEUTRALITY", "baths_of",
           "check_grid", "grid_needed", "positive", "screening_strength"]

# plausible pores: a unit slip (nm typed as m, nm^2 as m^2) lands far outside these ranges
LENGTH_RANGE = (1e-10, MAX_LENGTH)  # m: 1 angstrom (a filter) to 100 um (track-etched foils)
AREA_RANGE = (1e-21, 1e-10)   # m^2: 0.001 nm^2 to ~10 um diameter
GRID_RANGE = (8, 4096)  # cells along the pore: second-order accurate from 8; time grows as N
GRID_PER_DEBYE = 6.0  # cells per (pore length / shortest Debye length): current within ~1e-3
NEUTRALITY = NEUTRALITY_RTOL  # a bath's |sum z c| relative to sum |z| c (as pnp_steady)


def positive(name: str, value: Any, plausible: Any | None = None, unit: str = "",
             example: str = "") -> Any:
    """``value`` as a float, refused unless finite, > 0 and within ``plausible``."""
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value}")
    if plausible is not None and not plausible[0] <= value <= plausible[1]:
        raise ValueError(f"{name} = {value:g} {unit} is not a pore's (SI: {plausible[0]:g} to "
                         f"{plausible[1]:g} {unit}; e.g. {example})")
    return value


def screening_strength(z: Any, baths: Any) -> Any:
    """The largest sum_s z_s^2 c_s [mol/m^3] over the baths' sides (twice the ionic strength
    I of ``ionjax.ionic_strength``; lambda_D = sqrt(eps0 eps_r R T / (F^2 sum z^2 c)))."""
    return max(max(sum(zk * zk * c for zk, c in zip(z, side)) for side in bath)
               for bath in baths)


def grid_needed(length: Any, strength: Any, permittivity: Any, temperature: Any) -> Any:
    """Cells needed along a pore of length [m] where sum z^2 c reaches ``strength`` [mol/m^3]
    (a float, or a traced array under jit)."""
    inverse_debye = (FARADAY**2 * strength
                     / (VACUUM_PERMITTIVITY * permittivity * GAS_CONSTANT * temperature)) ** 0.5
    return GRID_PER_DEBYE * length * inverse_debye


def check_grid(length: Any, n_grid: int, strength: Any, permittivity: Any,
               temperature: Any) -> None:
    """Refuse a grid that does not resolve the Debye length at ``strength`` (module doc)."""
    needed = int(np.ceil(grid_needed(length, strength, permittivity, temperature)))
    if needed > GRID_RANGE[1]:
        raise ValueError(f"a pore of {length:g} m at sum z^2 c = {strength:g} mM needs "
                         f"{needed} cells to resolve its Debye length, more than this solver's "
                         f"{GRID_RANGE[1]}: too long for it at this concentration")
    if n_grid < needed:
        raise ValueError(f"n_grid={n_grid} cells of {length / n_grid:.3g} m do not resolve the "
                         f"Debye length in this pore: give n_grid >= {needed}")


def _neutral(z, bath, k):
    for label, side in zip(("inside", "outside"), bath):
        net = sum(zk * c for zk, c in zip(z, side))
        if abs(net) > NEUTRALITY * sum(abs(zk) * c for zk, c in zip(z, side)):
            raise ValueError(f"bath {k} {label} is not electroneutral (sum z c = {net:g} mM): "
                             "list every ion of the solution, permeant or not")


def baths_of(z: Any, c_in: Any, c_out: Any, temperature: Any, points: Any, ion_config: Any) -> Any:
    """((c_in, c_out) per bath, points or None), checked (``ion_config``: the models' check
    of one bath, returning (z, c_in, c_out, temperature)); every concentration > 0."""
    c_in, c_out = np.asarray(c_in, float), np.asarray(c_out, float)
    if c_in.ndim < 2 and c_out.ndim < 2:
        if points is not None:
            raise ValueError("points applies to several baths (c_in, c_out of shape (B, S))")
        baths = (ion_config(z, c_in, c_out, temperature)[1:3],)
    else:
        if c_in.ndim != 2 or c_in.shape != c_out.shape or not len(c_in):
            raise ValueError(f"c_in and c_out must both be (S,) or both (baths, S) with at "
                             f"least one bath; got shapes {c_in.shape} and {c_out.shape}")
        try:
            points = tuple(points)
        except TypeError:
            points = None
        if points is None or len(points) != len(c_in) or any(
                isinstance(n, (bool, str)) or not np.isreal(n) or int(n) != n or n < 1
                for n in points):
            raise ValueError(f"{len(c_in)} baths need points: a sequence of one count >= 1 "
                             f"of I-V points per bath; got {points!r}")
        baths = tuple(ion_config(z, ci, co, temperature)[1:3] for ci, co in zip(c_in, c_out))
        points = tuple(int(n) for n in points)
    zs = np.atleast_1d(np.asarray(z, float))
    for k, bath in enumerate(baths):
        for label, side in zip(("c_in", "c_out"), bath):
            if min(side) <= 0:  # ion_config accepts 0 (GHK); the PNP solver works in ln c
                raise ValueError(f"bath {k} {label} = {min(side):g} mM: PNPChannel needs every "
                                 "ion on both sides (c > 0; the solver works with ln c); for an "
                                 "ion absent from one side use GHK or MultiIonGHK")
        _neutral(zs, bath, k)
    return baths, points
