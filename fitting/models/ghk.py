"""GHK currents: one ion (``GHK``) or several (``MultiIonGHK``), linear in the permeabilities.

Also the single-ion helpers other models share: ``ion_config`` (the host-side check of
valences, concentrations [mol/m^3] and temperature [K]), ``unit_currents`` (GHK current per unit
permeability) and ``SingleIon`` (a current carried by one ion, reversing at its Nernst
potential).
"""

import dataclasses
from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

import ionjax
from fitting.models.base import ModelBase, Params
from fitting.models.linear import Linear
from fitting.models.params import ParamSpec, spec

__all__ = ["GHK", "MultiIonGHK", "SingleIon", "ion_config", "set_fields", "unit_currents"]


def ion_config(z: Any, c_in: Any, c_out: Any, temperature: float
               ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...], float]:
    """(z, c_in, c_out, temperature) as tuples of floats, one entry per ion, checked on the host
    (lengths, valences, concentrations [mol/m^3] >= 0 with 0 an ion absent from that side
    (bi-ionic, substitution: the GHK current stays finite) but not from both, temperature [K]
    in 200..400, ``ionjax.validate_inputs``: degC given as K is refused)."""
    if temperature is None:
        raise TypeError("temperature [K] is required (use ionjax.units.celsius for degC)")
    z, c_in, c_out = (tuple(float(x) for x in np.atleast_1d(a)) for a in (z, c_in, c_out))
    if not len(z) == len(c_in) == len(c_out) or not z:
        raise ValueError(f"z, c_in and c_out must have one entry per ion (at least one); got "
                         f"lengths {len(z)}, {len(c_in)}, {len(c_out)}")
    ionjax.validate_inputs(z=z, c_in=c_in, c_out=c_out, temperature=temperature)
    for k, (ci, co) in enumerate(zip(c_in, c_out)):
        if ci == 0 and co == 0:  # a zero feature: its permeability cannot be fitted
            raise ValueError(f"ion {k} has c_in = c_out = 0: absent from both sides it carries "
                             "no current; leave it out")
    return z, c_in, c_out, float(temperature)


def unit_currents(v: jnp.ndarray, z: Sequence[float], c_in: Sequence[float],
                  c_out: Sequence[float], temperature: float) -> tuple[jnp.ndarray, ...]:
    """GHK current per unit permeability of each ion: a tuple of arrays shaped like v [A]."""
    one = jnp.ones((), v.dtype)
    return tuple(ionjax.ghk_current(v, one, jnp.asarray(ci, v.dtype), jnp.asarray(co, v.dtype),
                                    zk, temperature=temperature)
                 for zk, ci, co in zip(z, c_in, c_out))


def set_fields(obj: Any, **values: Any) -> None:
    """Set the fields of a frozen dataclass from its own ``__init__``."""
    for key, value in values.items():
        object.__setattr__(obj, key, value)


@dataclasses.dataclass(frozen=True, init=False)
class SingleIon(ModelBase):
    """A current carried by one ion (GHK): its valence, concentrations and temperature; the
    reversal is its Nernst potential, exact given the concentrations. With the ion absent from
    one side (c = 0) the current is finite but one-signed: the Nernst potential is +-inf, and
    ``fitting.reversal_potential`` reports NaN (the current does not cross zero)."""

    z: float
    c_in: float
    c_out: float
    temperature: float

    def __init__(self, *, z: float, c_in: float, c_out: float, temperature: float) -> None:
        (z,), (c_in,), (c_out,), t = ion_config(z, c_in, c_out, temperature)
        set_fields(self, z=z, c_in=c_in, c_out=c_out, temperature=t)

    def _unit(self, v: jnp.ndarray) -> jnp.ndarray:
        return unit_currents(v, (self.z,), (self.c_in,), (self.c_out,), self.temperature)[0]

    def reversal(self, params: Params) -> jnp.ndarray:
        amplitude = params[self.specs[0].name]
        e = ionjax.nernst_potential(self.c_in, self.c_out, self.z, temperature=self.temperature)
        return jnp.broadcast_to(jnp.asarray(e, amplitude.dtype), jnp.shape(amplitude))


