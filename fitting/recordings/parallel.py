"""Files read side by side: a process pool sized to the cores, results in the files' order.

Reading a recording is Python work (pyabf's header parse, the epoch checks, the extraction) that
holds the interpreter lock, so threads do not help; processes do. Each worker reads whole files
and sends back what the reader returns (an ``IVData`` of a few hundred numbers per file, not the
sweeps), so the parent's memory grows with the points extracted, not with the files' samples.

Several processes started together (``ionjax --distributed``: Slurm, or N processes joined by
``jax.distributed``) share the items instead: within ``shared_among``, each process maps a
contiguous share and every process receives all results, in order.

Workers start by ``fork`` (they share the already imported modules for free), and only while
JAX has started no backend in this process: forking a process whose XLA runtime runs threads can
deadlock (JAX warns about it), and ``forkserver`` or ``spawn`` would run an unguarded script's
top level again in every worker. So the ``ionjax`` command, which reads before it fits, reads in
a pool, and a script or notebook that has already run JAX reads in its own process. Few files,
or one core, are read in this process too. A worker that dies (killed, out of memory) ends the
map with an error naming the first item not read, never a hang.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = ["MIN_FILES_PER_WORKER", "default_workers", "map_local", "map_ordered", "shared_among"]

MIN_FILES_PER_WORKER = 8  # fewer files than this per worker: read them here
_WORKERS_ENV = "IONJAX_READ_WORKERS"
_GROUP: dict = {}  # set by ``shared_among``: this process's index, the count, the gather


def default_workers() -> int:
    """1 (no pool), or ``IONJAX_READ_WORKERS``: a SIGINT 0.5 s into a pooled folder fit hung
    once in CI (tests/test_hostile_cli.py), so the pool is opt-in until that is fixed."""
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
    return 1  # the pool is opt-in until a signal during its start is handled (a hang seen)


def _jax_started() -> bool:
    """Whether JAX has started a backend (threads) in this process."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(bridge, "_backends", None)) if bridge is not None else False


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
    """``function(item)`` for each item, yielded in the items' order, in a pool of processes
    where it pays (module docstring).

    Args:
      function: a module-level function (it is sent to the workers by name); it should catch
        what it expects of a bad item and return it, since an exception raised in a worker ends
        the whole map.
      items: the arguments, each picklable.
      workers: processes (None: ``default_workers()``); the pool is used only with at least
        ``MIN_FILES_PER_WORKER`` items per worker and while JAX has started no backend here.
      progress: optional ``progress(done, total)`` after each item.

    Raises:
      ValueError: ``workers`` is not a whole number >= 1.
      RuntimeError: a worker died (killed, out of memory); the message names the first item
        not yielded (the culprit is that one or a later one).
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers={workers!r}: give a whole number of processes >= 1")
    total = len(items)
    workers = min(default_workers() if workers is None else workers,
                  total // MIN_FILES_PER_WORKER)
    if workers < 2 or _jax_started():
        for done, result in enumerate(map(function, items), 1):
            if progress is not None:
                progress(done, total)
            yield result
        return
    chunk = max(1, min(16, total // (4 * workers)))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_signals)
    finished, done = False, 0
    try:
        try:
            for result in pool.map(function, items, chunksize=chunk):
                done += 1
                if progress is not None:
                    progress(done, total)
                yield result
        except BrokenProcessPool:  # the dead worker's item is among those not yet yielded
            raise RuntimeError(
                f"a reading process died (killed, or out of memory) after {done} of {total} "
                f"items; the first not read: {_name(items[done])}; {_WORKERS_ENV}=1 reads "
                "them in this process, one by one") from None
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # an error, an interrupt or a consumer that stopped: stop the workers now
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)


def _name(item: Any) -> str:
    """An item as named in an error: its first element when it is a (path, options) job."""
    return str(item[0] if isinstance(item, tuple) and item else item)


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to its parent (which stops the pool) and ends quietly on
    SIGTERM, whatever handlers it inherited by fork (the command line's raise)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
