"""Host-side validation of physical inputs, for the entry points that run before jit.

Inside jit, ionjax never raises: invalid input gives NaN (see :mod:`ionjax._src._common`). The
fitting package and the command line call :func:`validate_inputs` on concrete values first, so
that a user sees a ``ValueError`` that names the argument and the offending value instead of NaN.
A concentration of 0 is valid input (an ion absent from one side); only the Nernst potential is
infinite there, which ``quantity="nernst"`` turns into an error.

Physical bounds (the same numbers serve the in-jit NaN masks of ``ionjax._src._common`` and
``pnp_steady``, the host checks here, and the fitting package):

* ``MAX_CONCENTRATION`` = 1e4 mol/m^3 (10 M): no salt of physiology dissolves further (saturated
  NaCl is 6.1 M, KCl 4.6 M); a larger value is a unit slip (uM or nM read as mM).
* ``TEMPERATURE_RANGE`` = 200..400 K: aqueous solutions are liquid between the coldest eutectic
  (CaCl2-water, -50 degC = 223 K) and the boiling point of a saturated salt solution
  (~ 110 degC = 383 K); a value below it is almost always degC given as kelvin.
* ``MAX_VALENCE`` = 4: the most highly charged small ions (spermine4+, EDTA4-/EGTA4-,
  ferrocyanide4-); the Debye-Hueckel/Davies activities are not defined beyond.
* ``MAX_LENGTH`` = 1e-4 m (100 um): a pore or membrane is 0.1 nm (a filter) to ~25 um
  (track-etched foils); a longer "pore" is a length in other units or a bath, not a pore.
* ``MAX_VOLTAGE`` = 1 V: no lipid membrane holds a volt (electroporation breaks it near
  0.3-0.5 V; voltage-clamp commands stay within +-0.2 V), so |v| > 1 V is a voltage in mV passed
  as volts (-50 for -50 mV).
* ``MAX_DIFFUSION`` = 1e-7 m^2/s: the fastest ion in water, H+, diffuses at 9.3e-9 m^2/s, and
  no ion in a liquid or a pore at 10x that; a value near 1e-5 is an aqueous D in cm^2/s
  (1e-5 cm^2/s = 1e-9 m^2/s) passed as m^2/s, 1e4 times too fast.
* ``NEUTRALITY_RTOL`` = 1e-6: a bath's |sum z c| relative to sum |z| c. A real solution is
  electroneutral; a listed one that is not has lost an ion (the Cl- of a salt), and the Poisson
  equation would charge the whole bath.
"""

import numpy as np

MAX_CONCENTRATION = 1e4  # mol/m^3 = mM (10 M)
TEMPERATURE_RANGE = (200.0, 400.0)  # K
MAX_VALENCE = 4
MAX_LENGTH = 1e-4  # m
MAX_VOLTAGE = 1.0  # V: |v| beyond is no membrane voltage (mV passed as V)
MAX_DIFFUSION = 1e-7  # m^2/s: beyond is no ion in a liquid (cm^2/s passed as m^2/s)
NEUTRALITY_RTOL = 1e-6


def _first_bad(values, bad):
    flat_values = np.ravel(values)
    flat_bad = np.ravel(np.broadcast_to(bad, np.shape(values)))
    index = int(np.argmax(flat_bad))
    position = np.unravel_index(index, np.shape(values)) if np.ndim(values) else ()
    return float(flat_values[index]), tuple(int(k) for k in position)


def _check(name, value, bad, requirement):
    if np.any(bad):
        offending, position = _first_bad(value, bad)
        where = f" at index {position}" if position else ""
        raise ValueError(f"{name} must be {requirement}; got {offending:g}{where}")


_QUANTITIES = ("ghk", "nernst")
_TOO_CONCENTRATED = (f"<= {MAX_CONCENTRATION:g} mol/m^3 (10 M: no salt dissolves further, "
                     "saturated NaCl is 6.1 M; was it given in uM or nM instead of mM?)")


def _check_temperature(a):
    """Refuse temperatures outside ``TEMPERATURE_RANGE``, naming the likely slip (degC as K)."""
    lo, hi = TEMPERATURE_RANGE
    bad = (a < lo) | (a > hi)
    if np.any(bad):
        t, position = _first_bad(a, bad)
        where = f" at index {position}" if position else ""
        hint = (f": did you mean {t:g} degC ({t + 273.15:g} K)? use ionjax.units.celsius"
                if lo <= t + 273.15 <= hi else "")
        raise ValueError(f"temperature must be in kelvin, {lo:g}..{hi:g} K (liquid water); got "
                         f"{t:g} K{where}{hint}")


