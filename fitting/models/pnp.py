"""``PNPChannel``: a charged pore whose permanent charge and diffusion coefficients are fitted.

The current is the steady Poisson-Nernst-Planck current of ``ionjax.pnp_steady`` through
``n_channels`` identical pores of length L and cross-section A,

    I(v) = n_channels * sum_s A F z_s J_s(v; D, Q),

where each flux J_s solves the Nernst-Planck equations with the potential of Poisson's equation
for the ions plus a permanent charge Q * w(x) (Q [mol/m^3 of elementary charges], w the
``charge_profile``, 1 along the pore by default). The free parameters are

    diffusion     D_s [m^2/s] (one per ion, > 0, fitted in log space),
    fixed_charge  Q [mol/m^3] (signed; negative for a cation-selective pore), unless held fixed.

What an I-V can and cannot pin down: the current is n_channels A F z D c0 J_hat / L with J_hat
a function of the D ratios, Q and L / lambda_D, so scaling n_channels A D by k scales the
current by k exactly: n_channels and A are given, never fitted, and the fitted D and Q are
conditional on the given L and permittivity (which set L / lambda_D). The derived
``permeability`` D_s A / L [m^3/s] is the GHK permeability the same pore would have without
space charge (Debye length >> L, Q = 0); with charge or screening it differs from a
``MultiIonGHK`` fit of the same data, by design. Q and the D ratio both set selectivity and
rectification, so one I-V in one solution often leaves Q poorly determined: its standard error,
its profile interval (``fitting.profile_intervals``; minutes for a PNP fit) and a nested fit
with ``fit_charge=False`` show it, the status does not. I-Vs of the same pore in two or more
bath solutions of different ionic strength, fitted jointly (``c_in``, ``c_out`` of shape
(B, S) with ``points``), separate them. And a PNP fit beating a GHK fit does not by itself show
a wall charge: in a nm pore at physiological concentrations the ions' own space charge already
bends the field.

Each evaluation solves the boundary-value problem at every voltage by Newton's method; the
Jacobian the fitter needs comes from the implicit function theorem (one linear solve per
parameter), so a fit costs about as much as a few dozen I-V evaluations. A voltage at which
Newton does not converge gives NaN, which the fitter refuses rather than reports.
"""

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import ionjax
from fitting.models.base import ModelBase
from fitting.models.ghk import ion_config, set_fields
from fitting.models.params import ParamSpec, spec
from fitting.models.pnp_checks import (AREA_RANGE, GRID_RANGE, LENGTH_RANGE, baths_of,
                                       check_grid, grid_needed, positive, screening_strength)

__all__ = ["PNPChannel"]


