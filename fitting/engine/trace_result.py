"""``TraceFitResult``: what ``fit_traces`` returns, per cell, and its text report.

Unusable fits (``fitting.Status``: anything but converged or stopped at the step limit) report
NaN parameters and errors; the solver's own answer stays in ``estimate`` for diagnosis. The
report shows the paper's units (rates 1/ms, sensitivities 1/mV, g uS) and refuses (prints the
status instead of numbers) where a fit is unusable.
"""

import dataclasses
from typing import Any

import numpy as np

from fitting.engine.status import Status, usable

__all__ = ["MISFIT_WARN", "TraceFitResult"]

MISFIT_WARN = 1.5  # summary() warns where the residuals' RMS exceeds this many sigma
MISFIT_LOW = 0.8  # ... or falls below this many: sigma overestimates the noise
WALD_DECADE = np.log(10.0) / 1.959963984540054  # se(ln x) beyond this: UNIDENTIFIABLE


@dataclasses.dataclass(frozen=True)
class TraceFitResult:
    """Per-cell outcome of ``fitting.fit_traces`` (arrays with a leading cell axis C).

    Attributes:
      model: the ``TraceModel``.
      out: the raw arrays of the compiled fit: ``x`` (C, k) [SI], ``cov_log`` (C, k, k)
        covariance of ln x, ``se`` (C, k), ``status``, ``n_steps``, ``chi2``, ``loss``,
        ``n_valid``, ``rate_min``, ``rate_max`` [1/s], ``start`` (the start kept) and
        ``screened`` (C, S) half chi^2 of every start after the screening iterations.
      sigma: (C,) noise SD [A]; e_rev: (C,) reversal [V]; dt: sample interval [s].
      cells: the data as fitted (v, i, w, valid, e_rev, v_min, v_max per cell), for
        ``fitting.engine.trace_profile.trace_profile_intervals``.
    """

    model: Any
    out: dict
    sigma: np.ndarray
    e_rev: np.ndarray
    dt: float
    cells: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def status(self) -> np.ndarray:
        """(C,) int codes of ``fitting.Status``."""
        return self.out["status"]

    @property
    def usable(self) -> np.ndarray:
        return np.asarray(usable(self.status))

    @property
    def estimate(self) -> dict:
        """The solver's parameters [SI] for every cell, usable or not (for diagnosis)."""
        return dict(zip(self.model.param_names, self.out["x"].T))

    @property
    def params(self) -> dict:
        """name -> (C,) fitted value [SI]; NaN where the fit is unusable."""
        x = np.where(self.usable[:, None], self.out["x"], np.nan)
        return dict(zip(self.model.param_names, x.T))

    @property
    def stderr(self) -> dict:
        """name -> (C,) standard error [SI] (x se(ln x)) with sigma taken as the known noise SD
        (the paper's likelihood); NaN where unusable. Where the residuals exceed the noise
        (``misfit`` > 1), these understate the uncertainty by that factor: see
        ``stderr_scaled``; ``summary`` says so."""
        se = np.where(self.usable[:, None], self.out["se"], np.nan)
        return dict(zip(self.model.param_names, se.T))

    @property
    def misfit(self) -> np.ndarray:
        """(C,) sqrt(chi^2 / (|M| - k)): the residuals' RMS in units of sigma (1 where the model
        describes the data to within the noise)."""
        dof = np.maximum(self.out["n_valid"] - self.model.n_params, 1)
        return np.sqrt(self.out["chi2"] / dof)

    @property
    def stderr_scaled(self) -> dict:
        """name -> (C,) standard error [SI] scaled by ``misfit`` where it exceeds 1: the
        convention of ``fitting.fit`` (noise from the residuals, RSS / (n - k)), which widens
        the errors where the model misses the data by more than the noise. ``stderr`` keeps
        the paper's likelihood with sigma known, which holds only where the model is right."""
        factor = np.fmax(self.misfit, 1.0)[:, None]
        se = np.where(self.usable[:, None], self.out["se"] * factor, np.nan)
        return dict(zip(self.model.param_names, se.T))

    @property
    def covariance(self) -> np.ndarray:
        """(C, k, k) covariance of the parameters [SI] (delta method from ln x)."""
        x = self.out["x"]
        cov = self.out["cov_log"] * x[:, :, None] * x[:, None, :]
        return np.where(self.usable[:, None, None], cov, np.nan)

    @property
    def loss(self) -> np.ndarray:
        """(C,) Gaussian negative log-likelihood |M|/2 ln(2 pi sigma^2) + chi^2 / 2."""
        return self.out["loss"]

    @property
    def rmse(self) -> np.ndarray:
        """(C,) root mean square residual [A] over the used points."""
        return self.sigma * np.sqrt(self.out["chi2"] / self.out["n_valid"])

    def predict(self) -> np.ndarray:
        """(C, T) the model's current [A] with each cell's fitted parameters over its own
        voltages (every sample, the masked ones too); NaN rows where the fit is unusable."""
        import jax

        with jax.enable_x64(True):
            run = jax.vmap(lambda x, v, e: self.model.current(x, v, self.dt, e))
            out = np.asarray(run(self.out["x"], self.cells["v"], self.e_rev), float)
        return np.where(self.usable[:, None], out, np.nan)

    def message(self, cell: int) -> str:
        """Why cell ``cell`` is refused (or 'converged'), in the terms of a trace fit."""
        status = Status(int(self.status[cell]))
        if status == Status.OUT_OF_RANGE:
            lo, hi = self.out["rate_min"][cell] * 1e-3, self.out["rate_max"][cell] * 1e-3
            return (f"a rate leaves the plausibility bounds 1.67e-5..1000 per ms over the "
                    f"protocol's voltages (its rates span {lo:.3g}..{hi:.3g} per ms): the "
                    "optimum is implausible (try more starts; check the voltage units and the "
                    "mask)")
        if status == Status.SINGULAR:
            return ("the parameters are not identifiable from this trace (the Jacobian's "
                    "columns are dependent at the optimum: a gate that never moves over the "
                    "protocol's voltages, or two parameters that trade off exactly)")
        if status == Status.UNIDENTIFIABLE:
            se_log = self.out["se"][cell] / self.out["x"][cell]
            names = [n for n, e in zip(self.model.param_names, se_log) if not e <= WALD_DECADE]
            return (f"not pinned down by the data: the 95% interval of {', '.join(names)} "
                    "spans more than a factor 10 either way (a longer or richer protocol, or "
                    "fix the parameter)")
        return status.message

    def rows(self, labels: Any = None) -> list[dict]:
        """Tidy rows: one per cell and parameter (value and error in SI, the status)."""
        labels = list(range(len(self.status))) if labels is None else list(labels)
        params, errors = self.params, self.stderr
        out = []
        for c, label in enumerate(labels):
            for name in self.model.param_names:
                out.append(dict(cell=label, parameter=name, value=params[name][c],
                                stderr=errors[name][c], status=Status(int(self.status[c])).name,
                                loss=self.loss[c], sigma=self.sigma[c], e_rev=self.e_rev[c]))
        return out

    def summary(self, labels: Any = None) -> str:
        """A table: one line per cell, parameters in the paper's units (value +- standard error);
        an unusable cell shows its status message instead of numbers."""
        names = self.model.param_names
        labels = list(range(len(self.status))) if labels is None else list(labels)
        units = [self.model.display(n) for n in names]
        head = [f"{self.model.name}: {len(labels)} cell(s), Gaussian negative log-likelihood"]
        width = max([10] + [len(str(label)) + 2 for label in labels])
        titles = [f"{n} [{u}]" for n, (u, _) in zip(names, units)]
        cols = [max(22, len(title) + 2) for title in titles]  # long builder names stay apart
        head.append("cell".ljust(width) + "".join(title.rjust(w) for title, w in
                                                  zip(titles, cols)) + f"{'loss':>16}  status")
        params, errors = self.params, self.stderr
        for c, label in enumerate(labels):
            line = str(label).ljust(width)
            if not self.usable[c]:
                head.append(line + f"refused: {self.message(c)}")
                continue
            for n, (_, factor), w in zip(names, units, cols):
                cell = f"{params[n][c] / factor:.5g} +-{errors[n][c] / factor:<8.2g}"
                line += cell.rjust(w)
            head.append(line + f"{self.loss[c]:>16.8g}  {Status(int(self.status[c])).name}")
        for flagged, meaning in (
                (self.misfit > MISFIT_WARN, "the model misses the data by more than the noise, "
                 "and the +- above (sigma known) understate the uncertainty by at least that "
                 "factor (stderr_scaled widens them; residuals correlated in time widen it "
                 "further: the likelihood takes the samples as independent)"),
                (self.misfit < MISFIT_LOW, "sigma overestimates the noise (is the start of the "
                 "trace noisier than the rest?), so the +- above are too wide by that factor; "
                 "give sigma")):
            cells = [(label, m) for label, m, ok, f in zip(labels, self.misfit, self.usable,
                                                           flagged) if ok and f]
            if cells:
                head.append("warning: the residuals' RMS is " + ", ".join(
                    f"{m:.2g}" for _, m in cells) + " x sigma in cell(s) " + ", ".join(
                    str(label) for label, _ in cells) + ": " + meaning)
        return "\n".join(head)
