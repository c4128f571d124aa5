"""The membrane-test protocol (``ionjax analyze --protocol membrane-test``): its options, the
recording's transients (``membrane_read``), their analysis (``membrane_fit``: access and
membrane resistance, capacitance, per sweep and averaged), the rows and the figure."""

import dataclasses

import numpy as np

from fitting.engine.status import Status
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


_SCALES = {"Ohm": (1e-6, "MOhm"), "F": (1e12, "pF"), "s": (1e3, "ms"), "A": (1e12, "pA"),
           "C": (1e12, "pC")}


_SOURCES = {"holding_current": "samples", "capacitance_from_charge": "samples x (R_t/R_m)^2"}


def _mean_line(name, unit, mean, se, n):
    """One printed line: the mean ± SEM over the sweeps and what it rests on."""
    scale, shown = _SCALES[unit]
    text = estimate_text(mean, se, scale, shown, "no sweep gave it", fmt="10.4g")
    return (f"    {name:23s} {text}" + (f" (mean ± SEM of {n} sweeps)" if np.isfinite(mean)
                                          else "") + f" [{_SOURCES.get(name, 'circuit')}]")


def analyse(data: tuple, options: Options | None = None) -> Analysis:
    """The per-sweep quantities, their mean ± SEM over the sweeps and the printed report.

    Each printed line says what it rests on: [samples] (model-free: the recorded samples
    alone), [circuit] (the R-C circuit's decay fitted after the filter has settled, its
    amplitudes tied to the edge by the charge; ``fitting.protocols.membrane_fit``).

    Args:
      data: ``extract``'s (path, (MembraneTest, info)).
      options: unused (the fit has no options).

    Returns:
      ``Analysis`` with ``result`` the ``MembraneTest``.
    """
    path, (res, info) = data
    two = res.components == 2
    lines = [f"{path}: test step epoch {info['epoch']}, {res.v_hold * 1e3:g} -> "
             f"{res.v_step * 1e3:g} mV at {res.edge * 1e3:g} ms, {info['sweeps']} sweeps; "
             + ("two exponentials (a slow second component: their AICc is lower by "
                f"{-res.delta_aicc:.4g})" if two else "one exponential")]
    rows = []
    names = [q for q in QUANTITIES if two or q != "tau_slow"]
    for s in range(len(res.status)):
        rows += [make_row(path, s, q, UNITS[q], res.values[q][s], res.stderr[q][s],
                          status=res.status[s]) for q in names]
        rows += [make_row(path, s, "capacitance_from_charge", "F",
                          res.capacitance_from_charge[s], status=res.status[s]),
                 make_row(path, s, "misfit", "1", res.misfit[s], status=res.status[s])]
    means = res.mean()
    ok = np.isfinite(res.capacitance_from_charge)
    cq = res.capacitance_from_charge[ok]
    means["capacitance_from_charge"] = (float(np.mean(cq)) if cq.size else np.nan,
                                        float(np.std(cq, ddof=1) / np.sqrt(cq.size))
                                        if cq.size > 1 else np.nan, int(cq.size))
    for q in names + ["capacitance_from_charge"]:
        m, se, n = means[q]
        unit = UNITS.get(q, "F")
        rows.append(make_row(path, "mean", q, unit, m, se, status=""))
        lines.append(_mean_line(q, unit, m, se, n))
    rows.append(make_row(path, "mean", "components", "1", res.components, status=""))
    slow = int(np.sum(res.status == Status.OUT_OF_RANGE))
    if slow:
        lines.append(f"    {slow} sweep(s) refused (OUT_OF_RANGE): their charge implies a filter delay "
                     "beyond where the decay is fitted; the R-C circuit behind the amplifier's "
                     "filter does not describe their transient, so R_a is not determined")
    if np.any(np.isfinite(res.misfit)):  # no sweep fitted: no misfit to print
        misfit = float(np.nanmedian(res.misfit))
        model = "two exponentials describe" if two else "one exponential describes"
        lines.append(f"    misfit (median over sweeps) {misfit:.2f}: about 1 when {model} the "
                     "transient" + ("" if misfit <= 2 else "; not here, so each sweep's "
                     "standard errors understate the uncertainty: use the spread over sweeps "
                     "(mean ± SEM above)"))
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
