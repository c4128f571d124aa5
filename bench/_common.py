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
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
