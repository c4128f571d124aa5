"""The 9 cells of Beattie et al. (2018) in one ``fit_traces`` call, solved one after another
(``IN_SEQUENCE = True``, lax.map: the CPU default) against vectorised (``False``, vmap: every
cell iterates until the slowest stops), side by side in one process: first call (compiles) and
warm call of each, with the total loss (equal in both).

    python bench/bench_trace_cells.py [--data DIR]    (DIR holds beattie2018; default
                                                       $IONJAX_DATA, else ../shared/data)
"""

import argparse
import os
import time

import numpy as np

from _common import machine


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("IONJAX_DATA", "../shared/data"))
    args = parser.parse_args()
    os.environ.setdefault("IONJAX_NO_CACHE", "1")  # each mode compiles in this process
    from fitting.engine import traces
    from fitting.recordings.traces import read_beattie2018

    d = read_beattie2018(os.path.join(args.data, "beattie2018"))
    mask = traces.step_edge_mask(d["v"], float(d["t"][1] - d["t"][0]))
    print(machine())
    warm = {}
    for mode in (True, False):
        traces.IN_SEQUENCE = mode
        times = []
        for _ in range(2):
            start = time.perf_counter()
            res = traces.fit_traces(d["t"], d["v"], d["i"], temperature=d["temperature"],
                                    mask=mask)
            times.append(time.perf_counter() - start)
        warm[mode] = times[1]
        print(f"{'in sequence (lax.map)' if mode else 'vectorised (vmap)':<22} first "
              f"{times[0]:6.1f} s, warm {times[1]:6.1f} s; steps {res.out['n_steps'].tolist()}; "
              f"loss {np.sum(res.loss):.3f}; statuses {res.status.tolist()}")
    print(f"warm ratio vmap / in sequence: {warm[False] / warm[True]:.2f}x")


if __name__ == "__main__":
    main()
