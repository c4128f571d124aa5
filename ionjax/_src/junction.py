"""Liquid junction potential (LJP) between a pipette and a bath solution: the Henderson equation.

Where two different electrolyte solutions meet (at the tip of a patch pipette) the ions diffuse
down their gradients at different speeds, and a diffusion potential builds up until the net
current across the junction is zero. With the Nernst-Planck flux of each ion,
J_i = -D_i (dc_i/dx + z_i c_i (F/RT) dphi/dx), zero current (sum_i z_i J_i = 0) gives

    dphi/dx = -(RT/F) * sum_i z_i D_i dc_i/dx / sum_i z_i^2 D_i c_i.

Henderson (1907) assumes a junction in which every concentration goes linearly from its value in
solution 1 to its value in solution 2 (a mixing layer). The numerator is then constant, the
denominator linear in x, and the integral is closed:

    phi_2 - phi_1 = -(RT/F) * A / B * ln(S_2 / S_1),
    A = sum_i z_i D_i (c_i2 - c_i1),   B = sum_i z_i^2 D_i (c_i2 - c_i1) = S_2 - S_1,
    S_k = sum_i z_i^2 D_i c_ik.

For a single salt this reduces to Planck's exact result, e.g. (t+ - t-)(RT/zF) ln(c_1/c_2) for a
z:z salt. Sign check: dilute HCl (2) against concentrated HCl (1): H+ outruns Cl- into the dilute
side, which charges positive; indeed A > 0, B > 0, ln(S_2/S_1) < 0 gives phi_2 > phi_1.

Mobility, not conductivity. What enters is each ion's mobility per unit *force* (Barry's
"generalised mobility"), i.e. its diffusion coefficient D_i = u_i RT (Nernst-Einstein). Tables
list the limiting *equivalent* conductivity lambda_eq = lambda_i / |z_i| (the conductivity per
unit charge, "1/2 Ca2+": 59.47 S cm^2/mol), and

    D_i = (RT / F^2) lambda_eq,i / |z_i| = RT lambda_i / (z_i^2 F^2),

with lambda_i the molar ionic conductivity. A divalent ion therefore moves at half the speed that
its equivalent conductivity suggests: Barry's JPCalc relative mobility of Ca2+ is
D_Ca / D_K = 59.5 / (2 x 73.5) = 0.405, not 0.81. The equation is homogeneous in the D_i, so only
the ratios D_i / D_K matter; they are evaluated at 25 degC and used at any other temperature, which
then enters only through RT/F (each absolute D rises by 2-3 %/K, their ratios typically by a few
tenths of a percent per kelvin).

Sign convention (Barry & Lynch 1991; Neher 1992): LJP = phi_bath - phi_pipette, the potential of
the bath relative to the pipette solution, and the true membrane potential is
V_membrane = V_command - LJP. A K-gluconate pipette in a NaCl bath gives about +15 mV, so the cell
sits about 15 mV more negative than the amplifier reads.

Limitations: concentrations stand for activities (at 150 mM the activity coefficients are about
0.75 on both sides, which mostly cancels in the ratios), mobilities are the infinite-dilution
values, and the linear mixing profile is an assumption; for mixtures, and polyvalent ions in
particular, the stationary Nernst-Planck solution (Marino et al. 2014, arXiv:1403.3640, used by
LJPcalc) can differ from it. Henderson values are what JPCalc and most of the patch-clamp
literature report.

References: P. Henderson, Z. Phys. Chem. 59, 118 (1907) and 63, 325 (1908);
P.H. Barry & J.W. Lynch, J. Membr. Biol. 121, 101 (1991), doi:10.1007/BF01870526;
P.H. Barry, J. Neurosci. Methods 51, 107 (1994), doi:10.1016/0165-0270(94)90031-0 (JPCalc);
E. Neher, Methods Enzymol. 207, 123 (1992), doi:10.1016/0076-6879(92)07008-C.
"""

