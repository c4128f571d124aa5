"""Are a recording's currents plausible in the unit they were read in? One rule for every
reader (the step I-V, every protocol, I-V tables), from the file's own unit label AND the
recording's configuration.

* The bound of max |I|: 1 uA for a whole-cell or patch recording; 100 uA for a two-electrode
  voltage clamp (oocytes, invertebrate neurons pass microamperes), that is a file whose own
  label is nA or uA (the units two-electrode amplifiers record in) or a recording whose voltage
  is a recorded membrane potential (``voltage_channel``). Below 1 fA nothing is a recording.
* An override of a file's explicit label (``current_unit=``, ``--current-unit``) must be
  confirmed by the data. It rescales every current by 10**k, so it is refused when the numbers
  read as labelled are typical of the configuration (largest |I| over what was read within
  10 pA..100 nA whole-cell, 100 pA..100 uA two-electrode): then the label is not what is wrong,
  and e.g. nA on a pA file of 850 pA currents would make them 850 nA. An override of an absent
  or unknown label, or of numbers atypical as labelled (5.6 "A" that are pA), is used and the
  result must pass the bound. An override equal to the label changes nothing.

``check_plausible`` names the likely unit of implausible numbers (any quantity).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.units import QUANTITY_SI, canonical_unit, exponent
from ionjax import units

__all__ = ["CURRENT_OPTION", "PLAUSIBLE", "TWO_ELECTRODE_UNITS", "TYPICAL", "check_current_unit",
           "check_plausible", "current_limit", "current_problem", "is_two_electrode"]

CURRENT_OPTION = "current_unit= (--current-unit)"
TWO_ELECTRODE_UNITS = ("nA", "uA")
LIMIT = {False: 1e-6, True: 1e-4}  # [A] largest plausible |I|: whole-cell, two-electrode
TYPICAL = {False: (1e-11, 1e-7), True: (1e-10, 1e-4)}  # [A] typical largest |I|


# What a voltage-clamp I-V holds once in SI: membrane potentials within +-0.5 V spanning at
# least 1 mV, whole-cell currents within +-1 uA and (unless all zero) above 1 fA somewhere.
PLAUSIBLE = {"voltage": (1e-3, 0.5), "current": (1e-15, 1e-6)}
# largest |value| of a typical recording, used to name the likely unit of implausible numbers
_TYPICAL = {"voltage": (0.01, 0.5), "current": (1e-11, 1e-7)}
_RULE = {"voltage": "|V| <= 0.5 V spanning >= 1 mV", "current": "1 fA <= max |I| <= 1 uA"}


def check_plausible(values: Any, quantity: str, unit: Any, *, override: str,
                    limit: float | None = None) -> str | None:
    """Refuse values that, read in ``unit``, cannot be a voltage-clamp I-V.

    Args:
      values: the column or channel in SI (V or A).
      quantity: "voltage" (checks the largest |v| and the span) or "current" (largest |i|).
      unit: the unit the numbers were read in (a label of the file, or an override).
      override: the option that overrides the unit (named in the message).
      limit: the largest plausible |value| [SI], default ``PLAUSIBLE`` (``current_limit``: the
        two-electrode bound of currents).

    Returns:
      None, or a message (str) naming the likely unit and the override; the caller raises it.
    """
    if isinstance(values, (list, tuple)):
        values = np.concatenate([np.ravel(np.asarray(x, float)) for x in values] or [[]])
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    lo, hi = PLAUSIBLE[quantity][0], limit or PLAUSIBLE[quantity][1]
    size = np.max(np.abs(finite)) if quantity == "current" else np.ptp(finite)
    biggest = np.max(np.abs(finite))
    if (biggest <= hi and size >= lo) or size == 0:  # all equal: nothing to tell a unit by
        return None
    raw = biggest / 10.0 ** exponent(canonical_unit(unit))
    t_lo, t_hi = _TYPICAL[quantity]
    likely = [sym for sym, (_, si) in units.UNITS.items() if si == QUANTITY_SI[quantity]
              and sym != canonical_unit(unit) and t_lo <= raw * 10.0 ** exponent(sym) <= t_hi]
    what = (f"{quantity}s up to {biggest:.3g} {QUANTITY_SI[quantity]}" if biggest > hi else
            f"{quantity}s {'spanning' if quantity == 'voltage' else 'of at most'} "
            f"{size:.3g} {QUANTITY_SI[quantity]}")
    guess = f"; the numbers look like {' or '.join(likely)}" if likely else ""
    rule = _RULE[quantity] if hi == PLAUSIBLE[quantity][1] else f"max |I| <= {hi * 1e6:g} uA"
    return (f"{what} when read as {unit}: not a voltage-clamp I-V ({rule}){guess}. "
            f"Fix the unit label or give {override}")


def _symbol(label: Any) -> str | None:
    if label is None or not isinstance(label, str):
        return None
    return canonical_unit(label.replace("\x00", "").strip(), ("current",))


def is_two_electrode(label: Any, membrane: bool = False) -> bool:
    """Whether a recording is read as a two-electrode clamp: its own current label is nA or uA,
    or its voltage is a recorded membrane potential (``membrane``)."""
    return membrane or _symbol(label) in TWO_ELECTRODE_UNITS


def current_limit(label: Any, membrane: bool = False) -> float:
    """The largest plausible |I| [A]: 100 uA for a two-electrode clamp, else 1 uA."""
    return LIMIT[is_two_electrode(label, membrane)]


def current_problem(values: Any, unit: Any, *, label: Any, membrane: bool = False,
                    option: str = CURRENT_OPTION) -> str | None:
    """``check_plausible`` of currents [A] read in ``unit`` with the bound of the configuration
    (``label``: the file's own label; ``membrane``: a recorded V_m gives the voltage)."""
    if not isinstance(unit, str):  # several units across sweeps: judge by the first
        unit = sorted(unit)[0]
    return check_plausible(values, "current", unit, override=option,
                           limit=current_limit(label, membrane))


def check_current_unit(path: str, values: Any, label: Any, used: Any, *, what: str,
                       membrane: bool = False) -> None:
    """Refuse an override ``used`` of the file's explicit label ``label`` that the data do not
    confirm (module docstring).

    Args:
      path: the file (named in the error).
      values: the currents [A] as read with ``used`` (an array of any shape, or a sequence of
        arrays such as a recording's sweeps; NaN ignored; read only when ``used`` overrides
        ``label``).
      label: the file's own unit label (None or unknown: nothing to contradict).
      used: the unit the currents were read in (the override, or the label itself).
      what: the channel or column, e.g. "channel 0 (IN 0)".

    Raises:
      InputError: one line naming the label, the typical numbers and the option.
    """
    own, over = _symbol(label), _symbol(used)
    if own is None or over is None or own == over:  # no override to confirm: the data unread
        return
    if isinstance(values, (list, tuple)):
        values = np.concatenate([np.ravel(np.asarray(x, float)) for x in values] or [[]])
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return
    biggest = float(np.max(np.abs(finite))) * 10.0 ** (exponent(own) - exponent(over))
    two = is_two_electrode(label, membrane)
    lo, hi = TYPICAL[two]
    if lo <= biggest <= hi:
        factor = 10.0 ** (exponent(over) - exponent(own))
        size = f"{factor:g}x larger" if factor > 1 else f"{1 / factor:g}x smaller"
        raise InputError(
            f"{what} is labelled {own} and its currents (up to {biggest / 10.0 ** exponent(own):.3g}"
            f" {own}) are typical of a {'two-electrode' if two else 'whole-cell'} recording as "
            f"labelled; {over} as current_unit= (--current-unit) would make every current "
            f"{size}: leave it out (it is for a file whose label is missing or wrong)", path=path)
