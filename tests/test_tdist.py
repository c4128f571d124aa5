"""``fitting.engine.tdist``: Student's t quantile in NumPy (no compiled program), against scipy
and against the closed forms of 1, 2 and 4 degrees of freedom."""

import math

import numpy as np
import pytest
from scipy import stats

from fitting.engine.tdist import EXACT_DOF, normal_quantile, t_quantile, two_sided_probability

DOFS = list(range(1, 40)) + [63, 99, 100, 101, 500, EXACT_DOF, EXACT_DOF + 1, 5000, 10**6]


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.99, 0.999])
def test_quantile_is_scipys_across_the_closed_form_and_the_expansion(level):
    got = t_quantile(level, np.array(DOFS))
    want = stats.t.ppf(0.5 + level / 2, DOFS)
    np.testing.assert_allclose(got, want, rtol=1e-11)


def test_probability_is_scipys_two_sided_cdf_and_the_closed_forms():
    t = np.linspace(0.0, 12.0, 61)
    for nu in (1, 2, 3, 4, 5, 10, 51, 100):
        np.testing.assert_allclose(two_sided_probability(t, nu), 2 * stats.t.cdf(t, nu) - 1,
                                   atol=4e-15)
    # closed forms: nu = 1 (Cauchy) 2/pi atan t, nu = 2 t / sqrt(2 + t^2)
    np.testing.assert_allclose(two_sided_probability(t, 1), 2 / np.pi * np.arctan(t), atol=1e-15)
    np.testing.assert_allclose(two_sided_probability(t, 2), t / np.sqrt(2 + t * t), atol=1e-15)
    # nu = 2 inverts exactly: t = sqrt(2 p^2 / (1 - p^2))
    assert t_quantile(0.95, 2) == pytest.approx(math.sqrt(2 * 0.95**2 / (1 - 0.95**2)), rel=1e-13)


def test_bad_input_and_arrays():
    out = t_quantile(0.95, np.array([[3, 0], [-1, 3]]))
    assert out.shape == (2, 2) and np.isnan(out[0, 1]) and np.isnan(out[1, 0])
    assert out[0, 0] == out[1, 1] == pytest.approx(3.182446305284263, rel=1e-12)
    assert normal_quantile(0.95) == pytest.approx(1.959963984540054, rel=1e-14)
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="level must lie in"):
            t_quantile(level, 3)
    with pytest.raises(ValueError, match="dof must be an integer >= 1"):
        two_sided_probability(1.0, 0)
