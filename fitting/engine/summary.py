"""``FitResult.summary()``: the text report of a fit in the units physiologists read (nS, mV,
pA), like lmfit's fit report. Units come from each parameter's ``ParamSpec``."""

from typing import Any

import numpy as np

from fitting.engine.inputs import check_iv
from fitting.engine.status import Status
from ionjax.units import pA

__all__ = ["display_unit", "extrapolation_warning", "ordered_names", "summary"]


def display_unit(model: Any, name: str) -> str:
    """(factor, display unit) of a parameter or derived quantity (dimensionless: (1, ""))."""
    spec = model.spec_of(name)
    return spec.factor, spec.unit


# a two-electrode clamp's currents and conductances: 10^4 pA or nS and beyond print in nA, uS
_LARGER = {"pA": ("nA", 1e3), "nS": ("uS", 1e3)}


def _readable(factor: float, unit: str, value: Any) -> tuple:
    """(factor, unit) of a display unit, one step larger (``_LARGER``) where |value| / factor
    reaches 10^4 (20 uS, not 20000 nS); a value that does not exist keeps the unit."""
    magnitude = np.nanmax(np.abs(np.atleast_1d(np.asarray(value, float)))) if np.any(
        np.isfinite(value)) else np.nan
    if unit in _LARGER and magnitude / factor >= 1e4:
        larger, step = _LARGER[unit]
        return factor * step, larger
    return factor, unit


def ordered_names(res: Any) -> list[str]:
    """Free parameters in the model's order, then derived quantities."""
    names = list(res.model.param_names)
    return names + sorted(set(res.params) - set(names))


def extrapolation_warning(name: str, value: float, v_range: Any) -> str:
    """A warning where a fitted voltage (an E_rev, a V_1/2) lies beyond the recorded voltages,
    with the distance, e.g. "E_rev -58.7 mV lies 18.7 mV below the lowest recorded voltage
    -40 mV: extrapolated"; "" inside the range or for a value that does not exist.

    Args:
      name: the quantity as printed ("E_rev", "V_1/2").
      value: its fitted value [V].
      v_range: (lowest, highest) recorded voltage [V].
    """
    lo, hi = (float(x) for x in np.asarray(v_range, float).ravel()[:2])
    value = float(value)
    if not np.isfinite(value) or lo <= value <= hi:
        return ""
    side, end, edge = (("below", "lowest", lo) if value < lo else ("above", "highest", hi))
    return (f"{name} {value * 1e3:.1f} mV lies {abs(value - edge) * 1e3:.1f} mV {side} the "
            f"{end} recorded voltage {edge * 1e3:.0f} mV: extrapolated")


def _warnings(res, more=""):
    """The warnings of one recording: extrapolated fitted voltages (e_rev, v_half), lack of fit
    (``fitting.engine.quality``) and ``more`` (the reversal check of the data)."""
    from fitting.engine.lack_of_fit import lack_of_fit_warning

    out = []
    for name, label in (("e_rev", "E_rev"), ("v_half", "V_1/2")):
        if name in res.params and np.ndim(res.params[name]) == 0:
            text = extrapolation_warning(label, res.params[name], res.v_range)
            out += [f"    {text}"] if text else []
    out += [f"    {text}" for text in (lack_of_fit_warning(float(res.lack_of_fit)), more)
            if text]
    return ["[[Warnings]]"] + out if out else []


def _format(value, factor, spec=".6g"):
    """value / factor as text; "-" for a number that does not exist (never "nan")."""
    value = value / factor
    return format(value, spec) if np.isfinite(value) else "-"


def _loss_text(res, factor, unit):
    """The loss with its unit: RSS [``unit``^2, the rmse's] without sigma, chi^2
    (dimensionless) with it."""
    rss = float(res.rmse) ** 2 * float(res.n_points)
    if not np.isfinite(float(res.loss)):
        return "loss = -"
    if np.isclose(float(res.loss), rss, rtol=1e-3, atol=0):
        return f"RSS = {_format(float(res.loss), factor * factor)} {unit}^2"
    return f"chi^2 = {_format(float(res.loss), 1)}"


def _single(res, more=""):
    model = res.model
    why = str(res.notes) if res.notes is not None and str(res.notes) else res.message
    amps, amp_unit = _readable(pA, "pA", float(res.rmse))
    lines = [f"[[Model]] {model.name}",
             f"[[Fit]] status {int(res.status)}: {why}; {int(res.n_steps)} steps; "
             f"{int(res.n_points)} points ({int(res.n_masked)} masked)",
             f"    rmse = {_format(float(res.rmse), amps)} {amp_unit}   "
             f"{_loss_text(res, amps, amp_unit)}"
             f"   AICc = {_format(float(res.aicc), 1, '.4f')}"
             f"   AIC = {_format(float(res.aic), 1, '.4f')}"
             f"   BIC = {_format(float(res.bic), 1, '.4f')} (from the loss in SI)",
             "[[Parameters]]",
             f"    {'name':<12} {'value':>14} {'stderr':>14} {'rel. err':>9}  unit"]
    for name in ordered_names(res):
        factor, unit = display_unit(model, name)
        values = np.atleast_1d(np.asarray(res.params[name], float))
        errors = np.atleast_1d(np.asarray(res.stderr[name], float))
        factor, unit = _readable(factor, unit, values)
        labels = model.element_labels(name, values.size)
        for j in model.reported_elements(name, values.size):
            label, x, e = labels[j], values[j], errors[j]
            # a voltage's relative error depends on where 0 mV lies: none for it
            volt = model.spec_of(name).si_unit == "V"
            rel = f"{100 * abs(e / x):.3g}%" if x != 0 and np.isfinite(e) and not volt else "-"
            lines.append(f"    {label:<12} {_format(x, factor):>14} {_format(e, factor):>14} "
                         f"{rel:>9}  {unit}")
    return "\n".join(lines + _warnings(res, more))


