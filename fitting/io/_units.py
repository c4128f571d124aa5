"""Unit labels of recordings (column headers, ABF channel units) and their SI factors.

A label names a unit of potential or of current; the unit, not the column name, tells a voltage
column from a current column. Matching ignores case ("mv" is mV: no megavolt exists in a
recording) and accepts the micro sign in both of its Unicode forms (µ U+00B5, μ U+03BC) and "u".
"""

import re

import numpy as np

# decimal exponent of each unit: value [SI] = value [unit] * 10**exponent
VOLTAGE_UNITS = {"V": 0, "mV": -3, "uV": -6}
CURRENT_UNITS = {"A": 0, "mA": -3, "uA": -6, "nA": -9, "pA": -12, "fA": -15}
_QUANTITY = {**{u: "voltage" for u in VOLTAGE_UNITS}, **{u: "current" for u in CURRENT_UNITS}}
_BY_KEY = {u.lower(): u for u in _QUANTITY}

ACCEPTED = ("voltage: " + ", ".join(VOLTAGE_UNITS) + "; current: " + ", ".join(CURRENT_UNITS))

# "name [unit]", "name (unit)", then "name_unit", "name/unit", "name unit"
_BRACKETED = re.compile(r"^(?P<name>.*?)\s*[\[(]\s*(?P<unit>[^\[\]()]*?)\s*[\])]\s*$")
_SUFFIXED = re.compile(r"^(?P<name>.+?)\s*[_/ ]\s*(?P<unit>[^_/ ]+)$")


def canonical_unit(label):
    """The canonical spelling ("mV", "pA", ...) of a unit label, or None if it is not known."""
    key = str(label).strip().replace("\u00b5", "u").replace("\u03bc", "u").lower()
    return _BY_KEY.get(key)


def to_si(values, exponent):
    """values [unit] -> SI, for a unit 10**exponent of SI (dividing by an exact power of ten)."""
    values = np.asarray(values, dtype=float)
    return values * 10.0 ** exponent if exponent >= 0 else values / 10.0 ** -exponent


def from_si(values, exponent):
    """SI -> values in the unit 10**exponent of SI."""
    return to_si(values, -exponent)


def unit_info(label):
    """(quantity, canonical unit, decimal exponent) of a unit label, or None if it is not known.

    Args:
      label: e.g. "mV", "pA", "µA", "nA".

    Returns:
      ("voltage" | "current", canonical unit, exponent with 1 unit = 10**exponent V or A), or
      None. Convert with ``to_si``.
    """
    unit = canonical_unit(label)
    if unit is None:
        return None
    quantity = _QUANTITY[unit]
    table = VOLTAGE_UNITS if quantity == "voltage" else CURRENT_UNITS
    return quantity, unit, table[unit]


def split_header(header):
    """Split a column header into (name, unit label), e.g. "voltage [mV]" -> ("voltage", "mV").

    A header that is only a unit ("mV") gives ("", "mV"); one without a recognisable unit part
    gives (header, None) and a suffix that is not a known unit gives it as the label, so that the
    caller can report it.
    """
    text = str(header).strip()
    if unit_info(text):
        return "", text
    match = _BRACKETED.match(text)
    if match:
        return match.group("name").strip(), match.group("unit")
    match = _SUFFIXED.match(text)
    if match:
        return match.group("name").strip(), match.group("unit")
    return text, None
