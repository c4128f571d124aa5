"""Parameter layout of a model: named (possibly vector) parameters, their units and scaling.

A model's free parameters travel as one flat vector (..., k) inside the solver and as a dict
name -> array outside; ``fitting.models.base.ModelBase`` converts between the two in the order
of its ``specs``.
Every ``ParamSpec`` carries its SI unit and a display unit from the one table
``ionjax.units.UNITS`` (e.g. "nS" -> 1e-9 S), so reports and exported files name them.
"""

import dataclasses

from ionjax.units import UNITS

__all__ = ["DIMENSIONLESS", "ParamSpec", "spec"]


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One (possibly vector) parameter.

    Attributes:
      name: key in ``FitResult.params``.
      size: 1 for a scalar, else the length of the vector.
      unit: display unit (e.g. "nS"); the value shown is the SI value / ``factor``.
      factor: SI value of one display unit (1e-9 for nS).
      si_unit: the SI unit of the value (e.g. "S"); "" for a dimensionless parameter.
      positive: constrained > 0 (fitted in log space).
      floor: internal scale [SI] when the starting value is 0.
      lower, upper: bounds [SI] (-inf / +inf: none), honoured through the internal
        parameterisation (``fitting.engine.problem.physical``), so by every solver.
    """

    name: str
    size: int = 1
    unit: str = ""
    factor: float = 1.0
    si_unit: str = ""
    positive: bool = False
    floor: float = 1.0
    lower: float = -float("inf")
    upper: float = float("inf")
    nonnegative: bool = False  # physics forbids < 0 (a permeability): such a fit is refused


DIMENSIONLESS = ParamSpec("", unit="", factor=1.0, si_unit="")


def spec(name: str, unit: str, *, size: int = 1, positive: bool = False,
         floor: float | None = None, nonnegative: bool = False) -> ParamSpec:
    """A ParamSpec whose display unit is a symbol of ``ionjax.units.UNITS`` (floor: one unit)."""
    factor, si_unit = UNITS[unit]
    return ParamSpec(name, size=size, unit=unit, factor=factor, si_unit=si_unit,
                     positive=positive, floor=factor if floor is None else floor,
                     nonnegative=nonnegative)
