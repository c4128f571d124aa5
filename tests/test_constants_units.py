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


def test_one_unit_table_serves_ionjax_and_the_parsers():
    from fitting.recordings import units as io_units

    for symbol, (factor, si) in units.UNITS.items():
        if symbol.replace(" ", "_").replace("/", "_per_") in vars(units):
            assert getattr(units, symbol.replace(" ", "_").replace("/", "_per_")) == factor
    assert units.UNITS["nS"] == (units.nS, "S") and units.UNITS["mM"] == (1.0, "mol/m^3")
    # recording labels and typed quantities read the same table, exactly (division by 10^k)
    assert io_units.unit_info("µA") == ("current", "uA", -6)
    assert io_units.parse_quantity("140mV", "voltage") == 140 / 1000
    assert io_units.parse_quantity("10", "resistance") == 10 * units.MOhm
    assert io_units.parse_quantity("10 MΩ", "resistance") == 10 * units.MOhm
    assert io_units.parse_quantity("20uM", "concentration") == 20 * units.uM
    assert io_units.parse_temperature("22C") == units.celsius(22.0)
    with pytest.raises(ValueError, match="accepted units: V, mV, uV"):
        io_units.parse_quantity("3 mA", "voltage")
