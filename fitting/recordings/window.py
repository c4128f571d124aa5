"""The measurement window of a voltage step: fractions of the step or times after its onset.

"60%" is a fraction of the step duration, "2.5ms" or a number [s] a time after the step onset
(text must carry its unit: "2.5" is refused, it could mean ms or s).
Sample k of the step (t = k / rate after onset, k = 0 at the first sample of the epoch) is used
if start <= t < end, so ("2.5ms", "7.5ms") at 2 kHz takes samples 5..14.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.units import parse_quantity

__all__ = ["resolve_window"]

_EPS = 1e-6  # [samples]: tolerance of window bounds that fall on a sample


def _bound(path, spec, n_step, rate):
    """A window bound in samples after the step onset (float)."""
    samples = np.nan
    if isinstance(spec, str) and spec.strip().endswith("%"):
        try:
            samples = float(spec.strip()[:-1]) / 100.0 * n_step
        except ValueError:
            pass
    elif isinstance(spec, (int, float, np.floating, np.integer)) and not isinstance(spec, bool):
        samples = float(spec) * rate
    elif isinstance(spec, str) and _is_number(spec):
        raise InputError(f"window bound {spec!r} has no unit: write '{spec.strip()}ms', "
                         f"'{spec.strip()}s' or '{spec.strip()}%'", path=path)
    else:
        try:
            samples = parse_quantity(spec, "time") * rate
        except ValueError:
            pass
    if np.isfinite(samples):
        return samples
    raise InputError(f"window bound {spec!r} is neither a fraction of the step ('60%') nor a time "
                     "after its onset ('2.5ms', '0.5 s', or a number of seconds)", path=path)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def resolve_window(path: str, window: Sequence[Any], n_step: int, rate: float) -> tuple[int, int]:
    """(first, stop) sample indices of the window within a step of ``n_step`` samples."""
    if isinstance(window, str) or len(window) != 2:
        raise InputError(f"window must be a pair (start, end); got {window!r}", path=path)
    k0, k1 = (int(np.ceil(_bound(path, b, n_step, rate) - _EPS)) for b in window)
    if not 0 <= k0 < k1 <= n_step:
        raise InputError(f"window {tuple(window)!r} is samples {k0}..{k1} of a step of {n_step} "
                         f"samples ({n_step / rate * 1e3:g} ms); it must be non-empty and lie "
                         "within the step", path=path)
    return k0, k1
