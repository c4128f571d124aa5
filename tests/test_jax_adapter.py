"""The one private JAX name ionjax touches (``fitting/engine/jax_adapter.py``, issue 22 rule 4):
this test fails, naming it, on a JAX release that moved or removed it."""

import importlib

import jax

from fitting.engine import jax_adapter


def test_the_private_jax_name_the_adapter_patches_still_exists():
    try:
        module = importlib.import_module(jax_adapter.PRIVATE_MODULE)
    except ImportError:
        module = None
    assert module is not None and hasattr(module, jax_adapter.PRIVATE_NAME), (
        f"JAX {jax.__version__} has no {jax_adapter.PRIVATE_MODULE}.{jax_adapter.PRIVATE_NAME}: "
        "fitting/engine/jax_adapter.py now skips nothing (a new process pays ~0.2 s for "
        "scipy.linalg when it loads an exported fit program). Find JAX's new hook for the CPU "
        "LAPACK set-up of jax.export and update the adapter, or remove it.")


def test_the_adapter_skips_the_set_up_once_and_puts_jax_back():
    module = importlib.import_module(jax_adapter.PRIVATE_MODULE)
    original = getattr(module, jax_adapter.PRIVATE_NAME)
    seen = []

    def call(x):
        seen.append(getattr(module, jax_adapter.PRIVATE_NAME))
        return x + 1

    call._cache_size = lambda: 0
    run = jax_adapter.without_lapack_setup(call)
    assert run(1) == 2 and run(2) == 3
    assert seen[0] is not original and seen[1] is original
    assert getattr(module, jax_adapter.PRIVATE_NAME) is original
