"""Publication figures of I-V fits (matplotlib, optional extra ``plot``).

``plot_fit``: data, fitted curve, residuals and the reversal potential with its error bar, one
panel pair per recording. ``plot_batch_summary``: distributions of the fitted parameters over a
batch of recordings. Both return the matplotlib Figure and, given ``path``, save it atomically.
Displayed in mV, pA and the parameters' conventional units.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.inference import reversal_potential
from fitting.engine.tdist import t_quantile
from fitting.engine.status import Status, usable
from fitting.engine.summary import display_unit, ordered_names
from fitting.outputs.atomic import atomic_path
from ionjax.units import mV as _MV
from ionjax.units import pA as _PA

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from fitting.engine.result import FitResult

__all__ = ["plot_batch_summary", "plot_fit", "protocol_figure", "pyplot", "save_figure",
           "supported_formats"]


def pyplot() -> Any:
    """matplotlib.pyplot, with the Agg backend where there is no display; a one-line
    ImportError naming the extra where matplotlib is missing."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'ionjax[plot]'") from exc
    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def supported_formats() -> set[str]:
    """File extensions (without the dot) that ``save_figure`` can write."""
    pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    # raster and vector formats matplotlib writes by itself (pgf would need a LaTeX install)
    plain = {"png", "pdf", "svg", "svgz", "jpg", "jpeg", "tif", "tiff", "webp", "eps", "ps"}
    return set(FigureCanvasBase.get_supported_filetypes()) & plain


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> None:
    """Save ``fig`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    with atomic_path(path, suffix=os.path.splitext(os.fspath(path))[1] or ".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")


def plot_fit(res: FitResult, v: ArrayLike, i: ArrayLike, *, labels: Sequence[str] | None = None,
             path: str | None = None, max_panels: int = 6) -> Figure:
    """Data, fitted curve, residuals and reversal potential for up to ``max_panels`` recordings.

    Args:
      res: FitResult of ``fitting.fit(model, v, i)``.
      v, i: the data that was fitted [V], [A], shape (..., n).
      labels: optional names of the recordings.
      path: optional output file (png, pdf, svg).
      max_panels: recordings shown (the first ones).

    Returns:
      matplotlib Figure.
    """
    plt = pyplot()
    i = np.asarray(i, float)
    v = np.broadcast_to(np.asarray(v, float), i.shape).reshape(-1, i.shape[-1])
    i = i.reshape(-1, i.shape[-1])
    e = reversal_potential(res)
    e_val = np.atleast_1d(np.asarray(e.value, float)).ravel()
    e_se = np.atleast_1d(np.asarray(e.stderr, float)).ravel()
    count = min(len(i), max_panels)
    fig, axes = plt.subplots(2, count, figsize=(3.6 * count, 4.6), squeeze=False,
                             gridspec_kw=dict(height_ratios=(3, 1)), sharex="col")
    status = np.asarray(res.status).ravel()
    for k in range(count):
        top, bottom = axes[0, k], axes[1, k]
        ok = np.isfinite(v[k]) & np.isfinite(i[k])
        title = labels[k] if labels is not None and k < len(labels) else f"recording {k}"
        if not np.any(ok):  # nothing to draw: say so in the panel
            top.set_title(f"{title} (no data)", fontsize=9)
            bottom.set_xlabel("membrane potential (mV)")
            continue
        lo, hi = np.min(v[k][ok]), np.max(v[k][ok])
        if np.isfinite(e_val[k]) and lo - (hi - lo) < e_val[k] < hi + (hi - lo):
            lo, hi = min(lo, e_val[k]), max(hi, e_val[k])  # show the curve up to E_rev
        dense = np.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 200)
        pick = np.unravel_index(k, res.batch_shape) if res.batch_shape else ()
        one = res[pick] if pick else res
        top.axhline(0, color="0.7", lw=0.8)
        top.plot(v[k][ok] / _MV, i[k][ok] / _PA, "o", ms=4, color="k", label="data")
        if usable(status[k]):
            top.plot(dense / _MV, np.asarray(one.predict(dense)) / _PA, "-", color="C3",
                     label=f"{res.model.name} fit")
            fitted = np.asarray(one.predict(v[k][ok]))
            bottom.plot(v[k][ok] / _MV, (i[k][ok] - fitted) / _PA, "o", ms=3, color="k")
        if np.isfinite(e_val[k]):
            # 95% interval with Student's t on the fit's n - k degrees of freedom (1.96 would be
            # too narrow for the 10-20 points of an I-V)
            dof = int(np.asarray(res.n_points).ravel()[k]) - res.model.n_params
            half = float(t_quantile(0.95, max(dof, 1))) * e_se[k] if dof > 0 else np.nan
            label = (f"E_rev = {e_val[k] / _MV:.1f} ± {half / _MV:.1f} mV (95%, t with {dof} "
                     f"dof)" if np.isfinite(half) else f"E_rev = {e_val[k] / _MV:.1f} mV")
            top.errorbar([e_val[k] / _MV], [0.0], xerr=[half / _MV if np.isfinite(half) else 0],
                         fmt="D", color="C0", capsize=3, label=label)
        bottom.axhline(0, color="0.7", lw=0.8)
        top.set_title(title if status[k] == Status.CONVERGED else f"{title} (status {status[k]})",
                      fontsize=9)
        top.legend(fontsize=7, frameon=False, loc="best")
        bottom.set_xlabel("membrane potential (mV)")
    axes[0, 0].set_ylabel("current (pA)")
    axes[1, 0].set_ylabel("residual (pA)")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_batch_summary(res: FitResult, *, path: str | None = None, bins: int = 30) -> Figure:
    """Histograms of every fitted parameter over the converged recordings of a batch.

    Returns:
      matplotlib Figure.
    """
    plt = pyplot()
    ok = np.asarray(res.status).ravel() == Status.CONVERGED
    columns = []
    for name in ordered_names(res):
        factor, unit = display_unit(res.model, name)
        values = np.asarray(res.params[name], float).reshape(ok.size, -1)[ok] / factor
        labels = res.model.element_labels(name, values.shape[1])
        for j in res.model.reported_elements(name, values.shape[1]):
            columns.append((f"{labels[j]} ({unit})" if unit else labels[j], values[:, j]))
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 2.8), squeeze=False)
    for ax, (label, values) in zip(axes[0], columns):
        ax.hist(values[np.isfinite(values)], bins=bins, color="C0")
        ax.set_xlabel(label)
    axes[0, 0].set_ylabel("recordings")
    fig.suptitle(f"{res.model.name}: {int(ok.sum())} of {ok.size} recordings converged", fontsize=10)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


MAX_PANELS = 6  # panels of a protocol figure


def protocol_figure(draw, panels: list, path) -> object:
    """One panel per (title, payload) of ``panels`` (the first ``MAX_PANELS``), each drawn by
    ``draw(payload, ax)`` (a protocol's), saved to ``path`` atomically. Returns the Figure."""
    plt = pyplot()
    panels = panels[:MAX_PANELS]
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (title, data) in zip(axes.ravel(), panels):
        draw(data, ax)
        ax.set_title(title, fontsize=8)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return fig
