"""Parsing of human-entered quantities with units ("22C", "3.18mV", "10MOhm", "140mM") into SI."""

import re

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PATTERN = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-zµ%Ω°]*)\s*$")

UNITS = {
    "voltage": {"": 1e-3, "v": 1.0, "mv": 1e-3, "uv": 1e-6, "µv": 1e-6},
    "concentration": {"": 1.0, "mm": 1.0, "um": 1e-3, "µm": 1e-3, "nm": 1e-6, "m": 1e3},
    "resistance": {"": 1e6, "ohm": 1.0, "Ω": 1.0, "kohm": 1e3, "mohm": 1e6, "megohm": 1e6,
                   "gohm": 1e9, "m": 1e6, "mΩ": 1e6, "g": 1e9},
    "time": {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6},
}
DEFAULT_UNIT = {"voltage": "mV", "concentration": "mM", "resistance": "MOhm", "time": "s"}


def parse_quantity(text, kind):
    """Parse ``text`` such as "3.18mV" into SI; a bare number takes the kind's default unit.

    Args:
      text: the string (or a number, taken in the default unit).
      kind: "voltage" (default mV), "concentration" (mM), "resistance" (MOhm) or "time" (s).

    Returns:
      float in SI (V, mol/m^3, Ohm, s).

    Raises:
      ValueError: naming the text and the accepted units.
    """
    if isinstance(text, (int, float)):
        text = str(text)
    match = _PATTERN.match(str(text))
    table = UNITS[kind]
    unit = match.group(2) if match else None
    key = unit if unit in ("Ω", "mΩ") else (unit.lower() if unit is not None else None)
    if kind == "resistance" and unit in ("M", "MΩ", "MOhm", "Mohm"):
        key = "mohm"
    if match is None or key not in table:
        accepted = ", ".join(sorted({k for k in table if k} | {"(none: " + DEFAULT_UNIT[kind] + ")"}))
        raise ValueError(f"cannot read {text!r} as a {kind}; accepted units: {accepted}")
    return float(match.group(1)) * table[key]


def parse_temperature(text):
    """Parse "22C", "22 degC", "295.15K" or a bare number (degC if <= 100, kelvin if >= 200).

    Returns:
      Temperature [K].
    """
    match = _PATTERN.match(str(text).replace("deg", "").replace("°", ""))
    if match:
        value, unit = float(match.group(1)), match.group(2).lower()
        if unit == "k" and value > 0:
            return value
        if unit == "c":
            return value + 273.15
        if unit == "" and value <= 100:
            return value + 273.15
        if unit == "" and value >= 200:
            return value
    raise ValueError(f"cannot read {text!r} as a temperature; write e.g. '22C' or '295.15K'")


def parse_list(text, kind=None):
    """Comma-separated values, each parsed as ``kind`` (or kept as stripped strings)."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    return [parse_quantity(item, kind) for item in items] if kind else items


def parse_solution(text):
    """"K=140,gluconate=140" -> {"K": 140.0, "gluconate": 140.0} (concentrations in mM)."""
    solution = {}
    for item in parse_list(text):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"cannot read {item!r} in solution {text!r}; write ion=concentration, "
                             "e.g. 'K=140,Cl=10'")
        solution[name.strip()] = parse_quantity(value, "concentration")
    return solution
