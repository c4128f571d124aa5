"""Permeability ratios from reversal potentials: textbook formulas and GHK round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ionjax as ij
import reference as ref

T = 295.15


def _v_t():
    return float(ref.R * T / ref.F)


@settings(max_examples=60, deadline=None)
@given(e=st.floats(-0.1, 0.1), c_x=st.floats(1.0, 300.0), c_y=st.floats(1.0, 300.0))
def test_bi_ionic_monovalent_is_the_textbook_formula(e, c_x, c_y):
    got = ij.permeability_ratio_bi_ionic(e, c_x, 1, c_y, 1, temperature=T)
    assert float(got) == pytest.approx(c_y / c_x * np.exp(e / _v_t()), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(e=st.floats(-0.1, 0.1), c_ca=st.floats(0.5, 100.0), c_y=st.floats(1.0, 300.0))
def test_bi_ionic_calcium_is_lewis_1979(e, c_ca, c_y):
    x = np.exp(e / _v_t())
    want = c_y * x * (1 + x) / (4 * c_ca)  # Lewis (1979), eq. 8
    got = ij.permeability_ratio_bi_ionic(e, c_ca, 2, c_y, 1, temperature=T)
    assert float(got) == pytest.approx(want, rel=1e-12)


def test_bi_ionic_round_trip_through_the_root_of_the_ghk_currents():
    """E from a 50-digit root of I_X + I_Y = 0 (X outside only, Y inside only) gives back p_X/p_Y."""
    for p_x, c_x, z_x, c_y, z_y in [(0.7, 140.0, 1, 140.0, 1), (3.0, 10.0, 2, 140.0, 1),
                                    (0.2, 100.0, -1, 150.0, -1), (5.0, 2.0, 2, 30.0, 2)]:
        e = ref.ghk_voltage([p_x, 1.0], [0.0, c_y], [c_x, 0.0], [z_x, z_y], T)
        got = ij.permeability_ratio_bi_ionic(float(e), c_x, z_x, c_y, z_y, temperature=T)
        assert float(got) == pytest.approx(p_x, rel=1e-10)
    assert np.isnan(ij.permeability_ratio_bi_ionic(0.0, 10.0, -1, 10.0, 1, temperature=T))


@settings(max_examples=60, deadline=None)
@given(e1=st.floats(-0.05, 0.05), e2=st.floats(-0.05, 0.05), c1=st.floats(10, 200),
       c2=st.floats(10, 200))
def test_monovalent_substitution_is_the_textbook_formula(e1, e2, c1, c2):
    got = ij.permeability_ratio_substitution(e1, e2, c1, c2, 1, 1, temperature=T)
    assert float(got) == pytest.approx(c1 / c2 * np.exp((e2 - e1) / _v_t()), rel=1e-11)


def test_substitution_round_trip_with_divalent_test_ion():
    """Na outside replaced by Ca outside, K inside: E from 50-digit roots, ratio recovered."""
    p_na, p_ca, p_k = 0.9, 4.0, 1.0
    e1 = ref.ghk_voltage([p_na, p_k], [0.0, 140.0], [150.0, 0.0], [1, 1], T)
    e2 = ref.ghk_voltage([p_ca, p_k], [0.0, 140.0], [20.0, 0.0], [2, 1], T)
    got = ij.permeability_ratio_substitution(float(e1), float(e2), 150.0, 20.0, 1, 2, temperature=T)
    assert float(got) == pytest.approx(p_ca / p_na, rel=1e-10)


def test_general_permeability_from_reversal_recovers_the_unknown():
    p = np.array([1.0, 0.05, 0.4, 0.2])
    c_in = np.array([140.0, 10.0, 10.0, 1e-4])
    c_out = np.array([5.0, 145.0, 120.0, 2.0])
    z = np.array([1, 1, -1, 2])
    e = ref.ghk_voltage(p, c_in, c_out, z, T)
    for k in range(4):
        trial = p.copy()
        trial[k] = 123.0  # ignored
        got = ij.permeability_from_reversal(float(e), trial, c_in, c_out, z, index=k, temperature=T)
        assert float(got) == pytest.approx(p[k], rel=1e-9)
    # no positive permeability of ion 0 can make +50 mV the reversal here
    assert np.isnan(ij.permeability_from_reversal(0.05, p, c_in, c_out, z, index=0, temperature=T))
