"""``fitting.plot``: publication figures of I-V fits (the public name of ``fitting.cli.plot``;
matplotlib, optional extra ``plot``)."""

from fitting.cli.plot import plot_batch_summary, plot_fit, save_figure

__all__ = ["plot_batch_summary", "plot_fit", "save_figure"]
