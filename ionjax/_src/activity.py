"""Ionic strength and single-ion activity coefficients (Debye-Hueckel, Davies).

In an electrolyte every ion is surrounded by an atmosphere of net opposite charge, which lowers
its chemical potential: mu = mu0 + RT ln(gamma c), with an activity coefficient gamma < 1. The
activity a = gamma c, not the concentration, is what enters the Nernst and GHK equations
(``nernst_potential(activities(...)...)``).

Debye-Hueckel theory gives gamma from two lengths only:

* the Bjerrum length l_B = e^2 / (4 pi eps0 eps_r k_B T), the distance at which two unit charges
  interact with k_B T (0.716 nm in water at 25 degC), and
* the Debye screening length 1/kappa, kappa^2 = 8 pi l_B N_A I with the ionic strength
  I = 1/2 sum_i c_i z_i^2 [mol/m^3] (0.78 nm in 150 mM NaCl).

The limiting law is ln gamma = -z^2 l_B kappa / 2, i.e. log10 gamma = -A z^2 sqrt(I) with
A ~ 0.51 (mol/L)^-1/2 at 25 degC; an ion of finite size a screens less, ln gamma =
-z^2 l_B kappa / (2 (1 + kappa a)) = -z^2 A sqrt(I) ln10 / (1 + B a sqrt(I)) (extended
Debye-Hueckel, with Kielland's ion sizes); Davies' empirical extension,
log10 gamma = -A z^2 (sqrt(I)/(1 + sqrt(I)) - 0.3 I) with I in mol/L, needs no ion size and is
good to a few percent up to I ~ 0.1-0.2 mol/L (physiological saline is I ~ 0.15 mol/L).

A and B are computed here from first principles (CODATA constants) and the relative permittivity
of water eps_r(T) of Malmberg & Maryott (1956), so they follow the temperature. Only
concentrations (mol per volume) enter, so no water density is needed; the classical tables of A
and B on the molal scale (mol/kg) differ by the factor sqrt(rho_water / (kg/L)) (0.15 % at
25 degC).

Single-ion activity coefficients are not measurable on their own (only the mean
gamma_+- = (gamma_+^nu+ gamma_-^nu-)^(1/nu) of a neutral salt is); the conventional
Debye-Hueckel/Davies values returned here are the standard non-thermodynamic convention.

References: P. Debye & E. Hueckel, Phys. Z. 24, 185 (1923); C.W. Davies, Ion Association,
Butterworths (1962); J. Kielland, J. Am. Chem. Soc. 59, 1675 (1937), doi:10.1021/ja01288a032;
C.G. Malmberg & A.A. Maryott, J. Res. Natl. Bur. Stand. 56, 1 (1956), doi:10.6028/jres.056.001;
R.A. Robinson & R.H. Stokes, Electrolyte Solutions, 2nd ed., Butterworths (1959), ch. 9.
"""

import math

import jax.numpy as jnp
import numpy as np

from ionjax._src._common import as_float, nan_unless, valid_temperature
from ionjax._src.validation import MAX_VALENCE
from ionjax._src.constants import (
    AVOGADRO,
    BOLTZMANN,
    ELEMENTARY_CHARGE,
    VACUUM_PERMITTIVITY,
    ZERO_CELSIUS,
)

# l_B * eps_r * T = e^2 / (4 pi eps0 k_B) [m K]; Python floats (weakly typed: never promote).
_BJERRUM_EPS_T = ELEMENTARY_CHARGE**2 / (4.0 * math.pi * VACUUM_PERMITTIVITY * BOLTZMANN)
_LITRE = 1e3  # mol/m^3 per mol/L
_LN10 = math.log(10.0)
_DAVIES_LINEAR = 0.3  # Davies (1962); his 1938 paper used 0.2