def _batch(res, max_rows, names=None, more=None):
    model = res.model
    status = np.asarray(res.status).ravel()
    converged = status == Status.CONVERGED
    n = status.size
    lines = [f"[[Model]] {model.name}",
             f"[[Batch]] {n} recordings, {int(np.sum(converged))} converged "
             f"({100 * np.mean(converged):.1f}%)"]
    for code in np.unique(status[~converged]):
        lines.append(f"    status {code}: {int(np.sum(status == code))} x "
                     f"{Status(int(code)).message}")
    lines.append("[[Parameters]] median [25%, 75%] over converged recordings" if
                 np.any(converged) else "[[Parameters]] none: no recording converged")
    for name in ordered_names(res):
        factor, unit = display_unit(model, name)
        values = np.asarray(res.params[name], float).reshape(n, -1)[converged]
        if values.size:
            factor, unit = _readable(factor, unit, np.nanmedian(values, axis=0))
        labels = model.element_labels(name, values.shape[1])
        for j in model.reported_elements(name, values.shape[1]):
            label, col = labels[j], values[:, j] / factor
            if col.size:
                q = np.nanpercentile(col, [50, 25, 75])
                lines.append(f"    {label:<12} {q[0]:.6g} [{q[1]:.6g}, {q[2]:.6g}] {unit}")
    if n <= max_rows:
        for k in range(n):
            name = f": {names[k]}" if names is not None and k < len(names) else ""
            lines.append(f"--- recording {k}{name} ---")
            lines.append(_single(res[np.unravel_index(k, res.batch_shape)], more.ravel()[k]))
        return "\n".join(lines)
    from fitting.engine.lack_of_fit import LACK_OF_FIT_ALPHA

    lack = np.asarray(res.lack_of_fit, float).ravel()
    flagged = np.sum(converged & (lack < LACK_OF_FIT_ALPHA))
    lines += [f"    lack of fit (runs test p < {LACK_OF_FIT_ALPHA}) in {flagged} converged "
              "recordings: the model's shape does not follow their data"] if flagged else []
    lines += [f"    recording {k}: {text}" for k, text in enumerate(more.ravel()) if text]
    return "\n".join(lines)


def _checked_data(res, v, i):
    """``v``, ``i`` after ``fit``'s own checks (SI units, matching shapes), and of the batch
    shape of ``res``: one-line ValueErrors."""
    v, i = check_iv(v, i, "FitResult.summary(v=, i=)")
    if i.shape[:-1] != res.batch_shape:
        raise ValueError(f"summary(v=, i=): i has shape {i.shape}, recordings x points "
                         f"{i.shape[:-1]} x {i.shape[-1]}, but the fit holds recordings of batch "
                         f"shape {res.batch_shape}: pass the data given to fitting.fit")
    finite = np.sum(np.isfinite(v) & np.isfinite(i), axis=-1)  # v broadcasts against i
    short = np.flatnonzero(np.ravel(finite < np.asarray(res.n_points)))
    if short.size:
        k = int(short[0])
        raise ValueError(f"summary(v=, i=): recording {k} has {int(np.ravel(finite)[k])} finite "
                         f"points, but its fit used {int(np.ravel(res.n_points)[k])}: pass the "
                         "data given to fitting.fit, not a part of it")
    return v, i


def summary(res: Any, max_rows: int = 10, labels: Any | None = None, v: Any | None = None,
            i: Any | None = None) -> str:
    """The report of one recording, or of a batch (counts by status, medians and quartiles of
    the converged recordings, and each recording, named by ``labels`` if given, when there are
    at most ``max_rows``). With the fitted data ``v``, ``i`` [V, A] it also warns where the
    fitted E_rev and the data's own zero crossing disagree (``inference.reversal_warnings``,
    the check of ``ionjax fit``)."""
    from fitting.engine.inference import reversal_warnings

    if (v is None) != (i is None):
        raise ValueError("summary(v=, i=) takes both the fitted voltages [V] and currents [A], "
                         f"or neither; got only {'v' if i is None else 'i'}")
    if v is not None:
        v, i = _checked_data(res, v, i)
    if res.batch_shape == () or int(np.prod(res.batch_shape)) > 0:
        more = (np.full(res.batch_shape, "", object) if v is None or i is None
                else reversal_warnings(res, v, i)[1])
    if res.batch_shape == ():
        return _single(res, str(more))
    if int(np.prod(res.batch_shape)) == 0:
        return f"[[Model]] {res.model.name}\n[[Batch]] 0 recordings"
    return _batch(res, max_rows, labels, more)
