"""Fits of a fixed set of recordings are identical, value for value, to those saved from main
before ``fitting`` was restructured (see ``golden_fits.py``): the move changed no number."""

import numpy as np
import pytest

import golden_fits


@pytest.fixture(scope="module")
def golden():
    with np.load(golden_fits.GOLDEN) as f:
        return {key: f[key] for key in f.files}


@pytest.fixture(scope="module")
def data():
    return golden_fits.inputs()


def test_cases_cover_failures_and_every_model(golden):
    statuses = np.concatenate([golden[k].ravel() for k in golden if k.endswith("/status")])
    assert {0, 2}.issubset(set(statuses.tolist())), "converged and too-few-points cases"
    assert np.any(np.isnan(golden["ohmic_lm/params.g"]))


@pytest.mark.parametrize("name", sorted(golden_fits.cases()))
def test_results_identical_to_saved(name, golden, data):
    out = golden_fits.run_case(name, data)
    saved = {k.split("/", 1)[1]: v for k, v in golden.items() if k.startswith(name + "/")}
    assert sorted(out) == sorted(saved)
    for field, value in out.items():
        assert value.dtype == saved[field].dtype, field
        np.testing.assert_array_equal(value, saved[field], err_msg=f"{name}: {field}")
