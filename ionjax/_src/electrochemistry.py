"""Electrochemical potential, driving force and the Nernst equilibrium potential.

The electrochemical potential of an ion species is mu-bar = mu0 + RT ln(a) + zF phi. Moving one
mole from outside to inside across a membrane at potential v = phi_in - phi_out changes the free
energy by Delta mu-bar = RT ln(c_in / c_out) + zFv = zF (v - E), where E = (RT/zF) ln(c_out/c_in) is
the Nernst potential: at v = E the ion is at equilibrium and no net flux flows.

Reference: B. Hille, Ion Channels of Excitable Membranes, 3rd ed., Sinauer (2001), ch. 1 and 14.
"""

import jax.numpy as jnp

from ionjax._src._common import (as_float, check_concrete, log_ratio, nan_unless, valid_ion,
                                 valid_temperature)
from ionjax._src.constants import FARADAY, GAS_CONSTANT


def thermal_voltage(*, temperature):
    """Thermal voltage V_T = RT/F.

    Args:
      temperature: absolute temperature [K], any shape.

    Returns:
      RT/F [V], shape of ``temperature``; about 25.69 mV at 25 degC. NaN for temperature <= 0.

    Reference: CODATA 2018 (R and F exact), doi:10.1103/RevModPhys.93.025010.
    """
    (t,) = as_float(temperature)
    return nan_unless(valid_temperature(t), t * (GAS_CONSTANT / FARADAY))


def electrochemical_potential(activity, potential, z, *, temperature, mu0=0.0):
    """Electrochemical potential mu-bar = mu0 + RT ln(a) + zF phi.

    Args:
      activity: activity (or concentration, for an ideal solution) [mol/m^3 = mM]; the standard
        state is 1 mM, so ``mu0`` refers to 1 mol/m^3.
      potential: electrical potential phi of the phase [V].
      z: valence (signed integer charge number), non-zero.
      temperature: [K], keyword-only.
      mu0: standard chemical potential [J/mol], default 0.

    Returns:
      mu-bar [J/mol], broadcast shape of the inputs. NaN where activity <= 0, z is not a
      non-zero integer or T outside 200..400 K.

    Reference: Hille (2001) ch. 14; IUPAC Green Book, 3rd ed. (2007), sec. 2.13.
    """
    a, phi, mu0, z, t = as_float(activity, potential, mu0, config=(z, temperature))
    mu = mu0 + GAS_CONSTANT * t * jnp.log(a) + z * FARADAY * phi
    return nan_unless(valid_ion(a, a, z, t) & (a > 0), mu)


def electrochemical_driving_force(c_in, c_out, v, z, *, temperature):
    """Free-energy change for moving one mole inward: Delta mu-bar = RT ln(c_in/c_out) + zFv.

    Equals zF (v - E_ion): negative when inward movement is downhill (for a cation, when v is
    below its Nernst potential).

    Args:
      c_in, c_out: intracellular and extracellular concentration or activity [mol/m^3 = mM], >= 0.
      v: membrane potential phi_in - phi_out [V].
      z: valence, non-zero.
      temperature: [K], keyword-only.

    Returns:
      Delta mu-bar [J/mol], broadcast shape. An ion absent from one side has an infinite driving
      force: -inf where c_in = 0 < c_out (inward movement infinitely downhill), +inf where
      c_out = 0 < c_in; NaN where both are 0, c < 0, z is not a non-zero integer or T
      outside 200..400 K.

    Reference: Hille (2001) ch. 14, eq. 14-4.
    """
    c_in, c_out, v, z, t = as_float(c_in, c_out, v, config=(z, temperature))
    dmu = GAS_CONSTANT * t * log_ratio(c_in, c_out) + z * FARADAY * v
    return nan_unless(valid_ion(c_in, c_out, z, t), dmu)


def nernst_potential(c_in, c_out, z, *, temperature):
    """Nernst equilibrium potential E = (RT / zF) ln(c_out / c_in).

    Args:
      c_in, c_out: intracellular and extracellular concentration or activity [mol/m^3 = mM], >= 0.
      z: valence, non-zero; E scales as 1/z.
      temperature: [K], keyword-only.

    Returns:
      E [V], broadcast shape of the inputs (e.g. -89.06 mV for K+ 140/5 mM at 37 degC). Accurate to
      a few ulp relative, also when c_in is close to c_out. An ion absent from one side has no
      finite equilibrium potential: E = +inf for z > 0 and -inf for z < 0 where c_in = 0 < c_out,
      the opposite signs where c_out = 0 < c_in (derivatives there are not finite). NaN where both
      concentrations are 0 (no ion), c < 0, z is not a non-zero integer or T outside
      200..400 K (37 K is degC given as kelvin). The GHK current and voltage stay finite at
      c = 0 (``ghk_current``, ``ghk_voltage``).

    Raises:
      ValueError: a concrete (not traced) temperature outside 200..400 K, e.g. 37 (degC passed
        as kelvin: give ``ionjax.units.celsius(37)``); traced, it gives NaN (``check_concrete``).

    Reference: W. Nernst, Z. Phys. Chem. 4, 129 (1889); Hille (2001) eq. 1-9.
    """
    check_concrete(temperature=temperature)
    c_in, c_out, z, t = as_float(c_in, c_out, config=(z, temperature))
    e = (GAS_CONSTANT / FARADAY) * t / z * log_ratio(c_out, c_in)
    return nan_unless(valid_ion(c_in, c_out, z, t), e)


def driving_potential(v, e_rev):
    """Driving potential v - E_rev, the voltage that drives current through an ohmic channel.

    Args:
      v: membrane potential [V].
      e_rev: reversal potential [V].

    Returns:
      v - e_rev [V], broadcast shape.
    """
    v, e_rev = as_float(v, e_rev)
    return v - e_rev
