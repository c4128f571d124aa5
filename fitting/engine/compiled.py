"""Compiled fit programs kept across processes: JAX's persistent cache and exported programs.

Compiling a fit's programs takes seconds; loading them from disk a fraction of that. Two stores
share one folder,

    $IONJAX_CACHE_DIR, else $XDG_CACHE_HOME/ionjax/xla, else ~/.cache/ionjax/xla

(none when ``IONJAX_NO_CACHE`` is set to a non-empty value other than "0", or when the folder
cannot be created; a cache folder of the user's, ``jax_compilation_cache_dir``, is used
instead and never overridden). The cache is trusted code: keep it private to the user.

* JAX's persistent compilation cache skips XLA's compilation in a new process. ``fit`` turns it
  on only for its own duration (``persistent_cache``): the JAX settings it changes
  (``jax_compilation_cache_dir``, ``jax_persistent_cache_min_compile_time_secs``,
  ``jax_compilation_cache_max_size``: a bound, so that reads and writes are locked) are restored
  and JAX's cache object reset when it returns, so the process's JAX configuration is what it
  was. The ``ionjax`` command turns it on for the whole process (``enable_persistent_cache``).
* Exported programs skip the tracing and lowering of the Python program too (about 0.2 s for
  each of a fit's three programs, ``fitting.engine.driver``). For a model whose exact class is
  registered (``fitting.models.registry.is_registered``, any module) each program is exported
  once (``jax.export``, StableHLO, in ``<cache folder>/exported``) and later processes
  deserialize it instead of tracing it. An artifact's name is a digest of everything that fixes
  the program: the ``FitConfig`` (registered models are dataclass values with a faithful
  ``repr``), the program's name, the argument structure, shapes and dtypes, the backend, the
  versions of jax and jaxlib, and the source of ``fitting.engine``, ``fitting.models``,
  ``ionjax`` and the registered model's own module, so a change of any of them makes a new
  artifact. Other models (a user ``Model``'s function is Python code, a subclass's code is not
  what was registered) use the traced programs. A corrupt artifact is ignored and rewritten
  (atomically, ``fitting.outputs.atomic``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pathlib
import sys
from typing import Any, Callable, Iterator

import jax
import jaxlib
import numpy as np
from jax.experimental.compilation_cache import compilation_cache

import ionjax
from fitting.engine import driver, jax_adapter
from fitting.engine.config import FitConfig
from fitting.models import registry
from fitting.outputs.atomic import atomic_path

__all__ = ["cache_folder", "enable_persistent_cache", "persistent_cache", "programs"]

# JAX writes a cache entry in place and reads it unlocked unless the cache has a size bound:
# then every read and write holds a file lock (filelock), and two processes on one folder (an
# xdist worker, two ionjax commands) never read an entry half written, which crashed the reader
# ("Failed to materialize symbols", segmentation faults). 4 GiB, least recently used evicted.
_SETTINGS = {"jax_compilation_cache_dir": None, "jax_persistent_cache_min_compile_time_secs": 0.1,
             "jax_compilation_cache_max_size": 4 * 2**30}
_MAGIC = b"ionjax-export-2 "
_loaded: dict[str, Callable] = {}


def cache_folder() -> str | None:
    """The folder ionjax would use (see the module docstring), or None when opted out."""
    if os.environ.get("IONJAX_NO_CACHE", "0") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("IONJAX_CACHE_DIR") or os.path.join(base, "ionjax", "xla")


def _own_folder() -> str | None:
    """``cache_folder()``, created (mode 0700), or None when opted out or not creatable."""
    folder = cache_folder()
    if folder is None:
        return None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    _drop_orphans(folder)
    return folder


@functools.lru_cache(maxsize=None)
def _drop_orphans(folder: str) -> int:
    """Delete the entries JAX's size-bounded cache holds without their access time (a process
    killed between writing an entry and its ``-atime`` file; the entry itself may be cut
    short): JAX's eviction reads every entry's access time, so one orphan made every later
    write fail with a warning on stderr. Under the cache's own lock (another process's entry is
    never caught between its two writes); once per folder and process. Returns the count."""
    try:
        names = set(os.listdir(folder))
    except OSError:
        return 0
    orphans = [n for n in names if n.endswith("-cache") and n[:-6] + "-atime" not in names]
    if not orphans:
        return 0
    import filelock

    try:
        with filelock.FileLock(os.path.join(folder, ".lockfile"), timeout=10):
            names = set(os.listdir(folder))
            orphans = [n for n in names if n.endswith("-cache") and n[:-6] + "-atime" not in names]
            for name in orphans:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
    except (OSError, filelock.Timeout):
        return 0
    return len(orphans)


def _apply(folder: str) -> None:
    for name, value in _SETTINGS.items():
        jax.config.update(name, folder if value is None else value)


def enable_persistent_cache() -> str | None:
    """Turn the cache on for the rest of the process (the ``ionjax`` command's choice; a
    library call uses ``persistent_cache``). Returns the folder in use, or None."""
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    folder = _own_folder()
    if folder is not None:
        _apply(folder)
    return folder


@contextlib.contextmanager
def persistent_cache() -> Iterator[str | None]:
    """Within the block, JAX's persistent cache is on in ionjax's folder; the JAX settings are
    restored and JAX's cache object reset on exit. Yields the folder in use (the user's own
    ``jax_compilation_cache_dir``, untouched, where one is set), or None."""
    if jax.config.jax_compilation_cache_dir:
        yield jax.config.jax_compilation_cache_dir
        return
    folder = _own_folder()
    if folder is None:
        yield None
        return
    saved = {name: getattr(jax.config, name) for name in _SETTINGS}
    _apply(folder)
    try:
        yield folder
    finally:
        for name, value in saved.items():
            jax.config.update(name, value)
        compilation_cache.reset_cache()  # JAX keeps its cache object until told


@functools.lru_cache(maxsize=None)
def _source_digest(module: str) -> str | None:
    """Digest of the source the programs of a model of ``module`` are built from; None for a
    module without a source file (a class defined in ``python -c``, a notebook or an
    interactive session): nothing would tell its next version from this one, so such a
    model's programs are traced, never kept."""
    digest = hashlib.sha256()
    here = pathlib.Path(__file__).parent
    roots = [here, here.parent / "models", pathlib.Path(ionjax.__file__).parent]
    files = [path.resolve() for root in roots for path in sorted(root.rglob("*.py"))]
    own = getattr(sys.modules.get(module), "__file__", None)
    if own is None or not pathlib.Path(own).is_file():
        return None
    if pathlib.Path(own).resolve() not in files:  # a model of a plug-in
        files.append(pathlib.Path(own).resolve())
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(config: FitConfig, name: str, args: tuple) -> str:
    leaves, tree = jax.tree_util.tree_flatten(args)
    parts = [repr(config), name, str(tree), jax.__version__, jaxlib.__version__,
             jax.default_backend(), f"x64={jax.config.jax_enable_x64}",
             _source_digest(type(config.model).__module__)] + \
        [f"{a.shape}{a.dtype}" for a in leaves]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def programs(config: FitConfig, folder: str | None) -> Callable[..., Any] | None:
    """A callable ``(name, *args)`` running program ``name`` ("start", "run", "finish") of
    ``config``: the deserialized export where one is available (or can be made), else None for
    the driver's jitted programs (unregistered models; L-BFGS, whose optax state jax.export
    cannot serialize; several devices, whose programs are SPMD over a mesh).

    Args:
      config: the fit's static configuration.
      folder: the cache folder (``persistent_cache``), or None: exported, not saved.

    Each program is resolved once per argument shapes; an artifact that fails at its first call
    (a damaged module) is deleted and rebuilt."""
    if not registry.is_registered(config.model) or config.method != "lm" \
            or jax.device_count() != 1 or _source_digest(type(config.model).__module__) is None:
        return None
    resolved: dict[tuple, Callable] = {}

    def call(name, *args):
        shapes = (name,) + tuple((a.shape, a.dtype) for a in jax.tree_util.tree_leaves(args))
        fn = resolved.get(shapes)
        if fn is not None:
            return fn(*args)
        fn, path = _program(config, name, args, folder)
        if path is not None:  # read from disk: its first call parses the module
            try:
                out = fn(*args)
            except Exception:  # noqa: BLE001 - damaged beyond the checksum: rebuild
                _discard(path)
                fn, _ = _program(config, name, args, folder, rebuild=True)
                out = fn(*args)
            resolved[shapes] = fn
            return out
        resolved[shapes] = fn
        return fn(*args)
    return call


