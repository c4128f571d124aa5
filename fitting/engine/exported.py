"""The programs of the built-in models, kept across processes as ``jax.export`` artifacts.

JAX's persistent cache (``fitting.engine.cache``) skips XLA's compilation in a new process, but
not the tracing and lowering of the Python program (about 0.2 s for each of a fit's three
programs, ``fitting.engine.driver``). For a built-in model each program is therefore exported
once (StableHLO, serialized next to the compilation cache, in ``<cache folder>/exported``) and
later processes deserialize it instead of tracing it; its compilation then comes from the
persistent cache.

An artifact's name is a digest of everything that fixes the program: the ``FitConfig`` (built-in
models are dataclass-like values with a faithful ``repr``), the program's name, the argument
structure, shapes and dtypes, the backend, the versions of jax and jaxlib, and the source of
``fitting.engine`` and ``ionjax``, so a change of any of them makes a new artifact. User
``Model``s (their function is Python code) use the traced programs. A corrupt or unreadable
artifact is ignored (and rewritten).
"""

import functools
import hashlib
import os
import pathlib

import jax
import numpy as np

from fitting.engine import driver
from fitting.models import builtin as models
from fitting.engine.cache import enable_persistent_cache

_loaded = {}


@functools.lru_cache(maxsize=1)
def _source_digest():
    """Digest of the source files the block program is built from."""
    import ionjax

    digest = hashlib.sha256()
    roots = [pathlib.Path(__file__).parent, pathlib.Path(models.__file__).parent,
             pathlib.Path(ionjax.__file__).parent]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(config, name, args):
    import jaxlib

    leaves, tree = jax.tree_util.tree_flatten(args)
    parts = [repr(config), name, str(tree), jax.__version__, jaxlib.__version__,
             jax.default_backend(), f"x64={jax.config.jax_enable_x64}",
             _source_digest()] + [f"{a.shape}{a.dtype}" for a in leaves]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def programs(config):
    """A callable ``(name, *args)`` running program ``name`` ("start", "run", "finish") of
    ``config``: the deserialized export where one is available (or can be made), else None for
    the driver's jitted programs (user ``Model``s and subclasses of the built-in models, whose
    code the artifact's name does not cover; L-BFGS, whose optax state jax.export cannot
    serialize; several devices, whose programs are SPMD over a mesh). Each program is resolved
    once per argument shapes; an artifact that fails at its first call (a damaged module) is
    deleted and rebuilt."""
    if type(config.model).__module__ != models.__name__ or config.method != "lm" \
            or jax.device_count() != 1:
        return None
    folder = enable_persistent_cache()
    resolved = {}

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


_MAGIC = b"ionjax-export-2 "


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
    return call if fields[0] != b"0" else _without_lapack_setup(call)


def _without_lapack_setup(call):
    """``call``, whose first call (where the exported module is lowered) skips jax.export's set-up
    of the CPU LAPACK kernels: it imports scipy.linalg for their addresses, ~0.2 s of a new
    process, and a program without custom calls (the built-in models' block programs) calls
    none. It goes through a private hook of jax.export; where that is missing, nothing is
    skipped. Any later lowering that needs LAPACK sets it up through jax's own linalg rules."""
    from jax._src.export import _export

    state = {"first": hasattr(_export, "_ensure_backends_initialized")}

    def run(*args):
        if not state["first"]:
            return call(*args)
        state["first"] = False
        original = _export._ensure_backends_initialized
        _export._ensure_backends_initialized = lambda platforms: None
        try:
            return call(*args)
        finally:
            _export._ensure_backends_initialized = original

    run._cache_size = call._cache_size  # counted by driver.compiled_programs
    return run


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