# Kielland (1937), Table I: effective hydrated ion size a [Angstrom]; ions grouped by size.
# Na+ (with HCO3- and IO3-) is listed as "4.0-4.5"; the midpoint 4.25 is stored.
_KIELLAND_ANGSTROM = {
    "H": 9.0, "Li": 6.0, "Na": 4.25, "K": 3.0, "Rb": 2.5, "Cs": 2.5, "NH4": 2.5, "Ag": 2.5,
    "Tl": 2.5,
    "Be": 8.0, "Mg": 8.0, "Ca": 6.0, "Sr": 5.0, "Ba": 5.0, "Ra": 5.0, "Mn": 6.0, "Co": 6.0,
    "Ni": 6.0, "Cu": 6.0, "Zn": 6.0, "Cd": 5.0, "Hg": 5.0, "Pb": 4.5, "Sn": 6.0,
    "Al": 9.0, "La": 9.0,
    "F": 3.5, "Cl": 3.0, "Br": 3.0, "I": 3.0, "OH": 3.5, "NO3": 3.0, "ClO3": 3.5, "ClO4": 3.5,
    "BrO3": 3.5, "SCN": 3.5, "HCO3": 4.25, "IO3": 4.25,
    "SO4": 4.0, "CO3": 4.5, "S": 5.0, "C2O4": 4.5,
}
_KIELLAND_LOWER = {name.lower(): a * 1e-10 for name, a in _KIELLAND_ANGSTROM.items()}

_METHODS = ("davies", "debye_huckel", "limiting")


def kielland_ion_size(name):
    """Kielland's effective ion-size parameter a of a named ion, for extended Debye-Hueckel.

    Host-side lookup (not traceable: the names are static). Names are the element or group
    without charge, case-insensitive: ``"H"``, ``"Li"``, ``"Na"``, ``"K"``, ``"Rb"``, ``"Cs"``,
    ``"NH4"``, ``"Ag"``, ``"Tl"``, ``"Be"``, ``"Mg"``, ``"Ca"``, ``"Sr"``, ``"Ba"``, ``"Ra"``,
    ``"Mn"``, ``"Co"``, ``"Ni"``, ``"Cu"``, ``"Zn"``, ``"Cd"``, ``"Hg"`` (Hg2+), ``"Pb"``,
    ``"Sn"`` (Sn2+), ``"Al"``, ``"La"``, ``"F"``, ``"Cl"``, ``"Br"``, ``"I"``, ``"OH"``,
    ``"NO3"``, ``"ClO3"``, ``"ClO4"``, ``"BrO3"``, ``"SCN"``, ``"HCO3"``, ``"IO3"``, ``"SO4"``,
    ``"CO3"``, ``"S"`` (S2-), ``"C2O4"``. Na+, HCO3- and IO3- are given by Kielland as 4.0-4.5 A;
    the midpoint 4.25 A is returned.

    Args:
      name: an ion name (str) or a sequence of names.

    Returns:
      a [m]: a Python float for one name, a NumPy float64 array of shape ``(len(name),)`` for a
      sequence (pass it as ``ion_size``; it is cast to the dtype of the concentrations there).

    Raises:
      KeyError: for a name not in the table, listing the known names.

    Reference: J. Kielland, J. Am. Chem. Soc. 59, 1675 (1937), Table I,
    doi:10.1021/ja01288a032.
    """
    if isinstance(name, str):
        try:
            return _KIELLAND_LOWER[name.lower()]
        except KeyError:
            raise KeyError(f"no Kielland ion size for {name!r}; known: "
                           f"{', '.join(_KIELLAND_ANGSTROM)}") from None
    return np.asarray([kielland_ion_size(n) for n in name], dtype=np.float64)


