"""The built-in I-V models and the partially linear structure the fitter exploits.

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

Parameters are SI (S, V, m^3/s). Model objects are immutable and hashable: they are part of the
static configuration of the compiled fit, so equal models share one compiled program.
"""

import dataclasses

import jax.numpy as jnp
import numpy as np

import ionjax
from fitting.models.params import ModelBase, spec
from ionjax.units import mV

# Boltzmann starting grid: midpoints across the recorded range widened by a quarter on each side
# (at least this span), times these slopes of both signs: 16 x 8 = 128 candidates
_GRID_MIN_SPAN = 10 * mV
_GRID_MIDPOINTS = 16
_GRID_SLOPES_MV = (3.0, 6.0, 12.0, 25.0)


class _Linear(ModelBase):
    """A model linear in all its parameters: no grid (one empty point), gate 1."""

    def grid(self, v, mask):
        """Candidate nonlinear parameters, shape (G, q); q = 0 for linear models."""
        return jnp.zeros((1, 0), v.dtype)

    def gate(self, grid, v):
        """Common nonlinear factor of the basis currents at every grid point: (G, q), (n,) ->
        (G, n); 1 for models that are linear in all their parameters."""
        return jnp.ones((grid.shape[0],) + v.shape, v.dtype)


class _Boltzmann(ModelBase):
    """A Boltzmann-gated model: gate = 1 / (1 + exp((v_half - v) / slope))."""

    gated = True
    gating_params = ("v_half", "slope")

    def open_probability(self, params, v):
        """The fitted gate at voltages v [V]."""
        return ionjax.boltzmann(v, params["v_half"], params["slope"])

    def grid(self, v, mask):
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

    def gate(self, grid, v):
        """Open probability at every (v_half, slope) grid point: (G, 2), (n,) -> (G, n)."""
        return ionjax.boltzmann(v, grid[:, :1], grid[:, 1:])


class _OhmicFeatures(ModelBase):
    """Features (v, 1) of g (v - e_rev) = g v - g e_rev; the reversal is ``e_rev``."""

    def features(self, v):
        return v, jnp.ones_like(v)

    def reversal(self, params):
        return params["e_rev"]


def _ion_config(z, c_in, c_out, temperature):
    if temperature is None:
        raise TypeError("temperature [K] is required (use ionjax.units.celsius for degC)")
    z, c_in, c_out = (tuple(float(x) for x in np.atleast_1d(a)) for a in (z, c_in, c_out))
    if not len(z) == len(c_in) == len(c_out) or not z:
        raise ValueError(f"z, c_in and c_out must have one entry per ion (at least one); got "
                         f"lengths {len(z)}, {len(c_in)}, {len(c_out)}")
    ionjax.validate_inputs(z=z, c_in=c_in, c_out=c_out, temperature=temperature)
    if not 200.0 <= float(temperature) <= 400.0:  # degC given as K: E off by a factor ~12
        raise ValueError(f"temperature is in kelvin (ionjax.units.celsius(22) = 295.15 K); got "
                         f"{temperature!r}")
    return z, c_in, c_out, float(temperature)


def _unit_currents(v, z, c_in, c_out, temperature):
    """GHK current per unit permeability of each ion: a tuple of arrays shaped like v [A]."""
    one = jnp.ones((), v.dtype)
    return tuple(ionjax.ghk_current(v, one, jnp.asarray(ci, v.dtype), jnp.asarray(co, v.dtype),
                                    zk, temperature=temperature)
                 for zk, ci, co in zip(z, c_in, c_out))


def _set_fields(obj, **values):
    for key, value in values.items():
        object.__setattr__(obj, key, value)


@dataclasses.dataclass(frozen=True, init=False)
class _SingleIon(ModelBase):
    """A current carried by one ion (GHK): its valence, concentrations and temperature; the
    reversal is its Nernst potential, exact given the concentrations."""

    z: float
    c_in: float
    c_out: float
    temperature: float

    def __init__(self, *, z, c_in, c_out, temperature):
        (z,), (c_in,), (c_out,), t = _ion_config(z, c_in, c_out, temperature)
        _set_fields(self, z=z, c_in=c_in, c_out=c_out, temperature=t)

    def _unit(self, v):
        return _unit_currents(v, (self.z,), (self.c_in,), (self.c_out,), self.temperature)[0]

    def reversal(self, params):
        amplitude = params[self.specs[0].name]
        e = ionjax.nernst_potential(self.c_in, self.c_out, self.z, temperature=self.temperature)
        return jnp.broadcast_to(jnp.asarray(e, amplitude.dtype), jnp.shape(amplitude))


@dataclasses.dataclass(frozen=True)
class Ohmic(_OhmicFeatures, _Linear):
    """I = g (v - e_rev). Parameters ``g`` [S] and ``e_rev`` [V]; a linear model in (g, g e_rev),
    so the fit is ordinary (or weighted) least squares, solved in closed form."""

    name = "Ohmic"
    specs = (spec("g", "nS"), spec("e_rev", "mV"))

    def current(self, params, v):
        return ionjax.ohmic_current(v, params["g"], params["e_rev"])

    def from_linear(self, a, theta):
        return {"g": a[..., 0], "e_rev": -a[..., 1] / a[..., 0]}


@dataclasses.dataclass(frozen=True, init=False)
class GHK(_SingleIon, _Linear):
    """GHK current of one ion, I = p * I_GHK(v; z, c_in, c_out, T) with p = permeability x area
    [m^3/s] (current in A). Linear in ``p``: solved in closed form (weighted least squares).

    Args:
      z: valence; c_in, c_out: concentrations [mol/m^3 = mM]; temperature: [K].
    """

    name = "GHK"
    specs = (spec("p", "m^3/s", floor=1e-18, nonnegative=True),)

    def current(self, params, v):
        return params["p"] * self.features(v)[0]

    def features(self, v):
        return (self._unit(v),)

    def from_linear(self, a, theta):
        return {"p": a[..., 0]}


