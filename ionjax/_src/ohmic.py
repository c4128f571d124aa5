"""Ohmic channels: I = g (v - E_rev), with g = N_open * gamma.

A population of open channels of unitary conductance gamma conducts g = N_open gamma; its
current reverses at E_rev whatever N_open is (the reversal is a property of the permeant ions,
not of how many channels are open). A channel (or membrane) with several permeant ions, each
with its own conductance g_k and Nernst potential E_k, reverses at the conductance-weighted mean
E_rev = sum_k g_k E_k / sum_k g_k (the chord-conductance equation).

Reference: Hille (2001) ch. 1 and 14; A.L. Hodgkin & A.F. Huxley, J. Physiol. 117, 500 (1952),
doi:10.1113/jphysiol.1952.sp004764.
"""

import jax.numpy as jnp

from ionjax._src._common import as_float, nan_unless


def ohmic_current(v, g, e_rev):
    """Ohmic current I = g (v - E_rev).

    Args:
      v: membrane potential [V].
      g: conductance [S] (or [S/m^2] for a current density).
      e_rev: reversal potential [V].

    Returns:
      I [A] (or [A/m^2]), broadcast shape; positive = outward.
    """
    v, g, e_rev = as_float(v, g, e_rev)
    return g * (v - e_rev)


def macroscopic_conductance(n_open, gamma):
    """Macroscopic conductance of N_open open channels of unitary conductance gamma: g = N gamma.

    Args:
      n_open: number of open channels (may be fractional: expected value N p_open).
      gamma: single-channel conductance [S].

    Returns:
      g [S], broadcast shape. NaN for negative n_open or gamma.
    """
    n, gamma = as_float(n_open, gamma)
    return nan_unless((n >= 0) & (gamma >= 0), n * gamma)


def reversal_potential(g, e, axis=-1):
    """Conductance-weighted reversal potential E_rev = sum_k g_k E_k / sum_k g_k.

    Args:
      g: conductances of the permeant ions [S], ions along ``axis``.
      e: their Nernst potentials [V], broadcastable against ``g``.
      axis: the ion axis (default the last).

    Returns:
      E_rev [V], the broadcast shape with ``axis`` removed. NaN if any g < 0 or all g == 0.
      Independent of a common scale of the g (number of open channels).

    Reference: Hille (2001) eq. 14-3 (chord conductance equation).
    """
    g, e = as_float(g, e)
    g, e = jnp.broadcast_arrays(g, e)
    total = jnp.sum(g, axis=axis)
    e_rev = jnp.sum(g * e, axis=axis) / total
    return nan_unless(jnp.all(g >= 0, axis=axis) & (total > 0), e_rev)


def chord_conductance(i, v, e_rev):
    """Chord conductance g = I / (v - E_rev) of a measured or modelled current.

    For an ohmic channel it equals the slope conductance; for a rectifying one it differs (see
    ``ghk_chord_conductance`` for the GHK case, which is finite at v = E_rev).

    Args:
      i: current at ``v`` [A].
      v: membrane potential [V].
      e_rev: reversal potential [V].

    Returns:
      g [S], broadcast shape; inf/NaN at v == e_rev (use the slope conductance there).
    """
    i, v, e_rev = as_float(i, v, e_rev)
    return i / (v - e_rev)
