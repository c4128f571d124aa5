"""What is fitted: the model families, one module each, and the registry of their names.

    base.py        ``ModelBase``: the hooks a model implements (required) or overrides
    params.py      ``ParamSpec`` / ``spec``: a parameter's size, units, scaling and bounds
    linear.py      the partially linear form (grid, gate, features) as mixins
    ohmic.py       ``Ohmic``
    pedestal.py    ``BoltzmannPedestal``: a Boltzmann on a pedestal (incomplete inactivation)
    ghk.py         ``GHK``, ``MultiIonGHK`` and the single-ion helpers
    boltzmann.py   ``BoltzmannOhmic``, ``BoltzmannGHK``, ``BoltzmannConductance``,
                   ``BoltzmannCurrent``
    pnp.py         ``PNPChannel`` (a charged pore, Poisson-Nernst-Planck); pnp_checks.py its
                   host-side checks
    relaxation.py  ``Exponentials``: c + sum_k a_k exp(-t / tau_k) in time (kinetics), started
                   by a variable-projection scan of the time constants
    user.py        ``Model``: any user function ``fn(params, v) -> i``
    trace.py       ``TraceModel``: gating in time (HH gates, Markov schemes with exponential
                   rates) times an ohmic driving force, for whole traces (``fit_traces``);
                   ``beattie2018``, ``hh_gates``, ``markov_scheme``
    registry.py    the models by command-line name (``register_model``); a registered model
                   gets its compiled programs kept across processes (``fitting.engine.compiled``)

Imports only ``ionjax``, jax and numpy. Names load lazily (``ionjax --help`` imports no jax).
"""

from ionjax._src.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "base": ["ModelBase"],
    "boltzmann": ["BoltzmannConductance", "BoltzmannCurrent", "BoltzmannGHK", "BoltzmannOhmic"],
    "ghk": ["GHK", "MultiIonGHK"],
    "ohmic": ["Ohmic"],
    "params": ["ParamSpec"],
    "pedestal": ["BoltzmannPedestal"],
    "pnp": ["PNPChannel"],
    "registry": ["register_model", "unregister_model"],
    "relaxation": ["Exponentials"],
    "user": ["Model"],
    "trace": ["TraceModel", "beattie2018", "hh_gates", "markov_scheme"],
}
__getattr__, __dir__, __all__ = _lazy_exports(__name__, _EXPORTS)