@dataclasses.dataclass(frozen=True, init=False)
class MultiIonGHK(_Linear):
    """Sum of GHK currents of several ions, I = sum_k p_k I_GHK,k(v). Parameter ``p`` (vector,
    [m^3/s]); derived ``ratios`` = p / p[reference] with standard errors by the delta method.
    Linear in ``p``: solved in closed form. The reversal potential is ``ionjax.ghk_voltage``.

    Args:
      z, c_in, c_out: one entry per ion; temperature [K]; reference: index of the reference ion.
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

    def __init__(self, *, z, c_in, c_out, temperature, reference=0, ions=None):
        z, c_in, c_out, t = _ion_config(z, c_in, c_out, temperature)
        if len(z) < 2:
            raise ValueError("MultiIonGHK needs at least two ions; use GHK for one")
        if not -len(z) <= reference < len(z):
            raise ValueError(f"reference={reference} is not an ion index (0..{len(z) - 1})")
        ions = None if ions is None else tuple(str(x) for x in ions)
        if ions is not None and (len(ions) != len(z) or len(set(ions)) != len(ions)):
            raise ValueError(f"ions must name each of the {len(z)} ions once; got {ions}")
        _set_fields(self, z=z, c_in=c_in, c_out=c_out, temperature=t,
                    reference=reference % len(z), ions=ions)

    def element_labels(self, name, size):
        if self.ions is None:
            return super().element_labels(name, size)
        if name == "ratios":
            return [f"P_{ion}/P_{self.ions[self.reference]}" for ion in self.ions]
        return [f"{name}_{ion}" for ion in self.ions]

    def reported_elements(self, name, size):
        """Every entry but the reference's own ratio (1 by definition)."""
        if name == "ratios":
            return [j for j in range(size) if j != self.reference]
        return range(size)

    @property
    def specs(self):
        return (spec("p", "m^3/s", size=len(self.z), floor=1e-18, nonnegative=True),)

    def current(self, params, v):
        p = params["p"]
        return sum(p[..., k] * unit for k, unit in enumerate(self.features(v)))

    def features(self, v):
        return _unit_currents(v, self.z, self.c_in, self.c_out, self.temperature)

    def from_linear(self, a, theta):
        return {"p": a}

    def reversal(self, params):
        p = params["p"]
        return ionjax.ghk_voltage(p, jnp.asarray(self.c_in, p.dtype), jnp.asarray(self.c_out, p.dtype),
                                  np.asarray(self.z), temperature=self.temperature)

    def derived(self, params):
        p = params["p"]
        ratios = p / p[..., self.reference:self.reference + 1]
        reference = jnp.arange(len(self.z)) == self.reference
        return {"ratios": jnp.where(reference, 1.0, ratios)}  # exactly 1 with zero derivative


_BOLTZMANN_SPECS = (spec("v_half", "mV"), spec("slope", "mV"))


@dataclasses.dataclass(frozen=True)
class BoltzmannOhmic(_OhmicFeatures, _Boltzmann):
    """I = g_max / (1 + exp((v_half - v)/slope)) (v - e_rev): a Boltzmann-gated ohmic current
    (steady-state or peak I-V of a voltage-gated channel). Parameters ``g_max`` [S, > 0],
    ``e_rev``, ``v_half``, ``slope`` [V]; slope > 0 activates with depolarization, < 0 with
    hyperpolarization (e.g. HCN, inward rectifiers)."""

    name = "BoltzmannOhmic"
    specs = (spec("g_max", "nS", positive=True), spec("e_rev", "mV")) + _BOLTZMANN_SPECS

    def current(self, params, v):
        p_open = ionjax.boltzmann(v, params["v_half"], params["slope"])
        return ionjax.ohmic_current(v, params["g_max"] * p_open, params["e_rev"])

    def from_linear(self, a, theta):
        return {"g_max": a[..., 0], "e_rev": -a[..., 1] / a[..., 0], "v_half": theta[..., 0],
                "slope": theta[..., 1]}


@dataclasses.dataclass(frozen=True, init=False)
class BoltzmannGHK(_SingleIon, _Boltzmann):
    """I = p_max / (1 + exp((v_half - v)/slope)) I_GHK(v; z, c_in, c_out, T): a Boltzmann-gated
    GHK current. Parameters ``p_max`` [m^3/s, > 0], ``v_half``, ``slope`` [V]."""

    name = "BoltzmannGHK"
    specs = (spec("p_max", "m^3/s", positive=True, floor=1e-18),) + _BOLTZMANN_SPECS

    def current(self, params, v):
        return params["p_max"] * ionjax.boltzmann(v, params["v_half"], params["slope"]) * self._unit(v)

    def features(self, v):
        return (self._unit(v),)

    def from_linear(self, a, theta):
        return {"p_max": a[..., 0], "v_half": theta[..., 0], "slope": theta[..., 1]}


class _BoltzmannCurve(_Boltzmann):
    """amplitude / (1 + exp((v_half - v)/slope)): a Boltzmann curve itself (one feature, 1)."""

    def current(self, params, v):
        return params[self.specs[0].name] * ionjax.boltzmann(v, params["v_half"],
                                                             params["slope"])

    def features(self, v):
        return (jnp.ones_like(v),)

    def from_linear(self, a, theta):
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
