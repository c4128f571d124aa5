"""Files read in a pool of processes (fitting/recordings/parallel.py) give exactly what reading
them one by one gives: the same IVData in the files' order, the same files skipped with the same
errors, the same results table from ``ionjax fit FOLDER``; a worker that dies is an error
naming its files, never a hang; once JAX has run in the process the files are read there (no
fork of a threaded process). The pool tests run in fresh processes: JAX runs in this one."""

import os
import pickle
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("pyabf")

from fitting.recordings import parallel  # noqa: E402
from fitting.recordings.read import read, read_files  # noqa: E402

NAMES = ("14o16001_vc_pair_step.abf", "171116sh_0012.abf", "hcn2_20d10009.abf")


@pytest.fixture
def folder(tmp_path, shared_data):
    """24 real step recordings (8 of each), a truncated ABF and a text file among them."""
    out = tmp_path / "folder"
    out.mkdir()
    for k in range(24):
        name = NAMES[k % 3]
        shutil.copy(shared_data / "abf" / name, out / f"{k:02d}_{name}")
    source = (shared_data / "abf" / NAMES[2]).read_bytes()
    (out / "05b_cut.abf").write_bytes(source[:-3000])
    (out / "07b_notes.txt").write_text("hello\n")
    return out


def _files(folder):
    return sorted(str(p) for p in folder.iterdir())


def _same(a, b):
    np.testing.assert_array_equal(a.v, b.v)
    np.testing.assert_array_equal(a.i, b.i)
    assert list(a.labels) == list(b.labels)
    assert a.metadata["skipped"] == b.metadata["skipped"]


POOLED = textwrap.dedent("""
    import pickle, sys
    from fitting.recordings import parallel
    from fitting.recordings.read import read_files

    made = []
    real = parallel.ProcessPoolExecutor
    parallel.ProcessPoolExecutor = lambda *a, **k: made.append(1) or real(*a, **k)
    files = sys.argv[2:]
    out = {}
    for workers in (1, 2):
        data = read_files(files, skip_bad=True, workers=workers)
        out[workers] = (data.v, data.i, list(data.labels), data.metadata["skipped"])
    try:
        read_files(files, workers=2)
    except Exception as exc:
        out["first error"] = str(exc)
    out["pools"] = len(made)
    pickle.dump(out, open(sys.argv[1], "wb"))
""")


def test_a_pool_reads_what_one_process_reads(folder, tmp_path):
    files = _files(folder)
    result = tmp_path / "out.pickle"
    run = subprocess.run([sys.executable, "-c", POOLED, str(result), *files],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stderr == "", run.stderr
    out = pickle.loads(result.read_bytes())
    assert out["pools"] == 2  # the pooled read and the failing one, not the read with 1 worker
    np.testing.assert_array_equal(out[1][0], out[2][0])  # v (NaN padding equal as NaN)
    np.testing.assert_array_equal(out[1][1], out[2][1])  # i
    assert out[1][2:] == out[2][2:]  # labels, skipped files and their errors
    assert [s["path"] for s in out[2][3]] == [str(folder / "05b_cut.abf"),
                                              str(folder / "07b_notes.txt")]
    first = read(files[0])  # each file as read on its own, in this process
    np.testing.assert_array_equal(out[2][0][0, :first.v.shape[-1]], first.v.reshape(-1))
    assert "cut short" in out["first error"]  # skip_bad=False: the first bad file raises


def test_after_jax_has_run_the_files_are_read_here(folder, monkeypatch):
    import jax.numpy as jnp

    float(jnp.ones(3).sum())  # a backend with threads now runs in this process
    assert parallel._jax_started()
    files = [f for f in _files(folder) if f.endswith(NAMES)]
    alone = read_files(files, workers=1)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor",
                        lambda *a, **k: pytest.fail("fork of a process running XLA threads"))
    here = read_files(files, workers=2)
    np.testing.assert_array_equal(alone.i, here.i)


DIES = textwrap.dedent("""
    import os, signal, sys
    from fitting.recordings.parallel import map_local

    def work(k):
        if k == 37:
            os.kill(os.getpid(), signal.SIGKILL)
        return k

    try:
        list(map_local(work, list(range(64)), workers=2))
    except RuntimeError as exc:
        print(exc)
""")


def test_a_worker_that_dies_is_an_error_not_a_hang():
    run = subprocess.run([sys.executable, "-c", DIES], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "a reading process died" in run.stdout
    done = int(run.stdout.split("died (killed, or out of memory) after ")[1].split(" of")[0])
    assert done <= 37  # nothing from the killed item on was yielded
    assert f"the first not read: {done};" in run.stdout
    assert "IONJAX_READ_WORKERS=1" in run.stdout


def test_progress_counts_every_file_in_order(folder):
    seen = []
    read_files(_files(folder), skip_bad=True, workers=1,
               progress=lambda done, total: seen.append((done, total)))
    n = len(_files(folder))
    assert seen == [(k, n) for k in range(1, n + 1)]


def test_few_files_are_read_here(monkeypatch):
    monkeypatch.setattr(parallel, "ProcessPoolExecutor",
                        lambda *a, **k: pytest.fail("a pool for 3 items"))
    assert list(parallel.map_ordered(abs, [-1, -2, -3], workers=2)) == [1, 2, 3]


@pytest.mark.parametrize("workers", [0, -1, "x", 2.0, True])
def test_a_bad_workers_argument_is_one_line(workers):
    with pytest.raises(ValueError, match="workers=.*whole number of processes"):
        list(parallel.map_local(abs, [1] * 40, workers=workers))


@pytest.mark.parametrize("value", ["0", "two"])
def test_a_bad_worker_count_is_one_line(monkeypatch, value):
    monkeypatch.setenv("IONJAX_READ_WORKERS", value)
    with pytest.raises(ValueError, match="IONJAX_READ_WORKERS"):
        parallel.default_workers()


def test_cli_fit_of_a_folder_is_the_same_with_one_or_two_readers(folder, tmp_path):
    outputs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"fit{workers}.csv"
        env = dict(os.environ, IONJAX_READ_WORKERS=workers)
        run = subprocess.run([sys.executable, "-m", "fitting", "--no-progress", "fit",
                              str(folder), "--model", "ohmic", "--out", str(out)],
                             capture_output=True, text=True, env=env)
        assert run.returncode == 2, run.stderr  # two files not read, named
        assert run.stderr.count("ionjax: error:") == 3, run.stderr
        rows = out.read_text().splitlines()
        outputs[workers] = (run.stdout.replace(str(out), "OUT"), run.stderr,
                            [r for r in rows if not r.startswith("#")])
    assert outputs["1"] == outputs["2"]
    assert len(outputs["2"][2]) == 1 + 24  # the header, one row per file read (channel 0)
