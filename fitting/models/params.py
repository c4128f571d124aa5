"""Parameter layout of a model: named (possibly vector) parameters, their units and scaling.

A model's free parameters travel as one flat vector (..., k) inside the solver and as a dict
name -> array outside; ``ModelBase`` converts between the two in the order of its ``specs``.
Every ``ParamSpec`` carries its SI unit and a display unit from the one table
``ionjax.units.UNITS`` (e.g. "nS" -> 1e-9 S), so reports and exported files name them.
"""

import dataclasses

import jax.numpy as jnp

from ionjax.units import UNITS


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


def spec(name, unit, *, size=1, positive=False, floor=None, nonnegative=False):
    """A ParamSpec whose display unit is a symbol of ``ionjax.units.UNITS`` (floor: one unit)."""
    factor, si_unit = UNITS[unit]
    return ParamSpec(name, size=size, unit=unit, factor=factor, si_unit=si_unit,
                     positive=positive, floor=factor if floor is None else floor,
                     nonnegative=nonnegative)


class ModelBase:
    """Parameter layout shared by every model; subclasses define ``specs`` and ``current``.

    Built-in models also describe their partially linear structure (``grid``, ``gate``,
    ``features``, ``from_linear``; see ``fitting.models.builtin``); models without it set
    ``has_linear_form = False`` and provide ``start_vector``.
    """

    specs: tuple = ()
    name = "model"
    has_linear_form = True
    gated = False  # True: ``open_probability(params, v)`` gives the gate (identifiability rule)
    max_chunk = None  # cap on recordings per vmapped chunk (``fitting.engine.driver``)
    single_iv = True  # False: the points are several I-Vs (no single reversal or prediction)

    def check_points(self, n):
        """Host-side check of the number of points per recording before a fit (none here)."""

    def out_of_range(self, params):
        """True where the fitted parameters lie outside the model's valid range (under jit;
        such a fit gets Status.OUT_OF_RANGE). None here."""
        return False

    @property
    def param_names(self):
        return tuple(s.name for s in self.specs)

    @property
    def n_params(self):
        return sum(s.size for s in self.specs)

    def spec_of(self, name):
        """The ParamSpec of a free parameter; derived quantities (ratios) are dimensionless."""
        return next((s for s in self.specs if s.name == name), DIMENSIONLESS)

    def element_labels(self, name, size):
        """Labels of the entries of a parameter or derived quantity in reports and exported
        keys: the name itself for a scalar, ``name[j]`` for the entries of a vector."""
        return [name] if size == 1 else [f"{name}[{j}]" for j in range(size)]

    def reported_elements(self, name, size):
        """Indices of the entries worth a row in reports and exports (all by default; a
        quantity that is 1 by definition, like the reference ion's own ratio, is left out)."""
        return range(size)

    def flatten(self, params):
        """dict -> vector (..., k) in ``specs`` order."""
        pieces = [params[s.name] if s.size > 1 else params[s.name][..., None] for s in self.specs]
        return jnp.concatenate(pieces, axis=-1)

    def unflatten(self, vector):
        """vector (..., k) -> dict in ``specs`` order (scalars for size-1 parameters)."""
        out, start = {}, 0
        for s in self.specs:
            piece = vector[..., start:start + s.size]
            out[s.name] = piece if s.size > 1 else piece[..., 0]
            start += s.size
        return out

    def param_arrays(self, dtype):
        """(floors (k,) [SI], positive (k,) bool): the per-entry scaling data of the vector."""
        floors, positive = [], []
        for s in self.specs:
            floors += [s.floor] * s.size
            positive += [s.positive] * s.size
        return jnp.asarray(floors, dtype), jnp.asarray(positive)

    @property
    def bounded(self):
        """True when some parameter has a finite lower or upper bound."""
        return any(s.lower > -float("inf") or s.upper < float("inf") for s in self.specs)

    def nonnegative_array(self):
        """(k,) bool: entries that physics forbids to be negative."""
        return jnp.asarray(sum(([s.nonnegative] * s.size for s in self.specs), []), bool)

    def bound_arrays(self, dtype):
        """(lower (k,), upper (k,)) [SI] bounds of the vector entries (+-inf where none)."""
        lower, upper = [], []
        for s in self.specs:
            lower += [s.lower] * s.size
            upper += [s.upper] * s.size
        return jnp.asarray(lower, dtype), jnp.asarray(upper, dtype)

    def current(self, params, v):  # pragma: no cover - abstract
        """Model current [A] at voltages v [V] for the parameters (dict, SI)."""
        raise NotImplementedError

    def reversal(self, params):
        """Closed-form reversal potential, or None when it must be found numerically."""
        return None

    def derived(self, params):
        """Derived quantities reported beside the parameters (dict name -> array)."""
        return {}
