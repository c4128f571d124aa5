"""Physical limits of permeation: aqueous diffusion, viscosity and the pore mouth.

However fast a channel is, an ion first has to diffuse through the water up to its mouth. Three
classical results bound and diagnose that step:

* Stokes-Einstein: a sphere of radius r in a fluid of viscosity eta diffuses with
  D = k_B T / (6 pi eta r); inverted, a measured D defines the Stokes (hydrodynamic) radius.
* Walden's rule: the limiting conductivity of an ion times the viscosity of the solvent is
  constant (Lambda eta = const), because by Nernst-Einstein the mobility is proportional to D and
  by Stokes-Einstein D is proportional to 1/eta. A channel whose conductance is limited by
  aqueous diffusion therefore conducts g proportional to 1/eta, whereas one limited by a barrier
  or a conformational step inside the protein does not feel the bulk viscosity. The
  "viscosity experiment" (adding sucrose or glycerol to raise eta) tells the two apart; a
  series-resistance model 1/g = phi/g_ref (eta/eta_ref) + (1 - phi)/g_ref interpolates, with
  phi the diffusion-limited fraction of the resistance.
* The diffusion-limited (access) current: a perfectly absorbing hemispherical capture region
  of radius r at the pore mouth receives the steady diffusive flux J = 2 pi r D c, i.e. the
  current I = 2 pi r z F D c (an absorbing disk of radius r in a wall: 4 r D c, Berg &
  Purcell). This is the largest current any single channel can carry from that side (tens of
  pA at physiological concentrations); the electrical counterpart is the access resistance
  rho / (4 r) of one mouth (Hall).

References: A. Einstein, Ann. Phys. 17, 549 (1905), doi:10.1002/andp.19053220806;
P. Walden, Z. Phys. Chem. 55, 207 (1906); P. Laeuger, Biochim. Biophys. Acta 455, 493 (1976);
J.E. Hall, J. Gen. Physiol. 66, 531 (1975), doi:10.1085/jgp.66.4.531;
H.C. Berg & E.M. Purcell, Biophys. J. 20, 193 (1977), doi:10.1016/S0006-3495(77)85544-6;
O.S. Andersen, Biophys. J. 41, 147 (1983), doi:10.1016/S0006-3495(83)84416-6;
B. Hille, Ion Channels of Excitable Membranes, 3rd ed., Sinauer (2001), ch. 11 and 14.
"""

import math

import jax.numpy as jnp

from ionjax._src._common import as_float, nan_unless, valid_temperature
from ionjax._src.constants import BOLTZMANN, FARADAY

_STOKES = BOLTZMANN / (6.0 * math.pi)  # k_B / (6 pi) [J/K], a Python float (weakly typed)
_GEOMETRY_FACTOR = {"hemisphere": 2.0 * math.pi, "disk": 4.0}


def stokes_einstein_diffusion(radius, viscosity, *, temperature):
    """Stokes-Einstein diffusion coefficient D = k_B T / (6 pi eta r) of a sphere (stick).

    Args:
      radius: hydrodynamic (Stokes) radius r [m], > 0.
      viscosity: dynamic viscosity eta of the solvent [Pa s], > 0 (water: 0.890e-3 at 25 degC,
        0.692e-3 at 37 degC).
      temperature: [K], keyword-only.

    Returns:
      D [m^2/s], broadcast shape, dtype of the floating inputs (2.45e-9 m^2/s for r = 1 A in
      water at 25 degC). NaN for r <= 0, eta <= 0 or T outside 200..400 K.

    Reference: A. Einstein, Ann. Phys. 17, 549 (1905), doi:10.1002/andp.19053220806;
    Robinson & Stokes, Electrolyte Solutions, 2nd ed. (1959) ch. 6.
    """
    r, eta, t = as_float(radius, viscosity, config=(temperature,))
    valid = (r > 0) & (eta > 0) & valid_temperature(t)
    return nan_unless(valid, _STOKES * t / (eta * r))


