"""fitting: infer conductances, permeabilities and reversal potentials from I-V data.

Part of the ``ionjax`` distribution (the import name ``fitting`` is generic; it belongs to
ionjax). Builds on the physics in ``ionjax``; adds the optimiser (Levenberg-Marquardt in JAX,
optax L-BFGS), uncertainties, batching over recordings and devices, recordings I/O and the
``ionjax`` command line. SI units throughout (V, A, S, m^3/s, K, mM).

    import fitting
    res = fitting.fit(fitting.Ohmic(), v, i)        # v [V], i [A], shape (..., n)
    print(res.summary())
    e, se = fitting.reversal_potential(res)
"""

from fitting import io
from fitting._fit import bucket, fit
from fitting._inference import Comparison, ReversalPotential, compare, reversal_potential
from fitting._models import GHK, BoltzmannGHK, BoltzmannOhmic, Model, MultiIonGHK, Ohmic
from fitting._result import FitResult
from fitting._solver import MESSAGES as STATUS_MESSAGES

__all__ = [
    "BoltzmannGHK", "BoltzmannOhmic", "Comparison", "FitResult", "GHK", "Model", "MultiIonGHK",
    "Ohmic", "ReversalPotential", "STATUS_MESSAGES", "bucket", "compare", "fit", "io",
    "reversal_potential",
]