def ionic_strength(c, z, axis=-1):
    """Ionic strength I = 1/2 sum_i c_i z_i^2 of a solution.

    Args:
      c: concentrations of all ions of the solution [mol/m^3 = mM], >= 0, ions along ``axis``.
      z: their valences, broadcastable against ``c`` (neutral species, z = 0, add nothing).
      axis: the ion axis (default the last).

    Returns:
      I [mol/m^3], the broadcast shape with ``axis`` removed, dtype of ``c`` (e.g. 150 for
      150 mM NaCl, 30 for 10 mM CaCl2). NaN if any concentration is negative.

    Reference: G.N. Lewis & M. Randall, J. Am. Chem. Soc. 43, 1112 (1921); Robinson & Stokes
    (1959) ch. 2.
    """
    c, z = as_float(c, config=(z,))
    c, z = jnp.broadcast_arrays(c, z)
    strength = 0.5 * jnp.sum(c * z * z, axis=axis)
    return nan_unless(jnp.all(c >= 0, axis=axis), strength)


def water_relative_permittivity(*, temperature):
    """Static relative permittivity of liquid water, Malmberg & Maryott (1956).

    eps_r = 87.740 - 0.40008 t + 9.398e-4 t^2 - 1.410e-6 t^3, t = T - 273.15 K in degC; fitted to
    measurements from 0 to 100 degC (maximum deviation 0.01, accuracy better than 0.1 %).
    Outside that range the cubic is an extrapolation.

    Args:
      temperature: [K], keyword-only, any shape.

    Returns:
      eps_r (dimensionless), shape and dtype of ``temperature`` (78.30 at 25 degC, 74.8 at
      37 degC). NaN for T outside 200..400 K.

    Reference: C.G. Malmberg & A.A. Maryott, J. Res. Natl. Bur. Stand. 56, 1 (1956),
    doi:10.6028/jres.056.001.
    """
    (t,) = as_float(temperature)
    tc = t - ZERO_CELSIUS
    eps = 87.740 + tc * (-0.40008 + tc * (9.398e-4 + tc * (-1.410e-6)))
    return nan_unless(valid_temperature(t), eps)


def bjerrum_length(*, temperature):
    """Bjerrum length l_B = e^2 / (4 pi eps0 eps_r(T) k_B T) in water.

    The distance at which the Coulomb energy of two elementary charges equals k_B T.

    Args:
      temperature: [K], keyword-only, any shape.

    Returns:
      l_B [m], shape and dtype of ``temperature`` (7.16e-10 m at 25 degC). NaN for T outside
      200..400 K.

    Reference: N. Bjerrum, K. Dan. Vidensk. Selsk. Mat.-Fys. Medd. 7(9) (1926); eps_r(T) from
    Malmberg & Maryott (1956), doi:10.6028/jres.056.001.
    """
    (t,) = as_float(temperature)
    return _BJERRUM_EPS_T / (water_relative_permittivity(temperature=t) * t)


def debye_length(ionic_strength, *, temperature):
    """Debye screening length 1/kappa of an aqueous electrolyte, kappa^2 = 8 pi l_B N_A I.

    Args:
      ionic_strength: I [mol/m^3 = mM], >= 0 (see ``ionic_strength``).
      temperature: [K], keyword-only.

    Returns:
      1/kappa [m], broadcast shape, dtype of ``ionic_strength``; 0.304 nm / sqrt(I / (mol/L))
      at 25 degC (0.78 nm in 150 mM NaCl); inf at I = 0. NaN for I < 0 or T outside 200..400 K.

    Reference: Debye & Hueckel (1923); J. Israelachvili, Intermolecular and Surface Forces,
    3rd ed., Academic Press (2011), ch. 14.
    """
    strength, t = as_float(ionic_strength, config=(temperature,))
    valid = (strength >= 0) & valid_temperature(t)
    kappa_sq = 8.0 * math.pi * AVOGADRO * bjerrum_length(temperature=t) * strength
    return nan_unless(valid, 1.0 / jnp.sqrt(jnp.where(valid, kappa_sq, 1.0)))


def _debye_huckel_ab(t):
    """(A ln10, B): ln-scale A [(mol/L)^-1/2] and B [1/m (mol/L)^-1/2], in the dtype of t."""
    l_b = bjerrum_length(temperature=t)
    b = jnp.sqrt((8.0 * math.pi * AVOGADRO * _LITRE) * l_b)  # kappa = B sqrt(I[mol/L])
    return 0.5 * l_b * b, b


