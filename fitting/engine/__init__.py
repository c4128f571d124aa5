"""How a model is fitted: set-up, solvers, the batch driver, statistics, results.

    config.py        ``FitConfig``: the static configuration a compiled program depends on
    problem.py       one recording as the solver sees it (masking, weights, scaling, start)
    solvers.py       Levenberg-Marquardt and optax L-BFGS (``SOLVERS``), never raising
    linalg.py        tiny unrolled symmetric solves and inverses
    statistics.py    covariance, status, derived quantities, information criteria
    driver.py        the compiled, vmapped, staged fit of fixed-size blocks
    devices.py       one SPMD program over every device; host <-> device transfers
    batch.py         ``fit``: host-side checks, padding, the block loop, the ``FitResult``
    inputs.py        the host-side checks of fitted data (real numbers, shapes, SI units)
    compiled.py      compiled programs across processes: JAX's persistent cache (scoped to
                     ``fit``) and exported programs of registered models
    jax_adapter.py   the one use of a private JAX name (skipping a LAPACK set-up), tested
    result.py        ``FitResult``; summary.py its text report; table.py its tidy rows
    status.py        ``Status`` (members carry their messages) and ``usable``
    inference.py     reversal potentials (fitted, with delta-method errors; measured)
    comparison.py    ``compare``: models ranked by AIC / AICc / BIC
    profile.py       profile-likelihood confidence intervals
    tdist.py         Student's t quantile in NumPy (host side: no program compiled)
    quality.py       fits that look converged but are not: the interval rule (profile vs Wald
                     intervals, ``refuse_unidentified``)
    extrapolation.py the interval rule's part that needs no profile, for every fit: a voltage
                     parameter's SE above the recorded span, an E_rev far beyond the voltages
    lack_of_fit.py   the runs test of the residual signs in voltage order (``lack_of_fit``)
    traces.py        ``fit_traces``: gating models fitted to whole traces, cells x starts
                     batched (``fitting.models.trace``); ``step_edge_mask``, ``sample_starts``
    trace_inputs.py  host-side checks of ``fit_traces``' inputs: shapes, units (the noise SD of
                     a current in A), temperature, reversal, starts
    trace_result.py  ``TraceFitResult``: its parameters, errors, statuses and summary
    trace_profile.py profile-likelihood intervals of trace fits, batched over cells

The per-recording work (set-up, solver, statistics) runs under ``jax.jit``; the host side
(checks, padding, blocks, results, reports, comparison, measured reversals) is NumPy. Imports
``fitting.models``, ``ionjax``, jax, optax and numpy (and ``fitting.outputs.atomic``, a leaf);
never ``fitting.recordings``, ``fitting.protocols`` or ``fitting.cli``. Names load lazily
(``status`` needs no jax, so other layers can use it without loading the engine).
"""

from ionjax._src.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "config": ["FitConfig"],
    "batch": ["fit"],
    "comparison": ["Comparison", "compare"],
    "inference": ["ReversalPotential", "measured_reversal", "reversal_potential"],
    "profile": ["ProfileInterval", "profile_intervals"],
    "result": ["FitResult"],
    "traces": ["fit_traces", "sample_starts", "step_edge_mask"],
    "trace_result": ["TraceFitResult"],
    "trace_profile": ["trace_profile_intervals"],
    "status": ["MESSAGES", "Status", "usable"],
}
__getattr__, __dir__, __all__ = _lazy_exports(__name__, _EXPORTS)
