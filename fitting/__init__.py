"""fitting: infer conductances, permeabilities and reversal potentials from I-V data.

Part of the ``ionjax`` distribution (the import name ``fitting`` is generic; it belongs to
ionjax). Builds on the physics in ``ionjax``; adds the optimiser (Levenberg-Marquardt in JAX,
optax L-BFGS), uncertainties, batching over recordings and devices, recordings I/O and the
``ionjax`` command line. SI units throughout (V, A, S, m^3/s, K, mM).

    import fitting
    res = fitting.fit(fitting.Ohmic(), v, i)        # v [V], i [A], shape (..., n)
    print(res.summary())
    e, se = fitting.reversal_potential(res)

Split by job, imports one way (app -> io, engine -> ionjax; engine imports neither io nor app):

    fitting.engine   everything that runs under jit: models, solvers, batch driver, FitResult
    fitting.io       files in and out: CSV, ABF, corrections, units, result export
    fitting.app      what a person runs: the ``ionjax`` command, the example, figures
"""

from fitting import io
from fitting.engine import (
    GHK,
    BoltzmannGHK,
    BoltzmannOhmic,
    Comparison,
    FitResult,
    Model,
    MultiIonGHK,
    Ohmic,
    ProfileInterval,
    ReversalPotential,
    Status,
    bucket,
    compare,
    fit,
    measured_reversal,
    profile_intervals,
    reversal_potential,
    usable,
)
from fitting.engine.status import MESSAGES as STATUS_MESSAGES



def __getattr__(name):
    """``fitting.plot`` on first use (it imports matplotlib, an optional extra)."""
    if name == "plot":
        import importlib

        return importlib.import_module("fitting.plot")
    raise AttributeError(f"module 'fitting' has no attribute {name!r}")


__all__ = [
    "BoltzmannGHK", "BoltzmannOhmic", "Comparison", "FitResult", "GHK", "Model", "MultiIonGHK",
    "Ohmic", "ProfileInterval", "ReversalPotential", "STATUS_MESSAGES", "Status", "bucket",
    "compare", "fit", "io", "measured_reversal", "profile_intervals", "reversal_potential",
    "usable",
]
