"""``BoltzmannPedestal``: a Boltzmann curve on a pedestal, I(V) = i_max [p + (1 - p) B(V)].

B(V) = 1 / (1 + exp((v_half - V)/slope)) (``ionjax.boltzmann``). With slope < 0 this is the
steady-state inactivation of a channel that does not inactivate completely, h_inf(V) =
p + (1 - p) / (1 + exp((V - v_half)/k)) with k = -slope and the pedestal (non-inactivating
fraction) 0 <= p < 1, i.e. the residual current i_max p at strongly inactivating voltages.

Given (v_half, slope) the current is linear in b = (i_max (1 - p), i_max p) with basis
(B(V), 1), so the start comes from the data by variable projection over the Boltzmann grid of
``fitting.models.linear.BoltzmannGate`` (``start_from_data``), keeping the best candidate with
0 <= p < 1; Levenberg-Marquardt then polishes all four parameters, p through its bounds.
As for the other Boltzmann models, the gating counts as pinned down only where it beats the
ungated limit (here a constant current) and its transition is sampled
(``fitting.engine.statistics.gating_identified``).
"""

import dataclasses
from typing import Any

import jax.numpy as jnp

import ionjax
from fitting.models.base import Params
from fitting.models.linear import BoltzmannGate
from fitting.models.params import ParamSpec, spec

__all__ = ["BoltzmannPedestal"]

_EDGE = 1e-3  # a start this close to a bound of p stays inside them


@dataclasses.dataclass(frozen=True)
class BoltzmannPedestal(BoltzmannGate):
    """I(V) = i_max [p + (1 - p) / (1 + exp((v_half - V)/slope))]. Parameters ``i_max`` [A,
    signed], ``v_half``, ``slope`` [V] (slope < 0: inactivation) and ``pedestal`` p in [0, 1)."""

    name = "BoltzmannPedestal"
    specs = (spec("i_max", "pA"), spec("v_half", "mV"), spec("slope", "mV"),
             ParamSpec("pedestal", unit="", factor=1.0, si_unit="", floor=0.1, lower=0.0,
                       upper=1.0))
    has_linear_form = False  # the start comes from ``start_from_data``

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        p = params["pedestal"]
        return params["i_max"] * (p + (1 - p) * ionjax.boltzmann(v, params["v_half"],
                                                                  params["slope"]))

    def features(self, v: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
        """(1,): the ungated limit of the identifiability rule is a constant current."""
        return (jnp.ones_like(v),)

    def start_vector(self, dtype: Any) -> jnp.ndarray:
        """A data-free start (unused by the engine, which calls ``start_from_data``)."""
        return jnp.asarray((1e-9, 0.0, -0.01, 0.1), dtype)

    def start_from_data(self, v: jnp.ndarray, i: jnp.ndarray, w: jnp.ndarray,
                        valid: jnp.ndarray) -> jnp.ndarray:
        """The best (v_half, slope) of the Boltzmann grid with the amplitudes solved exactly
        and 0 <= p < 1, (4,) [SI] (module docstring); NaN where no candidate qualifies."""
        grid = self.grid(v, valid)  # (G, 2)
        gate = jnp.where(valid, self.gate(grid, v), 0.0)  # (G, n)
        u = w * w
        s0, s_b, s_bb = jnp.sum(u), gate @ u, (gate * gate) @ u
        s_y, s_by, yy = jnp.sum(u * i), gate @ (u * i), jnp.sum(u * i * i)
        det = s0 * s_bb - s_b * s_b
        ok = det > 1e-12 * s0 * s_bb
        det = jnp.where(ok, det, 1.0)
        b_gate = (s0 * s_by - s_b * s_y) / det  # i_max (1 - p)
        b_one = (s_bb * s_y - s_b * s_by) / det  # i_max p
        rss = yy - b_gate * s_by - b_one * s_y
        i_max = b_gate + b_one
        p = b_one / jnp.where(i_max != 0, i_max, 1.0)
        ok = ok & (p >= 0) & (p < 1) & (i_max != 0) & jnp.isfinite(rss)
        rss = jnp.where(ok, rss, jnp.inf)
        index = jnp.arange(rss.shape[0])
        best = jnp.min(jnp.where(rss == jnp.min(rss), index, rss.shape[0] - 1))
        x = jnp.stack([i_max[best], grid[best, 0], grid[best, 1],
                       jnp.clip(p[best], _EDGE, 1 - _EDGE)])
        return jnp.where(ok[best], x, jnp.nan)
