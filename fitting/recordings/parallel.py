"""Files read side by side: a process pool sized to the cores, results in the files' order.

Reading a recording is Python work (pyabf's header parse, the epoch checks, the extraction) that
holds the interpreter lock, so threads do not help; processes do. Each worker reads whole files
and sends back what the reader returns (an ``IVData`` of a few hundred numbers per file, not the
sweeps), so the parent's memory grows with the points extracted, not with the files' samples.

Workers start by ``fork`` while JAX has not started a backend in this process (they then share
the already imported modules for free), and by ``forkserver`` once it has (forking a process
whose XLA runtime runs threads can deadlock; JAX warns about it). Few files, or one core, are
read in this process: a pool costs ~20 ms to start (``bench/bench_folder.py`` measures it).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["MIN_FILES_PER_WORKER", "default_workers", "map_ordered"]

MIN_FILES_PER_WORKER = 8  # fewer files than this per worker: read them here
_WORKERS_ENV = "IONJAX_READ_WORKERS"


def default_workers() -> int:
    """The cores this process may run on (``IONJAX_READ_WORKERS`` overrides; 1: no pool)."""
    given = os.environ.get(_WORKERS_ENV)
    if given:
        try:
            count = int(given)
        except ValueError:
            raise ValueError(f"{_WORKERS_ENV}={given!r}: give a whole number of processes") \
                from None
        if count < 1:
            raise ValueError(f"{_WORKERS_ENV}={given!r}: give at least 1 process")
        return count
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _jax_started() -> bool:
    """Whether JAX has started a backend (threads) in this process."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None)) if bridge is not None else False


def _context():
    method = "forkserver" if _jax_started() else "fork"
    if method not in multiprocessing.get_all_start_methods():  # pragma: no cover - not POSIX
        method = "spawn"
    return multiprocessing.get_context(method)


def map_ordered(function: Callable[[Any], Any], items: Sequence, *, workers: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> Iterator:
    """``function(item)`` for each item, yielded in the items' order.

    Args:
      function: a module-level function (it is sent to the workers by name); it should catch
        what it expects of a bad item and return it, since an exception raised in a worker ends
        the whole map.
      items: the arguments, each picklable.
      workers: processes (None: ``default_workers()``); the pool is used only with at least
        ``MIN_FILES_PER_WORKER`` items per worker, else the items are done here.
      progress: optional ``progress(done, total)`` after each item.
    """
    total = len(items)
    workers = default_workers() if workers is None else int(workers)
    workers = min(workers, total // MIN_FILES_PER_WORKER)
    if workers < 2:
        results = map(function, items)
    else:
        pool = _context().Pool(workers)
        chunk = max(1, min(16, total // (4 * workers)))
        results = pool.imap(function, items, chunksize=chunk)
    try:
        for done, result in enumerate(results, 1):
            if progress is not None:
                progress(done, total)
            yield result
    finally:
        if workers >= 2:
            pool.terminate()
            pool.join()