import types
import warnings
from collections.abc import Mapping
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ionjax._src._common import as_float, is_concrete, nan_unless, valid_temperature
from ionjax._src.constants import FARADAY, GAS_CONSTANT, ZERO_CELSIUS

_T25 = ZERO_CELSIUS + 25.0  # K, the temperature of the tabulated mobilities

# Sources of the table values (one key per ion below).
_CRC = ("P. Vanysek, 'Ionic conductivity and diffusion at infinite dilution', CRC Handbook of "
        "Chemistry and Physics (CRC Press), lambda per unit charge at 25 degC")
_LANGE = ("J.A. Dean, Lange's Handbook of Chemistry, 15th ed. (McGraw-Hill, 1999), Table 8.32, "
          "limiting equivalent ionic conductance at 25 degC")
_BARRY = ("JPCalc relative mobility D/D_K: P.H. Barry & J.W. Lynch, J. Membr. Biol. 121, 101 "
          "(1991) Table 1, doi:10.1007/BF01870526; P.H. Barry, J. Neurosci. Methods 51, 107 "
          "(1994), doi:10.1016/0165-0270(94)90031-0")
_NG_BARRY = ("relative mobility D/D_K measured by B. Ng & P.H. Barry, J. Neurosci. Methods 56, 37 "
             "(1995), doi:10.1016/0165-0270(94)00087-W (JPCalc table)")

# (canonical name, valence, value, kind, source, aliases). kind "lambda": limiting equivalent
# conductivity lambda/|z| [S cm^2/mol = 1e-4 S m^2/mol] at 25 degC; kind "relative": D / D_K.
_TABLE_DATA = (
    # inorganic cations
    ("H", +1, 349.65, "lambda", _CRC, ()),
    ("Li", +1, 38.66, "lambda", _CRC, ()),
    ("Na", +1, 50.08, "lambda", _CRC, ()),
    ("K", +1, 73.48, "lambda", _CRC, ()),
    ("Rb", +1, 77.8, "lambda", _LANGE, ()),
    ("Cs", +1, 77.2, "lambda", _CRC, ()),
    ("NH4", +1, 73.5, "lambda", _CRC, ("ammonium",)),
    ("Mg", +2, 53.0, "lambda", _CRC, ()),
    ("Ca", +2, 59.47, "lambda", _CRC, ()),
    ("Sr", +2, 59.46, "lambda", _LANGE, ()),
    ("Ba", +2, 63.6, "lambda", _CRC, ()),
    # organic cations
    ("TMA", +1, 44.9, "lambda", _LANGE, ("tetramethylammonium",)),
    ("TEA", +1, 32.6, "lambda", _LANGE, ("tetraethylammonium",)),
    ("choline", +1, 0.51, "relative", _BARRY, ()),
    ("NMDG", +1, 0.33, "relative", _NG_BARRY, ("N-methyl-D-glucamine",)),
    ("Tris", +1, 0.40, "relative", _NG_BARRY, ()),  # TrisH+
    # inorganic anions
    ("OH", -1, 198.0, "lambda", _CRC, ()),
    ("F", -1, 55.4, "lambda", _CRC, ()),
    ("Cl", -1, 76.31, "lambda", _CRC, ()),
    ("Br", -1, 78.1, "lambda", _CRC, ()),
    ("I", -1, 76.8, "lambda", _CRC, ()),
    ("NO3", -1, 71.42, "lambda", _CRC, ()),
    ("HCO3", -1, 44.5, "lambda", _CRC, ()),
    ("H2PO4", -1, 0.45, "relative", _BARRY, ()),
    ("HPO4", -2, 0.390, "relative", _BARRY, ()),
    ("SO4", -2, 80.0, "lambda", _CRC, ()),
    # organic anions
    ("acetate", -1, 40.9, "lambda", _CRC, ("CH3COO",)),
    ("methanesulfonate", -1, 48.8, "lambda", _LANGE, ("mesylate", "CH3SO3", "MeSO3")),
    ("isethionate", -1, 0.52, "relative", _NG_BARRY, ()),
    ("gluconate", -1, 0.33, "relative", _NG_BARRY, ()),
    ("aspartate", -1, 0.30, "relative", _NG_BARRY, ()),
    ("glutamate", -1, 0.26, "relative", _NG_BARRY, ()),
    ("HEPES", -1, 0.30, "relative", _NG_BARRY, ()),  # the HEPES- anion
    ("MES", -1, 0.37, "relative", _NG_BARRY, ()),
    ("MOPS", -1, 0.35, "relative", _NG_BARRY, ()),
    ("EGTA", -2, 0.24, "relative", _NG_BARRY, ()),  # H2EGTA2-, the free form at pH 7.2
)


