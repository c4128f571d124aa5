"""Units at the edges: recording labels ("mV", "pA") and human-entered quantities ("22C",
"3.18mV", "10MOhm", "140mM"), both read against the one table ``ionjax.units.UNITS``.

Matching ignores case (no recording holds megavolts, and "mohm" is taken as MOhm because no
series resistance is given in milliohm) and accepts the micro sign in both of its Unicode forms
(µ U+00B5, μ U+03BC) and "u", and the Ohm sign Ω. A bare number takes the quantity's default
unit (mV, mM, MOhm, s). Conversion to SI divides by an exact power of ten, so "140 mV" becomes
the float nearest to 0.14 V.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from fitting.recordings.errors import InputError
from ionjax import units
from ionjax._src.validation import MAX_CONCENTRATION

__all__ = ["ACCEPTED", "DEFAULT_UNIT", "PLAUSIBLE_CELSIUS", "QUANTITY_SI",
           "RECORDING_QUANTITIES", "canonical_unit", "check_dissolvable",
           "checked_unit", "exponent", "from_si", "override_unit", "parse_concentrations",
           "parse_list", "parse_positive", "parse_quantity", "parse_solution", "parse_temperature",
           "parse_valences", "quantity_of", "split_header", "to_si", "unit_info"]

# the SI unit of each quantity a file or a command line may hold
QUANTITY_SI = {"voltage": "V", "current": "A", "concentration": "mol/m^3",
               "resistance": "Ohm", "time": "s"}
DEFAULT_UNIT = {"voltage": "mV", "concentration": "mM", "resistance": "MOhm", "time": "s",
                "current": "pA"}
# quantities told apart by the unit of a recording's column or channel
RECORDING_QUANTITIES = ("voltage", "current")
# extra spellings (after case folding and micro/Ohm normalisation) -> table symbol
_ALIASES = {"resistance": {"megohm": "MOhm", "m": "MOhm", "g": "GOhm"},
            # NWB spells the SI units of its series out
            "voltage": {"volts": "V", "volt": "V"}, "current": {"amperes": "A", "ampere": "A"}}


def exponent(symbol: str) -> int:
    """Decimal exponent of a unit of the table: one ``symbol`` = 10**exponent SI units."""
    factor = units.UNITS[symbol][0]
    exp = round(math.log10(factor))
    if not math.isclose(10.0 ** exp, factor, rel_tol=1e-12):  # pragma: no cover - table check
        raise ValueError(f"unit {symbol!r} is not a power of ten of its SI unit")
    return exp


def _fold(label):
    text = str(label).strip().replace("\u00b5", "u").replace("\u03bc", "u")
    return text.replace("\u03a9", "ohm").replace("\u2126", "ohm").lower()


def _symbols(quantity):
    """folded spelling -> table symbol, for the units of one quantity."""
    si = QUANTITY_SI[quantity]
    table = {_fold(sym): sym for sym, (_, unit) in units.UNITS.items() if unit == si}
    return {**table, **_ALIASES.get(quantity, {})}


_BY_QUANTITY = {q: _symbols(q) for q in QUANTITY_SI}
ACCEPTED = "; ".join(f"{q}: " + ", ".join(s for s, (_, u) in units.UNITS.items()
                                          if u == QUANTITY_SI[q]) for q in RECORDING_QUANTITIES)


def canonical_unit(label: str | None, quantities: tuple[str, ...] = RECORDING_QUANTITIES) -> str | None:
    """The table's spelling ("mV", "pA", ...) of a unit label of one of ``quantities``, or None."""
    key = _fold(label)
    for quantity in quantities:
        if key in _BY_QUANTITY[quantity]:
            return _BY_QUANTITY[quantity][key]
    return None


def unit_info(label: str | None) -> tuple[str, str, int] | None:
    """(quantity, canonical unit, decimal exponent) of a recording's unit label, or None.

    Args:
      label: e.g. "mV", "pA", "µA", "nA".

    Returns:
      ("voltage" | "current", canonical unit, exponent with 1 unit = 10**exponent V or A), or
      None. Convert with ``to_si``.
    """
    symbol = canonical_unit(label)
    if symbol is None:
        return None
    quantity = next(q for q in RECORDING_QUANTITIES if units.UNITS[symbol][1] == QUANTITY_SI[q])
    return quantity, symbol, exponent(symbol)


