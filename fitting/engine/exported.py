"""The block program of the built-in models, kept across processes as a ``jax.export`` artifact.

JAX's persistent cache (``fitting.engine.cache``) skips XLA's compilation in a new process, but
not the tracing and lowering of the Python program, about 0.6 s for a fit. For a built-in model
on one device the block program is therefore exported once (StableHLO, serialized next to the
compilation cache, in ``<cache folder>/exported``) and later processes deserialize it instead of
tracing it; its compilation then comes from the persistent cache.

The artifact's name is a digest of everything that fixes the program: the ``FitConfig`` (built-in
models are dataclass-like values with a faithful ``repr``), the argument shapes and dtypes, the
backend, the versions of jax and jaxlib, and the source of ``fitting.engine`` and ``ionjax``, so
a change of any of them makes a new artifact. User ``Model``s (their function is Python code)
and several devices use the traced program as before. A corrupt or unreadable artifact is
ignored (and rewritten).
"""

import functools
import hashlib
import os
import pathlib

import jax

from fitting.engine import driver
from fitting.engine.cache import enable_persistent_cache
from fitting.engine.user_model import Model

_loaded = {}


@functools.lru_cache(maxsize=1)
def _source_digest():
    """Digest of the source files the block program is built from."""
    import ionjax

    digest = hashlib.sha256()
    roots = [pathlib.Path(__file__).parent, pathlib.Path(ionjax.__file__).parent]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(config, args):
    import jaxlib

    parts = [repr(config), jax.__version__, jaxlib.__version__, jax.default_backend(),
             f"x64={jax.config.jax_enable_x64}",
             _source_digest()] + [f"{a.shape}{a.dtype}" for a in args]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _exportable(config):
    return config.n_devices == 1 and not isinstance(config.model, Model)


def block_program(config, args):
    """A callable ``f(*args)`` that runs the block program of ``config``: the deserialized
    export when one is available (or can be made); None for the driver's jitted one.

    Args:
      config: the ``FitConfig``; args: host arrays (v, i, sigma, mask, n_rows) of one block.
    """
    if not _exportable(config):
        return None  # the driver's jitted program
    folder = enable_persistent_cache()
    key = _key(config, args)
    if key in _loaded:
        return _loaded[key]
    fn = None
    path = None if folder is None else os.path.join(folder, "exported", key + ".bin")
    if path is not None and os.path.exists(path):
        try:
            with open(path, "rb") as handle:
                fn = jax.jit(jax.export.deserialize(bytearray(handle.read())).call,
                             compiler_options=driver.compiler_options(config))
        except Exception:  # noqa: BLE001 - a damaged artifact is rebuilt below
            fn = None
    if fn is None:
        exported = jax.export.export(jax.jit(functools.partial(driver._per_device, config)))(
            *[jax.ShapeDtypeStruct(a.shape, a.dtype) for a in args])
        fn = jax.jit(exported.call, compiler_options=driver.compiler_options(config))
        if path is not None:
            try:
                _write(path, exported.serialize())
            except ImportError:  # serialization needs flatbuffers (a dependency): skip saving
                pass
    _loaded[key] = fn
    driver.PROGRAMS.append(fn)
    return fn


def _write(path, data):
    """Write atomically (a concurrent reader sees the old file or the whole new one)."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        temp = f"{path}.{os.getpid()}.tmp"
        with open(temp, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except OSError:
        pass