class Ion(NamedTuple):
    """One row of ``ION_TABLE``.

    Attributes:
      name: canonical name (lookups are case-insensitive).
      valence: signed charge number z.
      diffusion: limiting diffusion coefficient D at 25 degC [m^2/s], proportional to the mobility
        per unit force (D = u RT).
      relative_mobility: D / D_K, the "relative mobility" of Barry's JPCalc.
      source: where the value comes from.
    """

    name: str
    valence: int
    diffusion: float
    relative_mobility: float
    source: str


def _diffusion_from_lambda(lambda_eq, z):
    """D = (RT/F^2) lambda_eq / |z| at 25 degC, lambda_eq in S cm^2/mol (= 1e-4 S m^2/mol)."""
    return GAS_CONSTANT * _T25 / FARADAY**2 * lambda_eq * 1e-4 / abs(z)


def _build_table():
    d_k = _diffusion_from_lambda(73.48, 1)
    table, lookup = {}, {}
    for name, z, value, kind, source, aliases in _TABLE_DATA:
        d = _diffusion_from_lambda(value, z) if kind == "lambda" else value * d_k
        table[name] = Ion(name, z, d, d / d_k, source)
        for key in (name, *aliases):
            lookup[key.lower()] = name
    return types.MappingProxyType(table), types.MappingProxyType(lookup)


# Read-only mapping canonical name -> Ion, in table order (cations, then anions).
ION_TABLE, _LOOKUP = _build_table()


def _canonical(name):
    key = name.lower() if isinstance(name, str) else None
    if key not in _LOOKUP:
        raise ValueError(f"unknown ion {name!r}; known ions (case-insensitive): "
                         f"{', '.join(ION_TABLE)}")
    return _LOOKUP[key]


def ion_mobility(name):
    """Valence and limiting diffusion coefficient of an ion of ``ION_TABLE``.

    D is the quantity the Henderson equation needs: proportional to the mobility per unit force
    (D = u RT), and related to the tabulated limiting equivalent conductivity lambda_eq (per unit
    charge) by D = (RT/F^2) lambda_eq / |z|.

    Args:
      name: ion name, case-insensitive (``"Na"``, ``"ca"``, ``"Gluconate"``, ...).

    Returns:
      ``(valence, diffusion)``: the signed charge number (int) and D at 25 degC [m^2/s] (float);
      e.g. ``(2, 7.92e-10)`` for ``"Ca"``.

    Raises:
      ValueError: for a name not in the table (the message lists the known names).

    Reference: CRC Handbook (Vanysek), "Ionic conductivity and diffusion at infinite dilution";
    Barry (1994) doi:10.1016/0165-0270(94)90031-0; ``ION_TABLE[name].source`` per ion.
    """
    ion = ION_TABLE[_canonical(name)]
    return ion.valence, ion.diffusion


def _canonical_solution(solution, label):
    """{canonical name: value} of a mapping ion name -> concentration, rejecting duplicates."""
    if not isinstance(solution, Mapping):
        raise TypeError(f"{label} must be a mapping ion name -> concentration; got {solution!r}")
    out = {}
    for name, value in solution.items():
        key = _canonical(name)
        if key in out:
            raise ValueError(f"{label} names ion {key!r} twice (names are case-insensitive)")
        out[key] = value
    return out


