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
    fitting.cli      what a person runs: the ``ionjax`` command, the example, figures

Names load lazily (``ionjax --help`` imports no jax); the engine loads on first use.
"""

from ionjax._src.lazy import lazy_exports

_EXPORTS = {
    "io": ["io"],
    "recordings.read": ["read"],
    "recordings.model": ["Recording"],
    "plot": ["plot"],  # on first use: it imports matplotlib, an optional extra
    "engine": [
        "Comparison", "FitResult", "ProfileInterval", "ReversalPotential", "Status",
        "compare", "fit", "measured_reversal", "profile_intervals", "reversal_potential",
        "usable"],
    "models": ["GHK", "BoltzmannConductance", "BoltzmannCurrent", "BoltzmannGHK",
               "BoltzmannOhmic", "Model", "MultiIonGHK", "Ohmic", "PNPChannel"],
    "engine.status": ["STATUS_MESSAGES=MESSAGES"],
    "protocols.membrane_test": ["MembraneTest", "membrane_test"],
    "protocols.activation": ["Activation", "activation"],
    "protocols.inactivation": ["Inactivation", "inactivation"],
    "protocols.tail": ["TailIV", "tail_iv"],
    "protocols.kinetics": ["Kinetics", "kinetics"],
}
__getattr__, __dir__, _NAMES = lazy_exports(__name__, _EXPORTS)
__all__ = [name for name in _NAMES if name != "plot"]
