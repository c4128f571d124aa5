"""ionjax: ion transport across cell membranes as pure, differentiable JAX functions.

SI units everywhere (V, A, S, K, mol/m^3 = mM, m/s, J/mol); ``ionjax.units`` converts at the
edges. Membrane potential v = phi_in - phi_out; positive current = outward flow of positive
charge. Every function broadcasts over leading dimensions, keeps the floating dtype of its inputs
and is safe under ``jax.jit``, ``jax.vmap`` and ``jax.grad``; invalid physical input gives NaN
inside jit (``validate_inputs`` raises on the host instead).

This package imports jax and numpy only; the optimiser, I/O and command line live in the
separate ``fitting`` package of the same distribution.
"""

from ionjax import units
from ionjax._src.activity import (
    activities,
    activity_coefficient,
    bjerrum_length,
    debye_huckel_constants,
    debye_length,
    ionic_strength,
    kielland_ion_size,
    water_relative_permittivity,
)
from ionjax._src.constants import (
    AVOGADRO,
    BOLTZMANN,
    ELEMENTARY_CHARGE,
    FARADAY,
    GAS_CONSTANT,
    VACUUM_PERMITTIVITY,
    ZERO_CELSIUS,
)
from ionjax._src.electrochemistry import (
    driving_potential,
    electrochemical_driving_force,
    electrochemical_potential,
    nernst_potential,
    thermal_voltage,
)
from ionjax._src.gating import boltzmann, gating_charge_from_slope
from ionjax._src.ghk import (
    ghk_chord_conductance,
    ghk_conductance_at_reversal,
    ghk_current,
    ghk_fluxes,
    ghk_slope_conductance,
    permeability_from_conductance,
    ussing_flux_ratio,
)
from ionjax._src.ghk_voltage import ghk_voltage
from ionjax._src.junction import (
    ION_TABLE,
    Ion,
    check_electroneutrality,
    ion_mobility,
    liquid_junction_potential,
)
from ionjax._src.ohmic import (
    chord_conductance,
    macroscopic_conductance,
    ohmic_current,
    reversal_potential,
)
from ionjax._src.permeability_ratios import (
    permeability_from_reversal,
    permeability_ratio_bi_ionic,
    permeability_ratio_substitution,
)
from ionjax._src.permeation import (
    access_current,
    access_resistance,
    diffusion_limited_fraction,
    stokes_einstein_diffusion,
    stokes_radius,
    viscosity_scaled_conductance,
    walden_conductance,
)
from ionjax._src.validation import validate_inputs

__version__ = "0.1.0"