def stokes_radius(diffusion, viscosity, *, temperature):
    """Stokes radius r = k_B T / (6 pi eta D) of a particle with diffusion coefficient D.

    The inverse of ``stokes_einstein_diffusion``. For small ions it is smaller than the
    crystal radius for K+, Cl-, ... (Stokes' law fails at molecular scale); it ranks the
    hydrated sizes (Li+ > Na+ > K+).

    Args:
      diffusion: diffusion coefficient D [m^2/s], > 0 (Na+ at infinite dilution, 25 degC:
        1.334e-9).
      viscosity: dynamic viscosity eta [Pa s], > 0.
      temperature: [K], keyword-only.

    Returns:
      r [m], broadcast shape, dtype of the floating inputs (1.84e-10 m for Na+ in water at
      25 degC). NaN for D <= 0, eta <= 0 or T outside 200..400 K.

    Reference: Robinson & Stokes (1959) ch. 6 and table 6.2; Einstein (1905),
    doi:10.1002/andp.19053220806.
    """
    d, eta, t = as_float(diffusion, viscosity, config=(temperature,))
    valid = (d > 0) & (eta > 0) & valid_temperature(t)
    return nan_unless(valid, _STOKES * t / (eta * d))


def walden_conductance(g_ref, viscosity_ref, viscosity):
    """Walden scaling of a diffusion-limited conductance: g = g_ref eta_ref / eta.

    Walden's rule Lambda eta = const (Stokes-Einstein D ~ 1/eta with Nernst-Einstein g ~ D):
    doubling the viscosity halves a conductance limited by aqueous diffusion.

    Args:
      g_ref: conductance measured at ``viscosity_ref`` [S] (any unit: the result has the same),
        >= 0.
      viscosity_ref: viscosity of the reference solution [Pa s], > 0.
      viscosity: viscosity of the test solution [Pa s], > 0 (only the ratio matters).

    Returns:
      g [S], broadcast shape, dtype of the floating inputs. NaN for g_ref < 0 or a viscosity
      <= 0.

    Reference: P. Walden, Z. Phys. Chem. 55, 207 (1906); Robinson & Stokes (1959) ch. 11;
    Hille (2001) ch. 11.
    """
    g_ref, eta_ref, eta = as_float(g_ref, viscosity_ref, viscosity)
    valid = (g_ref >= 0) & (eta_ref > 0) & (eta > 0)
    return nan_unless(valid, g_ref * (eta_ref / eta))


def viscosity_scaled_conductance(g_ref, viscosity_ref, viscosity, *,
                                 diffusion_limited_fraction=1.0):
    """Conductance after a viscosity change, when only part of the resistance is diffusional.

    Series-resistance model: the fraction phi of the resistance 1/g_ref that is limited by
    aqueous diffusion (access to the mouth, movement through a water-filled pore) scales with
    eta; the rest (a barrier, a binding step, gating inside the protein) does not:

        1/g = (phi eta/eta_ref + 1 - phi) / g_ref,   g = g_ref / (phi eta/eta_ref + 1 - phi).

    phi = 1 is Walden's rule (g proportional to 1/eta, ``walden_conductance``); phi = 0 is a
    conductance independent of the bulk viscosity. ``diffusion_limited_fraction`` inverts this
    for a measured pair of conductances (the viscosity experiment, e.g. with sucrose or
    glycerol; Andersen 1983 for gramicidin A).

    Args:
      g_ref: conductance at ``viscosity_ref`` [S] (any unit), >= 0.
      viscosity_ref: reference viscosity [Pa s], > 0.
      viscosity: test viscosity [Pa s], > 0.
      diffusion_limited_fraction: phi in [0, 1], keyword-only (default 1: fully
        diffusion-limited).

    Returns:
      g [S], broadcast shape, dtype of the floating inputs; between g_ref eta_ref/eta (phi = 1)
      and g_ref (phi = 0). NaN for g_ref < 0, a viscosity <= 0 or phi outside [0, 1].

    Reference: Hille (2001) ch. 11 and 14; O.S. Andersen, Biophys. J. 41, 147 (1983),
    doi:10.1016/S0006-3495(83)84416-6; P. Laeuger, Biochim. Biophys. Acta 455, 493 (1976).
    """
    g_ref, eta_ref, eta, phi = as_float(g_ref, viscosity_ref, viscosity,
                                        diffusion_limited_fraction)
    valid = (g_ref >= 0) & (eta_ref > 0) & (eta > 0) & (phi >= 0) & (phi <= 1)
    return nan_unless(valid, g_ref / (phi * (eta / eta_ref) + (1 - phi)))


