"""``ionjax --distributed fit|iv FOLDER ...``: one command over several processes or hosts.

Every process runs the same command line. JAX joins them (``jax.distributed.initialize``): on
Slurm (``srun``) or Open MPI it finds the coordinator, the count and each process's index
itself (``--distributed`` alone); started by hand, each process is told them
(``--distributed HOST:PORT,N,K``). Then:

* each process reads a contiguous share of the files (with its own pool of reading processes:
  the backend is not started before the reading) and every process receives every file's I-V,
  in the files' order
  (``fitting.recordings.parallel.shared_among``);
* ``fitting.fit`` splits the fits over the devices of every process, as it does for any batch;
* process 0 prints the report and writes ``--out`` / ``--plot``; the others print nothing and
  write into a temporary folder that is removed, so their files never race process 0's.

The results are those of one process (``tests/test_distributed_cli.py`` runs two local
processes on a folder and compares). Slurm, two hosts with one GPU each::

    #SBATCH --nodes=2 --ntasks-per-node=1 --gpus-per-node=1
    srun ionjax --distributed fit /data/plate7 --model boltzmann-ohmic --out plate7.csv
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile

from fitting.cli.calculators import UsageError

__all__ = ["COMMANDS", "distributed_run", "parse_spec"]

COMMANDS = ("fit", "iv")


def parse_spec(text: str) -> dict:
    """``jax.distributed.initialize``'s arguments from ``--distributed``'s value: "auto" (the
    launcher's environment) or "HOST:PORT,N,K"."""
    if text == "auto":
        return {}
    parts = text.split(",")
    if len(parts) != 3 or ":" not in parts[0]:
        raise UsageError(f"--distributed {text!r}: give HOST:PORT,N,K (the coordinator, the "
                         "number of processes, this process's index) or nothing (Slurm, MPI)")
    try:
        count, index = int(parts[1]), int(parts[2])
    except ValueError:
        raise UsageError(f"--distributed {text!r}: N and K are whole numbers") from None
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--distributed {text!r}: need N >= 1 and 0 <= K < N")
    return {"coordinator_address": parts[0], "num_processes": count, "process_id": index}


@contextlib.contextmanager
def _silenced():
    """stdout and stderr to the null device, Python's and the file descriptors' (the
    collectives' C++ libraries print there too), restored on leaving."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            with contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _place(jax) -> tuple[int, int]:
    """(this process's index, the count), read from ``jax.distributed``'s state without
    starting a backend: with none started, each process still reads its share in a pool
    (``fitting.recordings.parallel`` forks only before JAX runs)."""
    state = getattr(getattr(jax._src, "distributed", None), "global_state", None)
    index, count = getattr(state, "process_id", None), getattr(state, "num_processes", None)
    if isinstance(index, int) and isinstance(count, int) and count >= 1:
        return index, count
    return jax.process_index(), jax.process_count()  # starts the backend: a process reads alone


def distributed_run(args: argparse.Namespace, run) -> int:
    """``run(args)`` as one of the processes of ``--distributed`` (module docstring)."""
    if args.command not in COMMANDS:
        raise UsageError(f"--distributed applies to {' and '.join(COMMANDS)}, not "
                         f"{args.command}")
    if getattr(args, "intervals", False):
        raise UsageError("--intervals is not available with --distributed (the profile "
                         "intervals run on one process): leave one of them out")
    spec = parse_spec(args.distributed)
    import jax

    jax.distributed.initialize(**spec)
    from fitting.engine.devices import gather_objects
    from fitting.recordings.parallel import shared_among

    index, count = _place(jax)
    scratch = tempfile.mkdtemp(prefix="ionjax-distributed-") if index else None
    try:
        with shared_among(index, count, gather_objects), contextlib.ExitStack() as stack:
            if index:  # the report and the files are process 0's
                args.no_progress = True
                for name in ("out", "plot"):
                    if getattr(args, name, None):
                        setattr(args, name, os.path.join(scratch, os.path.basename(
                            getattr(args, name))))
                stack.enter_context(_silenced())  # notes are process 0's too; an error
                # still leaves this block and is printed
            return run(args)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        sys.stdout.flush()
        jax.distributed.shutdown()
