"""Data bundled with ionjax: a synthetic example recording (see ``_make_example``)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["example_path"]


def example_path() -> Traversable:
    """Path of the bundled synthetic example I-V table (CSV, mV / pA)."""
    return resources.files(__name__) / "example_iv.csv"
