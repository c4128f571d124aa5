"""A Markov scheme built with ``markov_scheme`` (no JAX written) fitted to whole traces by
``fit_traces`` (issue 24, item 2): the C-O-I scheme of hERG, C <-> O <-> I with exponential rates,
simulated with known rates under the short sine-wave protocol of ``test_trace_fit`` plus
Gaussian noise; the fit from a start 30% off the truth recovers every rate within its standard
errors, and its current equals an independent simulation (scipy's matrix exponential per
sample, a different route from the model's exact step)."""

import numpy as np
import jax.numpy as jnp
import pytest

from beattie_reference import CMAES_CELL5
from test_trace_fit import PAPER_TO_SI, _protocol

from fitting import Status
from fitting.engine.traces import fit_traces, step_edge_mask
from fitting.models.trace import markov_scheme

DT, SIGMA, E_REV = 1e-3, 5e-12, -0.088  # 1 kHz: a Markov fit costs a matrix exponential per sample
# C (0) -> O (1) opens with k1 = p1 e^(p2 V); O -> C closes with k2 = p3 e^(-p4 V);
# O -> I (2) inactivates with k3 = p5 e^(p6 V); I -> O recovers with k4 = p7 e^(-p8 V)
COI = markov_scheme(3, [(0, 1, 1), (1, 0, -1), (1, 2, 1), (2, 1, -1)], open_states=(1,),
                    name="hERG C-O-I")
TRUTH = np.array(CMAES_CELL5) * PAPER_TO_SI  # p1..p8, g: the same rate laws, in this order


def _scipy_current(x, v):
    """I = g P_O (V - E) with P(t + dt) = expm(Q(V_n) dt) P(t), Q from the rates at sample n."""
    from scipy.linalg import expm

    p = np.array([1.0, 0.0, 0.0])
    out = np.empty(v.size)
    for n, vn in enumerate(v):
        out[n] = x[8] * p[1] * (vn - E_REV)
        k = [x[0] * np.exp(x[1] * vn), x[2] * np.exp(-x[3] * vn), x[4] * np.exp(x[5] * vn),
             x[6] * np.exp(-x[7] * vn)]
        q = np.array([[-k[0], k[1], 0.0], [k[0], -k[1] - k[2], k[3]], [0.0, k[2], -k[3]]])
        p = expm(q * DT) @ p
    return out


def test_markov_scheme_simulates_as_scipy_and_is_recovered_by_fit_traces():
    t, v = _protocol(dt=DT, seconds=2.5)
    clean = np.asarray(COI.current(jnp.asarray(TRUTH), jnp.asarray(v), DT, E_REV))
    reference = _scipy_current(TRUTH, v)
    # the model's current at sample n uses the state at the start of the interval
    scale = np.max(np.abs(reference))
    assert np.max(np.abs(clean - reference)) < 1e-6 * scale
    rng = np.random.default_rng(31)
    i = clean + SIGMA * rng.standard_normal(t.size)
    res = fit_traces(t, v, i, model=COI, e_rev=E_REV, sigma=SIGMA,
                     mask=step_edge_mask(v, DT), starts=TRUTH[None] * 1.3)
    assert Status(int(res.status[0])) == Status.CONVERGED, res.summary()
    z = (res.out["x"][0] - TRUTH) / res.out["se"][0]
    assert np.all(np.abs(z) < 4.0), z
    assert res.misfit[0] == pytest.approx(1.0, abs=0.05)


def test_the_reversal_is_nernst_in_float64_without_x64():
    """fit_traces computes E_K in float64 whatever the caller's JAX precision: in float32 it
    was -88.362067938 mV for cell 5, 4.3 nV off, which moved the loss by 0.7."""
    import subprocess
    import sys

    code = ("import numpy as np, jax; assert not jax.config.jax_enable_x64\n"
            "from fitting.engine.traces import fit_traces\n"
            "t = np.arange(400) * 1e-3; v = np.where(t < 0.2, -0.08, 0.02)\n"
            "i = 1e-11 * np.sin(t * 50) + 1e-12 * np.cos(t * 7)\n"
            "res = fit_traces(t, v, i, temperature=295.0, sigma=1e-12, starts=1, "
            "screen_steps=1, max_steps=1)\n"
            "print(repr(float(res.e_rev[0])))")
    e = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, timeout=600).stdout.strip().splitlines()[-1])
    exact = 8.31446261815324 * 295.0 / 96485.33212331 * np.log(4.0 / 130.0)  # SI 2019 R, F
    assert e == pytest.approx(exact, rel=1e-12, abs=0)


@pytest.mark.parametrize("in_sequence", [False, True])
def test_the_fit_program_calls_no_library_kernel(in_sequence):
    """No custom call (LAPACK) in the compiled trace fit: the batched LU of a Pade matrix
    exponential nested in its loops left XLA's CPU runtime waiting forever (this file's fit hung
    on 2026-12-07); the solvers' linear algebra and the Markov steps are unrolled element-wise."""
    import re
    from fitting.engine import traces
    from fitting.models.trace import beattie2018
    n = 300
    cells = dict(v=jnp.zeros((2, n)), i=jnp.zeros((2, n)), w=jnp.ones((2, n)),
                 valid=jnp.ones((2, n), bool), e_rev=jnp.zeros(2), v_min=jnp.zeros(2),
                 v_max=jnp.zeros(2))
    for model in (COI, beattie2018()):
        starts = jnp.ones((2, 3, model.n_params))
        text = traces._fit_batch.lower(model, DT, 5, 10, 20, in_sequence, cells, starts).as_text()
        assert not re.findall(r"custom_call @(\w+)", text), model