def quantity_of(label: Any) -> str | None:
    """"voltage", "current" or None for a channel's unit label (NUL/space padding ignored)."""
    info = unit_info(str(label).replace("\x00", "").strip())
    return info[0] if info else None


def checked_unit(path: str, label: Any, quantity: str, what: str) -> tuple[str, int]:
    """(canonical unit, decimal exponent) of a unit label of ``quantity``, or an InputError
    naming ``what`` and the accepted units (header strings may be NUL- or space-padded)."""
    if label is not None:  # header strings are NUL- or space-padded
        label = str(label).replace("\x00", "").strip() or None
    info = unit_info(label) if label is not None else None
    if info is None or info[0] != quantity:
        found = "no unit" if label is None else f"unit {label!r}"
        raise InputError(f"{what} has {found}, not a {quantity} unit (accepted units: "
                         f"{ACCEPTED})", path=path)
    return info[1], info[2]


def override_unit(label: str | None, quantity: str, option: str) -> tuple[str, int]:
    """(canonical unit, exponent) of a unit given to override a file's label, checked."""
    symbol = canonical_unit(label, (quantity,)) if label is not None else None
    if symbol is None:
        accepted = ", ".join(s for s, (_, u) in units.UNITS.items() if u == QUANTITY_SI[quantity])
        raise ValueError(f"{option} {label!r} is not a {quantity} unit (accepted: {accepted})")
    return symbol, exponent(symbol)


def to_si(values: Any, exp: int) -> np.ndarray:
    """values [unit] -> SI, for a unit 10**exp of SI (dividing by an exact power of ten)."""
    values = np.asarray(values)  # one pass: the cast to float64 inside the operation
    if values.dtype.kind not in "biuf":  # text, objects: float() rules and errors, as before
        values = values.astype(float)
    if exp >= 0:
        return np.multiply(values, 10.0 ** exp, dtype=float)
    return np.divide(values, 10.0 ** -exp, dtype=float)


def from_si(values: Any, exp: int) -> np.ndarray:
    """SI -> values in the unit 10**exp of SI."""
    return to_si(values, -exp)


# "name [unit]", "name (unit)", then "name_unit", "name/unit", "name unit"
_BRACKETED = re.compile(r"^(?P<name>.*?)\s*[\[(]\s*(?P<unit>[^\[\]()]*?)\s*[\])]\s*$")
_SUFFIXED = re.compile(r"^(?P<name>.+?)\s*[_/ ]\s*(?P<unit>[^_/ ]+)$")


def split_header(header: str) -> tuple[str, str | None]:
    """Split a column header into (name, unit label), e.g. "voltage [mV]" -> ("voltage", "mV").

    A header that is only a unit ("mV") gives ("", "mV"); one without a recognisable unit part
    gives (header, None) and a suffix that is not a known unit gives it as the label, so that the
    caller can report it.
    """
    text = str(header).strip()
    if unit_info(text):
        return "", text
    for pattern in (_BRACKETED, _SUFFIXED):
        match = pattern.match(text)
        if match:
            return match.group("name").strip(), match.group("unit")
    return text, None


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATTERN = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z\u00b5\u03bc%\u03a9\u2126°]*)\s*$")


def parse_quantity(text: Any, kind: str) -> float:
    """Parse ``text`` such as "3.18mV" into SI; a bare number takes the kind's default unit.

    Args:
      text: the string (or a number, taken in the default unit).
      kind: "voltage" (default mV), "concentration" (mM), "resistance" (MOhm), "time" (s) or
        "current" (pA).

    Returns:
      float in SI (V, mol/m^3, Ohm, s).

    Raises:
      ValueError: naming the text and the accepted units.
    """
    match = _PATTERN.match(str(text))
    label = (match.group(2) or DEFAULT_UNIT[kind]) if match else None
    symbol = canonical_unit(label, (kind,)) if label is not None else None
    if symbol is None:
        accepted = ", ".join(s for s, (_, u) in units.UNITS.items() if u == QUANTITY_SI[kind])
        raise ValueError(f"cannot read {text!r} as a {kind}; accepted units: {accepted} "
                         f"(none: {DEFAULT_UNIT[kind]})")
    return float(to_si(float(match.group(1)), exponent(symbol)))


# temperatures of a recording: liquid water at the bench or in the incubator [degC]
PLAUSIBLE_CELSIUS = (-10.0, 100.0)