def debye_huckel_constants(*, temperature):
    """Debye-Hueckel constants A(T) and B(T) of water, from first principles.

    With l_B the Bjerrum length and kappa = B sqrt(I), B = sqrt(8 pi l_B N_A * 1000 L/m^3), the
    Debye-Hueckel result ln gamma = -z^2 l_B kappa / (2 (1 + kappa a)) reads, in the classical
    notation, log10 gamma = -A z^2 sqrt(I) / (1 + B a sqrt(I)) with A = l_B B / (2 ln 10).
    Equivalently A = 1.8248e6 (eps_r T)^-3/2 and B = 50.29 (eps_r T)^-1/2 per angstrom
    (Robinson & Stokes), with eps_r(T) from Malmberg & Maryott (1956).

    These are the classical table values, so they are in the classical units (the ionic
    strength in mol/L): the activity functions take I in mol/m^3 and convert internally.

    Args:
      temperature: [K], keyword-only, any shape.

    Returns:
      ``(A, B)``, each of the shape and dtype of ``temperature``:
      A [(mol/L)^-1/2] for log10 (0.5116 at 25 degC; 0.5108 on the molal scale, i.e. times
      sqrt(rho_water / (kg/L))),
      B [1/m (mol/L)^-1/2] (3.291e9, i.e. 0.3291 per angstrom, at 25 degC).
      NaN for T outside 200..400 K.

    Reference: Debye & Hueckel (1923); Robinson & Stokes (1959) ch. 9 and appendix 7.1;
    Malmberg & Maryott (1956), doi:10.6028/jres.056.001.
    """
    (t,) = as_float(temperature)
    a_ln, b = _debye_huckel_ab(t)
    return a_ln / _LN10, b


def _log_gamma(strength, z, t, method, ion_size):
    """ln gamma for I [mol/m^3] (sanitised >= 0), valence z, temperature t."""
    a_ln, b = _debye_huckel_ab(t)
    i_l = strength / _LITRE
    root = jnp.sqrt(i_l)
    if method == "davies":
        shape = root / (1.0 + root) - _DAVIES_LINEAR * i_l
    elif method == "debye_huckel":
        shape = root / (1.0 + b * ion_size * root)
    else:  # limiting law
        shape = root
    return -a_ln * z * z * shape


def _check_method(method, ion_size):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; got {method!r}")
    if method == "debye_huckel" and ion_size is None:
        raise ValueError("method='debye_huckel' needs ion_size [m] (e.g. kielland_ion_size('Na'))")
    if method != "debye_huckel" and ion_size is not None:
        raise ValueError(f"ion_size is only used by method='debye_huckel', not {method!r}")


