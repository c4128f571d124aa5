"""Voltage-dependent gating: the two-state Boltzmann open probability.

A channel with gating charge z_g that moves across the field between a closed and an open state
is open with probability P_o = 1 / (1 + exp(-(v - v_half) / s)), with slope factor
s = kT / (z_g e) = RT / (z_g F) (about 25.7 mV / z_g at 25 degC). A positive slope describes
activation by depolarization, a negative slope inactivation (or hyperpolarization activation).

Reference: Hille (2001) ch. 2 and 10; Hodgkin & Huxley (1952).
"""

import jax

from ionjax._src._common import as_float
from ionjax._src.constants import FARADAY, GAS_CONSTANT


def boltzmann(v, v_half, slope):
    """Boltzmann open probability P_o = 1 / (1 + exp((v_half - v) / slope)).

    Evaluated as a logistic sigmoid, which neither overflows nor loses precision far from
    v_half (float32 included).

    Args:
      v: membrane potential [V].
      v_half: half-activation potential [V].
      slope: slope factor [V], non-zero; > 0 for activation by depolarization, < 0 for
        hyperpolarization activation or inactivation. slope = RT / (z_g F) for gating charge z_g.

    Returns:
      P_o in [0, 1], broadcast shape, dtype of the floating inputs.

    Reference: Hille (2001) ch. 2.
    """
    v, v_half, slope = as_float(v, v_half, slope)
    return jax.nn.sigmoid((v - v_half) / slope)


def gating_charge_from_slope(slope, *, temperature):
    """Effective gating charge z_g = RT / (F s) of a Boltzmann with slope factor ``slope`` [V]."""
    slope, t = as_float(slope, config=(temperature,))
    return GAS_CONSTANT * t / (FARADAY * slope)
