"""Devices: one SPMD program over every device, and the transfers between host and devices.

A block argument carries a leading device axis D = ``jax.device_count()``; each device runs the
program on its own slice (``jax.shard_map`` over a one-axis mesh, no communication). With
several processes (``jax.distributed``) each process holds its own devices' rows
(``local_rows``) and results are gathered to every process (``to_host``); one process, one
device: plain transfers.
"""

import functools
from typing import Any, Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["gather_objects", "global_max", "local_rows", "mesh", "on_every_device", "to_device",
           "to_host"]


@functools.lru_cache(maxsize=None)
def mesh(n_devices: int) -> Mesh:
    """A one-axis ("d") mesh of every device."""
    devices = jax.devices()
    assert len(devices) == n_devices, (len(devices), n_devices)
    return Mesh(np.asarray(devices), ("d",))


def on_every_device(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(config, *block args)`` as one SPMD program on arguments with a leading device axis
    (D = ``jax.device_count()``): each device runs ``fn`` on its own block (``jax.shard_map``;
    no communication), so one program serves every device."""
    def program(config, *args):
        def local(*a):
            out = fn(config, *jax.tree_util.tree_map(lambda x: x[0], a))
            return jax.tree_util.tree_map(lambda x: x[None], out)
        n = jax.device_count()
        if n == 1:
            return local(*args)
        spec = PartitionSpec("d")
        return jax.shard_map(local, mesh=mesh(n), in_specs=spec, out_specs=spec,
                             check_vma=False)(*args)
    program.__name__ = fn.__name__
    return program


def to_device(local: np.ndarray) -> jax.Array:
    """Host arrays (D_local, ...) of this process's devices -> one array (D, ...) sharded over
    every device (one process: a plain transfer)."""
    if jax.device_count() == 1:
        return jax.device_put(local)
    first = jax.process_index() * jax.local_device_count()
    sharding = NamedSharding(mesh(jax.device_count()), PartitionSpec("d"))
    return jax.make_array_from_callback(
        (jax.device_count(),) + local.shape[1:], sharding,
        lambda index: local[index[0].start - first:index[0].stop - first])


def local_rows(x: jax.Array) -> np.ndarray:
    """This process's rows (D_local, ...) of a device-axis array, as NumPy."""
    if jax.device_count() == 1:
        return np.asarray(x)
    shards = sorted(x.addressable_shards, key=lambda s: s.index[0].start)
    return np.concatenate([np.asarray(s.data) for s in shards])


def global_max(value: int) -> int:
    """The largest of an int over all processes (every process must make the same calls)."""
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils  # here: only several processes need it

    return int(np.max(multihost_utils.process_allgather(np.int32(value))))


def to_host(tree: Any) -> Any:
    """A device-axis result (D, ...) -> NumPy on every process (gathered across hosts)."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils  # here: only several processes need it

    return multihost_utils.process_allgather(tree, tiled=True)


def gather_objects(obj: Any) -> list:
    """``obj`` of every process, in process order (one process: ``[obj]``). Each object is
    pickled, sent as bytes padded to the longest (``process_allgather``) and unpickled; every
    process must make the same calls."""
    if jax.process_count() == 1:
        return [obj]
    import pickle

    from jax.experimental import multihost_utils  # here: only several processes need it

    payload = np.frombuffer(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), np.uint8)
    size = global_max(payload.size)
    padded = np.zeros(size + 8, np.uint8)
    padded[:8] = np.frombuffer(np.int64(payload.size).tobytes(), np.uint8)
    padded[8:8 + payload.size] = payload
    every = np.asarray(multihost_utils.process_allgather(padded))  # (processes, size + 8)
    out = []
    for row in every:
        n = int(np.frombuffer(row[:8].tobytes(), np.int64)[0])
        out.append(pickle.loads(row[8:8 + n].tobytes()))
    return out
