"""ionjax: ion transport across cell membranes as pure, differentiable JAX functions.

SI units everywhere (V, A, S, K, mol/m^3 = mM, m/s, J/mol); ``ionjax.units`` converts at the
edges. Membrane potential v = phi_in - phi_out; positive current = outward flow of positive
charge. Every function broadcasts over leading dimensions, keeps the floating dtype of its inputs
and is safe under ``jax.jit``, ``jax.vmap`` and ``jax.grad``; invalid physical input gives NaN
inside jit (``validate_inputs`` raises on the host instead).

This package imports jax and numpy only; the optimiser, I/O and command line live in the
separate ``fitting`` package of the same distribution. Names load lazily: ``import ionjax`` and
``import ionjax.units`` are cheap, and the module behind a name (with jax) is imported on its
first use.
"""

from ionjax._src.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "units": ["units"],
    "_src.activity": [
        "activities", "activity_coefficient", "bjerrum_length", "debye_huckel_constants",
        "debye_length", "ionic_strength", "kielland_ion_size", "water_relative_permittivity"],
    "_src.constants": [
        "AVOGADRO", "BOLTZMANN", "ELEMENTARY_CHARGE", "FARADAY", "GAS_CONSTANT",
        "VACUUM_PERMITTIVITY", "ZERO_CELSIUS"],
    "_src.electrochemistry": [
        "driving_potential", "electrochemical_driving_force", "electrochemical_potential",
        "nernst_potential", "thermal_voltage"],
    "_src.gating": ["boltzmann", "gating_charge_from_slope"],
    "_src.kinetics": [
        "gate_steady_state", "gate_trace", "gated_ghk_current", "gated_ohmic_current",
        "markov_generator", "markov_steady_state", "markov_trace", "rate_boltzmann",
        "rate_exponential"],
    "_src.ghk": ["ghk_current", "ghk_fluxes", "ussing_flux_ratio"],
    "_src.ghk_conductance": [
        "ghk_chord_conductance", "ghk_conductance_at_reversal", "ghk_slope_conductance",
        "permeability_from_conductance"],
    "_src.ghk_voltage": ["ghk_voltage"],
    "_src.junction": [
        "ION_TABLE", "Ion", "check_electroneutrality", "ion_mobility",
        "liquid_junction_potential"],
    "_src.ohmic": [
        "chord_conductance", "macroscopic_conductance", "ohmic_current", "reversal_potential"],
    "_src.pnp": ["PNPSolution", "pnp_steady"],
    "_src.permeability_ratios": [
        "permeability_from_reversal", "permeability_ratio_bi_ionic",
        "permeability_ratio_substitution"],
    "_src.permeation": [
        "access_current", "access_resistance", "diffusion_limited_fraction",
        "stokes_einstein_diffusion", "stokes_radius", "viscosity_scaled_conductance",
        "walden_conductance"],
    "_src.validation": [
        "MAX_CONCENTRATION", "MAX_LENGTH", "MAX_VALENCE", "NEUTRALITY_RTOL", "TEMPERATURE_RANGE",
        "validate_inputs"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
