"""``ionjax --distributed fit FOLDER``: two local processes joined by ``jax.distributed`` (CPU,
loopback) each read a share of a folder and fit the batch sharded over both; process 0's report
and results file equal a single process's, and the other process writes and prints nothing."""

import os
import shutil
import socket
import subprocess
import sys

import pytest

pytest.importorskip("pyabf")

from fitting.cli.distributed import parse_spec  # noqa: E402
from fitting.cli.main import main  # noqa: E402

NAMES = ("14o16001_vc_pair_step.abf", "171116sh_0012.abf", "hcn2_20d10009.abf")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(path):
    return [r for r in path.read_text().splitlines() if not r.startswith("#")]


def test_two_processes_read_and_fit_a_folder_like_one(tmp_path, shared_data):
    folder = tmp_path / "folder"
    folder.mkdir()
    for k in range(11):  # 11 files: the shares (5 and 6) differ in size
        shutil.copy(shared_data / "abf" / NAMES[k % 3], folder / f"{k:02d}_{NAMES[k % 3]}")
    (folder / "03b_cut.abf").write_bytes((shared_data / "abf" / NAMES[2]).read_bytes()[:-3000])
    env = {"JAX_PLATFORMS": "cpu", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "IONJAX_NO_CACHE": "1", "HOME": str(tmp_path), "IONJAX_READ_WORKERS": "1",
           "IONJAX_FAST_COMPILE": os.environ.get("IONJAX_FAST_COMPILE", "0")}
    command = [sys.executable, "-m", "fitting", "--no-progress"]
    fit = ["fit", str(folder), "--model", "boltzmann-ohmic"]
    single = tmp_path / "single.csv"
    alone = subprocess.run(command + fit + ["--out", str(single)], capture_output=True,
                           text=True, env=env, timeout=600)
    assert alone.returncode == 2, alone.stderr  # the cut file is named, the others fitted
    port = _free_port()
    shared = tmp_path / "shared.csv"
    procs = [subprocess.Popen(command + ["--distributed", f"127.0.0.1:{port},2,{k}"] + fit +
                              ["--out", str(shared)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for k in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [2, 2], outs[0][1][-2000:] + outs[1][1][-2000:]
    (out0, err0), (out1, err1) = outs
    report = [line for line in out0.replace(str(shared), "OUT").splitlines()
              if not line.startswith("[Gloo]")]  # the CPU collectives' own line
    assert report == alone.stdout.replace(str(single), "OUT").splitlines()
    assert "03b_cut.abf" in err0 and "truncated" in err0
    assert out1 == "" and err1 == ""
    assert _rows(shared) == _rows(single)
    assert len(_rows(shared)) == 1 + 11


@pytest.mark.parametrize("value, message", [("host:1,2", "HOST:PORT,N,K"),
                                            ("host:1,2,2", "0 <= K < N"),
                                            ("host:1,two,0", "whole numbers")])
def test_a_bad_distributed_value_is_one_line(value, message):
    from fitting.cli.calculators import UsageError

    with pytest.raises(UsageError, match=message):
        parse_spec(value)


def test_distributed_is_refused_where_it_does_not_apply(capsys, shared_data):
    path = str(shared_data / "abf" / NAMES[1])
    assert main(["--distributed", "analyze", "--protocol", "activation", path]) == 2
    assert "--distributed applies to fit and iv" in capsys.readouterr().err
    assert main(["--distributed", "fit", path, "--model", "ohmic", "--intervals",
                 "--out", "x.csv"]) == 2
    assert "--intervals is not available with --distributed" in capsys.readouterr().err
