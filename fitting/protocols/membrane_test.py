"""The membrane-test protocol (``ionjax analyze --protocol membrane-test``): its options, the
recording's transients (``membrane_read``), their analysis (``membrane_fit``: access and
membrane resistance, capacitance, per sweep and averaged), the rows and the figure."""

import dataclasses

import numpy as np

from fitting.outputs.table import make_row
from fitting.protocols.base import Analysis, Protocol, estimate_text, option
from fitting.protocols.membrane_fit import (
    QUANTITIES,
    UNITS,
    MembraneTest,
    membrane_test,
)

__all__ = ["MembraneTest", "Options", "PROTOCOL", "analyse", "draw", "extract", "membrane_test"]


@dataclasses.dataclass(frozen=True)
class Options:
    """Options of the membrane test (``ionjax analyze --protocol membrane-test``)."""

    channel: int | None = option(help="ADC channel of the current (default 0)")
    epoch: int | None = option(help="index of the test-step epoch (default: automatic)")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")


def extract(path, options: Options) -> tuple:
    """(``MembraneTest``, info) of the recording at ``path``
    (``fitting.io.membrane_test_from_abf``)."""
    from fitting.protocols.membrane_read import membrane_test_from_abf

    return path, membrane_test_from_abf(path, channel=options.channel or 0, epoch=options.epoch,
                                        current_unit=options.current_unit)


_SCALES = {"Ohm": (1e-6, "MOhm"), "F": (1e12, "pF"), "s": (1e3, "ms"), "A": (1e12, "pA")}


def analyse(data: tuple, options: Options | None = None) -> Analysis:
    """The per-sweep quantities, their mean ± SEM over the sweeps and the printed report.

    Args:
      data: ``extract``'s (path, (MembraneTest, info)).
      options: unused (the fit has no options).

    Returns:
      ``Analysis`` with ``result`` the ``MembraneTest``.
    """
    path, (res, info) = data
    lines = [f"{path}: test step epoch {info['epoch']}, {res.v_hold * 1e3:g} -> "
             f"{res.v_step * 1e3:g} mV at {res.edge * 1e3:g} ms, {info['sweeps']} sweeps"]
    rows = []
    for s in range(len(res.status)):
        rows += [make_row(path, s, q, UNITS[q], res.values[q][s], res.stderr[q][s],
                          status=res.status[s]) for q in QUANTITIES]
        rows += [make_row(path, s, "capacitance_from_charge", "F",
                          res.capacitance_from_charge[s], status=res.status[s]),
                 make_row(path, s, "misfit", "1", res.misfit[s], status=res.status[s])]
    for q, (m, se, n) in res.mean().items():
        rows.append(make_row(path, "mean", q, UNITS[q], m, se, status=""))
        scale, unit = _SCALES[UNITS[q]]
        text = estimate_text(m, se, scale, unit, "no sweep gave it", fmt="10.4g")
        lines.append(f"    {q:22s} {text}" + (f" (mean ± SEM of {n} sweeps)" if np.isfinite(m)
                                                else ""))
    if np.any(np.isfinite(res.misfit)):  # no sweep fitted: no misfit to print
        misfit = float(np.nanmedian(res.misfit))
        lines.append(f"    misfit (median over sweeps) {misfit:.2f}: about 1 when one exponential "
                     "describes the transient" + ("" if misfit <= 2 else "; it does not here, so "
                     "each sweep's standard errors understate the uncertainty: use the spread over "
                     "sweeps (mean ± SEM above)"))
    return Analysis("membrane-test", path, res, "\n".join(lines), rows,
                    [(str(path), dict(result=res))])


def draw(panel: dict, ax) -> None:
    """R_a, R_m (left axis) and C_m (right axis) per sweep, with standard errors."""
    res = panel["result"]
    s = np.arange(len(res.status))
    for name, scale, label, fmt in (("access_resistance", 1e-6, "R_a [MOhm]", "o"),
                                    ("membrane_resistance", 1e-6, "R_m [MOhm]", "s")):
        ax.errorbar(s, res.values[name] * scale, res.stderr[name] * scale, fmt=fmt, ms=3,
                    label=label)
    ax.set_xlabel("sweep")
    ax.set_ylabel("resistance [MOhm]")
    twin = ax.twinx()
    twin.errorbar(s, res.values["capacitance"] * 1e12, res.stderr["capacitance"] * 1e12,
                  fmt="^", ms=3, color="C2", label="C_m [pF]")
    twin.set_ylabel("C_m [pF]", color="C2")
    ax.legend(loc="upper left", fontsize=7)


PROTOCOL = Protocol("membrane-test", "access/membrane resistance and capacitance per sweep",
                    Options, extract, analyse, draw)