def _imbalance(solution):
    """|sum z c| / mean(cation charge, anion charge) of a canonical solution (concrete values)."""
    pos = neg = 0.0
    for name, c in solution.items():
        charge = ION_TABLE[name].valence * np.asarray(c, dtype=float)
        pos = pos + np.where(charge > 0, charge, 0.0)
        neg = neg - np.where(charge < 0, charge, 0.0)
    mean = (pos + neg) / 2
    return np.abs(pos - neg) / np.where(mean > 0, mean, 1.0)


def check_electroneutrality(solution, *, rtol=0.01, label="solution"):
    """Warn when a solution is not electroneutral (host side, on concrete values).

    The relative imbalance is |sum_i z_i c_i| / ((Q+ + Q-) / 2), the net charge over the mean of
    the cation charge Q+ = sum_{z>0} z c and the anion charge Q- = sum_{z<0} |z| c. Real solutions
    are electroneutral; a listed composition that is not has usually lost an ion (the Na+ or K+ of
    a titration, the Cl- of a salt), and its LJP is wrong. ``liquid_junction_potential`` calls this
    on both solutions whenever their concentrations are concrete (not inside jit or grad) and only
    warns: it never changes the result.

    Args:
      solution: mapping ion name -> concentration [mol/m^3 = mM] (floats or arrays, broadcast).
      rtol: tolerated relative imbalance, default 0.01 (1 %).
      label: name of the solution used in the warning (``"pipette"``, ``"bath"``).

    Returns:
      The relative imbalance as a NumPy array of the broadcast shape (0 for an empty solution).

    Warns:
      UserWarning: if the imbalance exceeds ``rtol`` anywhere.

    Raises:
      ValueError: for an unknown ion name.
    """
    return _warn_unless_neutral(_canonical_solution(solution, label), rtol, label, stacklevel=3)


def _warn_unless_neutral(solution, rtol, label, stacklevel):
    imbalance = _imbalance(solution)
    if np.any(imbalance > rtol):
        warnings.warn(f"{label} is not electroneutral: cation and anion charge differ by "
                      f"{100 * float(np.max(imbalance)):.3g} % (more than {100 * rtol:.3g} %); "
                      f"the liquid junction potential assumes electroneutral solutions",
                      UserWarning, stacklevel=stacklevel)
    return imbalance


# Taylor series of ln(1 + x) / x = sum_n (-1)^n x^n / (n + 1), coefficients for x^0 .. x^8.
_LOG1P_SERIES = tuple((-1.0) ** n / (n + 1) for n in range(9))


def _log1p_over_x(x):
    """ln(1 + x) / x for x > -1, with its limit 1 at x = 0 and exact derivatives around it.

    The direct formula is exact in value for x != 0, but its autodiff derivative loses ~eps/x^2 to
    cancellation near 0; below a dtype-dependent threshold the series (truncation < eps) is used
    ("double where": the unused branch is fed a safe argument so that no NaN reaches a gradient).
    """
    threshold = {64: 1e-2, 32: 0.1}.get(jnp.finfo(x.dtype).bits, 0.3)
    small = jnp.abs(x) < threshold
    x_safe = jnp.where(small, jnp.ones_like(x), x)
    series = jnp.polyval(jnp.asarray(_LOG1P_SERIES[::-1], x.dtype), x)
    return jnp.where(small, series, jnp.log1p(x_safe) / x_safe)


