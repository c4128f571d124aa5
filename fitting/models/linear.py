"""The partially linear structure the fitter exploits, as mixins a model composes.

Every built-in model is *partially linear and separable*: its current is
sum_j a_j gate(v; theta) h_j(v), linear in the amplitudes a (conductance, permeabilities) given a
few nonlinear parameters theta (Boltzmann v_half and slope; none for Ohmic, GHK and MultiIonGHK),
with one common nonlinear factor ``gate`` (the open probability; 1 for ungated models) times
theta-free ``features`` h_j (v and 1 for an ohmic current, the unit GHK currents). The fitter uses
this for starting values without a user guess: for each theta on a coarse grid it solves the
weighted linear least-squares problem for a exactly (variable projection) and keeps the best;
Levenberg-Marquardt then polishes all parameters together (see ``fitting.engine.problem``).
Models that are linear in all their parameters are thereby solved in closed form. A user
``Model`` (``fitting.models.user``) supplies its own starting values.

``Linear`` (no nonlinear parameter, gate 1), ``BoltzmannGate`` (theta = v_half, slope) and
``OhmicFeatures`` (features v and 1) give a model the hooks ``grid``, ``gate`` and
``features``; the model adds ``from_linear`` (``fitting.models.base``).
"""

from typing import Any

import jax.numpy as jnp

import ionjax
from fitting.models.base import ModelBase, Params
from ionjax.units import mV

__all__ = ["BoltzmannGate", "Linear", "OhmicFeatures"]

# Boltzmann starting grid: midpoints across the recorded range widened by a quarter on each side
# (at least this span), times these slopes of both signs: 16 x 8 = 128 candidates
_GRID_MIN_SPAN = 10 * mV
_GRID_MIDPOINTS = 16
_GRID_SLOPES_MV = (3.0, 6.0, 12.0, 25.0)


class Linear(ModelBase):
    """A model linear in all its parameters: no grid (one empty point), gate 1."""

    def grid(self, v: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
        """Candidate nonlinear parameters, shape (G, q); q = 0 for linear models."""
        return jnp.zeros((1, 0), v.dtype)

    def gate(self, grid: jnp.ndarray, v: jnp.ndarray) -> jnp.ndarray:
        """Common nonlinear factor of the basis currents at every grid point: (G, q), (n,) ->
        (G, n); 1 for models that are linear in all their parameters."""
        return jnp.ones((grid.shape[0],) + v.shape, v.dtype)


class BoltzmannGate(ModelBase):
    """A Boltzmann-gated model: gate = 1 / (1 + exp((v_half - v) / slope))."""

    gated = True
    gating_params = ("v_half", "slope")

    def open_probability(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        """The fitted gate at voltages v [V]."""
        return ionjax.boltzmann(v, params["v_half"], params["slope"])

    def grid(self, v: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
        """(v_half, slope) candidates spanning the recorded voltage range, both slope signs."""
        big = jnp.asarray(jnp.finfo(v.dtype).max, v.dtype)
        lo = jnp.min(jnp.where(mask, v, big))
        hi = jnp.max(jnp.where(mask, v, -big))
        span = jnp.maximum(hi - lo, _GRID_MIN_SPAN)
        v_half = lo + span * jnp.linspace(-0.25, 1.25, _GRID_MIDPOINTS, dtype=v.dtype)
        slopes = jnp.asarray(_GRID_SLOPES_MV, v.dtype) * mV
        slopes = jnp.concatenate([slopes, -slopes])
        vh, s = jnp.meshgrid(v_half, slopes, indexing="ij")
        return jnp.stack([vh.ravel(), s.ravel()], axis=-1)

    def gate(self, grid: jnp.ndarray, v: jnp.ndarray) -> jnp.ndarray:
        """Open probability at every (v_half, slope) grid point: (G, 2), (n,) -> (G, n)."""
        return ionjax.boltzmann(v, grid[:, :1], grid[:, 1:])


class OhmicFeatures(ModelBase):
    """Features (v, 1) of g (v - e_rev) = g v - g e_rev; the reversal is ``e_rev``."""

    def features(self, v: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
        return v, jnp.ones_like(v)

    def reversal(self, params: Params) -> Any:
        return params["e_rev"]
