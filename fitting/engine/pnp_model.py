"""``PNPChannel``: a charged pore whose permanent charge and diffusion coefficients are fitted.

The current is the steady Poisson-Nernst-Planck current of ``ionjax.pnp_steady`` through
``n_channels`` identical pores of length L and cross-section A,

    I(v) = n_channels * sum_s A F z_s J_s(v; D, Q),

where each flux J_s solves the Nernst-Planck equations with the potential of Poisson's equation
for the ions plus a permanent charge Q * w(x) (Q [mol/m^3 of elementary charges], w the
``charge_profile``, 1 along the pore by default). The free parameters are

    diffusion     D_s [m^2/s] (one per ion, > 0, fitted in log space),
    fixed_charge  Q [mol/m^3] (signed; negative for a cation-selective pore), unless held fixed.

What an I-V can and cannot pin down: scaling every D_s by k scales the current by k and leaves
the profiles unchanged, so only n_channels * A * D / L is identified; n_channels, A and L are
therefore given, never fitted. The derived ``permeability`` D_s A / L [m^3/s] is the GHK
permeability the same pore would have without space charge (Debye length >> L, Q = 0), so it
compares directly with a ``MultiIonGHK`` fit. A charge that barely changes the current (dilute
baths, Debye length >> L) is not identified, and the fit says so in its status.

Each evaluation solves the boundary-value problem at every voltage by Newton's method; the
Jacobian the fitter needs comes from the implicit function theorem (one linear solve per
parameter), so a fit costs about as much as a few dozen I-V evaluations. A voltage at which
Newton does not converge gives NaN, which the fitter refuses rather than reports.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

import ionjax
from fitting.engine.models import _ion_config, _set_fields
from fitting.engine.params import ModelBase, spec

_GRID_RANGE = (8, 4096)  # cells along the pore: second-order accurate from 8; time grows as N


def _positive(name, value):
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; got {value}")
    return value


@dataclasses.dataclass(frozen=True, init=False)
class PNPChannel(ModelBase):
    """Steady PNP current through charged pores; fitted ``diffusion`` and ``fixed_charge``.

    Args:
      z, c_in, c_out: valence and bath concentrations [mol/m^3] of each ion (S entries); every
        ion in the pore must be listed, permeant or not, since all of them screen the charge.
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
        vestibules; the fitted charge is Q * w.
      permittivity: relative permittivity of the pore (default 80).
      n_channels: number of identical pores in parallel (default 1: a single-channel I-V).
      n_grid: uniform cells along the pore (default 64; see ``ionjax.pnp_steady``).
      ions: optional ion names for reports (``diffusion_K``, ``permeability_K``).
    """

    z: tuple
    c_in: tuple
    c_out: tuple
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

    def __init__(self, *, z, c_in, c_out, temperature, length, area, diffusion=1e-9,
                 fixed_charge=0.0, fit_charge=True, charge_profile=None, permittivity=80.0,
                 n_channels=1.0, n_grid=64, ions=None):
        z, c_in, c_out, t = _ion_config(z, c_in, c_out, temperature)
        if any(zk != round(zk) for zk in z):
            raise ValueError(f"valences must be integers; got {z}")
        if isinstance(n_grid, bool) or int(n_grid) != n_grid:
            raise ValueError(f"n_grid must be an integer; got {n_grid!r}")
        n_grid = int(n_grid)
        if not _GRID_RANGE[0] <= n_grid <= _GRID_RANGE[1]:
            raise ValueError(f"n_grid must be an integer from {_GRID_RANGE[0]} to "
                             f"{_GRID_RANGE[1]}; got {n_grid}")
        d = np.broadcast_to(np.asarray(diffusion, float), (len(z),)) if np.ndim(diffusion) == 0 \
            else np.asarray(diffusion, float)
        if d.shape != (len(z),) or not np.all(np.isfinite(d) & (d > 0)):
            raise ValueError(f"diffusion must be one value or one per ion ({len(z)}), each "
                             f"finite and > 0 [m^2/s]; got {diffusion!r}")
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
            if fit_charge and not any(profile):
                raise ValueError("charge_profile is zero everywhere: no charge to fit "
                                 "(give fit_charge=False)")
        ions = None if ions is None else tuple(str(x) for x in ions)
        if ions is not None and (len(ions) != len(z) or len(set(ions)) != len(ions)):
            raise ValueError(f"ions must name each of the {len(z)} ions once; got {ions}")
        _set_fields(self, z=z, c_in=c_in, c_out=c_out, temperature=t,
                    length=_positive("length [m]", length), area=_positive("area [m^2]", area),
                    start=(tuple(float(x) for x in d), q), fit_charge=bool(fit_charge),
                    charge_profile=profile,
                    permittivity=_positive("permittivity", permittivity),
                    n_channels=_positive("n_channels", n_channels), n_grid=n_grid, ions=ions)

    @property
    def specs(self):
        out = (spec("diffusion", "um^2/s", size=len(self.z), positive=True),)
        if self.fit_charge:  # scale of Q: the bath concentration (an O(1) internal value)
            out += (spec("fixed_charge", "mM", floor=max(self.c_in + self.c_out)),)
        return out

    def spec_of(self, name):
        if name == "permeability":
            return spec("permeability", "m^3/s")
        return super().spec_of(name)

    def element_labels(self, name, size):
        if self.ions is None or size != len(self.z):
            return super().element_labels(name, size)
        return [f"{name}_{ion}" for ion in self.ions]

    def start_vector(self, dtype):
        d, q = self.start
        return jnp.asarray(d + ((q,) if self.fit_charge else ()), dtype)

    def solve(self, params, v):
        """The full ``ionjax.PNPSolution`` of one pore at voltages v [V] (any shape)."""
        dtype = jnp.result_type(params["diffusion"], v)
        d = jnp.reshape(params["diffusion"], (len(self.z),))
        q = params["fixed_charge"] if self.fit_charge else jnp.asarray(self.start[1], dtype)
        return ionjax.pnp_steady(
            v, np.asarray(self.z), d, jnp.asarray(self.c_in, dtype),
            jnp.asarray(self.c_out, dtype), length=self.length, area=self.area,
            temperature=self.temperature, permittivity=self.permittivity,
            fixed_charge=q * jnp.asarray(self.charge_profile, dtype), n_grid=self.n_grid)

    def current(self, params, v):
        return _current(self, params, v)

    def derived(self, params):
        """``permeability`` D A / L [m^3/s] per ion: the constant-field (GHK) equivalent."""
        return {"permeability": params["diffusion"] * self.area / self.length}


@functools.partial(jax.jit, static_argnums=0)
def _current(model, params, v):
    """``model.current``, compiled once per model and shapes: a plot's direct call runs the
    whole solve as one program (inside a fit or another jit it is inlined)."""
    return model.n_channels * model.solve(params, v).total
