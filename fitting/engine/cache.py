"""JAX's persistent compilation cache, on by default for ``fitting.fit`` and the command line.

Compiling a fit's programs takes seconds; loading them from the cache a fraction of that. The
first ``fitting.fit`` of a process (and every ``ionjax`` command that fits) points JAX's cache at

    $IONJAX_CACHE_DIR, else $XDG_CACHE_HOME/ionjax/xla, else ~/.cache/ionjax/xla

unless the environment variable ``IONJAX_NO_CACHE`` is set to a non-empty value other than "0",
or JAX already has a cache folder (``jax_compilation_cache_dir``, e.g. from
``JAX_COMPILATION_CACHE_DIR``): a setting of the user's is never overridden. A folder that
cannot be created leaves the cache off. The cache is trusted code: keep it private to the user.
"""

import os

_done = False


def cache_folder():
    """The folder ionjax would use (see the module docstring), or None when opted out."""
    if os.environ.get("IONJAX_NO_CACHE", "0") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("IONJAX_CACHE_DIR") or os.path.join(base, "ionjax", "xla")


def enable_persistent_cache():
    """Turn the cache on (once per process; a no-op after the first call). Returns the folder
    in use, or None."""
    global _done
    import jax

    if _done:
        return jax.config.jax_compilation_cache_dir or None
    _done = True
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    folder = cache_folder()
    if folder is None:
        return None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
    return folder
