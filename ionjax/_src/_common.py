"""Dtype handling and the in-jit invalid-input convention shared by every ionjax function.

Two rules hold for every public function:

* dtype: the result has the floating dtype of the physical array arguments (``float32`` in,
  ``float32`` out). Python scalars are weakly typed and never promote; configuration arguments
  such as ``temperature`` and the valence ``z`` are cast to that dtype, so a NumPy ``float64``
  temperature cannot silently turn a ``float32`` computation into ``float64``.
* invalid input (a negative or NaN concentration, a valence of 0, a temperature outside the
  200..400 K of liquid water (``TEMPERATURE_RANGE``: 37 K is degC given as kelvin), ...) yields
  NaN inside jit, never a plausible number. A concentration of exactly 0 is physics, not an error:
  an ion absent from one side (bi-ionic conditions, NMDG or choline substitution, Ca-free
  solutions). Each function documents what it returns there (finite where its equation is,
  +-inf where the limit is infinite, such as the Nernst potential, NaN where it is undefined).
  The mask is applied with ``jnp.where`` on the result only, so it costs nothing on valid input
  and does not poison gradients of valid elements.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ionjax._src.validation import TEMPERATURE_RANGE, validate_inputs


def _array_like(x):
    """Lists and tuples (``[140, 0]``) as arrays; everything else untouched (weak types kept)."""
    return jnp.asarray(x) if isinstance(x, (list, tuple)) else x


def float_dtype(*arrays):
    """The floating dtype that ``arrays`` promote to (the default float if they are all integer)."""
    dtype = jnp.result_type(*(_array_like(a) for a in arrays))
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    return dtype


def as_float(*arrays, config=()):
    """Cast ``arrays`` to their common floating dtype, and ``config`` values to that same dtype.

    Args:
      *arrays: the physical inputs whose dtype decides the result dtype.
      config: values (temperature, valence, ...) cast to that dtype without taking part in the
        promotion.

    Returns:
      A tuple of arrays: first the cast ``arrays``, then the cast ``config`` values.
    """
    dtype = float_dtype(*arrays)
    return tuple(jnp.asarray(_array_like(a), dtype) for a in (*arrays, *config))


def nan_unless(valid, x):
    """``x`` where ``valid`` is True, NaN elsewhere (broadcasting ``valid`` against ``x``)."""
    return jnp.where(valid, x, jnp.asarray(jnp.nan, x.dtype))


def valid_valence(z):
    """True where the valence is a non-zero integer (an ion carries whole elementary charges)."""
    return (z != 0) & (z == jnp.round(z))


def valid_temperature(temperature):
    """True where the temperature [K] lies in ``TEMPERATURE_RANGE`` (200..400 K, aqueous
    solutions are liquid; False for NaN)."""
    return (temperature >= TEMPERATURE_RANGE[0]) & (temperature <= TEMPERATURE_RANGE[1])


def valid_ion(c_in, c_out, z, temperature):
    """True where the concentrations are >= 0 (0 = the ion is absent from that side; False for
    NaN), the temperature is in ``TEMPERATURE_RANGE`` and the valence is a non-zero integer."""
    return (c_in >= 0) & (c_out >= 0) & valid_valence(z) & valid_temperature(temperature)


def is_concrete(values):
    """Whether every value is concrete (a number or array, not a tracer inside jit or grad):
    host-side checks that raise or warn run only then."""
    try:
        for v in values:
            np.asarray(v)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return False
    return True


# checked only where all finite and > 0
_BOUNDED = ("temperature", "length", "c_in", "c_out", "diffusion")


def check_concrete(**named):
    """Host side, the unit slips of the concrete values among ``named``: a ValueError of
    ``validate_inputs`` naming the argument and the likely slip (temperature 37: degC passed as
    kelvin; v -50: mV passed as volts; g < 0). Traced values (inside jit, grad or vmap) are not
    looked at: the function's NaN mask is their documented answer, and a constant closed over
    by jit is checked once, at trace time, so a compiled call pays nothing.

    What is checked, per name (other invalid input is NaN, as inside jit):

    * ``temperature``, ``length``, ``c_in``, ``c_out``, ``diffusion``: the upper and lower
      bounds of ``validate_inputs`` (200..400 K, <= 100 um, <= 10 M, <= 1e-7 m^2/s) where every
      value is finite and > 0 (0, negative or NaN values are invalid input, not a slip: NaN).
    * ``v``, ``e_rev``: |v| <= ``MAX_VOLTAGE`` = 1 V at the finite values.
    * ``g``: >= 0 at the finite values (a conductance is not negative).

    Args:
      **named: argument name -> value (a number, an array, or a tracer).

    Raises:
      ValueError: the first value outside its bound.
    """
    for name, value in named.items():
        if value is None or not is_concrete((value,)):
            continue
        a = np.asarray(value, float)
        if name in _BOUNDED:
            if np.all(np.isfinite(a) & (a > 0)):
                validate_inputs(**{name: a})
        else:  # NaN and inf stay the function's NaN; the finite values are checked in place
            validate_inputs(**{name: np.where(np.isfinite(a), a, 0.0)})


def log_ratio(numerator, denominator):
    """ln(numerator / denominator), accurate to a few ulp relative even when the ratio is near 1.

    ``log(a / b)`` has an absolute error of about one ulp, which is a large *relative* error of a
    result near zero (equal concentrations on both sides). Near 1 the difference ``a - b`` is exact
    (Sterbenz), so ``log1p((a - b) / b)`` keeps full relative precision. Both branches are finite
    for positive inputs, so the ``where`` is gradient-safe. A zero numerator gives -inf, a zero
    denominator +inf and 0/0 NaN (with derivatives that are not finite there).
    """
    ratio = numerator / denominator
    near_one = jnp.abs(ratio - 1) < 0.5
    return jnp.where(near_one, jnp.log1p((numerator - denominator) / denominator), jnp.log(ratio))
