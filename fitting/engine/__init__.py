"""The inference engine: everything that runs under ``jax.jit``.

    models.py, user_model.py, params.py   what is fitted (parameter layout, units, structure)
    problem.py                            one recording as the solver sees it (scaling, start)
    solvers.py, linalg.py                 Levenberg-Marquardt, L-BFGS, tiny unrolled solves
    statistics.py                         covariance, status, derived quantities, criteria
    driver.py                             the compiled, vmapped, staged, sharded batch fit
    fit.py, config.py                     ``fit``: host-side checks, padding, the FitConfig
    result.py, summary.py, status.py      ``FitResult``, its text report, ``Status``
    inference.py                          reversal potentials, model comparison
    profile.py                            profile-likelihood confidence intervals

Imports ``ionjax``, jax, optax and numpy only: never ``fitting.io`` or ``fitting.app``.
"""

from fitting.engine.config import FitConfig
from fitting.engine.fit import bucket, fit
from fitting.engine.inference import (
    Comparison,
    ReversalPotential,
    compare,
    measured_reversal,
    reversal_potential,
)
from fitting.engine.models import GHK, BoltzmannGHK, BoltzmannOhmic, MultiIonGHK, Ohmic
from fitting.engine.params import ParamSpec
from fitting.engine.profile import ProfileInterval, profile_intervals
from fitting.engine.result import FitResult
from fitting.engine.status import MESSAGES, Status, usable
from fitting.engine.user_model import Model

__all__ = [
    "BoltzmannGHK", "BoltzmannOhmic", "Comparison", "FitConfig", "FitResult", "GHK", "MESSAGES",
    "Model", "MultiIonGHK", "Ohmic", "ParamSpec", "ProfileInterval", "ReversalPotential",
    "Status", "bucket", "measured_reversal", "profile_intervals",
    "compare", "fit", "reversal_potential", "usable",
]
