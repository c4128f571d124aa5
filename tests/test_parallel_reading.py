"""Files read in a pool of processes (fitting/recordings/parallel.py) give exactly what reading
them one by one gives: the same IVData in the files' order, the same files skipped with the same
errors, the same results table from ``ionjax fit FOLDER``; and the pool still works (by
forkserver, without JAX's fork warning) once JAX has run in the process."""

import os
import shutil
import subprocess
import sys
import warnings

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


def test_a_pool_reads_what_one_process_reads(folder):
    files = _files(folder)
    alone = read_files(files, skip_bad=True, workers=1)
    pooled = read_files(files, skip_bad=True, workers=2)
    _same(alone, pooled)
    assert [s["path"] for s in pooled.metadata["skipped"]] == [
        str(folder / "05b_cut.abf"), str(folder / "07b_notes.txt")]
    first = read(files[0])  # and each file as read on its own
    np.testing.assert_array_equal(pooled.v[0, :first.v.shape[-1]], first.v.reshape(-1))
    with pytest.raises(Exception, match="truncated"):  # skip_bad=False: the first bad file
        read_files(files, workers=2)


def test_the_pool_after_jax_has_run_uses_forkserver_without_a_fork_warning(folder):
    import jax.numpy as jnp

    float(jnp.ones(3).sum())  # a backend with threads now runs in this process
    assert parallel._jax_started()
    assert parallel._context().get_start_method() == "forkserver"
    files = [f for f in _files(folder) if f.endswith(NAMES)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        pooled = read_files(files, workers=2)
    alone = read_files(files, workers=1)
    np.testing.assert_array_equal(alone.i, pooled.i)


def test_progress_counts_every_file_in_order(folder):
    seen = []
    read_files(_files(folder), skip_bad=True, workers=2,
               progress=lambda done, total: seen.append((done, total)))
    n = len(_files(folder))
    assert seen == [(k, n) for k in range(1, n + 1)]


def test_few_files_are_read_here(monkeypatch):
    monkeypatch.setattr(parallel, "_context", lambda: pytest.fail("a pool for 3 items"))
    assert list(parallel.map_ordered(abs, [-1, -2, -3], workers=2)) == [1, 2, 3]


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