def activity_coefficient(ionic_strength, z, *, temperature, method="davies", ion_size=None):
    """Single-ion activity coefficient gamma of an ion of valence z in a solution of strength I.

    With I_L = I / (1000 mol/m^3 per mol/L) and A(T), B(T) from ``debye_huckel_constants``:

    * ``"davies"`` (default): log10 gamma = -A z^2 (sqrt(I_L) / (1 + sqrt(I_L)) - 0.3 I_L);
      no ion size needed; a few percent for I <= ~0.2 mol/L (worse above: gamma passes through
      a minimum near 0.4 mol/L and then rises again because of the linear term).
    * ``"debye_huckel"`` (extended): log10 gamma = -A z^2 sqrt(I_L) / (1 + B a sqrt(I_L)),
      with the ion size ``ion_size`` = a (see ``kielland_ion_size``); for I <= ~0.1 mol/L.
    * ``"limiting"``: log10 gamma = -A z^2 sqrt(I_L), the Debye-Hueckel limiting law, exact as
      I -> 0 only (I <~ 1e-3 mol/L).

    Args:
      ionic_strength: I [mol/m^3 = mM], >= 0 (see ``ionic_strength``).
      z: valence; gamma depends on z^2 only, and is 1 for z = 0 (a neutral species). NaN for
        |z| > 4 (``MAX_VALENCE``): these laws describe small ions; at z = 5000 the Davies
        formula would give gamma = 0, a number of no physical meaning.
      temperature: [K], keyword-only.
      method: ``"davies"``, ``"debye_huckel"`` or ``"limiting"`` (static).
      ion_size: effective ion size a [m], > 0; required by (and only by) ``"debye_huckel"``.
        Cast to the dtype of ``ionic_strength`` (it never promotes).

    Returns:
      gamma (dimensionless), broadcast shape, dtype of
      ``ionic_strength``. 1 at I = 0 (where its derivative in I is infinite, as the sqrt law
      says). NaN for I < 0, |z| > 4, T outside 200..400 K or ion_size <= 0.

    Raises:
      ValueError: for an unknown ``method``, or ``ion_size`` missing for / given to a method that
        does not use it (host-side, at trace time).

    Reference: Davies (1962); Debye & Hueckel (1923); Kielland (1937) doi:10.1021/ja01288a032;
    Robinson & Stokes (1959) ch. 9.
    """
    _check_method(method, ion_size)
    config = (z, temperature) if ion_size is None else (z, temperature, ion_size)
    strength, z, t, *size = as_float(ionic_strength, config=config)
    size = size[0] if size else None
    valid = (strength >= 0) & valid_temperature(t) & (jnp.abs(z) <= MAX_VALENCE)
    if size is not None:
        valid = valid & (size > 0)
    log_gamma = _log_gamma(jnp.where(strength >= 0, strength, 0.0), z, t, method, size)
    return nan_unless(valid, jnp.exp(log_gamma))


def activities(c, z, *, temperature, axis=-1, method="davies", ion_size=None):
    """Activities a_i = gamma_i c_i of all ions of a solution, usable in place of concentrations.

    The ionic strength is computed from the whole solution (all ions along ``axis``), then each
    ion gets its own ``activity_coefficient``. Pass the result to ``nernst_potential``,
    ``ghk_current``, ``ghk_voltage``, ... instead of the concentrations (the GHK permeabilities
    then refer to activities).

    Args:
      c: concentrations of all ions of the solution [mol/m^3 = mM], >= 0, ions along ``axis``
        (include the counter-ions: they count in the ionic strength).
      z: valences, broadcastable against ``c``.
      temperature: [K], keyword-only; broadcastable against the result without the ion axis.
      axis: the ion axis (default the last).
      method: ``"davies"`` (default), ``"debye_huckel"`` or ``"limiting"``, see
        ``activity_coefficient``.
      ion_size: for ``"debye_huckel"``: ion sizes [m], broadcastable against ``c`` (e.g.
        ``kielland_ion_size(["Na", "K", "Cl"])`` along the ion axis).

    Returns:
      a [mol/m^3 = mM], broadcast shape of ``c`` and ``z``, dtype of ``c`` (150 mM NaCl: about
      0.76 * 150 mM each at 25 degC, Davies). NaN for the whole solution if any c < 0, for T outside
      200..400 K, or
      where ion_size <= 0.

    Reference: Davies (1962); Robinson & Stokes (1959) ch. 2 and 9.
    """
    _check_method(method, ion_size)
    config = (z, temperature) if ion_size is None else (z, temperature, ion_size)
    c, z, t, *size = as_float(c, config=config)
    c, z = jnp.broadcast_arrays(c, z)
    axis = axis % c.ndim
    strength = ionic_strength(c, z, axis=axis)
    t = jnp.broadcast_to(t, jnp.broadcast_shapes(t.shape, strength.shape))
    strength, t = jnp.expand_dims(strength, axis), jnp.expand_dims(t, axis)
    gamma = activity_coefficient(strength, z, temperature=t, method=method,
                                 ion_size=size[0] if size else None)
    return gamma * c