def liquid_junction_potential(pipette, bath, *, temperature):
    """Liquid junction potential of the bath relative to the pipette solution (Henderson equation).

        LJP = phi_bath - phi_pipette = -(RT/F) * A / B * ln(S_bath / S_pipette),
        A = sum_i z_i D_i (c_i,bath - c_i,pipette),   B = sum_i z_i^2 D_i (c_i,bath - c_i,pipette),
        S = sum_i z_i^2 D_i c_i,

    with D_i the limiting diffusion coefficient (mobility per unit force) of ion i from
    ``ION_TABLE``. The membrane potential is V_membrane = V_command - LJP. Evaluated as
    -(RT/F) A ln(1 + x) / (x S_pipette) with x = B / S_pipette, so that the removable 0/0 of equal
    S (B -> 0) is finite with exact derivatives, and identical solutions give exactly 0.

    The mobilities are those at 25 degC; ``temperature`` enters only through RT/F (only mobility
    ratios matter, and these change by only a few tenths of a percent per kelvin).

    Args:
      pipette: mapping ion name -> concentration [mol/m^3 = mM] of the pipette solution. Names as
        in ``ION_TABLE`` ("Na", "K", "Cl", "Ca", "gluconate", ...), case-insensitive; values are
        numbers or arrays, all broadcast together. Ions absent from one side have concentration 0
        there. Give free ion concentrations (e.g. the HEPES- and Na+ of a NaOH-titrated HEPES,
        not the total HEPES).
      bath: the same for the bath (extracellular) solution.
      temperature: [K], keyword-only, broadcast with the concentrations.

    Returns:
      LJP [V], the broadcast shape of all concentrations and the temperature, in their floating
      dtype (float32 in, float32 out). E.g. +4.4 mV for a 150 mM KCl pipette in 150 mM NaCl at
      25 degC. NaN where a concentration is negative, a solution has no ions, or T is outside
      200..400 K (``TEMPERATURE_RANGE``). An ion absent from one side (0 there) is normal.

    Raises:
      ValueError: (at trace time) for an unknown ion name, listing the known names, or an ion
        named twice in one solution.

    Warns:
      UserWarning: when the concentrations are concrete and a solution is more than 1 % away from
        electroneutrality (see ``check_electroneutrality``); the result is not changed.

    References: Henderson, Z. Phys. Chem. 59, 118 (1907); Barry & Lynch (1991)
    doi:10.1007/BF01870526; Barry (1994) doi:10.1016/0165-0270(94)90031-0.
    """
    pip = _canonical_solution(pipette, "pipette")
    bat = _canonical_solution(bath, "bath")
    names = [name for name in ION_TABLE if name in pip or name in bat]
    if not names:
        raise ValueError("pipette and bath name no ions")
    for label, solution in (("pipette", pip), ("bath", bat)):
        if is_concrete(solution.values()):
            _warn_unless_neutral(solution, 0.01, label, stacklevel=3)

    values = [pip.get(n, 0.0) for n in names] + [bat.get(n, 0.0) for n in names]
    *values, t = as_float(*values, config=(temperature,))
    shape = jnp.broadcast_shapes(*(v.shape for v in values), t.shape)
    c = jnp.stack([jnp.broadcast_to(v, shape) for v in values], axis=-1)
    c_pip, c_bath = c[..., :len(names)], c[..., len(names):]
    dtype = c.dtype
    z = jnp.asarray([ION_TABLE[n].valence for n in names], dtype)
    d = jnp.asarray([ION_TABLE[n].relative_mobility for n in names], dtype)  # D / D_K

    dc = c_bath - c_pip
    a = jnp.sum(z * d * dc, axis=-1)
    b = jnp.sum(z * z * d * dc, axis=-1)
    s_pip = jnp.sum(z * z * d * c_pip, axis=-1)
    s_bath = jnp.sum(z * z * d * c_bath, axis=-1)
    valid = (jnp.all(c >= 0, axis=-1) & (s_pip > 0) & (s_bath > 0) & valid_temperature(t))
    s_safe = jnp.where(valid, s_pip, jnp.ones_like(s_pip))
    x = jnp.where(valid, b / s_safe, jnp.zeros_like(b))
    ljp = -(GAS_CONSTANT / FARADAY) * t * a * _log1p_over_x(x) / s_safe
    return nan_unless(valid, ljp)