@dataclasses.dataclass(frozen=True, init=False)
class PNPChannel(ModelBase):
    """Steady PNP current through charged pores; fitted ``diffusion`` and ``fixed_charge``.

    Args:
      z: non-zero integer valence of each ion (S entries); every ion in the pore must be
        listed, permeant or not, since all of them screen the charge (a neutral solute carries
        no current and screens nothing: leave it out).
      c_in, c_out: bath concentrations [mol/m^3] of each ion, > 0, (S,); or, to fit one pore
        to its I-Vs in B bath solutions at once, (B, S) with ``points``.
      points: with B > 1 baths, the number of points of each bath's I-V (B integers): the
        fit's v and i hold the B I-Vs one after another (the first points[0] in bath 0, ...).
        ``bath_current`` gives the current in one bath; such a fit has no single reversal
        (``fitting.reversal_potential`` gives NaN, ``FitResult.predict`` refuses).
      temperature: [K].
      length: pore length L [m] (e.g. 5e-9).
      area: pore cross-section A [m^2] (e.g. pi (0.5e-9)^2).
      diffusion: starting diffusion coefficient(s) in the pore [m^2/s], one or one per ion
        (default 1e-9, about half the free-solution value of K+ and Cl-).
      fixed_charge: starting (or, with ``fit_charge=False``, held) permanent charge Q
        [mol/m^3 of elementary charges]; default 0.
      fit_charge: False holds Q at ``fixed_charge`` (e.g. Q = 0 for a nested comparison with
        ``fitting.compare``).
      charge_profile: None (uniform along the pore) or the weights w at the n_grid + 1 nodes
        from inside (x = 0) to outside (x = L), e.g. 1 in the pore's middle third and 0 in its
        vestibules; the fitted charge is Q * w (the two end nodes are the baths: their weights
        are unused).
      permittivity: relative permittivity of the pore (default 80).
      n_channels: number of identical pores in parallel (default 1: a single-channel I-V).
      n_grid: uniform cells along the pore (default 64; see ``ionjax.pnp_steady``); refused
        below 6 L / lambda_D (the shortest Debye length, of the baths and of the starting
        |Q| w), where the current would be off by more than ~1e-3 (``pnp_checks``); a fitted
        charge that needs more cells gives Status.OUT_OF_RANGE.
      ions: optional ion names for reports (``diffusion_K``, ``permeability_K``).
    """

    z: tuple
    baths: tuple
    points: tuple
    temperature: float
    length: float
    area: float
    start: tuple
    fit_charge: bool
    charge_profile: tuple
    permittivity: float
    n_channels: float
    n_grid: int
    ions: tuple
    name = "PNPChannel"
    has_linear_form = False
    max_chunk = 1  # one recording per vmapped lane group: its voltages are the batch

    def __init__(self, *, z: Any, c_in: Any, c_out: Any, temperature: Any, length: Any, area: Any,
                 diffusion: Any = 1e-9, fixed_charge: Any = 0.0, fit_charge: bool = True,
                 charge_profile: Any | None = None, permittivity: Any = 80.0,
                 n_channels: Any = 1.0, n_grid: int = 64, ions: Any | None = None,
                 points: Any | None = None) -> None:
        baths, points = baths_of(z, c_in, c_out, temperature, points, ion_config)
        z, _, _, t = ion_config(z, baths[0][0], baths[0][1], temperature)
        if isinstance(n_grid, bool) or int(n_grid) != n_grid:
            raise ValueError(f"n_grid must be an integer; got {n_grid!r}")
        n_grid = int(n_grid)
        if not GRID_RANGE[0] <= n_grid <= GRID_RANGE[1]:
            raise ValueError(f"n_grid must be an integer from {GRID_RANGE[0]} to "
                             f"{GRID_RANGE[1]}; got {n_grid}")
        d = np.broadcast_to(np.asarray(diffusion, float), (len(z),)) if np.ndim(diffusion) == 0 \
            else np.asarray(diffusion, float)
        if d.shape != (len(z),) or not np.all(np.isfinite(d) & (d > 0)):
            raise ValueError(f"diffusion must be one value or one per ion ({len(z)}), each "
                             f"finite and > 0 [m^2/s]; got {diffusion!r}")
        ionjax.validate_inputs(diffusion=d)  # a start in cm^2/s (2e-5) is refused as such
        q = float(fixed_charge)
        if not np.isfinite(q):
            raise ValueError(f"fixed_charge must be finite [mol/m^3]; got {fixed_charge!r}")
        if charge_profile is None:
            profile = (1.0,) * (n_grid + 1)
        else:
            profile = tuple(float(w) for w in np.ravel(charge_profile))
            if len(profile) != n_grid + 1 or not np.all(np.isfinite(profile)):
                raise ValueError(f"charge_profile must hold n_grid + 1 = {n_grid + 1} finite "
                                 f"node weights; got {len(profile)}")
            if fit_charge and not any(profile[1:-1]):
                raise ValueError("charge_profile is zero at every interior node: no charge to "
                                 "fit (the end nodes are the baths; give fit_charge=False)")
        ions = None if ions is None else tuple(str(x) for x in ions)
        if ions is not None and (len(ions) != len(z) or len(set(ions)) != len(ions)):
            raise ValueError(f"ions must name each of the {len(z)} ions once; got {ions}")
        set_fields(self, z=z, baths=baths, points=points,
                    temperature=t,
                    length=positive("length", length, LENGTH_RANGE, "m", "5 nm = 5e-9 m"),
                    area=positive("area", area, AREA_RANGE, "m^2", "1 nm^2 = 1e-18 m^2"),
                    start=(tuple(float(x) for x in d), q), fit_charge=bool(fit_charge),
                    charge_profile=profile,
                    permittivity=positive("permittivity", permittivity),
                    n_channels=positive("n_channels", n_channels), n_grid=n_grid, ions=ions)
        check_grid(self.length, n_grid,
                   max(screening_strength(z, baths), self._charge_strength(q)),
                   self.permittivity, t)

    @property
    def c_in(self) -> Any:
        """Inside concentrations [mol/m^3] of the (first) bath, (S,)."""
        return self.baths[0][0]

    @property
    def c_out(self) -> Any:
        """Outside concentrations [mol/m^3] of the (first) bath, (S,)."""
        return self.baths[0][1]

    def _charge_strength(self, q):
        """2 |Q| max|w| over the interior nodes: the charge's counter-ions as a 1:1 salt."""
        return 2 * abs(q) * max(abs(w) for w in self.charge_profile[1:-1])

    def out_of_range(self, params: Any) -> Any:
        """True where the fitted charge is too large for the grid (``pnp_checks``): the current
        the fit matched is then not accurate to ~1e-3, so the fit is refused (OUT_OF_RANGE)."""
        if not self.fit_charge:
            return jnp.asarray(False)
        strength = jnp.maximum(screening_strength(self.z, self.baths),
                               self._charge_strength(1.0) * jnp.abs(params["fixed_charge"]))
        needed = grid_needed(self.length, strength, self.permittivity, self.temperature)
        return self.n_grid < needed

    @property
    def specs(self) -> tuple[ParamSpec, ...]:
        out = (spec("diffusion", "um^2/s", size=len(self.z), positive=True),)
        if self.fit_charge:  # scale of Q: the bath concentration (an O(1) internal value)
            top = max(max(c_in + c_out) for c_in, c_out in self.baths)
            out += (spec("fixed_charge", "mM", floor=top),)
        return out

    def spec_of(self, name: str) -> ParamSpec:
        if name == "permeability":
            return spec("permeability", "m^3/s")
        return super().spec_of(name)

    def element_labels(self, name: str, size: int) -> list[str]:
        if self.ions is None or size != len(self.z):
            return super().element_labels(name, size)
        return [f"{name}_{ion}" for ion in self.ions]

    def start_vector(self, dtype: Any) -> Any:
        d, q = self.start
        return jnp.asarray(d + ((q,) if self.fit_charge else ()), dtype)

    @property
    def single_iv(self) -> bool:
        """False for a fit across several baths: no single reversal or predicted I-V."""
        return len(self.baths) == 1

    def check_points(self, n: int) -> None:
        """Host check before a fit: the data hold one point per declared bath point."""
        if self.points is not None and n != sum(self.points):
            raise ValueError(f"this PNPChannel fits {len(self.baths)} baths of {self.points} "
                             f"points ({sum(self.points)} in all); the data have {n} points")

    def solve(self, params: Any, v: Any, bath: int = 0) -> Any:
        """The full ``ionjax.PNPSolution`` of one pore in bath ``bath`` at voltages v [V]."""
        dtype = jnp.result_type(params["diffusion"], v)
        d = jnp.reshape(params["diffusion"], (len(self.z),))
        q = params["fixed_charge"] if self.fit_charge else jnp.asarray(self.start[1], dtype)
        c_in, c_out = self.baths[bath]
        return ionjax.pnp_steady(
            v, np.asarray(self.z), d, jnp.asarray(c_in, dtype), jnp.asarray(c_out, dtype),
            length=self.length, area=self.area, temperature=self.temperature,
            permittivity=self.permittivity,
            fixed_charge=q * jnp.asarray(self.charge_profile, dtype), n_grid=self.n_grid)

    def bath_current(self, params: Any, v: Any, bath: int = 0) -> Any:
        """Current [A] of the n_channels pores in bath ``bath`` at voltages v [V] (any shape);
        params: dict ``diffusion`` (S,) [m^2/s] and, if fitted, ``fixed_charge`` [mol/m^3],
        e.g. ``res.params`` of one recording."""
        if isinstance(bath, bool) or not isinstance(bath, (int, np.integer)) or \
                not 0 <= bath < len(self.baths):
            raise ValueError(f"bath must be 0..{len(self.baths) - 1}; got {bath}")
        return _current(self, params, v, bath)

    def current(self, params: Any, v: Any) -> Any:
        """Current [A] at the fit's voltages v (n,): with several baths, v holds their I-Vs one
        after another (``points``); points beyond them (the fitter's padding) use the last."""
        if self.single_iv:
            return _current(self, params, v, 0)
        if v.shape[-1] < sum(self.points):
            raise ValueError(f"{v.shape[-1]} voltages for {sum(self.points)} bath points")
        ends = np.cumsum(self.points)
        starts = ends - np.asarray(self.points)
        ends[-1] = v.shape[-1]
        return jnp.concatenate([_current(self, params, v[..., a:b], k)
                                for k, (a, b) in enumerate(zip(starts, ends))], axis=-1)

    def derived(self, params: Any) -> dict[str, Any]:
        """``permeability`` D A / L [m^3/s] per ion: the constant-field (GHK) equivalent."""
        return {"permeability": params["diffusion"] * self.area / self.length}


@functools.partial(jax.jit, static_argnums=(0, 3))
def _current(model, params, v, bath):
    """Current in one bath, compiled once per model, bath and shapes: a plot's direct call
    runs the whole solve as one program (inside a fit or another jit it is inlined)."""
    return model.n_channels * model.solve(params, v, bath).total
