"""``IVData``: I-V points of one or several recordings, in SI units, with their provenance.

The arrays have the shape ``(..., n)`` that ``fitting.fit`` takes: leading axes are recordings,
the last axis the points of one recording. Recordings of different lengths are padded with NaN
(``fitting.fit`` masks NaN points). An ``IVData`` is immutable: its arrays are read-only copies
and every correction returns a new object whose ``metadata["corrections"]`` lists what was done.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["IVData", "pad_rows", "stack"]


def _frozen_copy(x, name):
    a = np.array(x, dtype=np.float64)
    if a.ndim == 0:
        raise ValueError(f"{name} must have at least one axis (points); got a scalar")
    a.setflags(write=False)
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class IVData:
    """Current-voltage points of one or several recordings.

    Attributes:
      v: membrane (or command) potential [V], float64, shape (..., n), read-only. A ``v`` of
        shape (n,) given with an ``i`` of shape (R, n) is broadcast to (R, n).
      i: current [A], float64, same shape as ``v``, read-only. NaN marks a missing point.
      labels: list of str, one name per recording (row): ``prod(shape[:-1])`` names, one for 1-d
        data. Default: "0", "1", ...
      metadata: dict describing where the data came from (``source``, ``format``, ``units`` as
        found in the file, ...) and ``corrections``: a list of dicts, one per correction applied,
        in order, with its values in SI.
    """

    v: np.ndarray
    i: np.ndarray
    labels: list = None
    metadata: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        v, i = np.asarray(self.v, dtype=np.float64), np.asarray(self.i, dtype=np.float64)
        try:
            shape = np.broadcast_shapes(v.shape, i.shape)
        except ValueError:
            raise ValueError(f"v and i must have the same shape; got {v.shape} and {i.shape}")
        v = _frozen_copy(np.broadcast_to(v, shape), "v")
        i = _frozen_copy(np.broadcast_to(i, shape), "i")
        rows = math.prod(shape[:-1])
        labels = [str(k) for k in range(rows)] if self.labels is None else \
            [str(x) for x in ([self.labels] if isinstance(self.labels, str) else self.labels)]
        if len(labels) != rows:
            raise ValueError(f"labels must name the {rows} recording(s) of data of shape {shape}; "
                             f"got {len(labels)} label(s)")
        metadata = copy.deepcopy(dict(self.metadata or {}))
        metadata["corrections"] = list(metadata.get("corrections", []))
        for name, value in (("v", v), ("i", i), ("labels", labels), ("metadata", metadata)):
            object.__setattr__(self, name, value)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape (..., n) of ``v`` and ``i``."""
        return self.v.shape

    def replace(self, *, correction: dict | None = None, **changes: Any) -> IVData:
        """A new IVData with ``changes`` applied and ``correction`` (a dict) appended."""
        metadata = copy.deepcopy(changes.pop("metadata", self.metadata))
        if correction is not None:
            metadata["corrections"] = list(metadata.get("corrections", [])) + [correction]
        return dataclasses.replace(self, metadata=metadata, **changes)

    def with_corrections(self, **options: Any) -> IVData:
        """A new IVData with corrections applied in the physical order.

        Args:
          **options: ``leak``, ``ljp``, ``series_resistance``, ``compensation``, ``temperature``
            as in :func:`fitting.io.correct`.
        """
        from fitting.recordings.corrections import correct

        return correct(self, **options)

    def __repr__(self):
        return (f"IVData(shape={self.shape}, labels={self.labels!r}, "
                f"source={self.metadata.get('source')!r}, "
                f"corrections={[c.get('name') for c in self.metadata['corrections']]})")


def pad_rows(rows: Sequence[Any]) -> np.ndarray:
    """Stack 1-d arrays of different lengths into (len(rows), n_max), padding with NaN."""
    n = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), n), np.nan)
    for k, row in enumerate(rows):
        out[k, :len(row)] = row
    return out


def _unique(names, origins):
    counts = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    names = [f"{origin}:{name}" if counts[name] > 1 and origin else name
             for name, origin in zip(names, origins)]
    seen = {}
    out = []
    for name in names:  # the same file given twice: number the repeats
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def stack(items: Sequence[IVData], labels: Sequence[str] | None = None) -> IVData:
    """Stack several IVData (each 1-d or 2-d) into one (R, n_max) IVData, padding with NaN.

    Args:
      items: sequence of IVData; their rows are concatenated in order.
      labels: optional list of R labels; default: the items' labels.

    Labels that would repeat (two files named alike in different folders, the same column
    name in two tables) are made unique by the source path: "x/cell.abf:cell".

    Returns:
      IVData of shape (R, n_max); ``metadata["sources"]`` holds each item's metadata.
    """
    items = list(items)
    if not items:
        raise ValueError("stack needs at least one IVData")
    v_rows, i_rows, names, origins = [], [], [], []
    for item in items:
        v2, i2 = item.v.reshape(-1, item.shape[-1]), item.i.reshape(-1, item.shape[-1])
        v_rows += list(v2)
        i_rows += list(i2)
        names += item.labels
        origins += [str(item.metadata.get("source", ""))] * len(item.labels)
    names = _unique(names, origins)
    return IVData(pad_rows(v_rows), pad_rows(i_rows), labels if labels is not None else names,
                  {"format": "stack", "sources": [item.metadata for item in items],
                   "rows_per_source": [len(item.labels) for item in items]})
