"""``InputError``: every bad-input error of the I/O layer, located as file:line:column.

A bad recording (an empty CSV, a non-numeric cell, an unknown unit, a missing or corrupt ABF
file) and a bad reading option (a window outside the step, an unknown statistic) raise
``InputError``. It subclasses ``ValueError``, so code that catches ``ValueError`` keeps working,
and its text reads like a compiler message that editors and terminals can jump to::

    data.csv:3:2: non-numeric value 'abc' in column 'current_pA'
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

__all__ = ["InputError", "reading", "require_file"]


class InputError(ValueError):
    """Bad input, with its location in the file when it has one.

    Attributes:
      message: what is wrong, without the location.
      path: the file (str), or None for an option that belongs to no file.
      line: 1-based line number in the file, or None.
      column: 1-based column (field) number, or None.
    """

    def __init__(self, message, *, path=None, line=None, column=None):
        self.message = str(message)
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.column = column
        super().__init__(self.__str__())

    def __str__(self):
        parts = [] if self.path is None else [str(self.path)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts + [" " + self.message]) if parts else self.message

    def __reduce__(self):
        return _rebuild, (self.message, self.path, self.line, self.column)


def _rebuild(message, path, line, column):
    return InputError(message, path=path, line=line, column=column)


def require_file(path: str) -> None:
    """Raise an InputError unless ``path`` is an existing regular file."""
    if not os.path.isfile(path):
        raise InputError("no such file" if not os.path.exists(path) else "is not a regular file",
                         path=path)


@contextlib.contextmanager
def reading(path: str, what: str) -> Iterator[None]:
    """Run a third-party reader quietly, its every failure one InputError: "cannot read as
    ``what`` (TypeError: ...)" (readers raise anything on a damaged file, and warn)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        detail = " ".join(str(exc).split())[:300]  # one line
        raise InputError(f"cannot read as {what} ({type(exc).__name__}: {detail})",
                         path=path) from None
