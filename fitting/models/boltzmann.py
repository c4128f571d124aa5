"""Boltzmann-gated models: a gated ohmic or GHK current, and a Boltzmann curve itself.

The gate is 1 / (1 + exp((v_half - v) / slope)) (``fitting.models.linear.BoltzmannGate``, whose
grid of (v_half, slope) gives the starting values); slope > 0 activates with depolarization.
"""

import dataclasses

import jax.numpy as jnp

import ionjax
from fitting.models.base import Params
from fitting.models.ghk import SingleIon
from fitting.models.linear import BoltzmannGate, OhmicFeatures
from fitting.models.params import spec

__all__ = ["BoltzmannConductance", "BoltzmannCurrent", "BoltzmannGHK", "BoltzmannOhmic"]

_BOLTZMANN_SPECS = (spec("v_half", "mV"), spec("slope", "mV"))


@dataclasses.dataclass(frozen=True)
class BoltzmannOhmic(OhmicFeatures, BoltzmannGate):
    """I = g_max / (1 + exp((v_half - v)/slope)) (v - e_rev): a Boltzmann-gated ohmic current
    (steady-state or peak I-V of a voltage-gated channel). Parameters ``g_max`` [S, > 0],
    ``e_rev``, ``v_half``, ``slope`` [V]; slope > 0 activates with depolarization, < 0 with
    hyperpolarization (e.g. HCN, inward rectifiers)."""

    name = "BoltzmannOhmic"
    specs = (spec("g_max", "nS", positive=True), spec("e_rev", "mV")) + _BOLTZMANN_SPECS

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        p_open = ionjax.boltzmann(v, params["v_half"], params["slope"])
        return ionjax.ohmic_current(v, params["g_max"] * p_open, params["e_rev"])

    def from_linear(self, a: jnp.ndarray, theta: jnp.ndarray) -> Params:
        return {"g_max": a[..., 0], "e_rev": -a[..., 1] / a[..., 0], "v_half": theta[..., 0],
                "slope": theta[..., 1]}


@dataclasses.dataclass(frozen=True, init=False)
class BoltzmannGHK(SingleIon, BoltzmannGate):
    """I = p_max / (1 + exp((v_half - v)/slope)) I_GHK(v; z, c_in, c_out, T): a Boltzmann-gated
    GHK current. Parameters ``p_max`` [m^3/s, > 0], ``v_half``, ``slope`` [V]."""

    name = "BoltzmannGHK"
    specs = (spec("p_max", "m^3/s", positive=True, floor=1e-18),) + _BOLTZMANN_SPECS

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        return params["p_max"] * ionjax.boltzmann(v, params["v_half"], params["slope"]) * self._unit(v)

    def features(self, v: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
        return (self._unit(v),)

    def from_linear(self, a: jnp.ndarray, theta: jnp.ndarray) -> Params:
        return {"p_max": a[..., 0], "v_half": theta[..., 0], "slope": theta[..., 1]}


class _BoltzmannCurve(BoltzmannGate):
    """amplitude / (1 + exp((v_half - v)/slope)): a Boltzmann curve itself (one feature, 1)."""

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        return params[self.specs[0].name] * ionjax.boltzmann(v, params["v_half"],
                                                             params["slope"])

    def features(self, v: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
        return (jnp.ones_like(v),)

    def from_linear(self, a: jnp.ndarray, theta: jnp.ndarray) -> Params:
        return {self.specs[0].name: a[..., 0], "v_half": theta[..., 0], "slope": theta[..., 1]}


@dataclasses.dataclass(frozen=True)
class BoltzmannConductance(_BoltzmannCurve):
    """G(V) = g_max / (1 + exp((v_half - V)/slope)): a G-V (activation) curve of chord or
    GHK-corrected conductances [S] against voltage [V]. Parameters ``g_max`` [S, > 0],
    ``v_half``, ``slope`` [V] (slope > 0: activation by depolarization)."""

    name = "BoltzmannConductance"
    specs = (spec("g_max", "nS", positive=True),) + _BOLTZMANN_SPECS


@dataclasses.dataclass(frozen=True)
class BoltzmannCurrent(_BoltzmannCurve):
    """I(V) = i_max / (1 + exp((v_half - V)/slope)): a current that a voltage V sets through a
    Boltzmann, e.g. the test-pulse current against the prepulse voltage of an inactivation
    protocol (slope < 0: h_inf) or isochronal tail amplitudes. Parameters ``i_max`` [A,
    signed], ``v_half``, ``slope`` [V]."""

    name = "BoltzmannCurrent"
    specs = (spec("i_max", "pA"),) + _BOLTZMANN_SPECS
