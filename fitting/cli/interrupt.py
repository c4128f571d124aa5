"""Ctrl-C and SIGTERM that are never lost.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be; when that is a
callback whose exceptions are ignored (JAX's garbage-collection hook, for one), the interrupt
vanishes and the command would run on and write its output. The ``ionjax`` command therefore
also records the signal here, and ``check()`` raises it again before anything is written.
"""

import signal

__all__ = ["check", "install", "interrupted"]

interrupted = False


def _handler(signum, frame):
    global interrupted
    interrupted = True
    raise KeyboardInterrupt


def install() -> None:
    """Handle SIGINT and SIGTERM (main thread only; elsewhere the handlers stay as they are)."""
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(number, _handler)
        except ValueError:  # not the main thread
            return


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a signal came, even one whose exception was swallowed."""
    if interrupted:
        raise KeyboardInterrupt