def diffusion_limited_fraction(g_ref, g, viscosity_ref, viscosity):
    """Diffusion-limited fraction phi of the resistance from a viscosity experiment.

    Inverts ``viscosity_scaled_conductance``: with conductances g_ref at eta_ref and g at eta,

        phi = (g_ref/g - 1) / (eta/eta_ref - 1).

    phi near 1 means the conductance is limited by aqueous diffusion (Walden), near 0 that it is
    not. Measured values outside [0, 1] are returned as they are (noise, or a viscogen that
    also acts on the channel), so they can be seen.

    Args:
      g_ref: conductance in the reference solution [S] (any unit), > 0.
      g: conductance in the viscous solution [S] (same unit), > 0.
      viscosity_ref: reference viscosity [Pa s], > 0.
      viscosity: test viscosity [Pa s], > 0 and different from ``viscosity_ref``.

    Returns:
      phi (dimensionless), broadcast shape, dtype of the floating inputs. NaN for a
      conductance <= 0, a viscosity <= 0, or equal viscosities (undetermined).

    Reference: Hille (2001) ch. 11; Andersen (1983), doi:10.1016/S0006-3495(83)84416-6.
    """
    g_ref, g, eta_ref, eta = as_float(g_ref, g, viscosity_ref, viscosity)
    valid = (g_ref > 0) & (g > 0) & (eta_ref > 0) & (eta > 0) & (eta != eta_ref)
    denominator = jnp.where(valid, eta / eta_ref - 1, 1.0)
    return nan_unless(valid, (g_ref / g - 1) / denominator)


def access_current(c, radius, diffusion, z, *, geometry="hemisphere"):
    """Diffusion-limited current into a pore mouth: I = 2 pi r z F D c (hemisphere).

    Every ion that reaches a perfectly absorbing capture hemisphere of radius r is taken up; the
    steady diffusive flux from a bulk concentration c is J = 2 pi r D c [mol/s], carrying the
    current I = z F J. ``geometry="disk"`` is an absorbing disk of radius r flush with the
    membrane (J = 4 r D c, Berg & Purcell). This is the upper bound of the single-channel
    current from that side (without a field or surface charge concentrating ions at the mouth).

    Args:
      c: bulk concentration of the permeant ion on the entry side [mol/m^3 = mM], >= 0.
      radius: capture radius r of the mouth [m], > 0.
      diffusion: aqueous diffusion coefficient D of the ion [m^2/s], > 0 (see
        ``stokes_einstein_diffusion``; Na+ 1.33e-9, K+ 1.96e-9 at 25 degC).
      z: valence; the current has its sign (positive charge arriving for z > 0; as a membrane
        current, inward cation entry from the outside is -I).
      geometry: ``"hemisphere"`` (default, factor 2 pi) or ``"disk"`` (factor 4), static.

    Returns:
      I [A], broadcast shape, dtype of the floating inputs (36 pA for r = 0.3 nm,
      D = 1.33e-9 m^2/s, c = 150 mM, z = 1). NaN for c < 0, r <= 0 or D <= 0.

    Raises:
      ValueError: for an unknown ``geometry``.

    Reference: P. Laeuger, Biochim. Biophys. Acta 455, 493 (1976); Hille (2001) ch. 11;
    H.C. Berg & E.M. Purcell, Biophys. J. 20, 193 (1977), doi:10.1016/S0006-3495(77)85544-6.
    """
    if geometry not in _GEOMETRY_FACTOR:
        raise ValueError(f"geometry must be 'hemisphere' or 'disk'; got {geometry!r}")
    c, r, d, z = as_float(c, radius, diffusion, config=(z,))
    valid = (c >= 0) & (r > 0) & (d > 0)
    return nan_unless(valid, (_GEOMETRY_FACTOR[geometry] * FARADAY) * z * r * d * c)


def access_resistance(radius, resistivity):
    """Access resistance of one mouth of a pore: R = rho / (4 r).

    The resistance of the bath converging from infinity onto a disk-shaped opening of radius r
    in an insulating membrane (Hall 1975); a pore open on both sides adds 2 rho / (4 r) in series
    with its own resistance.

    Args:
      radius: radius r of the pore opening [m], > 0.
      resistivity: resistivity rho of the bath [Ohm m], > 0 (about 0.6-0.8 Ohm m for
        physiological salines at room temperature).

    Returns:
      R [Ohm], broadcast shape, dtype of the floating inputs. NaN for r <= 0 or rho <= 0.

    Reference: J.E. Hall, J. Gen. Physiol. 66, 531 (1975), doi:10.1085/jgp.66.4.531;
    Hille (2001) ch. 11.
    """
    r, rho = as_float(radius, resistivity)
    valid = (r > 0) & (rho > 0)
    return nan_unless(valid, rho / (4 * jnp.where(valid, r, 1.0)))
