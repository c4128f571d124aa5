"""The membrane-test protocol (``ionjax analyze --protocol membrane-test``): its options, the
recording's transients (``membrane_read``), their analysis (``membrane_fit``: access and
membrane resistance, capacitance, per sweep and over the sweeps: ``membrane_summary``), the rows
and the figure."""

import dataclasses

import numpy as np

from fitting.engine.status import Status, usable
from fitting.outputs.table import make_row
from fitting.protocols.base import Analysis, Protocol, estimate_text, option
from fitting.protocols.membrane_charge import AICC_MARGIN
from fitting.protocols.membrane_fit import (
    MODEL_FREE,
    QUANTITIES,
    UNITS,
    MembraneTest,
    membrane_test,
)
from fitting.protocols.membrane_samples import SETTLE
from fitting.protocols.membrane_summary import CIRCUIT, OUTLIER_Z, model_dependence, summarise

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


_SOURCES = {"holding_current": "samples", "steady_current": "samples: the step's last fifth",
            "input_resistance": "samples: dV / (I_ss - I_hold)",
            "capacitance_from_charge": "samples x (R_t/R_m)^2"}


_MODEL = {1: "one exponential", 2: "two exponentials"}
_SHORT = {"access_resistance": "R_a", "membrane_resistance": "R_m", "capacitance": "C_m"}


def _decided(res):
    """'' where the data choose the decay model (two exponentials chosen by ``AICC_MARGIN``, or
    one exponential better by it), else the one-line reason why they cannot."""
    delta = res.delta_aicc
    if res.components == 2 or (np.isfinite(delta) and delta > AICC_MARGIN):
        return ""
    if not np.isfinite(delta):
        return "two exponentials fit too few sweeps for AICc to choose"
    if delta < -AICC_MARGIN:
        return ("two exponentials fit better (AICc) only with a component of the sign opposite "
                "to the step's, which the circuit does not have")
    return f"AICc cannot choose (the models' summed AICc differ by {abs(delta):.3g} <= " \
           f"{AICC_MARGIN:g})"


def _summary_line(name, unit, summ, other=None):
    """One printed line: the median ± its SE over the sweeps, the spread, what it rests on and,
    for a circuit value that the other decay model moves beyond the errors, that model's value
    (``other``: (its Summary, the model's name, '' where the data reject that model, else why
    they cannot choose))."""
    scale, shown = _SCALES[unit]
    text = estimate_text(summ.median, summ.stderr, scale, shown, "no sweep gave it", fmt="10.4g")
    if np.isfinite(summ.median):
        text += (f" (median ± SE of {summ.n} sweeps; spread {summ.spread * scale:.2g})"
                 if np.isfinite(summ.spread) else " (1 sweep)")
    source = _SOURCES.get(name, "circuit")
    if other is not None:
        theirs, model, why = other
        value = estimate_text(theirs.median, theirs.stderr, scale, shown, '', fmt='.4g')
        gives = f"{model} give{'s' if model == _MODEL[1] else ''} {value}"
        source += (f"; model-dependent: {gives} and {why}" if why else
                   f"; {gives}, a model the data reject (AICc)")
    return f"    {name:23s} {text} [{source}]"


def _outlier_line(summ):
    """The sweeps that disagree with the rest, each with the quantities where it does ("" if
    none)."""
    where = {}
    for q, s in summ.items():
        for k in s.outliers:
            where.setdefault(k, []).append(q)
    if not where:
        return ""
    named = ", ".join(f"{k} ({', '.join(where[k])})" for k in sorted(where))
    return (f"    sweep(s) unlike the rest, beyond {OUTLIER_Z:g} x (spread (+) their SE (+) the "
            f"median's) from the median (which they do not move): {named}")


