"""Files read side by side: a process pool sized to the cores, results in the files' order.

Reading a recording is Python work (pyabf's header parse, the epoch checks, the extraction) that
holds the interpreter lock, so threads do not help; processes do. Each worker reads whole files
and sends back what the reader returns (an ``IVData`` of a few hundred numbers per file, not the
sweeps), so the parent's memory grows with the points extracted, not with the files' samples.

Several processes started together (``ionjax --distributed``: Slurm, or N processes joined by
``jax.distributed``) share the items instead: within ``shared_among``, each process maps a
contiguous share and every process receives all results, in order.

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

__all__ = ["MIN_FILES_PER_WORKER", "default_workers", "map_local", "map_ordered", "shared_among"]

MIN_FILES_PER_WORKER = 8  # fewer files than this per worker: read them here
_WORKERS_ENV = "IONJAX_READ_WORKERS"
_GROUP: dict = {}  # set by ``shared_among``: this process's index, the count, the gather


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


class shared_among:  # noqa: N801 - a context manager named for what it does
    """Within this context, ``map_ordered`` maps only this process's share of the items.

    Args:
      index: this process's index (0 .. count - 1).
      count: the processes started together.
      gather: ``gather(obj) -> [obj of each process]`` in process order (every process calls
        it in the same order: ``fitting.engine.devices.gather_objects``).
    """

    def __init__(self, index: int, count: int, gather: Callable[[Any], list]):
        self.group = {"index": int(index), "count": int(count), "gather": gather}

    def __enter__(self):
        _GROUP.update(self.group)
        return self

    def __exit__(self, *exc):
        _GROUP.clear()
        return False


def _share(total: int) -> tuple[int, int]:
    """[lo, hi) of this process's contiguous share of ``total`` items."""
    k, n = _GROUP["index"], _GROUP["count"]
    return total * k // n, total * (k + 1) // n


def map_ordered(function: Callable[[Any], Any], items: Sequence, *, workers: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> Iterator:
    """``function(item)`` for each item, yielded in the items' order (within
    ``shared_among``: this process maps its share, then every process yields every result).

    Args, as for ``map_local``.
    """
    if not _GROUP:
        yield from map_local(function, items, workers=workers, progress=progress)
        return
    lo, hi = _share(len(items))
    mine = list(map_local(function, items[lo:hi], workers=workers, progress=progress))
    for results in _GROUP["gather"](mine):
        yield from results


def map_local(function: Callable[[Any], Any], items: Sequence, *, workers: int | None = None,
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
        pool = _context().Pool(workers, initializer=_worker_signals)
        chunk = max(1, min(16, total // (4 * workers)))
        results = pool.imap(function, items, chunksize=chunk)
    finished = False
    try:
        for done, result in enumerate(results, 1):
            if progress is not None:
                progress(done, total)
            yield result
        finished = True
    finally:
        if workers >= 2:
            if finished:  # the workers leave on their own
                pool.close()
            else:  # an error, an interrupt or a consumer that stopped: stop them now
                pool.terminate()
            pool.join()


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to its parent (which stops the pool) and ends quietly on
    SIGTERM, whatever handlers it inherited by fork (the command line's raise)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
