"""Ctrl-C and SIGTERM that are never lost and never end in a traceback.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be; when that is a
callback whose exceptions are ignored (JAX's garbage-collection hook, for one), the interrupt
vanishes, Python prints "Exception ignored in: ... Traceback", and the command would run on
and write its output; inside an import, the initialisation of a C extension (jaxlib) can
abort the process. The ``ionjax`` command therefore records the signal here: ``check()``
raises it again before anything is written; during an import the handler only records it
and has it delivered again once the import is done; and ``install(command=True)`` (the
console command only) silences the ignored exception and delivers the signal again. The exit status of an interrupted command is 128 + the signal's number: 130 for
SIGINT (Ctrl-C), 143 for SIGTERM; ``leave()`` makes a signal during the interpreter's own
shutdown end the process at once, quietly.
"""

import _thread  # these at the top, not in the handler: an import inside a handler that runs
import gc  # inside an import corrupts the import lock's bookkeeping (a KeyError in
import os  # importlib's _lock_unlock_module)
import signal
import sys
import time

__all__ = ["check", "exit_code", "install", "interrupted", "leave", "restore"]

interrupted = False
signal_number = None  # the signal that came (None: none, or one recorded without its number)


def _handler(signum, frame):
    global interrupted, signal_number
    interrupted, signal_number = True, signum
    if _inside(frame, _SILENT_CODES):  # an import, or our re-delivery came too early
        _deliver_again()
        return
    raise KeyboardInterrupt


def _inside(frame, codes) -> bool:
    """Whether ``frame`` or a frame that called it runs one of ``codes`` or an import (a
    KeyboardInterrupt inside a C extension's initialisation, jaxlib's, aborts the process)."""
    while frame is not None:
        if frame.f_code in codes or frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _deliver_again() -> None:
    """Signal the main thread again, from another thread, once the main thread has left the
    imports and the callbacks whose exceptions are ignored (gc callbacks, the unraisable
    hook): the handler then raises in the main thread's own code. A bare ``_thread`` (no
    ``threading`` lock, which the interrupted main thread may hold); called in the main thread
    (the handler, the unraisable hook)."""
    main = _thread.get_ident()

    def later(number):
        for _ in range(2000):  # 10 s at most: a callback does not run that long
            time.sleep(0.005)
            codes = _SILENT_CODES | {getattr(c, "__code__", None) for c in gc.callbacks}
            if not _inside(sys._current_frames().get(main), codes):
                break
        _thread.interrupt_main(number)

    _thread.start_new_thread(later, (signal_number or signal.SIGINT,))


def _quiet_unraisable(default):
    """A ``sys.unraisablehook`` that drops a ``KeyboardInterrupt`` raised inside a callback
    whose exceptions are ignored and delivers the signal to the main thread again; every
    other unraisable goes to ``default``."""
    def hook(unraisable):
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type,
                                                          KeyboardInterrupt):
            _deliver_again()
            return
        default(unraisable)

    return hook


_SILENT_CODES = frozenset({_quiet_unraisable(None).__code__, _deliver_again.__code__})


def restore(previous: dict | None) -> None:
    """Put back the handlers ``install`` replaced (``main`` called from Python, not the
    console command, leaves its process's handlers as it found them)."""
    for number, handler in (previous or {}).items():
        try:
            signal.signal(number, handler)
        except (ValueError, TypeError):  # not the main thread, or not set from Python
            pass


def install(command: bool = False) -> dict:
    """Handle SIGINT and SIGTERM (main thread only; elsewhere the handlers stay as they are).

    Args:
      command: the console command itself (not a call of ``main`` from Python): also silence
        the "Exception ignored" report of an interrupt that landed in a callback.

    Returns:
      The handlers replaced, signal number -> handler (for ``restore``).
    """
    global interrupted, signal_number
    if signal.getsignal(signal.SIGINT) is not _handler:  # a new command: an earlier call's
        interrupted, signal_number = False, None  # signal is spent; one that came since this
    previous = {}  # command's entry point installed the handlers (python -m fitting) is kept
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[number] = signal.signal(number, _handler)
        except ValueError:  # not the main thread
            return previous
    if command and not getattr(sys.unraisablehook, "ionjax", False):
        sys.unraisablehook = _quiet_unraisable(sys.unraisablehook)
        sys.unraisablehook.ionjax = True
    return previous


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a signal came, even one whose exception was swallowed."""
    if interrupted:
        raise KeyboardInterrupt


def exit_code() -> int:
    """The exit status of an interrupted command: 128 + the signal (130 for SIGINT)."""
    return 128 + int(signal_number or signal.SIGINT)


def _exit_now(signum, frame):
    sys.stderr.write("ionjax: interrupted\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def leave() -> None:
    """After the command's work (its outputs complete), a signal ends the process at once with
    128 + its number: none lands in the interpreter's shutdown as a traceback."""
    sys.stdout.flush()
    sys.stderr.flush()
    for number in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(number, _exit_now)
        except ValueError:  # not the main thread
            return
