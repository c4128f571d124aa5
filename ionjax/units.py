"""Plain float factors between human units and the SI units used everywhere inside ionjax.

Multiply a value in the named unit by its factor to get SI; divide an SI value by the factor to
show it in that unit::

    v = -80.0 * units.mV          # -> -0.08 V
    print(i / units.pA, "pA")     # A -> pA

Concentrations: 1 mol/m^3 equals 1 mmol/L exactly, so ``mM = 1.0``.
Temperatures: :func:`celsius` converts degC to kelvin (the only non-multiplicative unit).

``UNITS`` lists every factor with its SI unit; it is the one unit table of the distribution (the
``fitting`` file readers and command-line parsers read it too)::

    UNITS["nS"]   # -> (1e-9, "S")
"""

from ionjax._src.constants import ZERO_CELSIUS

# potential [V]
V = 1.0
mV = 1e-3
uV = 1e-6
# current [A]
A = 1.0
mA = 1e-3
uA = 1e-6
nA = 1e-9
pA = 1e-12
fA = 1e-15
# conductance [S]
S = 1.0
uS = 1e-6
nS = 1e-9
pS = 1e-12
# resistance [Ohm]
Ohm = 1.0
kOhm = 1e3
MOhm = 1e6
GOhm = 1e9
# capacitance [F]
F = 1.0
nF = 1e-9
pF = 1e-12
# concentration [mol/m^3]
M = 1e3
mM = 1.0
uM = 1e-3
nM = 1e-6
# time [s]
s = 1.0
ms = 1e-3
us = 1e-6
# length [m], area [m^2]
m = 1.0
cm = 1e-2
um = 1e-6
nm = 1e-9
angstrom = 1e-10
cm2 = 1e-4
um2 = 1e-12
# permeability [m/s] and permeability*area [m^3/s]
cm_per_s = 1e-2
cm3_per_s = 1e-6
# diffusion coefficient [m^2/s]
cm2_per_s = 1e-4
um2_per_s = 1e-12
# viscosity [Pa s]
Pa_s = 1.0
mPa_s = 1e-3
cP = 1e-3
# molar energy [J/mol]
J_per_mol = 1.0
kJ_per_mol = 1e3

# symbol -> (value of one unit in SI, SI unit symbol): the table that readers and parsers use.
UNITS = {
    "V": (V, "V"), "mV": (mV, "V"), "uV": (uV, "V"),
    "A": (A, "A"), "mA": (mA, "A"), "uA": (uA, "A"), "nA": (nA, "A"), "pA": (pA, "A"),
    "fA": (fA, "A"),
    "S": (S, "S"), "uS": (uS, "S"), "nS": (nS, "S"), "pS": (pS, "S"),
    "Ohm": (Ohm, "Ohm"), "kOhm": (kOhm, "Ohm"), "MOhm": (MOhm, "Ohm"), "GOhm": (GOhm, "Ohm"),
    "F": (F, "F"), "nF": (nF, "F"), "pF": (pF, "F"),
    "M": (M, "mol/m^3"), "mM": (mM, "mol/m^3"), "uM": (uM, "mol/m^3"), "nM": (nM, "mol/m^3"),
    "s": (s, "s"), "ms": (ms, "s"), "us": (us, "s"),
    "m": (m, "m"), "cm": (cm, "m"), "um": (um, "m"), "nm": (nm, "m"), "angstrom": (angstrom, "m"),
    "cm2": (cm2, "m^2"), "um2": (um2, "m^2"),
    "m/s": (1.0, "m/s"), "cm/s": (cm_per_s, "m/s"),
    "m^3/s": (1.0, "m^3/s"), "cm^3/s": (cm3_per_s, "m^3/s"),
    "m^2/s": (1.0, "m^2/s"), "cm^2/s": (cm2_per_s, "m^2/s"), "um^2/s": (um2_per_s, "m^2/s"),
    "Pa s": (Pa_s, "Pa s"), "mPa s": (mPa_s, "Pa s"), "cP": (cP, "Pa s"),
    "J/mol": (J_per_mol, "J/mol"), "kJ/mol": (kJ_per_mol, "J/mol"),
    "K": (1.0, "K"),
}


def celsius(t):
    """Convert a temperature from degrees Celsius to kelvin: T = t + 273.15.

    Args:
      t: temperature [degC], a Python number or an array of any shape.

    Returns:
      Temperature [K], same type and shape as ``t`` (a Python float stays a Python float, so it
      never promotes the dtype of the arrays it is combined with).
    """
    return t + ZERO_CELSIUS


def to_celsius(temperature):
    """Convert a temperature from kelvin to degrees Celsius: t = T - 273.15."""
    return temperature - ZERO_CELSIUS
