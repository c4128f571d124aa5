"""The inference engine: everything that runs under ``jax.jit``.

    models.py, user_model.py, params.py   what is fitted (parameter layout, units, structure)
    pnp_model.py                          a charged pore (Poisson-Nernst-Planck), fitted
    problem.py                            one recording as the solver sees it (scaling, start)
    solvers.py, linalg.py                 Levenberg-Marquardt, L-BFGS, tiny unrolled solves
    statistics.py                         covariance, status, derived quantities, criteria
    driver.py                             the compiled, vmapped, staged, sharded batch fit
    batch.py, config.py                   ``fit``: host-side checks, padding, the FitConfig
    result.py, summary.py, status.py      ``FitResult``, its text report, ``Status``
    inference.py                          reversal potentials, model comparison
    profile.py                            profile-likelihood confidence intervals

Imports ``ionjax``, jax, optax and numpy only: never ``fitting.io`` or ``fitting.cli``. Names
load lazily (``status`` needs no jax, so the I/O layer can use it without loading the engine).
"""

from ionjax._src.lazy import lazy_exports

_EXPORTS = {
    "config": ["FitConfig"],
    "batch": ["fit"],
    "inference": [
        "Comparison", "ReversalPotential", "compare", "measured_reversal", "reversal_potential"],
    "profile": ["ProfileInterval", "profile_intervals"],
    "result": ["FitResult"],
    "status": ["MESSAGES", "Status", "usable"],
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
