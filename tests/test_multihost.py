"""Many hosts: two processes joined by ``jax.distributed.initialize`` (CPU, gloo collectives,
loopback only) fit one batch sharded over both and get the single-process answers."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

import fitting

WORKER = textwrap.dedent("""
    import json, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    port, pid, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2,
                               process_id=pid, initialization_timeout=120)
    import numpy as np
    import fitting
    d = json.loads(open(data).read())
    i = np.where(np.array(d["inf"]), np.inf, np.where(np.array(d["bad"]), np.nan, d["i"]))
    res = fitting.fit(fitting.BoltzmannOhmic(), np.array(d["v"]), i)
    print(json.dumps(dict(devices=jax.device_count(), local=jax.local_device_count(),
                          processes=jax.process_count(), g=res.params["g_max"].tolist(),
                          v_half=res.params["v_half"].tolist(), status=res.status.tolist(),
                          steps=res.n_steps.tolist(), n_masked=res.n_masked.tolist())))
    jax.distributed.shutdown()
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_fit_one_sharded_batch_like_one_process(tmp_path):
    rng = np.random.default_rng(9)
    v, b = np.linspace(-0.09, 0.04, 15), 300
    g, e = rng.uniform(2e-9, 8e-9, (b, 1)), rng.uniform(0.0, 0.05, (b, 1))
    vh, s = rng.uniform(-0.05, -0.01, (b, 1)), rng.uniform(0.004, 0.01, (b, 1))
    i = g / (1 + np.exp((vh - v) / s)) * (v - e) + rng.normal(0, 2e-12, (b, v.size))
    i[::7, 3] = np.nan  # dropped points are counted for every recording on every process
    i[5::11, :2] = np.inf
    data = tmp_path / "data.json"
    data.write_text(json.dumps(dict(v=v.tolist(), i=np.where(np.isfinite(i), i, 0).tolist(),
                                    bad=(~np.isfinite(i)).tolist(), inf=np.isinf(i).tolist())))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = _free_port()
    env = {"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin", "IONJAX_NO_CACHE": "1",
           "HOME": str(tmp_path), "IONJAX_FAST_COMPILE": os.environ.get("IONJAX_FAST_COMPILE", "0")}
    procs = [subprocess.Popen([sys.executable, str(script), str(port), str(k), str(data)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for k in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    first, second = (json.loads(out.strip().splitlines()[-1]) for out, _ in outs)
    assert first["processes"] == 2 and first["devices"] == 2 and first["local"] == 1
    assert first == second  # every process gets the whole result
    one = fitting.fit(fitting.BoltzmannOhmic(), v, i)
    np.testing.assert_array_equal(first["status"], one.status)
    np.testing.assert_array_equal(first["steps"], one.n_steps)
    np.testing.assert_array_equal(first["n_masked"], one.n_masked)
    assert one.n_masked.sum() == len(i[::7]) + 2 * len(i[5::11])
    np.testing.assert_allclose(first["g"], one.params["g_max"], rtol=1e-12)
    np.testing.assert_allclose(first["v_half"], one.params["v_half"], rtol=1e-12)
