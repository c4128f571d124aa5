"""Shared helpers of the benchmarks: machine description and best-of-N timing."""

import os
import platform
import time

import jax


def machine():
    """One line describing where the numbers were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    devices = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return (f"machine: {cpu}; {os.cpu_count()} CPU cores visible; jax {jax.__version__} on "
            f"{jax.default_backend()} ({jax.device_count()} x {devices})")


def best_of(fn, repeat=3):
    """Smallest wall time of ``repeat`` calls of ``fn()`` (which must block until done)."""
    return interleaved({"fn": fn}, repeat)["fn"]


def interleaved(fns, repeat=3):
    """Smallest wall time of each of ``fns`` (dict name -> callable that blocks until done),
    called in turn ``repeat`` times: a contender and its baseline are measured in alternation,
    so that a slow spell of a shared machine hits both alike instead of skewing the ratio."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best
