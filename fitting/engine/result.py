"""The result of a fit: a pytree whose leaves carry the batch shape, plus host-side reports."""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from fitting.engine import status as _status
from fitting.engine.inference import reversal_potential
from fitting.engine.summary import summary as _summary
from fitting.engine.table import records

__all__ = ["FitResult"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FitResult:
    """Outcome of ``fitting.fit`` for one recording or a batch (leaves have the batch shape).

    Attributes:
      params: dict name -> array [SI]: the fitted parameters, plus derived quantities of the model
        (e.g. ``ratios`` of ``MultiIonGHK``), which are not free parameters.
      stderr: dict name -> standard error [SI] of each entry of ``params`` (delta method for the
        derived ones).
      covariance: (property) (..., k, k) covariance of the free parameters in the model's order
        [SI]: ``cov_scaled`` * scale_i * scale_j. In float32, SI variances of tiny parameters
        (permeabilities, (m^3/s)^2 ~ 1e-39) underflow; use ``cov_scaled`` and ``param_scale``.
      cov_scaled: (..., k, k) covariance of x_j / param_scale_j (dimensionless, O(1)).
      param_scale: (..., k) the internal scale of each free parameter [SI].
      loss: weighted sum of squared residuals: RSS [A^2] when ``sigma`` is None, chi^2
        (dimensionless) when it is given.
      rmse: sqrt(RSS / n) [A].
      aic, bic: n ln(loss / n) + 2k and n ln(loss / n) + k ln n (lmfit's convention; loss in
        SI, so they shift by n ln(scale) with the unit: only differences between models fitted
        to the same data mean anything). ``aicc`` (property) adds the small-sample correction.
      n_steps: solver iterations.
      status: int codes of ``fitting.Status`` (0 = converged); see ``message``, ``converged``
        and ``usable``.
      n_points: number of points used (after masking).
      n_masked: points masked out because v or i was NaN/inf (or sigma invalid).
      v_range: (..., 2) smallest and largest voltage used [V].
      lack_of_fit: exact p-value of the runs test of the residual signs in voltage order
        (``fitting.engine.quality``): below 0.01 the residuals arch, the model's shape is
        wrong (``summary()`` warns); NaN where not tested (a refused or an exact fit).
      model: the model (static).
      weighted: (static) whether ``sigma`` was given, i.e. ``loss`` is chi^2, not RSS.
      notes: None, or an object array of the batch shape: for a fit refused on the host
        (``fitting.engine.quality``: an E_rev extrapolated, a parameter not pinned down), the
        reason in the parameter's own words ("" elsewhere); ``summary()`` shows it.
    """

    params: dict
    stderr: dict
    cov_scaled: jax.Array
    param_scale: jax.Array
    loss: jax.Array
    rmse: jax.Array
    aic: jax.Array
    bic: jax.Array
    n_steps: jax.Array
    status: jax.Array
    n_points: jax.Array
    n_masked: jax.Array
    v_range: jax.Array
    lack_of_fit: jax.Array
    model: object = dataclasses.field(metadata=dict(static=True))
    weighted: bool = dataclasses.field(default=False, metadata=dict(static=True))
    notes: Any = None

    @property
    def covariance(self) -> Any:
        """(..., k, k) covariance of the free parameters [SI], in the fit's dtype. In float32,
        entries below ~1e-38 (a permeability in m^3/s has a variance ~1e-40) underflow: use
        ``cov_scaled`` with ``param_scale``, ``stderr`` (computed scale-free), or float64."""
        s = self.param_scale
        return self.cov_scaled * s[..., :, None] * s[..., None, :]

    @property
    def aicc(self) -> Any:
        """AIC with the small-sample correction, AIC + 2k(k+1)/(n-k-1) (Hurvich & Tsai 1989,
        doi:10.1093/biomet/76.2.297); NaN where n - k - 1 <= 0. Prefer it when n/k < ~40."""
        k = self.model.n_params
        # NumPy on host results (an eager jnp op compiles a program in every new process)
        xp = jnp if isinstance(self.aic, jax.Array) else np
        n = xp.asarray(self.n_points, xp.result_type(self.aic))
        extra = xp.where(n - k - 1 > 0, 2 * k * (k + 1) / xp.maximum(n - k - 1, 1), xp.nan)
        return self.aic + extra

    @property
    def converged(self) -> np.ndarray:
        """Boolean array: status == Status.CONVERGED."""
        return self.status == _status.Status.CONVERGED

    @property
    def usable(self) -> Any:
        """Boolean array: the status gives parameters (``fitting.engine.status.usable``)."""
        return _status.usable(self.status)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(np.shape(self.status))

    @property
    def message(self) -> Any:
        """Host-side: the status message (a str, or an object array of str for a batch)."""
        return _status.message(self.status)

    def free_params(self) -> tuple[str, ...]:
        return {name: self.params[name] for name in self.model.param_names}

    def predict(self, v: Any) -> np.ndarray:
        """Model current [A] at voltages ``v`` [V] with the fitted parameters.

        Args:
          v: (m,) voltages shared by all recordings, or batch_shape + (m,).

        Returns:
          batch_shape + (m,) currents [A].
        """
        if not self.model.single_iv:
            raise ValueError(f"{self.model.name} was fitted to I-Vs in several solutions: "
                             "predict one with its model's bath_current(params, v, bath)")
        batch = self.batch_shape
        v = jnp.asarray(v, jnp.result_type(self.loss))
        v = jnp.broadcast_to(v, batch + v.shape[-1:])
        flat = jax.tree_util.tree_map(lambda x: jnp.reshape(x, (-1,) + jnp.shape(x)[len(batch):]),
                                      self.free_params())
        out = jax.vmap(self.model.current)(flat, jnp.reshape(v, (-1, v.shape[-1])))
        return jnp.reshape(out, v.shape)

    def __getitem__(self, index):
        """Select recordings of a batch: ``res[3]``, ``res[:10]``, ``res[mask]``.

        Indexing follows NumPy on the batch shape (an index beyond the batch raises IndexError;
        JAX would clamp it to the last recording)."""
        positions = np.arange(int(np.prod(self.batch_shape))).reshape(self.batch_shape)
        try:
            picked = positions[index]
        except IndexError as exc:
            raise IndexError(f"{exc} (FitResult of batch shape {self.batch_shape})") from None
        flat_index = np.asarray(picked)

        def take(x):
            xp = jnp if isinstance(x, jax.Array) else np  # host results stay NumPy (no compile)
            x = xp.asarray(x)
            flat = xp.reshape(x, (-1,) + x.shape[len(self.batch_shape):])
            return xp.reshape(flat[flat_index.ravel()], flat_index.shape + flat.shape[1:])
        return jax.tree_util.tree_map(take, self)

    def to_dataframe(self, labels: Any | None = None, extra: Any | None = None,
                     intervals: Any | None = None) -> Any:
        """The results as a pandas DataFrame (extra ``tables``): one row per recording (the
        batch flattened), SI values with the unit in each column name, the columns of
        ``fitting.io.write_results`` (``fitting.engine.table.records``); a failed fit's
        numbers are NaN.

        Args:
          labels: optional names of the recordings (default: their flat index).
          extra: optional dict column -> array of the batch shape.
          intervals: optional ``fitting.profile_intervals(self, ...)``: lower and upper
            columns.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("to_dataframe needs pandas: pip install 'ionjax[tables]'") from exc

        n = int(np.prod(self.batch_shape, dtype=int))
        if isinstance(labels, (str, bytes)) or (labels is not None and len(labels) != n):
            raise ValueError(f"labels must be a sequence of {n} names, one per recording; got "
                             f"{labels!r}")
        rows = records(self, list(labels or []), reversal_potential(self), extra, intervals)
        frame = pd.DataFrame.from_records(rows)
        return frame.fillna(np.nan) if len(frame) else frame

    def summary(self, max_rows: int = 10, labels: Any | None = None, *, v: Any | None = None,
                i: Any | None = None) -> str:
        """A readable report in conventional units (nS, mV, pA), like lmfit's fit report;
        ``labels`` name the recordings of a batch. Warnings: fitted voltages beyond the
        recorded ones, lack of fit (``lack_of_fit``), and, given the fitted data ``v``, ``i``
        [V, A], a fitted E_rev that disagrees with the data's own zero crossing.

        Raises:
          ValueError: ``v``, ``i`` not in SI units (|v| > 2 V, |i| > 1 mA: mV or pA passed as
            SI; the checks of ``fitting.fit``), of shapes that do not match each other or the
            fit's batch, or only one of them given."""
        return _summary(self, max_rows=max_rows, labels=labels, v=v, i=i)

    def __repr__(self):
        return (f"FitResult(model={self.model.name}, batch_shape={self.batch_shape}, "
                f"params={sorted(self.params)})")
