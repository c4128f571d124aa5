"""``Model``: any user function ``fn(params, v) -> i``, fitted with autodiff Jacobians."""

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from fitting.models.base import ModelBase
from fitting.models.params import ParamSpec
from ionjax.units import UNITS

__all__ = ["Model"]


def _symbol(label):
    """The ``ionjax.units.UNITS`` symbol of a label (micro sign spelled µ, μ or u), or None."""
    text = str(label).replace("\u00b5", "u").replace("\u03bc", "u")
    return text if text in UNITS else None


def _display_unit(key, given):
    """(factor, display unit, SI unit) from a table symbol, (factor, label) or (factor, label, SI
    unit); a label of the table ``ionjax.units.UNITS`` names its SI unit itself, any other label
    of a pair is shown as given and leaves the SI unit unnamed (exported keys get no suffix)."""
    if given is None:
        return 1.0, "", ""
    if isinstance(given, str):
        symbol = _symbol(given)
        if symbol is None:
            raise ValueError(f"unit {given!r} of {key!r} is not in ionjax.units.UNITS; give "
                             f"(factor, label) or (factor, label, SI unit)")
        return UNITS[symbol][0], given, UNITS[symbol][1]
    if len(given) == 3:
        factor, label, si_unit = given
    elif len(given) == 2:
        factor, label = given
        symbol = _symbol(label)
        si_unit = UNITS[symbol][1] if symbol else ""
    else:
        raise ValueError(f"units[{key!r}] must be a unit symbol, (factor, label) or "
                         f"(factor, label, SI unit); got {given!r}")
    return float(factor), str(label), str(si_unit)


def _bounds(key, given, start, positive):
    """(lower, upper) floats of a parameter's bounds, checked against its starting value."""
    if given is None:
        return -float("inf"), float("inf")
    if positive:
        raise ValueError(f"{key!r} is both positive and bounded: give bounds (0, upper) alone")
    try:
        lower, upper = given
        lower = -float("inf") if lower is None else float(lower)
        upper = float("inf") if upper is None else float(upper)
    except (TypeError, ValueError):
        raise ValueError(f"bounds[{key!r}] must be (lower, upper), each a number or None; "
                         f"got {given!r}") from None
    if not lower < upper or np.isnan(lower) or np.isnan(upper):
        raise ValueError(f"bounds[{key!r}] = {given!r}: lower must be < upper")
    if not np.all((start > lower) & (start < upper)):
        raise ValueError(f"starting value of {key!r} {start} must lie strictly inside its "
                         f"bounds {given!r}")
    return lower, upper


class _ByIdentity:
    """An unhashable object, compared and hashed by identity."""

    def __init__(self, obj):
        self.obj = obj

    def __eq__(self, other):
        return isinstance(other, _ByIdentity) and other.obj is self.obj

    def __hash__(self):
        return id(self.obj)


@dataclasses.dataclass(frozen=True, init=False, eq=False)
class Model(ModelBase):
    """Any user model ``fn(params, v) -> i`` written with ionjax/jax (SI units).

    Args:
      fn: ``fn(params: dict name -> scalar or 1-d array, v: (n,) [V]) -> (n,) current [A]``.
      params: starting values, dict name -> float or 1-d array [SI]; their magnitudes also set
        the internal scaling, so give values of the right order.
      positive: names of parameters constrained > 0 (fitted in log space).
      bounds: optional dict name -> (lower, upper) [SI], either may be None; honoured by every
        solver through the internal parameterisation. A fit whose optimum lies on a bound has
        no standard error there (status SINGULAR).
      units: optional dict name -> unit: a symbol of ``ionjax.units.UNITS`` ("nS"), a pair
        (display factor, label) such as (1e-9, "nS"), or (factor, label, SI unit) for a label
        outside the table. Reports show the display unit, exported files the SI unit.
      name: label for reports.

    The Jacobian comes from autodiff of ``fn``. Models are equal (and hash alike) when their
    function object, parameter layout, starting values and name are equal, so two equal
    ``Model(...)`` objects share one compiled fit (a function that cannot be hashed is compared
    by identity). As with ``jax.jit``, ``fn`` must be pure: a global or an attribute it reads is
    frozen into the compiled program the first time, so pass what changes as a parameter, or
    build a new function, not a changed global.
    """

    fn: Callable
    start: tuple
    specs: tuple
    name: str
    has_linear_form = False

    def __init__(self, fn: Callable, *, params: Any, positive: Any = (), units: Any | None = None,
                 name: str = "Model", bounds: Any | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable fn(params, v); got {fn!r}")
        units, bounds = units or {}, bounds or {}
        for label, names in (("positive", positive), ("units", units), ("bounds", bounds)):
            unknown = set(names) - set(params)
            if unknown:
                raise ValueError(f"{label} names unknown parameters {sorted(unknown)}; "
                                 f"parameters are {sorted(params)}")
        specs, start = [], []
        for key, value in params.items():
            value = np.atleast_1d(np.asarray(value, float))
            if value.ndim != 1 or not np.all(np.isfinite(value)):
                raise ValueError(f"starting value of {key!r} must be a finite scalar or 1-d array")
            if key in positive and np.any(value <= 0):
                raise ValueError(f"starting value of positive parameter {key!r} must be > 0; "
                                 f"got {value}")
            factor, unit, si_unit = _display_unit(key, units.get(key))
            lower, upper = _bounds(key, bounds.get(key), value, key in positive)
            floor = float(np.max(np.abs(value))) or 1.0
            specs.append(ParamSpec(key, size=value.size, unit=unit, factor=factor,
                                   si_unit=si_unit, positive=key in positive, floor=floor,
                                   lower=lower, upper=upper))
            start.append(tuple(float(x) for x in value))
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "start", tuple(start))
        object.__setattr__(self, "specs", tuple(specs))
        object.__setattr__(self, "name", name)
        self._check_start()

    def _check_start(self):
        """Refuse starting values whose current is zero at every voltage (e.g. a conductance
        started at 0): the fit has no direction to start from, and a parameter that multiplies
        the current would leave the others' derivatives zero."""
        dtype = jax.dtypes.canonicalize_dtype(np.float64)
        v = np.linspace(-0.15, 0.15, 31).astype(dtype)
        try:
            current = np.asarray(self.current(self.unflatten(self.start_vector(dtype)), v))
        except Exception:  # noqa: BLE001 - a function that needs arrays of other shapes
            return
        if current.size and np.all(current == 0):
            given = {k: (x[0] if len(x) == 1 else list(x)) for k, x in
                     zip(self.param_names, self.start)}
            raise ValueError(f"the starting values {given} give "
                             "zero current at every voltage from -150 to +150 mV: start the "
                             "amplitudes at a typical non-zero size (e.g. g=1e-9)")

    def _key(self):
        try:
            hash(self.fn)
            fn = self.fn
        except TypeError:  # e.g. a dataclass instance with __eq__ but no __hash__
            fn = _ByIdentity(self.fn)
        return fn, self.start, self.specs, self.name

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def current(self, params: Any, v: Any) -> Any:
        return self.fn(params, v)

    def start_vector(self, dtype: Any) -> Any:
        return jnp.asarray(np.concatenate([np.asarray(s) for s in self.start]), dtype)
