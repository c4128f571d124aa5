"""Atomic file output: write to a temporary file in the target folder, then rename over."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

__all__ = ["atomic_path", "write_text"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    A reader never sees a half-written file, and a failure leaves an existing ``path`` untouched.
    The temporary file is removed on any exception, KeyboardInterrupt (SIGINT) and SystemExit
    included (the ``ionjax`` command turns SIGTERM into SystemExit); only SIGKILL can leave one.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ionjax-", suffix=suffix if suffix
                                   is not None else os.path.splitext(path)[1])
    except OSError as exc:  # name the user's file, not the temporary one
        raise OSError(exc.errno, exc.strerror, path) from None
    os.close(fd)
    try:
        try:
            yield tmp
        except OSError as exc:  # name the user's file, not the temporary one
            if exc.filename == tmp:
                raise OSError(exc.errno, exc.strerror, path) from None
            raise
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
