"""Host-side validation raises ValueError naming the argument and the offending value."""

import numpy as np
import pytest

import ionjax as ij


def test_valid_inputs_pass():
    ij.validate_inputs(c_in=[1.0, 140.0], c_out=5.0, z=np.array([1, -2]), temperature=300.0,
                       v=np.linspace(-0.1, 0.1, 3), p=0.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(c_in=[1.0, -1.0]), r"c_in must be > 0, or 0 for an ion absent.*got -1 at index \(1,\)"),
    (dict(c_out=-5.0), r"c_out must be > 0.*got -5$"),
    (dict(z=0), r"z must be a non-zero valence; got 0"),
    (dict(z=1.5), r"z must be an integer valence"),
    (dict(temperature=-1.0), r"temperature must be > 0 K"),
    (dict(v=-80.0), r"v must be in volts.*got -80$"),
    (dict(p=[1.0, -1e-9]), r"p must be >= 0"),
    (dict(c_in=np.nan), r"c_in must be finite"),
    (dict(c_in="abc"), r"c_in must be numeric"),
])
def test_bad_inputs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ij.validate_inputs(**kwargs)


def test_unknown_name_is_a_type_error():
    with pytest.raises(TypeError, match="colour"):
        ij.validate_inputs(colour=1.0)


def test_zero_concentration_is_accepted_except_for_the_nernst_potential():
    """Issue 27: an ion absent from one side is GHK physics (bi-ionic, NMDG, Ca-free); only its
    Nernst potential is infinite, which ``quantity="nernst"`` refuses in one line."""
    ij.validate_inputs(c_in=[0.0, 140.0], c_out=[145.0, 0.0], z=np.array([1, 1]),
                       temperature=295.15, p=[1.0, 0.1])
    ij.validate_inputs(c_in=140.0, c_out=5.0, z=1, temperature=295.15, quantity="nernst")
    with pytest.raises(ValueError) as info:
        ij.validate_inputs(c_in=[140.0, 10.0], c_out=[5.0, 0.0], z=1, quantity="nernst")
    assert str(info.value) == ("c_out = 0 at index (1,): the Nernst potential of an ion absent "
                               "from one side is infinite; give c_out > 0")
    with pytest.raises(ValueError, match=r"^c_in = 0: the Nernst potential .* infinite"):
        ij.validate_inputs(c_in=0.0, c_out=5.0, quantity="nernst")
    with pytest.raises(ValueError, match=r"c_in must be > 0, or 0 for an ion absent"):
        ij.validate_inputs(c_in=-1.0, quantity="nernst")
    with pytest.raises(ValueError, match="quantity must be one of"):
        ij.validate_inputs(c_in=1.0, quantity="goldman")
    with pytest.raises(ValueError, match="activity must be > 0"):
        ij.validate_inputs(activity=0.0)
