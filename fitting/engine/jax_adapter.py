"""The one place ionjax touches a private JAX name (``tests/test_jax_adapter.py`` fails loudly,
naming it, on a JAX release that no longer has it; until then nothing is skipped there).

``jax.export`` sets up the CPU LAPACK kernels each time it lowers a deserialized program: it
imports scipy.linalg for their addresses, about 0.2 s of a new process. A program without custom
calls (the built-in models' block programs) calls none, so ``without_lapack_setup`` skips that
set-up for the first call of such a program only, and puts JAX's function back at once. Any
later lowering that needs LAPACK sets it up through JAX's own linalg rules.
"""

import importlib
from typing import Any, Callable

__all__ = ["PRIVATE_MODULE", "PRIVATE_NAME", "without_lapack_setup"]

PRIVATE_MODULE = "jax._src.export._export"
PRIVATE_NAME = "_ensure_backends_initialized"


def without_lapack_setup(call: Callable[..., Any]) -> Callable[..., Any]:
    """``call`` (a jitted call of a deserialized export without custom calls), whose first call
    skips jax.export's LAPACK set-up; ``call`` itself where JAX lacks the private hook."""
    try:
        export = importlib.import_module(PRIVATE_MODULE)
    except ImportError:
        return call
    if not hasattr(export, PRIVATE_NAME):
        return call
    state = {"first": True}

    def run(*args):
        if not state["first"]:
            return call(*args)
        state["first"] = False
        original = getattr(export, PRIVATE_NAME)
        setattr(export, PRIVATE_NAME, lambda platforms: None)
        try:
            return call(*args)
        finally:
            setattr(export, PRIVATE_NAME, original)

    run._cache_size = call._cache_size  # counted by driver.compiled_programs
    return run
