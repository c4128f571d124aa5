"""The figure of ``ionjax traces``: per cell, the voltage protocol, the recorded current with the
fitted model's, and the residuals (in units of the noise SD), with the points left out of the
fit (the step edges' transients) shaded. mV, nA, s."""

from __future__ import annotations

from typing import Any

import numpy as np

from fitting.cli.plot import pyplot, save_figure

__all__ = ["plot_traces"]


def plot_traces(res: Any, fitted: np.ndarray, labels: list, path: str,
                max_panels: int = 4) -> Any:
    """Save the figure of the first ``max_panels`` cells of a ``TraceFitResult``.

    Args:
      res: the result (its ``cells``: v (C, T) [V], i (C, T) [A], valid (C, T)).
      fitted: (C, T) the model's current with each cell's parameters [A] (NaN: refused).
      labels: (C,) cell names; path: the figure file (.png, .pdf, .svg).

    Returns:
      the matplotlib Figure.
    """
    plt = pyplot()
    cells = res.cells
    n = min(len(labels), max_panels)
    t = np.arange(cells["i"].shape[1]) * res.dt
    fig, axes = plt.subplots(3, n, figsize=(4.5 * n, 7), sharex=True, squeeze=False,
                             gridspec_kw=dict(height_ratios=(1, 2.5, 1)))
    for c in range(n):
        top, mid, low = axes[:, c]
        valid = np.asarray(cells["valid"][c], bool)
        top.plot(t, cells["v"][c] * 1e3, "k", lw=0.6)
        top.set_title(str(labels[c]), fontsize=9)
        data = np.where(valid, cells["i"][c], np.nan) * 1e9
        mid.plot(t, data, color="0.6", lw=0.5, label="recorded")
        if np.isfinite(fitted[c]).any():
            mid.plot(t, fitted[c] * 1e9, "C3", lw=0.8, label="fit")
            low.plot(t, np.where(valid, cells["i"][c] - fitted[c], np.nan) / res.sigma[c],
                     color="C0", lw=0.4)
        else:
            mid.text(0.5, 0.9, "refused: " + res.message(c), transform=mid.transAxes,
                     ha="center", fontsize=7, wrap=True)
        for ax in (mid, low):  # the left-out spans, shaded
            edges = np.flatnonzero(np.diff(np.r_[1, valid.astype(int), 1]))
            for a, b in zip(edges[::2], edges[1::2]):
                ax.axvspan(t[a], t[min(b, t.size - 1)], color="0.9", lw=0)
        low.axhline(0, color="0.5", lw=0.5)
        low.set_xlabel("t [s]")
        if c == 0:
            top.set_ylabel("V [mV]")
            mid.set_ylabel("I [nA]")
            low.set_ylabel("residual [sigma]")
            mid.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return fig
