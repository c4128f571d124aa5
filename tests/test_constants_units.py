"""CODATA 2018 constants (exact products) and unit factors."""

from fractions import Fraction

import pytest

import ionjax as ij
from ionjax import units


def test_exact_si_constants():
    assert ij.ELEMENTARY_CHARGE == 1.602176634e-19
    assert ij.BOLTZMANN == 1.380649e-23
    assert ij.AVOGADRO == 6.02214076e23
    assert ij.ZERO_CELSIUS == 273.15
    r = Fraction("1.380649e-23") * Fraction("6.02214076e23")
    f = Fraction("1.602176634e-19") * Fraction("6.02214076e23")
    assert ij.GAS_CONSTANT == float(r)  # correctly rounded exact product
    assert ij.FARADAY == float(f)


def test_unit_factors_and_celsius():
    assert units.mV == 1e-3 and units.pA == 1e-12 and units.nS == 1e-9
    assert units.mM == 1.0 and units.uM == 1e-3 and units.M == 1e3
    assert units.celsius(37.0) == pytest.approx(310.15, abs=1e-12)
    assert isinstance(units.celsius(25.0), float)
    assert units.to_celsius(units.celsius(21.5)) == pytest.approx(21.5, abs=1e-12)
