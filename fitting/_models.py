"""I-V models: parameter layout, the model current, and structure the fitter can exploit.

Every built-in model is *partially linear and separable*: its current is
sum_j a_j gate(v; theta) h_j(v), linear in the amplitudes a (conductance, permeabilities) given a
few nonlinear parameters theta (Boltzmann v_half and slope; none for Ohmic, GHK and MultiIonGHK),
with one common nonlinear factor ``gate`` (the open probability; 1 for ungated models) times
theta-free ``features`` h_j (v and 1 for an ohmic current, the unit GHK currents). The fitter uses
this for starting values without a user guess: for each theta on a coarse grid it solves the
weighted linear least-squares problem for a exactly (variable projection) and keeps the best;
Levenberg-Marquardt then polishes all parameters together. Separability turns the normal
equations of all grid points into two small matrix products (see ``fitting._core``). Models that
are linear in all their parameters are thereby solved in closed form. A user ``Model`` supplies
its own starting values.

Parameters are SI (S, V, m^3/s). Model objects are immutable and hashable: they are static
arguments of the compiled fit.
"""

import dataclasses
from typing import Callable

import jax.numpy as jnp
import numpy as np

import ionjax

_MV = 1e-3


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One (possibly vector) parameter: name, length, unit for display, typical scale [SI]."""

    name: str
    size: int = 1
    unit: str = ""
    factor: float = 1.0  # display value = SI value / factor
    positive: bool = False
    floor: float = 1.0  # internal scale when the starting value is 0 [SI]


class _Base:
    """Shared machinery; subclasses define ``specs``, ``current`` and optionally the linear form."""

    specs: tuple = ()
    name = "model"

    @property
    def param_names(self):
        return tuple(s.name for s in self.specs)

    @property
    def n_params(self):
        return sum(s.size for s in self.specs)

    def flatten(self, params):
        """dict -> vector (..., k) in ``specs`` order."""
        pieces = [params[s.name] if s.size > 1 else params[s.name][..., None] for s in self.specs]
        return jnp.concatenate(pieces, axis=-1)

    def unflatten(self, vector):
        """vector (..., k) -> dict in ``specs`` order (scalars for size-1 parameters)."""
        out, start = {}, 0
        for s in self.specs:
            piece = vector[..., start:start + s.size]
            out[s.name] = piece if s.size > 1 else piece[..., 0]
            start += s.size
        return out

    def current(self, params, v):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- partially linear structure (built-in models) --------------------------------------
    def grid(self, v, mask):
        """Candidate nonlinear parameters, shape (G, q); q = 0 for linear models."""
        return jnp.zeros((1, 0), v.dtype)

    def gate(self, grid, v):
        """Common nonlinear factor of the basis currents at every grid point: (G, q), (n,) -> (G, n).
        1 for models that are linear in all their parameters."""
        return jnp.ones((grid.shape[0],) + v.shape, v.dtype)

    def features(self, v):  # pragma: no cover - abstract
        """The m theta-free factors h_j(v) of the basis currents a_j gate(v; theta) h_j(v): a tuple
        of arrays shaped like v [A per unit amplitude, with the gate]."""
        raise NotImplementedError

    def from_linear(self, a, theta):  # pragma: no cover - abstract
        """Parameters (dict) from amplitudes a (..., m) and nonlinear parameters theta (..., q)."""
        raise NotImplementedError

    has_linear_form = True

    def reversal(self, params):
        """Closed-form reversal potential, or None when it must be found numerically."""
        return None

    def derived(self, params):
        """Derived quantities reported beside the parameters (dict name -> array)."""
        return {}


@dataclasses.dataclass(frozen=True)
class Ohmic(_Base):
    """I = g (v - e_rev). Parameters ``g`` [S] and ``e_rev`` [V]; a linear model in (g, g e_rev),
    so the fit is ordinary (or weighted) least squares, solved in closed form."""

    name = "Ohmic"
    specs = (ParamSpec("g", unit="nS", factor=1e-9, floor=1e-9),
             ParamSpec("e_rev", unit="mV", factor=_MV, floor=_MV))

    def current(self, params, v):
        return ionjax.ohmic_current(v, params["g"], params["e_rev"])

    def features(self, v):
        return v, jnp.ones_like(v)

    def from_linear(self, a, theta):
        return {"g": a[..., 0], "e_rev": -a[..., 1] / a[..., 0]}

    def reversal(self, params):
        return params["e_rev"]


def _ion_config(z, c_in, c_out, temperature):
    if temperature is None:
        raise TypeError("temperature [K] is required (use ionjax.units.celsius for degC)")
    z, c_in, c_out = (tuple(float(x) for x in np.atleast_1d(a)) for a in (z, c_in, c_out))
    if not len(z) == len(c_in) == len(c_out):
        raise ValueError(f"z, c_in and c_out must have one entry per ion; got lengths "
                         f"{len(z)}, {len(c_in)}, {len(c_out)}")
    ionjax.validate_inputs(z=z, c_in=c_in, c_out=c_out, temperature=temperature)
    return z, c_in, c_out, float(temperature)


def _unit_currents(v, z, c_in, c_out, temperature):
    """GHK current per unit permeability of each ion: a tuple of arrays shaped like v [A]."""
    one = jnp.ones((), v.dtype)
    return tuple(ionjax.ghk_current(v, one, jnp.asarray(ci, v.dtype), jnp.asarray(co, v.dtype),
                                    zk, temperature=temperature)
                 for zk, ci, co in zip(z, c_in, c_out))


@dataclasses.dataclass(frozen=True, init=False)
class GHK(_Base):
    """GHK current of one ion, I = p * I_GHK(v; z, c_in, c_out, T) with p = permeability x area
    [m^3/s] (current in A). Linear in ``p``: solved in closed form (weighted least squares).

    Args:
      z: valence; c_in, c_out: concentrations [mol/m^3 = mM]; temperature: [K].
    """

    z: float
    c_in: float
    c_out: float
    temperature: float
    name = "GHK"
    specs = (ParamSpec("p", unit="m^3/s", factor=1.0, floor=1e-18),)

    def __init__(self, *, z, c_in, c_out, temperature):
        (z,), (c_in,), (c_out,), t = _ion_config(z, c_in, c_out, temperature)
        for key, value in dict(z=z, c_in=c_in, c_out=c_out, temperature=t).items():
            object.__setattr__(self, key, value)

    def current(self, params, v):
        return params["p"] * self.features(v)[0]

    def features(self, v):
        return _unit_currents(v, (self.z,), (self.c_in,), (self.c_out,), self.temperature)

    def from_linear(self, a, theta):
        return {"p": a[..., 0]}

    def reversal(self, params):
        e = ionjax.nernst_potential(self.c_in, self.c_out, self.z, temperature=self.temperature)
        return jnp.broadcast_to(jnp.asarray(e, params["p"].dtype), jnp.shape(params["p"]))


@dataclasses.dataclass(frozen=True, init=False)
class MultiIonGHK(_Base):
    """Sum of GHK currents of several ions, I = sum_k p_k I_GHK,k(v). Parameter ``p`` (vector,
    [m^3/s]); derived ``ratios`` = p / p[reference] with standard errors by the delta method.
    Linear in ``p``: solved in closed form. The reversal potential is ``ionjax.ghk_voltage``.

    Args:
      z, c_in, c_out: one entry per ion; temperature [K]; reference: index of the reference ion.
    """

    z: tuple
    c_in: tuple
    c_out: tuple
    temperature: float
    reference: int
    name = "MultiIonGHK"

    def __init__(self, *, z, c_in, c_out, temperature, reference=0):
        z, c_in, c_out, t = _ion_config(z, c_in, c_out, temperature)
        if not -len(z) <= reference < len(z):
            raise ValueError(f"reference={reference} is not an ion index (0..{len(z) - 1})")
        for key, value in dict(z=z, c_in=c_in, c_out=c_out, temperature=t,
                               reference=reference % len(z)).items():
            object.__setattr__(self, key, value)

    @property
    def specs(self):
        return (ParamSpec("p", size=len(self.z), unit="m^3/s", floor=1e-18),)

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
        return {"ratios": p / p[..., self.reference:self.reference + 1]}


def _boltzmann_grid(v, mask):
    """(v_half, slope) candidates spanning the recorded voltage range, both slope signs."""
    big = jnp.asarray(jnp.finfo(v.dtype).max, v.dtype)
    lo = jnp.min(jnp.where(mask, v, big))
    hi = jnp.max(jnp.where(mask, v, -big))
    span = jnp.maximum(hi - lo, 10 * _MV)
    v_half = lo + span * jnp.linspace(-0.25, 1.25, 16, dtype=v.dtype)
    slopes = jnp.asarray([3.0, 6.0, 12.0, 25.0], v.dtype) * _MV  # 128 candidates in all
    slopes = jnp.concatenate([slopes, -slopes])
    vh, s = jnp.meshgrid(v_half, slopes, indexing="ij")
    return jnp.stack([vh.ravel(), s.ravel()], axis=-1)


def _boltzmann_gate(grid, v):
    """Open probability at every (v_half, slope) grid point: (G, 2), (n,) -> (G, n)."""
    return ionjax.boltzmann(v, grid[:, :1], grid[:, 1:])


_BOLTZMANN_SPECS = (ParamSpec("v_half", unit="mV", factor=_MV, floor=_MV),
                    ParamSpec("slope", unit="mV", factor=_MV, floor=_MV))


@dataclasses.dataclass(frozen=True)
class BoltzmannOhmic(_Base):
    """I = g_max / (1 + exp((v_half - v)/slope)) (v - e_rev): a Boltzmann-gated ohmic current
    (steady-state or peak I-V of a voltage-gated channel). Parameters ``g_max`` [S, > 0],
    ``e_rev``, ``v_half``, ``slope`` [V]; slope > 0 activates with depolarization, < 0 with
    hyperpolarization (e.g. HCN, inward rectifiers)."""

    name = "BoltzmannOhmic"
    specs = (ParamSpec("g_max", unit="nS", factor=1e-9, positive=True, floor=1e-9),
             ParamSpec("e_rev", unit="mV", factor=_MV, floor=_MV)) + _BOLTZMANN_SPECS

    def current(self, params, v):
        p_open = ionjax.boltzmann(v, params["v_half"], params["slope"])
        return ionjax.ohmic_current(v, params["g_max"] * p_open, params["e_rev"])

    def grid(self, v, mask):
        return _boltzmann_grid(v, mask)

    def gate(self, grid, v):
        return _boltzmann_gate(grid, v)

    def features(self, v):
        return v, jnp.ones_like(v)

    def from_linear(self, a, theta):
        return {"g_max": a[..., 0], "e_rev": -a[..., 1] / a[..., 0], "v_half": theta[..., 0],
                "slope": theta[..., 1]}

    def reversal(self, params):
        return params["e_rev"]


@dataclasses.dataclass(frozen=True, init=False)
class BoltzmannGHK(_Base):
    """I = p_max / (1 + exp((v_half - v)/slope)) I_GHK(v; z, c_in, c_out, T): a Boltzmann-gated
    GHK current. Parameters ``p_max`` [m^3/s, > 0], ``v_half``, ``slope`` [V]."""

    z: float
    c_in: float
    c_out: float
    temperature: float
    name = "BoltzmannGHK"
    specs = (ParamSpec("p_max", unit="m^3/s", positive=True, floor=1e-18),) + _BOLTZMANN_SPECS

    def __init__(self, *, z, c_in, c_out, temperature):
        (z,), (c_in,), (c_out,), t = _ion_config(z, c_in, c_out, temperature)
        for key, value in dict(z=z, c_in=c_in, c_out=c_out, temperature=t).items():
            object.__setattr__(self, key, value)

    def _unit(self, v):
        return _unit_currents(v, (self.z,), (self.c_in,), (self.c_out,), self.temperature)[0]

    def current(self, params, v):
        return params["p_max"] * ionjax.boltzmann(v, params["v_half"], params["slope"]) * self._unit(v)

    def grid(self, v, mask):
        return _boltzmann_grid(v, mask)

    def gate(self, grid, v):
        return _boltzmann_gate(grid, v)

    def features(self, v):
        return (self._unit(v),)

    def from_linear(self, a, theta):
        return {"p_max": a[..., 0], "v_half": theta[..., 0], "slope": theta[..., 1]}

    def reversal(self, params):
        e = ionjax.nernst_potential(self.c_in, self.c_out, self.z, temperature=self.temperature)
        return jnp.broadcast_to(jnp.asarray(e, params["p_max"].dtype), jnp.shape(params["p_max"]))


@dataclasses.dataclass(frozen=True, eq=False, init=False)
class Model(_Base):
    """Any user model ``fn(params, v) -> i`` written with ionjax/jax (SI units).

    Args:
      fn: ``fn(params: dict name -> scalar or 1-d array, v: (n,) [V]) -> (n,) current [A]``.
      params: starting values, dict name -> float or 1-d array [SI]; their magnitudes also set
        the internal scaling, so give values of the right order.
      positive: names of parameters constrained > 0 (fitted in log space).
      units: optional dict name -> (display factor, unit label), e.g. {"g": (1e-9, "nS")}.
      name: label for reports.

    The Jacobian comes from autodiff of ``fn``. Two ``Model`` objects are equal only if they are
    the same object (compiled fits are cached per model object).
    """

    fn: Callable
    start: tuple
    specs: tuple
    name: str
    has_linear_form = False

    def __init__(self, fn, *, params, positive=(), units=None, name="Model"):
        if not callable(fn):
            raise TypeError(f"fn must be callable fn(params, v); got {fn!r}")
        units = units or {}
        unknown = set(positive) - set(params)
        if unknown:
            raise ValueError(f"positive names unknown parameters {sorted(unknown)}; "
                             f"parameters are {sorted(params)}")
        specs, start = [], []
        for key, value in params.items():
            value = np.atleast_1d(np.asarray(value, float))
            if value.ndim != 1 or not np.all(np.isfinite(value)):
                raise ValueError(f"starting value of {key!r} must be a finite scalar or 1-d array")
            if key in positive and np.any(value <= 0):
                raise ValueError(f"starting value of positive parameter {key!r} must be > 0; "
                                 f"got {value}")
            factor, unit = units.get(key, (1.0, ""))
            floor = float(np.max(np.abs(value))) or 1.0
            specs.append(ParamSpec(key, size=value.size, unit=unit, factor=factor,
                                   positive=key in positive, floor=floor))
            start.append(tuple(value))
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "start", tuple(start))
        object.__setattr__(self, "specs", tuple(specs))
        object.__setattr__(self, "name", name)

    def __hash__(self):
        return id(self)

    def current(self, params, v):
        return self.fn(params, v)

    def start_vector(self, dtype):
        return jnp.asarray(np.concatenate([np.asarray(s) for s in self.start]), dtype)

