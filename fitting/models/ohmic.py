"""``Ohmic``: I = g (v - e_rev), linear in (g, g e_rev), fitted in closed form."""

import dataclasses

import jax.numpy as jnp

import ionjax
from fitting.models.base import Params
from fitting.models.linear import Linear, OhmicFeatures
from fitting.models.params import spec

__all__ = ["Ohmic"]


@dataclasses.dataclass(frozen=True)
class Ohmic(OhmicFeatures, Linear):
    """I = g (v - e_rev). Parameters ``g`` [S] and ``e_rev`` [V]; a linear model in (g, g e_rev),
    so the fit is ordinary (or weighted) least squares, solved in closed form."""

    name = "Ohmic"
    specs = (spec("g", "nS"), spec("e_rev", "mV"))

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        return ionjax.ohmic_current(v, params["g"], params["e_rev"])

    def from_linear(self, a: jnp.ndarray, theta: jnp.ndarray) -> Params:
        return {"g": a[..., 0], "e_rev": -a[..., 1] / a[..., 0]}
