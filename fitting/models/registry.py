"""The models the ``ionjax`` command offers, by name: one registry line a model.

A line names the model on the command line, the class (``"module:Class"``, imported on first
use so that ``ionjax --help`` imports no jax), which ion options it takes, and a help text::

    register_model("ohmic", "fitting.models.ohmic:Ohmic", ions="none", help="I = g (V - E_rev)")

The ion options are resolved by the command (names from ``ionjax.ION_TABLE``, valences,
concentrations [mM = mol/m^3], temperature [K]) into an :class:`Ions` and passed to the entry's
``build``; by default a model that takes one ion is built as ``cls(z=, c_in=, c_out=,
temperature=)`` and one that takes several also gets ``reference=`` and ``ions=``. A registered
class, wherever its module, also gets its compiled fit programs kept across processes
(``fitting.engine.compiled``).
Those programs are named by a digest of the source of ``fitting.engine``, ``fitting.models``,
``ionjax`` and the registered class's own module: a helper the class calls from another module
of yours is not covered, so register a class whose numerics live in its own module (or clear
the cache folder, ``fitting.engine.compiled.cache_folder()``, after changing such a helper).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Literal

__all__ = ["Ions", "ModelEntry", "MODELS", "register_model", "unregister_model", "model_entry",
           "is_registered"]

IonArity = Literal["none", "one", "several"]


@dataclasses.dataclass(frozen=True)
class Ions:
    """The ion options of a model, resolved: per ion its name, valence, concentrations
    [mol/m^3] inside and outside, the temperature [K] and the reference ion's index."""

    names: tuple[str, ...]
    z: tuple[float, ...]
    c_in: tuple[float, ...]
    c_out: tuple[float, ...]
    temperature: float
    reference: int = 0


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    """One registered model.

    Attributes:
      name: the command-line name (``--model NAME``).
      target: the class or factory, or ``"module:attribute"`` naming it (imported on use).
      ions: which ion options it takes: "none", "one" (``--ion``) or "several" (``--ions``).
      help: one line for ``ionjax fit --help``.
      build: optional ``build(ions: Ions | None) -> model``; None: the default construction.
    """

    name: str
    target: Any
    ions: IonArity = "none"
    help: str = ""
    build: Callable[[Ions | None], Any] | None = None

    def resolve(self) -> Any:
        """The class or factory (imported now if named by a string)."""
        if isinstance(self.target, str):
            module, _, attribute = self.target.partition(":")
            return getattr(importlib.import_module(module), attribute)
        return self.target

    def make(self, ions: Ions | None = None) -> Any:
        """The model, built from the resolved ion options (None for a model without ions)."""
        if self.build is not None:
            return self.build(ions)
        cls = self.resolve()
        if self.ions == "none":
            return cls()
        if ions is None:
            raise ValueError(f"model {self.name!r} needs ion options")
        if self.ions == "one":
            return cls(z=ions.z[0], c_in=ions.c_in[0], c_out=ions.c_out[0],
                       temperature=ions.temperature)
        return cls(z=ions.z, c_in=ions.c_in, c_out=ions.c_out, temperature=ions.temperature,
                   reference=ions.reference, ions=ions.names)


MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, target: Any, *, ions: IonArity = "none", help: str = "",
                   build: Callable[[Ions | None], Any] | None = None) -> ModelEntry:
    """Add a model to the registry (its command-line name must be new).

    Args:
      name: the ``--model`` name, lower case with hyphens.
      target: the model class (or a factory), or ``"module:attribute"``.
      ions: "none", "one" or "several": the ion options it takes.
      help: one line of help text.
      build: optional ``build(ions) -> model`` replacing the default construction.

    Returns:
      The new ModelEntry.

    Raises:
      ValueError: the name is taken or ``ions`` names no arity.
    """
    if name in MODELS:
        raise ValueError(f"a model named {name!r} is registered already")
    if ions not in ("none", "one", "several"):
        raise ValueError(f"ions must be 'none', 'one' or 'several'; got {ions!r}")
    entry = ModelEntry(name, target, ions, help, build)
    MODELS[name] = entry
    return entry


def unregister_model(name: str) -> ModelEntry:
    """Remove a registered model (a plug-in's tests, or one registered by mistake).

    Args:
      name: the ``--model`` name given to ``register_model``.

    Returns:
      The removed ModelEntry.

    Raises:
      ValueError: no model of that name is registered.
    """
    entry = model_entry(name)
    del MODELS[name]
    return entry


def model_entry(name: str) -> ModelEntry:
    """The registered model called ``name``; ValueError naming the choices otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"no model named {name!r}; choose from {', '.join(MODELS)}") from None


def is_registered(model: Any) -> bool:
    """True when ``model``'s exact class is a registered target (subclasses are not: their
    code is not what was registered)."""
    cls = type(model)
    for entry in MODELS.values():
        target = entry.target
        if isinstance(target, str):
            if target == f"{cls.__module__}:{cls.__qualname__}":
                return True
        elif target is cls:
            return True
    return False


register_model("ohmic", "fitting.models.ohmic:Ohmic", help="I = g (V - E_rev)")
register_model("ghk", "fitting.models.ghk:GHK", ions="one",
               help="GHK current of one ion: I = p I_GHK(V)")
register_model("multi-ghk", "fitting.models.ghk:MultiIonGHK", ions="several",
               help="sum of GHK currents of several ions; permeability ratios")
register_model("boltzmann-ohmic", "fitting.models.boltzmann:BoltzmannOhmic",
               help="g_max (V - E_rev) / (1 + exp((V_1/2 - V)/k))")
register_model("boltzmann-ghk", "fitting.models.boltzmann:BoltzmannGHK", ions="one",
               help="p_max I_GHK(V) / (1 + exp((V_1/2 - V)/k))")
