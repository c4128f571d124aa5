"""fitting: infer conductances, permeabilities and reversal potentials from I-V data.

Part of the ``ionjax`` distribution (the import name ``fitting`` is generic; it belongs to
ionjax). Builds on the physics in ``ionjax``; adds the optimiser (Levenberg-Marquardt in JAX,
optax L-BFGS), uncertainties, batching over recordings and devices, recordings I/O and the
``ionjax`` command line. SI units throughout (V, A, S, m^3/s, K, mM).

    import fitting
    res = fitting.fit(fitting.Ohmic(), v, i)        # v [V], i [A], shape (..., n)
    print(res.summary())
    e, se = fitting.reversal_potential(res)

Split by feature; imports run one way (README "Architecture" draws the graph, a test checks
it): cli -> protocols -> {recordings, engine -> models} -> ionjax, outputs beside them.

    fitting.models      what is fitted: one module per model family, a registry
    fitting.engine      how it is fitted: solvers, the batch driver, statistics, FitResult
    fitting.recordings  what was measured: Recording / Sweep / Epoch / Channel, file formats
    fitting.protocols   what a protocol means: one module per protocol, a registry
    fitting.outputs     tidy tables and their files (CSV, JSON, Parquet, NWB)
    fitting.cli         the ``ionjax`` command
    fitting.io          the I/O namespace (readers, corrections, writers) for scripts
    fitting.plot        figures of fits (matplotlib), public name of ``fitting.cli.plot``

Names load lazily (``ionjax --help`` imports no jax); the engine loads on first use.
"""

from ionjax._src.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "io": ["io"],
    "recordings.read": ["read"],
    "recordings.model": ["Recording"],
    "plot": ["plot"],  # on first use: it imports matplotlib, an optional extra
    "engine": [
        "Comparison", "FitResult", "ProfileInterval", "ReversalPotential", "Status",
        "compare", "fit", "fit_traces", "measured_reversal", "profile_intervals",
        "reversal_potential", "step_edge_mask", "usable"],
    "models": ["GHK", "BoltzmannConductance", "BoltzmannCurrent", "BoltzmannGHK",
               "BoltzmannOhmic", "Model", "MultiIonGHK", "Ohmic", "PNPChannel", "beattie2018",
               "hh_gates", "markov_scheme"],
    "recordings.traces": ["read_beattie2018"],
    "engine.status": ["STATUS_MESSAGES=MESSAGES"],
    "protocols.membrane_test": ["MembraneTest", "membrane_test"],
    "protocols.activation": ["Activation", "activation"],
    "protocols.inactivation": ["Inactivation", "inactivation"],
    "protocols.tail": ["TailIV", "tail_iv"],
    "protocols.kinetics": ["Kinetics", "kinetics"],
}
__getattr__, __dir__, _NAMES = _lazy_exports(__name__, _EXPORTS)
__all__ = [name for name in _NAMES if name != "plot"]
