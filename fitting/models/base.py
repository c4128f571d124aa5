"""``ModelBase``: the hooks a fitted model implements, and the parameter layout they share.

A model is an immutable, hashable value (a frozen dataclass): it is part of the static
configuration of the compiled fit, so equal models share one compiled program, and its
``repr`` names the program's exported artifact (``fitting.engine.compiled``). Parameters are SI.

Hooks a model implements (REQUIRED) or may override (defaults here):

    specs               REQUIRED. tuple of ``ParamSpec`` (``fitting.models.params``): the free
                        parameters, their sizes, units, scaling, positivity and bounds.
    current(params, v)  REQUIRED. current [A] at voltages v [V], (n,) -> (n,), under jit.
    name                display name in reports ("model").
    reversal(params)    closed-form reversal potential [V], or None (found numerically).
    derived(params)     quantities reported beside the parameters (ratios), with delta-method
                        standard errors; {} by default.
    has_linear_form     True (default): the model is partially linear and separable,
                        I = sum_j a_j gate(v; theta) h_j(v), and provides the four hooks
                        ``grid(v, mask)`` (G, q) candidate theta, ``gate(grid, v)`` (G, n),
                        ``features(v)`` the tuple of h_j, ``from_linear(a, theta)`` -> params
                        (``fitting.models.linear`` has the usual ones). False: the model gives
                        ``start_vector(dtype)`` (k,) starting values [SI] instead, or
                        ``start_from_data(v, i, w, valid)`` starting values found from the
                        recording itself under jit (default: ``start_vector``).
    gated               True: ``open_probability(params, v)`` gives the gate and
                        ``gating_params`` names its parameters (the identifiability rule of
                        ``fitting.engine.statistics``); False by default.
    check_points(n)     host-side check of the points per recording before a fit (none).
    out_of_range(params)  under jit: True where the fit lies outside the model's valid range
                        (Status.OUT_OF_RANGE); False by default.
    max_chunk           cap on recordings per vmapped chunk (``fitting.engine.driver``); None.
    single_iv           False: the points are several I-Vs (no single reversal, no predict).
    element_labels, reported_elements, spec_of   how vector entries are named and reported.
"""

from typing import Any, Sequence

import jax.numpy as jnp

from fitting.models.params import DIMENSIONLESS, ParamSpec

__all__ = ["ModelBase"]

Params = dict[str, Any]


class ModelBase:
    """Parameter layout shared by every model and the hooks of the module docstring.

    Subclasses define ``specs`` and ``current`` (required), then either the partially linear
    form (``grid``, ``gate``, ``features``, ``from_linear``; ``fitting.models.linear``) or
    ``has_linear_form = False`` and ``start_vector``.
    """

    specs: tuple[ParamSpec, ...] = ()
    name: str = "model"
    has_linear_form: bool = True
    gated: bool = False  # True: ``open_probability(params, v)`` gives the gate
    gating_params: tuple[str, ...] = ()
    max_chunk: int | None = None  # cap on recordings per vmapped chunk (fitting.engine.driver)
    single_iv: bool = True  # False: the points are several I-Vs (no single reversal/prediction)

    def check_points(self, n: int) -> None:
        """Host-side check of the number of points per recording before a fit (none here)."""

    def out_of_range(self, params: Params) -> Any:
        """True where the fitted parameters lie outside the model's valid range (under jit;
        such a fit gets Status.OUT_OF_RANGE). None here."""
        return False

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    @property
    def n_params(self) -> int:
        return sum(s.size for s in self.specs)

    def spec_of(self, name: str) -> ParamSpec:
        """The ParamSpec of a free parameter; derived quantities (ratios) are dimensionless."""
        return next((s for s in self.specs if s.name == name), DIMENSIONLESS)

    def element_labels(self, name: str, size: int) -> list[str]:
        """Labels of the entries of a parameter or derived quantity in reports and exported
        keys: the name itself for a scalar, ``name[j]`` for the entries of a vector."""
        return [name] if size == 1 else [f"{name}[{j}]" for j in range(size)]

    def reported_elements(self, name: str, size: int) -> Sequence[int]:
        """Indices of the entries worth a row in reports and exports (all by default; a
        quantity that is 1 by definition, like the reference ion's own ratio, is left out)."""
        return range(size)

    def flatten(self, params: Params) -> jnp.ndarray:
        """dict -> vector (..., k) in ``specs`` order."""
        pieces = [params[s.name] if s.size > 1 else params[s.name][..., None] for s in self.specs]
        return jnp.concatenate(pieces, axis=-1)

    def unflatten(self, vector: jnp.ndarray) -> Params:
        """vector (..., k) -> dict in ``specs`` order (scalars for size-1 parameters)."""
        out, start = {}, 0
        for s in self.specs:
            piece = vector[..., start:start + s.size]
            out[s.name] = piece if s.size > 1 else piece[..., 0]
            start += s.size
        return out

    def param_arrays(self, dtype: Any) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(floors (k,) [SI], positive (k,) bool): the per-entry scaling data of the vector."""
        floors, positive = [], []
        for s in self.specs:
            floors += [s.floor] * s.size
            positive += [s.positive] * s.size
        return jnp.asarray(floors, dtype), jnp.asarray(positive)

    @property
    def bounded(self) -> bool:
        """True when some parameter has a finite lower or upper bound."""
        return any(s.lower > -float("inf") or s.upper < float("inf") for s in self.specs)

    def nonnegative_array(self) -> jnp.ndarray:
        """(k,) bool: entries that physics forbids to be negative."""
        return jnp.asarray(sum(([s.nonnegative] * s.size for s in self.specs), []), bool)

    def bound_arrays(self, dtype: Any) -> tuple[jnp.ndarray, jnp.ndarray]:
        """(lower (k,), upper (k,)) [SI] bounds of the vector entries (+-inf where none)."""
        lower, upper = [], []
        for s in self.specs:
            lower += [s.lower] * s.size
            upper += [s.upper] * s.size
        return jnp.asarray(lower, dtype), jnp.asarray(upper, dtype)

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:  # pragma: no cover
        """REQUIRED: model current [A] at voltages v [V] for the parameters (dict, SI)."""
        raise NotImplementedError(f"{type(self).__name__} must define current(params, v)")

    def reversal(self, params: Params) -> jnp.ndarray | None:
        """Closed-form reversal potential, or None when it must be found numerically."""
        return None

    def derived(self, params: Params) -> Params:
        """Derived quantities reported beside the parameters (dict name -> array)."""
        return {}

    def start_from_data(self, v: jnp.ndarray, i: jnp.ndarray, w: jnp.ndarray,
                        valid: jnp.ndarray) -> jnp.ndarray:
        """Starting values (k,) [SI] of a model without the linear form, from one recording
        under jit: v, i (n,) [V, A] (0 at unused points), weights w (n,) [1/A], valid (n,) bool.
        Default: ``start_vector`` (data-free)."""
        return self.start_vector(v.dtype)

    def start_vector(self, dtype: Any) -> jnp.ndarray:  # pragma: no cover - abstract
        """Starting values (k,) [SI] of a model without the linear form (has_linear_form False)."""
        raise NotImplementedError(f"{type(self).__name__} has no linear form: define "
                                  "start_vector(dtype)")