def parse_temperature(text: Any) -> float:
    """Parse "22C", "22 degC", "295.15K" or a bare number (degC if <= 100, kelvin if >= 200).

    Returns:
      Temperature [K], between -10 and 100 degC (a recording's solutions are liquid water).

    Raises:
      ValueError: unreadable text, or a temperature outside that range (e.g. "25K", "1e6C").
    """
    match = _PATTERN.match(str(text).replace("deg", "").replace("°", ""))
    kelvin = None
    if match:
        value, unit = float(match.group(1)), match.group(2).lower()
        if unit == "k":
            kelvin = value
        elif unit == "c" or (unit == "" and value <= 100):
            kelvin = units.celsius(value)
        elif unit == "" and value >= 200:
            kelvin = value
    if kelvin is None:
        raise ValueError(f"cannot read {text!r} as a temperature; write e.g. '22C' or '295.15K'")
    lo, hi = PLAUSIBLE_CELSIUS
    if not units.celsius(lo) <= kelvin <= units.celsius(hi):
        slip = f"did you mean {kelvin:g} degC ({units.celsius(kelvin):g} K)?"
        raise ValueError(f"temperature {text!r} = {kelvin:g} K is outside {lo:g}..{hi:g} degC "
                         f"(liquid water): {slip if lo <= kelvin <= hi else 'write e.g. 22C'}")
    return kelvin


def parse_list(text: str, kind: str | None = None) -> list:
    """Comma-separated values, each parsed as ``kind`` (or kept as stripped strings)."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    return [parse_quantity(item, kind) for item in items] if kind else items


def parse_valences(text: str) -> list[int]:
    """Comma-separated valences: each a non-zero integer ("1,-1,2"); "1.9" or "0" is refused."""
    valences = []
    for item in parse_list(text):
        try:
            value = float(item)
        except ValueError:
            value = float("nan")
        if not (math.isfinite(value) and value == round(value) and value != 0):
            raise ValueError(f"valence {item!r} is not a non-zero integer (an ion carries whole "
                             "elementary charges)")
        valences.append(int(value))
    return valences


def parse_positive(text: Any, kind: str, what: str, zero: bool = False) -> float:
    """Quantities of ``kind``, each finite, > 0 (or 0 if ``zero``), <= 10 M if concentrations."""
    values = parse_list(text, kind)
    for item, value in zip(parse_list(text), values):
        if not (math.isfinite(value) and (value > 0 or (zero and value == 0))):
            raise ValueError(f"{what} {item!r} must be > 0{', or 0 (absent)' if zero else ''}")
        if kind == "concentration":
            check_dissolvable(value, f"{what} {item!r}")
    return values


def parse_concentrations(text: Any, what: str) -> list[float]:
    """Comma-separated concentrations [mM = mol/m^3], each finite and >= 0: 0 is an ion absent
    from that side (bi-ionic or substitution conditions). ``what`` names them ("--c-in")."""
    values = parse_list(text, "concentration")
    for item, value in zip(parse_list(text), values):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{what} {item!r}: a concentration must be >= 0 mM (0 for an ion "
                             f"absent from that side)")
    return parse_positive(text, "concentration", what, zero=True)  # and <= 10 M


def check_dissolvable(value: float, what: str) -> None:
    """ValueError for a concentration [mM] above 10 M (``ionjax.MAX_CONCENTRATION``): a slip."""
    if value > MAX_CONCENTRATION:  # saturated NaCl is 6.1 M
        raise ValueError(f"{what} = {value / 1e3:g} M is above 10 M, more than any salt dissolves;"
                         " check its unit (a bare number is mM)")


def parse_solution(text: str) -> dict[str, float]:
    """"K=140,gluconate=140" -> {"K": 140.0, "gluconate": 140.0} (concentrations in mM, >= 0:
    "Ca=0" lists an ion absent from this solution, the Henderson LJP is defined there)."""
    solution = {}
    for item in parse_list(text):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"cannot read {item!r} in solution {text!r}; write ion=concentration, "
                             "e.g. 'K=140,Cl=10'")
        if name.strip() in solution:
            raise ValueError(f"solution {text!r} names {name.strip()} twice")
        (solution[name.strip()],) = parse_positive(value, "concentration",
                                                   f"concentration of {name.strip()}", zero=True)
    if not solution:
        raise ValueError("the solution is empty; write ion=concentration, e.g. 'K=140,Cl=10'")
    return solution
