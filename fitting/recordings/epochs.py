"""Epoch tables read off command waveforms, for recordings that store the command but not the
protocol (NWB stimulus series, neo signals).

A command is piecewise constant ("Step") and linear ("Ramp"). In each sweep the command moves
at a sample that differs from the one before by more than ``tolerance``; two or more
consecutive moves by the same amount are a ramp, a lone move a jump to a new step. The
sweeps share one table: its boundaries are the union of every sweep's, so an epoch whose level
equals its neighbour's in some sweep (a test step to the holding level) keeps its own index.
The table of a sweep is a tuple of ``fitting.recordings.model.Epoch`` as
``fitting.recordings.formats.abf`` reads from an ABF header: index 0 is the segment before the
first change, the level of a step is its value and the level of a ramp its target, its last
sample. A ramp runs from its starting level (the
last sample of what precedes it) to its target, both included, as Clampex draws it.
"""

import numpy as np

from fitting.recordings.errors import InputError
from fitting.recordings.model import Epoch

__all__ = ["MAX_EPOCHS", "TOLERANCE", "epoch_tables"]

TOLERANCE = 1e-6  # [V] a smaller change of the command is not a protocol epoch
MAX_EPOCHS = 256  # more segments than this: not a protocol's command (a recorded monitor?)


def _runs(command, tolerance, quantum=0.0):
    """Start indices of the segments of one sweep's command, and whether each is a ramp.

    The command moves at sample j + 1 when |c[j+1] - c[j]| > tolerance. Two or more consecutive
    moves by the same amount are a ramp, which starts on its starting level (the sample before
    its first move, as Clampex draws it) and ends on its last move; a lone move is a jump that
    starts a step.
    """
    d = np.diff(command)
    j = np.flatnonzero(np.abs(d) > tolerance)
    if j.size == 0:
        return np.array([0]), np.array([False])
    # runs of consecutive moves by the same amount (a command stored as integer codes moves
    # by whole codes: a ramp's moves differ by one code)
    new = np.ones(j.size, bool)
    new[1:] = (np.diff(j) != 1) | (np.abs(np.diff(d[j])) > max(tolerance, 1.01 * quantum))
    groups = np.split(np.arange(j.size), np.flatnonzero(new)[1:])
    runs = _staircases(j, d, groups, quantum) if quantum else \
        [(int(j[g[0]]), int(j[g[-1]])) for g in groups]
    starts, ramps, ramp_end = [0], [False], -1
    for f, l in runs:
        if l > f:  # a ramp: samples f .. l + 1; what follows (l + 2 on) is a step
            f += f == ramp_end  # a peak shared with the ramp before stays that ramp's target
            while starts and starts[-1] >= f:  # the ramp starts on what precedes it
                starts.pop(), ramps.pop()
            starts.append(f), ramps.append(True)
            ramp_end = l + 1
            if l + 2 < len(command):
                starts.append(l + 2), ramps.append(False)
        elif not starts or f + 1 > starts[-1]:  # a jump at sample f + 1
            starts.append(f + 1), ramps.append(False)
        if len(starts) > MAX_EPOCHS:
            break
    if not starts or starts[0] != 0:  # a ramp from the first sample took segment 0's place
        starts.insert(0, 0), ramps.insert(0, False)
    return np.array(starts), np.array(ramps)


def _staircases(j, d, groups, quantum):
    """(first, last) move of each run, where runs of single one-code moves in one direction at
    regular intervals (a ramp slower than one code per sample, stored as integer codes) form
    one ramp: its first move ends its starting level, its last reaches its target."""
    runs, k = [], 0
    while k < len(groups):
        g = groups[k]
        m = k
        if len(g) == 1 and abs(d[j[g[0]]]) <= 1.01 * quantum:
            while (m + 1 < len(groups) and len(groups[m + 1]) == 1
                   and abs(d[j[groups[m + 1][0]]]) <= 1.01 * quantum
                   and np.sign(d[j[groups[m + 1][0]]]) == np.sign(d[j[g[0]]])
                   and (m == k or abs((j[groups[m + 1][0]] - j[groups[m][0]])
                                      - (j[groups[m][0]] - j[groups[m - 1][0]])) <= 1)):
                m += 1
        if m - k >= 2:  # three one-code moves or more, evenly spaced: a ramp, which holds
            # its target until the next move if that comes within one of its stair's lengths
            moves = j[[groups[x][0] for x in range(k, m + 1)]]
            following = j[groups[m + 1][0]] if m + 1 < len(groups) else len(d)
            last = following - 1 if following - moves[-1] <= np.diff(moves).max() else moves[-1]
            runs.append((int(moves[0]) - 1, int(last)))
        else:
            m = k
            runs.append((int(j[g[0]]), int(j[g[-1]])))
        k = m + 1
    return runs