def _dependence(res):
    """(flags {name: (other Summary, model)}, the printed line, rows' (name, Summary)) of the
    circuit's values read with the other decay model, both summarised over the sweeps that both
    read (a comparison of the models, not of the sweeps each keeps); nothing without one."""
    alt = res.alternative
    if alt is None:
        return {}, "", []
    model, mine = _MODEL[alt.components], _MODEL[res.components]
    both = usable(res.status) & usable(alt.status)
    why = _decided(res)
    if not both.any():
        return {}, _no_common_sweep(res, alt, model, mine, why), []
    parts, flags, rows = [], {}, []
    for q in CIRCUIT:
        ours = summarise(res.values[q], res.stderr[q], both)
        theirs = summarise(alt.values[q], alt.stderr[q], both)
        ratio, _, dependent = model_dependence(ours, theirs)
        if not np.isfinite(ratio):
            continue
        scale, shown = _SCALES[UNITS[q]]
        parts.append(f"{_SHORT[q]} {theirs.median * scale:.4g} vs {ours.median * scale:.4g} "
                     f"{shown} (x{ratio:.3g})")
        rows.append((q, theirs))
        if dependent:
            flags[q] = (theirs, model, why)
    verdict = ("agree within their errors" if not flags else
               "differ beyond their errors: the circuit's values depend on the decay's model "
               f"(flagged model-dependent: {why})" if why else
               "differ beyond their errors (the circuit's values depend on the decay's model), "
               f"and the data decide: {mine} (summed AICc lower by {abs(res.delta_aicc):.4g}); "
               "C_m rests on the transient's charge (Q / dV (R_t/R_m)^2, true of any passive "
               "cell) and on the decay only through R_a")
    line = (f"    with {model} instead of {mine} (medians over the {int(both.sum())} sweeps both "
            f"read): {', '.join(parts)}; they {verdict}; the [samples] values are model-free")
    return flags, line, rows


def _no_common_sweep(res, alt, model, mine, why):
    """The line where no sweep gives the circuit with both decay models: which model read
    which sweeps and why the others are refused (never an empty reason)."""
    def refused(r):
        names = sorted({Status(int(k)).name for k in r.status[~usable(r.status)]})
        return ", ".join(names) if names else "none refused"

    if usable(res.status).any():  # the chosen model reads sweeps that the other does not
        return (f"    with {model} instead: no sweep that {mine} read"
                f"{'s' if res.components == 1 else ''} gives the circuit (refused: {refused(alt)}),"
                f" so the choice of {mine} is not a matter of the circuit's values")
    n = int(usable(alt.status).sum())
    return (f"    {model} would read {n} sweep(s), but "
            + (f"the data reject it (summed AICc higher by {abs(res.delta_aicc):.4g}): its "
               "values are not the circuit's, so none is reported" if not why else
               f"{mine} read none (refused: {refused(res)}) and {why}: no value is reported"))


