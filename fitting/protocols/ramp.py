"""The ramp protocol: each sweep's ramp I-V (binned by voltage), its measured reversal
(``fitting.measured_reversal``: where the points cross zero) and the slope conductance there:
the least-squares slope of the points within ``SLOPE_SPAN`` (10 mV) of the reversal, with its
standard error."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from fitting.engine.status import Status
from fitting.outputs.table import make_row
from fitting.protocols.base import (NO_CROSSING, Analysis, Protocol, estimate_text, option,
                                    parse_leak)

__all__ = ["Options", "PROTOCOL", "SLOPE_SPAN", "analyse", "draw", "extract",
           "slope_conductance", "write_extra"]

SLOPE_SPAN = 0.01  # [V] each side of the reversal for the slope conductance


@dataclasses.dataclass(frozen=True)
class Options:
    """Options of the ramp protocol (``ionjax analyze --protocol ramp``)."""

    channel: int | None = option(help="ADC channel of the current (default 0)")
    epoch: int | None = option(help="index of the ramp epoch (default: automatic)")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")
    leak: str | None = option(help="leak subtraction: 'ramp' or 'range:LO,HI' (mV)")
    ljp: float | None = option(help="liquid junction potential [V]")
    bin_width: float | None = option(help="ramp: voltage bin of the I-V, e.g. 1mV (default)",
                                     parse="voltage")
    iv_out: str | None = option(help="ramp: CSV file for the binned I-V curves")


def extract(path, options: Options) -> tuple:
    """(path, IVData of the binned ramp I-V of every sweep) (``fitting.io.ramp_iv_from_abf``)."""
    from fitting.protocols.ramp_read import ramp_iv_from_abf

    return path, ramp_iv_from_abf(path, channel=options.channel or 0, epoch=options.epoch,
                                  bin_width=1e-3 if options.bin_width is None
                                  else options.bin_width,
                                  leak=parse_leak(options.leak), ljp=options.ljp,
                                  current_unit=options.current_unit)


def slope_conductance(v, i, e) -> tuple[float, float]:
    """Least-squares slope [S] and its standard error of the points within ``SLOPE_SPAN`` of
    ``e`` [V]; NaN with fewer than 3 such points or a non-finite ``e``.

    Args:
      v: (n,) voltages [V]; i: (n,) currents [A]; e: the reversal [V].
    """
    near = np.isfinite(v) & np.isfinite(i) & (np.abs(v - e) <= SLOPE_SPAN)
    if not np.isfinite(e) or near.sum() < 3:
        return math.nan, math.nan
    x, y = v[near] - v[near].mean(), i[near]
    g = np.sum(x * y) / np.sum(x * x)
    resid = y - y.mean() - g * x
    return g, math.sqrt(np.sum(resid ** 2) / (near.sum() - 2) / np.sum(x * x))


def analyse(data: tuple, options: Options | None = None) -> Analysis:
    """Reversal and slope conductance of each sweep's ramp I-V, and the printed report.

    Args:
      data: ``extract``'s (path, IVData (S, n) [V, A] with the ramp's metadata).
      options: unused (reading options only).

    Returns:
      ``Analysis`` with ``result`` the ``ReversalPotential`` of the sweeps and ``extra`` the
      binned curves (IVData).
    """
    from fitting.engine.inference import measured_reversal

    path, iv = data
    e = measured_reversal(iv.v, iv.i)
    m = iv.metadata
    lines = [f"{path}: ramp epoch {m['epoch']}, {m['ramp_V'][0] * 1e3:g} -> "
             f"{m['ramp_V'][1] * 1e3:g} mV, {len(iv.labels)} sweeps, "
             f"{m['bin_width_V'] * 1e3:g} mV bins"]
    rows = []
    for s in range(len(iv.labels)):
        g, g_se = slope_conductance(iv.v[s], iv.i[s], e.value[s])
        # NO_SIGNAL: the current does not cross zero beyond its noise
        status = Status.CONVERGED if np.isfinite(e.value[s]) else Status.NO_SIGNAL
        # a reversal without 3 points within SLOPE_SPAN (coarse bins): no slope there
        g_status = Status.TOO_FEW_POINTS if status == Status.CONVERGED and not np.isfinite(g) \
            else status
        rows += [make_row(path, s, "e_rev_measured", "V", e.value[s], e.stderr[s],
                          status=status),
                 make_row(path, s, "slope_conductance_at_e_rev", "S", g, g_se,
                          status=g_status)]
        slope = estimate_text(g, g_se, 1e9, "nS", f"fewer than 3 points within "
                              f"{SLOPE_SPAN * 1e3:g} mV of E_rev", fmt=".3g")
        e_text = estimate_text(e.value[s], e.stderr[s], 1e3, "mV", NO_CROSSING)
        lines.append(f"    sweep {s}: E_rev {e_text}"
                     + (f", slope conductance {slope}" if np.isfinite(e.value[s]) else ""))
    return Analysis("ramp", path, e, "\n".join(lines), rows,
                    [(str(path), dict(iv=iv, reversal=e))], extra=iv)


def write_extra(analyses: list, options: Options) -> list:
    """Write the binned curves of the (one) file to ``options.iv_out``, with the provenance
    line that marks it as ionjax's output (a folder read later leaves it out); the line to
    print."""
    if options.iv_out is None:
        return []
    import dataclasses

    from fitting.outputs.iv_table import write_csv

    iv = analyses[-1].extra
    metadata = dict(iv.metadata, command="ionjax analyze --protocol ramp",
                    sources=[iv.metadata.get("source")])
    write_csv(options.iv_out, dataclasses.replace(iv, metadata=metadata))
    return [f"ramp I-V curves written to {options.iv_out}"]


def draw(panel: dict, ax) -> None:
    """The ramp I-V curves [mV, pA] and their reversals with standard errors."""
    iv, e = panel["iv"], panel["reversal"]
    for s in range(len(iv.labels)):
        ax.plot(iv.v[s] * 1e3, iv.i[s] * 1e12, lw=0.8, label=f"sweep {s}")
        if np.isfinite(e.value[s]):
            ax.errorbar(e.value[s] * 1e3, 0.0, xerr=e.stderr[s] * 1e3, fmt="k|", ms=8)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("I [pA]")
    if len(iv.labels) <= 8:
        ax.legend(fontsize=6)


PROTOCOL = Protocol("ramp", "reversal and slope conductance of each sweep's ramp I-V",
                    Options, extract, analyse, draw, write_extra=write_extra)