def epoch_tables(path: str, commands: list[np.ndarray], tolerance: float = TOLERANCE,
                 quantum: float = 0.0) -> list[tuple[Epoch, ...]]:
    """The epoch tables of a recording's sweeps, from their commands.

    The sweeps share one table when their segments start at the same samples, or when one
    sweep shows every boundary and the others lack some only where neighbouring epochs hold
    one level (a test step to the holding level). When instead the timing changes from sweep
    to sweep (a duration or onset series), each sweep keeps its own table, if all have the same
    sequence of segments; otherwise the recording is refused.

    Args:
      path: the file, for messages.
      commands: per-sweep command arrays [V].
      tolerance: [V] the smallest change of the command taken as an epoch boundary.
      quantum: [V] the step of a command stored as integer codes (its conversion), else 0.

    Returns:
      list of per-sweep tables (tuples of ``Epoch``, types "Step" or "Ramp"), all of one
      length.

    Raises:
      InputError: an empty or non-finite command, a command that is not piecewise constant or
        linear (more than ``MAX_EPOCHS`` segments: noise on a recorded command), or sweeps
        whose epochs no table describes.
    """
    segments = []
    for k, command in enumerate(commands):
        command = np.asarray(command, float)
        if command.size < 2 or not np.all(np.isfinite(command)):
            problem = "is empty" if command.size < 2 else \
                f"has {np.count_nonzero(~np.isfinite(command))} NaN or infinite samples"
            raise InputError(f"the command of sweep {k} {problem}: no epochs", path=path)
        starts, ramps = _runs(command, tolerance, quantum)
        if len(starts) > MAX_EPOCHS:
            why = ("a ramp stored as integer codes that moves by less than one code per "
                   "sample, or a recorded, noisy command," if quantum else
                   "a recorded, noisy command")
            raise InputError(f"the command is not a protocol of steps and ramps (over "
                             f"{MAX_EPOCHS} segments at a {tolerance * 1e3:g} mV tolerance): "
                             f"{why} cannot give the epochs", path=path)
        segments.append((starts.tolist(), ramps.tolist(), command))
    lengths = {len(c) for _, _, c in segments}
    union = sorted(set().union(*(set(st) for st, _, _ in segments)))
    if len(lengths) == 1 and any(st == union for st, _, _ in segments):
        ramp_at = set().union(*({p for p, r in zip(st, rm) if r} for st, rm, _ in segments))
        return [_table(union, [p in ramp_at for p in union], c) for _, _, c in segments]
    if len({tuple(rm) for _, rm, _ in segments}) == 1:  # the same epochs, moved in time
        return [_table(st, rm, c) for st, rm, c in segments]
    counts = sorted({len(st) for st, _, _ in segments})
    raise InputError(f"the sweeps' epochs differ in number ({counts}) and in timing: no epoch "
                     "table describes every sweep (analyse the sweeps of one protocol "
                     "together)", path=path)


def _table(starts, ramps, command):
    p2s = list(starts[1:]) + [len(command)]
    return tuple(Epoch(k, p1, p2, _level(command, p1, p2, r), "Ramp" if r else "Step")
                 for k, (p1, p2, r) in enumerate(zip(starts, p2s, ramps)))


def _level(command, p1, p2, ramp):
    """A step's value (the median of a recorded, noisy one), a ramp's target: its last
    sample."""
    return float(command[p2 - 1]) if ramp else float(np.median(command[p1:p2]))
