"""Data bundled with ionjax: a synthetic example recording (see ``_make_example``)."""

from importlib import resources


def example_path():
    """Path of the bundled synthetic example I-V table (CSV, mV / pA)."""
    return resources.files(__name__) / "example_iv.csv"
