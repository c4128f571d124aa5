"""Former home of the bundled example data, kept so that ``from fitting.data import
example_path`` still works: the data live in ``fitting.app.data``."""

from fitting.app.data import example_path

__all__ = ["example_path"]