def validate_inputs(*, quantity="ghk", **named):
    """Check concrete physical inputs on the host and raise ``ValueError`` on the first bad one.

    The check applied depends on the argument name, so a call reads like the function it guards::

        validate_inputs(c_in=c_in, c_out=c_out, z=z, temperature=temperature)
        validate_inputs(c_in=c_in, c_out=c_out, z=z, temperature=temperature, quantity="nernst")

    Recognised names (others raise ``TypeError``):

    * ``c_in``, ``c_out``, ``c``, ``concentration``: finite, >= 0 and <= ``MAX_CONCENTRATION``
      = 1e4 mol/m^3 (10 M; a larger value is a unit slip) [mol/m^3]. A concentration
      of 0 (an ion absent from one side) is accepted: the GHK current, fluxes, conductances and
      voltage, and the permeability ratios, are defined there. With ``quantity="nernst"`` they
      must be > 0: the Nernst potential (and the electrochemical driving force) of an ion absent
      from one side is infinite, and the error says so.
    * ``activity``: finite, > 0 and <= ``MAX_CONCENTRATION`` [mol/m^3] (its logarithm is taken)
    * ``z``: finite, non-zero integer valence with |z| <= ``MAX_VALENCE`` = 4
    * ``temperature``: in ``TEMPERATURE_RANGE`` = 200..400 K (liquid water); 37 is refused as
      "did you mean 37 degC (310.15 K)?"
    * ``length``: a pore or membrane length, > 0 and <= ``MAX_LENGTH`` = 1e-4 m [m]
    * ``p``, ``g``, ``gamma``, ``n_open``, ``viscosity``, ``radius``, ``diffusion``: finite and >= 0
      (``viscosity``, ``radius`` and ``diffusion`` must be > 0; ``diffusion`` <=
      ``MAX_DIFFUSION`` = 1e-7 m^2/s, a larger value is refused as given in cm^2/s)
    * ``v``, ``e_rev``, ``potential``: finite [V], |v| <= ``MAX_VOLTAGE`` = 1 V; a larger value
      is refused as given in mV instead of V.

    Args:
      quantity: what the inputs are for, keyword-only: ``"ghk"`` (default; concentrations may be
        0) or ``"nernst"`` (concentrations must be > 0).
      **named: argument name -> concrete value (number or array-like, not a jax tracer).

    Returns:
      None.

    Raises:
      ValueError: naming the argument, the requirement, the offending value and its index.
    """
    if quantity not in _QUANTITIES:
        raise ValueError(f"quantity must be one of {_QUANTITIES}; got {quantity!r}")
    for name, value in named.items():
        if value is None:
            continue
        a = np.asarray(value)
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise ValueError(f"{name} must be numeric; got {value!r}")
        a = a.astype(float)
        _check(name, a, ~np.isfinite(a), "finite")
        if name in ("c_in", "c_out", "c", "concentration"):
            _check(name, a, a < 0, "> 0, or 0 for an ion absent from that side (a concentration "
                                   "in mol/m^3 = mM)")
            _check(name, a, a > MAX_CONCENTRATION, _TOO_CONCENTRATED)
            if quantity == "nernst" and np.any(a == 0):
                _, position = _first_bad(a, a == 0)
                where = f" at index {position}" if position else ""
                raise ValueError(f"{name} = 0{where}: the Nernst potential of an ion absent from "
                                 f"one side is infinite; give {name} > 0")
        elif name == "activity":
            _check(name, a, a <= 0, "> 0 (an activity in mol/m^3 = mM)")
            _check(name, a, a > MAX_CONCENTRATION, _TOO_CONCENTRATED)
        elif name == "z":
            _check(name, a, a == 0, "a non-zero valence")
            _check(name, a, a != np.round(a), "an integer valence")
            _check(name, a, np.abs(a) > MAX_VALENCE, f"a valence with |z| <= {MAX_VALENCE} (the "
                                                     "most highly charged small ions)")
        elif name == "temperature":
            _check(name, a, a <= 0, "> 0 K (use ionjax.units.celsius for degC)")
            _check_temperature(a)
        elif name == "length":
            _check(name, a, a <= 0, "> 0 [m]")
            _check(name, a, a > MAX_LENGTH, f"<= {MAX_LENGTH:g} m (100 um; a pore or membrane "
                                            "is 0.1 nm to ~25 um long: was it given in nm or um?)")
        elif name in ("viscosity", "radius", "diffusion"):
            _check(name, a, a <= 0, "> 0")
            if name == "diffusion":
                _check(name, a, a > MAX_DIFFUSION,
                       f"in m^2/s, <= {MAX_DIFFUSION:g} (H+ in water is 9.3e-09: was it given "
                       "in cm^2/s? 2e-5 cm^2/s is diffusion=2e-9)")
        elif name in ("p", "g", "gamma", "n_open"):
            _check(name, a, a < 0, ">= 0")
        elif name in ("v", "e_rev", "potential"):
            _check(name, a, np.abs(a) > MAX_VOLTAGE,
                   f"in volts, |{name}| <= {MAX_VOLTAGE:g} V (no membrane holds more: was it "
                   f"given in mV? -50 mV is {name}=-0.05)")
        else:
            raise TypeError(f"validate_inputs does not know how to check {name!r}")