def _program(config, name, args, folder, rebuild=False):
    """(the jitted call, the artifact's path if it was read from disk else None)."""
    key = _key(config, name, args)
    if key in _loaded and not rebuild:
        return _loaded[key], None
    fn = None
    path = None if folder is None else os.path.join(folder, "exported", key + ".bin")
    if path is not None and os.path.exists(path) and not rebuild:
        try:
            fn = _load(path, config, name, key)
        except Exception:  # noqa: BLE001 - a damaged artifact is rebuilt below
            fn = None
    read = fn is not None
    if fn is None:
        exported = jax.export.export(driver.JITTED[name, bool(config.fast_compile)])(
            config, *jax.tree_util.tree_map(
                lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), args))
        fn = _jit(exported, config, name)
        if path is not None:
            try:
                custom = b"1" if "custom_call" in exported.mlir_module() else b"0"
                _write(path, _header(custom, key, exported.serialize()))
            except (ImportError, ValueError):  # flatbuffers missing (a dependency), or a
                pass  # state pytree jax.export cannot serialize (optax's): not saved
    _loaded[key] = fn
    driver.PROGRAMS.append(fn)
    return fn, (path if read else None)


def _header(custom, key, payload):
    """``_MAGIC``, the custom-call flag (0/1), the artifact's key and the SHA-256 of the payload,
    a newline, then the payload (``Exported.serialize()``)."""
    digest = hashlib.sha256(payload).hexdigest()
    return _MAGIC + b" ".join([custom, key.encode(), digest.encode()]) + b"\n" + payload


def _discard(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _jit(exported, config, name):
    """The exported program's call, jitted with the driver's options and donations."""
    donate = tuple(k - 1 for k in driver.DONATED.get(name, ()))  # the driver's count config
    return jax.jit(exported.call, donate_argnums=donate,
                   compiler_options=driver.compiler_options(config))


def _load(path, config, name, key):
    """The jitted call of a saved artifact (see ``_header``), checked: its key is ``key`` and
    its payload has the recorded SHA-256 (else ValueError)."""
    with open(path, "rb") as handle:
        data = handle.read()
    head, _, payload = data.partition(b"\n")
    fields = head[len(_MAGIC):].split(b" ") if head.startswith(_MAGIC) else []
    if len(fields) != 3 or fields[1] != key.encode() or \
            fields[2] != hashlib.sha256(payload).hexdigest().encode():
        raise ValueError("not an intact ionjax export artifact of this program")
    call = _jit(jax.export.deserialize(bytearray(payload)), config, name)
    return call if fields[0] != b"0" else jax_adapter.without_lapack_setup(call)


def _write(path, data):
    """Write atomically (a concurrent reader sees the old file or the whole new one); a folder
    that cannot be written leaves the artifact unsaved."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with atomic_path(path) as temp:
            with open(temp, "wb") as handle:
                handle.write(data)
    except OSError:
        pass
