"""``Exponentials``: a current relaxing in time, I(t) = c + sum_k a_k exp(-t / tau_k), k = 1 or 2.

The independent variable is time t [s] from the origin at which the amplitudes a_k are reported
(the engine calls it ``v``). The model is linear in (c, a_k) given the time constants, so its
starting values come from the data (``start_from_data``), by variable projection: for every
time constant on a log grid from one sample to ten windows (every pair tau_1 < tau_2 of a
coarser grid for two components) the amplitudes are solved exactly by weighted linear least
squares, and the candidate with the smallest residual is kept; Levenberg-Marquardt then polishes
all parameters together. A fit that starts from one fixed guess can stop in a local minimum (a
fast small transient instead of the slow main relaxation, with a several-fold larger residual);
the scan starts it in the basin of the global optimum of the grid instead. A known sign of the
amplitudes (``sign``, e.g. a membrane's charging current, of the step's sign) keeps only the
candidates whose amplitudes all have it: the global optimum of two free exponentials may be one
decay plus a slow drift of the other sign, which such a model does not describe. Reference:
Golub & Pereyra, Inverse Problems 19 (2003) R1, doi:10.1088/0266-5611/19/2/201.
"""

import dataclasses
from typing import Any

import jax.numpy as jnp

from fitting.models.base import ModelBase, Params
from fitting.models.params import spec

__all__ = ["Exponentials"]

_GRID = {1: 64, 2: 28}  # time constants on the log grid (one component; each of two)


@dataclasses.dataclass(frozen=True)
class Exponentials(ModelBase):
    """I(t) = c + a1 exp(-t / tau1) [+ a2 exp(-t / tau2)]: ``c``, ``a1`` (, ``a2``) [A] and the
    time constants ``tau1`` (, ``tau2``) [s] > 0; t (n,) [s] is passed as the engine's ``v``.

    Args:
      components: 1 or 2 exponentials.
      sign: 0 (any), or +1 / -1: the starting scan keeps only candidates whose amplitudes all
        have this sign (module docstring); the fit itself is not constrained.
    """

    components: int = 1
    sign: int = 0
    has_linear_form = False

    def __post_init__(self) -> None:
        if self.components not in (1, 2):
            raise ValueError(f"components must be 1 or 2; got {self.components!r}")
        if self.sign not in (-1, 0, 1):
            raise ValueError(f"sign must be -1, 0 or 1; got {self.sign!r}")

    @property
    def name(self) -> str:
        return "one exponential" if self.components == 1 else "two exponentials"

    @property
    def specs(self) -> tuple:
        out = (spec("c", "pA"), spec("a1", "pA"), spec("tau1", "ms", positive=True))
        return out + ((spec("a2", "pA"), spec("tau2", "ms", positive=True))
                      if self.components == 2 else ())

    def current(self, params: Params, v: jnp.ndarray) -> jnp.ndarray:
        out = params["c"] + params["a1"] * jnp.exp(-v / params["tau1"])
        if self.components == 2:
            out = out + params["a2"] * jnp.exp(-v / params["tau2"])
        return out

    def start_vector(self, dtype: Any) -> jnp.ndarray:
        """A data-free start (unused by the engine, which calls ``start_from_data``)."""
        return jnp.asarray((0.0, 1.0, 1.0) + ((1.0, 3.0) if self.components == 2 else ()),
                           dtype)

    def start_from_data(self, v: jnp.ndarray, i: jnp.ndarray, w: jnp.ndarray,
                        valid: jnp.ndarray) -> jnp.ndarray:
        """The best candidate of the variable-projection scan (module docstring), (k,) [SI].

        Args:
          v: (n,) times [s] (0 at unused points); i: (n,) currents [A]; w: (n,) weights
            [1/A] (0 at unused points); valid: (n,) bool.
        """
        big = jnp.asarray(jnp.finfo(v.dtype).max, v.dtype)
        first = jnp.min(jnp.where(valid, v, big))
        last = jnp.max(jnp.where(valid, v, -big))
        n = jnp.maximum(jnp.sum(valid), 2)
        step = jnp.maximum((last - first) / (n - 1), jnp.finfo(v.dtype).tiny)
        count = _GRID[self.components]
        taus = jnp.exp(jnp.linspace(jnp.log(step), jnp.log(10 * jnp.maximum(last, step)), count))
        u = w * w
        s0 = jnp.maximum(jnp.sum(u), jnp.finfo(v.dtype).tiny)
        # the basis relative to the first sample (no overflow), moved to the origin at the end;
        # centred on the weighted means, the constant c drops out of the normal equations
        # (better conditioned than (1, E) for slow time constants): per candidate the
        # amplitudes b solve (E~ u E~^T) b = E~ u y~, and RSS = y~ u y~ - b . (E~ u y~)
        e = jnp.where(valid, jnp.exp(-(v - first)[None, :] / taus[:, None]), 0.0)  # (G, n)
        e_mean = (e @ u) / s0
        y_mean = jnp.sum(u * i) / s0
        ec = jnp.where(valid, e - e_mean[:, None], 0.0)
        yc = jnp.where(valid, i - y_mean, 0.0)
        rhs, yy = ec @ (u * yc), jnp.sum(u * yc * yc)  # (G,), ()
        if self.components == 1:
            norm = (ec * ec) @ u
            b = rhs / jnp.where(norm > 0, norm, 1.0)
            coef, rss, tau, means = b[:, None], yy - b * rhs, (taus,), e_mean[:, None]
        else:
            gram = (ec * u) @ ec.T  # (G, G)
            g, h = jnp.triu_indices(count, 2)  # tau_g < tau_h, not adjacent on the grid
            d_g, d_h = jnp.sqrt(gram[g, g]), jnp.sqrt(gram[h, h])
            d_g, d_h = jnp.where(d_g > 0, d_g, 1.0), jnp.where(d_h > 0, d_h, 1.0)
            r = gram[g, h] / (d_g * d_h)  # the equilibrated 2 x 2 system [[1, r], [r, 1]]
            q_g, q_h = rhs[g] / d_g, rhs[h] / d_h
            det = jnp.where(1 - r * r > 0, 1 - r * r, jnp.nan)
            b_g, b_h = (q_g - r * q_h) / det, (q_h - r * q_g) / det
            coef = jnp.stack([b_g / d_g, b_h / d_h], -1)
            rss = yy - b_g * q_g - b_h * q_h
            tau, means = (taus[g], taus[h]), jnp.stack([e_mean[g], e_mean[h]], -1)
        c = y_mean - jnp.sum(coef * means, -1)
        amps = [coef[:, k] * jnp.exp(first / tau[k]) for k in range(self.components)]
        x = jnp.stack([c] + sum(([a, t] for a, t in zip(amps, tau)), []), -1)
        ok = jnp.all(jnp.isfinite(x), -1) & jnp.isfinite(rss)
        if self.sign:
            ok = ok & jnp.all(self.sign * coef > 0, -1)
        rss = jnp.where(ok, rss, jnp.inf)
        index = jnp.arange(rss.shape[0])
        best = jnp.min(jnp.where(rss == jnp.min(rss), index, rss.shape[0] - 1))
        return jnp.where(ok[best], x[best], jnp.nan)