@dataclasses.dataclass(frozen=True, init=False)
class GHK(SingleIon, Linear):
    """GHK current of one ion, I = p * I_GHK(v; z, c_in, c_out, T) with p = permeability x area
    [m^3/s] (current in A). Linear in ``p``: solved in closed form (weighted least squares).

    Args:
      z: valence; c_in, c_out: concentrations [mol/m^3 = mM], >= 0 (0: absent from that
        side); temperature: [K].
    """

    name = "GHK"
    specs = (spec("p", "m^3/s", floor=1e-18, nonnegative=True),)

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        return params["p"] * self.features(v)[0]

    def features(self, v: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
        return (self._unit(v),)

    def from_linear(self, a: jnp.ndarray, theta: jnp.ndarray) -> Params:
        return {"p": a[..., 0]}


@dataclasses.dataclass(frozen=True, init=False)
class MultiIonGHK(Linear):
    """Sum of GHK currents of several ions, I = sum_k p_k I_GHK,k(v). Parameter ``p`` (vector,
    [m^3/s]); derived ``ratios`` = p / p[reference] with standard errors by the delta method.
    Linear in ``p``: solved in closed form. The reversal potential is ``ionjax.ghk_voltage``.

    Args:
      z, c_in, c_out: one entry per ion, concentrations [mol/m^3 = mM] >= 0 (0: absent from
        that side, e.g. bi-ionic K 140/0 and Na 0/140, whose reversal ghk_voltage gives in
        closed form); temperature [K]; reference: index of the reference ion.
      ions: optional ion names, one per ion (e.g. ("Na", "K")): reports and exported keys then
        read ``p_Na`` and ``P_Na/P_K`` instead of ``p[0]`` and ``ratios[0]``.
    """

    z: tuple
    c_in: tuple
    c_out: tuple
    temperature: float
    reference: int
    ions: tuple
    name = "MultiIonGHK"

    def __init__(self, *, z: Sequence[float], c_in: Sequence[float], c_out: Sequence[float],
                 temperature: float, reference: int = 0, ions: Sequence[str] | None = None
                 ) -> None:
        z, c_in, c_out, t = ion_config(z, c_in, c_out, temperature)
        if len(z) < 2:
            raise ValueError("MultiIonGHK needs at least two ions; use GHK for one")
        if not -len(z) <= reference < len(z):
            raise ValueError(f"reference={reference} is not an ion index (0..{len(z) - 1})")
        ions = None if ions is None else tuple(str(x) for x in ions)
        if ions is not None and (len(ions) != len(z) or len(set(ions)) != len(ions)):
            raise ValueError(f"ions must name each of the {len(z)} ions once; got {ions}")
        set_fields(self, z=z, c_in=c_in, c_out=c_out, temperature=t,
                    reference=reference % len(z), ions=ions)

    def element_labels(self, name: str, size: int) -> list[str]:
        if self.ions is None:
            return super().element_labels(name, size)
        if name == "ratios":
            return [f"P_{ion}/P_{self.ions[self.reference]}" for ion in self.ions]
        return [f"{name}_{ion}" for ion in self.ions]

    def reported_elements(self, name: str, size: int) -> Sequence[int]:
        """Every entry but the reference's own ratio (1 by definition)."""
        if name == "ratios":
            return [j for j in range(size) if j != self.reference]
        return range(size)

    @property
    def specs(self) -> tuple[ParamSpec, ...]:
        return (spec("p", "m^3/s", size=len(self.z), floor=1e-18, nonnegative=True),)

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        p = params["p"]
        return sum(p[..., k] * unit for k, unit in enumerate(self.features(v)))

    def features(self, v: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
        return unit_currents(v, self.z, self.c_in, self.c_out, self.temperature)

    def from_linear(self, a: jnp.ndarray, theta: jnp.ndarray) -> Params:
        return {"p": a}

    def reversal(self, params: Params) -> jnp.ndarray:
        p = params["p"]
        return ionjax.ghk_voltage(p, jnp.asarray(self.c_in, p.dtype), jnp.asarray(self.c_out, p.dtype),
                                  np.asarray(self.z), temperature=self.temperature)

    def derived(self, params: Params) -> Params:
        p = params["p"]
        ratios = p / p[..., self.reference:self.reference + 1]
        reference = jnp.arange(len(self.z)) == self.reference
        return {"ratios": jnp.where(reference, 1.0, ratios)}  # exactly 1 with zero derivative