def analyse(data: tuple, options: Options | None = None) -> Analysis:
    """The per-sweep quantities, their median over the sweeps (± its SE, with the spread) and
    the printed report (``membrane_summary``): the sweeps unlike the rest named, and the
    circuit's values read with the other decay model beside them, flagged model-dependent where
    they differ beyond their errors. Rows: per sweep; "median" (value, SE) and "spread" (the
    robust SD) per quantity; the other model's R_a, R_m, C_m (item "one exponential" or "two
    exponentials": median, SE).

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
    for s in range(len(res.status)):  # the samples' values stand where the transient is refused
        rows += [make_row(path, s, q, UNITS[q], res.values[q][s], res.stderr[q][s],
                          status=(Status.OUT_OF_RANGE if np.isnan(res.values[q][s]) else
                                  Status.CONVERGED) if q in MODEL_FREE else res.status[s])
                 for q in names]
        rows += [make_row(path, s, "capacitance_from_charge", "F",
                          res.capacitance_from_charge[s], status=res.status[s]),
                 make_row(path, s, "misfit", "1", res.misfit[s], status=res.status[s])]
    summ = res.summary()
    flags, dependence, other_rows = _dependence(res)
    for q in names + ["capacitance_from_charge"]:
        unit = UNITS.get(q, "F")
        rows += [make_row(path, "median", q, unit, summ[q].median, summ[q].stderr, status=""),
                 make_row(path, "spread", q, unit, summ[q].spread, status="")]
        lines.append(_summary_line(q, unit, summ[q], flags.get(q)))
    model = _MODEL[3 - res.components]
    rows += [make_row(path, model, q, UNITS[q], s.median, s.stderr, status="")
             for q, s in other_rows]
    rows.append(make_row(path, "median", "components", "1", res.components, status=""))
    lines += [text for text in (_outlier_line(summ), dependence) if text]
    lines += _refusal_lines(res)
    if np.any(np.isfinite(res.misfit)):  # no sweep fitted: no misfit to print
        misfit = float(np.nanmedian(res.misfit))
        model = "two exponentials describe" if two else "one exponential describes"
        lines.append(f"    misfit (median over sweeps) {misfit:.2f}: about 1 when {model} the "
                     "transient" + ("" if misfit <= 2 else "; not here, so each sweep's "
                     "standard errors understate the uncertainty: use the spread over sweeps "
                     "(median ± SE above)"))
    return Analysis("membrane-test", path, res, "\n".join(lines), rows,
                    [(str(path), dict(result=res))])


_NO_DECAY = ("no capacitive transient to read: its charge above the steady current is within "
             "5 standard errors of zero, or its decay, once the filter has settled, stays within "
             "3 SD of the steady level (a transient too small, or spread by a slow filter)")


def _refusal_lines(res):
    """The lines that say where the circuit is read (before a current that turns back) and why
    sweeps are refused: R_t where the current has not settled, the transient where its charge
    and its decay disagree."""
    lines = []
    if res.passive_end < res.end:
        rt = [float(np.nanmedian(res.values[q])) * 1e-6 if np.any(np.isfinite(res.values[q]))
              else np.nan for q in ("total_resistance", "input_resistance")]
        lines.append(f"    the mean current turns back {(res.passive_end - res.edge) * 1e3:.3g} ms "
                     "after the edge (a slow current that the step opens, which the R-C circuit "
                     "lacks): the circuit is read before that, so total_resistance (the passive "
                     f"cell's, {rt[0]:.4g} MOhm) differs from input_resistance (at the step's "
                     f"end, with the slow current, {rt[1]:.4g} MOhm)")
    unsettled = np.isnan(res.values["input_resistance"])
    for moving, why in ((True, (f"the current still changes by more than {SETTLE:.0%} of its "
                                "step between the step's last two fifths: no steady state")),
                        (False, "the current does not step with dV's sign beyond its noise")):
        which = np.flatnonzero(unsettled & ((np.abs(res.drift) > SETTLE) == moving))
        if which.size:
            lines.append(f"    input_resistance refused in {which.size} sweep(s) "
                         f"({', '.join(map(str, which))}): {why}")
    for code in sorted(set(res.status[~usable(res.status)].tolist()) - {Status.OUT_OF_RANGE}):
        which = np.flatnonzero(res.status == code)
        why = (_NO_DECAY if code == Status.NO_SIGNAL else Status(code).message)
        lines.append(f"    {which.size} sweep(s) ({', '.join(map(str, which))}) refused "
                     f"({Status(code).name}): {why}; R_a, R_m and C_m are not reported")
    slow = int(np.sum(res.status == Status.OUT_OF_RANGE))
    if slow:
        drift = float(np.nanmedian(np.abs(res.drift[res.status == Status.OUT_OF_RANGE])))
        lines.append(f"    {slow} sweep(s) refused (OUT_OF_RANGE): their charge implies a filter "
                     "delay beyond where the decay is fitted; the R-C circuit behind the "
                     "amplifier's filter does not describe their transient, so R_a, R_m and C_m "
                     "are not determined" + (
                         f"; and their current has not settled: it still changes by {drift:.1%} "
                         "of its step between the step's last two fifths (median), a slow "
                         "current that the circuit lacks" if drift > 0.02 else ""))
    return lines


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
