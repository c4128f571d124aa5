"""The interval rule's part that needs no profile, applied to every fit (issue 23).

A voltage parameter (SI unit V: E_rev, V_1/2) fitted to recordings over [v_lo, v_hi] is not a
measurement where

3. its standard error exceeds the span v_hi - v_lo of the recorded voltages (rule 3 of
   ``fitting.engine.quality``), or
4. it is a reversal potential (``e_rev``) beyond [v_lo, v_hi] by more than
   ``EXTRAPOLATION_SPANS`` = 2 spans: a straight line (or a gate) carried twice as far as the
   data reach is a guess about the I-V's shape, not a measurement (e.g. five points at
   -100..-80 mV give E_rev 26.5 ± 124.9 mV), or
5. it is a reversal potential (``e_rev``) whose model's conductances (the parameters in S) are
   none distinguishable from 0: |g| / SE(g) below the two-sided t_{n-k} quantile at 95% (the
   normal quantile where sigma was given). E_rev = -I(0) / g is then a ratio whose
   denominator the data do not tell from 0: Fieller's 95% interval for it is the whole line
   (exactly so for the ohmic line I = g V + I(0); e.g. five points at -100..-80 mV printed
   E_rev -48.5 ± 19.8 mV, within rules 3-4, from g with |g| / SE = 2.12 < t_3 = 3.18).

``fitting.fit`` returns ``refuse_extrapolated(result)``: such a fit gets NaN numbers,
``Status.EXTRAPOLATED`` (an E_rev) or ``Status.UNIDENTIFIABLE`` (a V_1/2), and its reason, in
the parameter's own words, in ``FitResult.notes`` ("E_rev is extrapolated 120 mV beyond the
recorded -100..-80 mV ...; record across the reversal"). A leaf: NumPy, ``status`` and
``tdist`` only.
"""

import dataclasses
from typing import Any

import numpy as np

__all__ = ["EXTRAPOLATION_SPANS", "FIELLER_LEVEL", "extrapolation_verdicts", "fieller_verdicts",
           "parameter_label", "refuse", "refuse_extrapolated", "span_verdict"]

EXTRAPOLATION_SPANS = 2.0  # an E_rev farther than this many recorded spans beyond them: refused
FIELLER_LEVEL = 0.95  # rule 5: the level at which a conductance must be told from 0


def parameter_label(name: str) -> str:
    """The printed name of a parameter: "V_1/2" for v_half, "E_rev" for e_rev."""
    return {"v_half": "V_1/2", "e_rev": "E_rev"}.get(name, name)


def _span_flags(name, value, se, lo, hi):
    """Rules 3-4, elementwise over recordings: (standard error above the span, E_rev beyond
    the recorded voltages [lo, hi] [V] by more than ``EXTRAPOLATION_SPANS`` spans)."""
    value, se, lo, hi = (np.asarray(x, float) for x in (value, se, lo, hi))
    with np.errstate(over="ignore", invalid="ignore"):  # no recorded voltage: lo, hi infinite
        span = hi - lo
    known = np.isfinite(span) & np.isfinite(value)
    beyond = np.maximum(np.maximum(lo - value, value - hi), 0.0)
    wide = known & np.isfinite(se) & (se > span)
    far = known & ~wide & (name == "e_rev") & (beyond > EXTRAPOLATION_SPANS * span)
    return wide, far


def span_verdict(name: str, value: float, se: float, v_range: Any) -> str:
    """Rules 3-4 for one voltage parameter of one recording: the reason it is not a
    measurement, or "".

    Args:
      name: the parameter (``e_rev``, ``v_half``, ...).
      value, se: its fitted value and standard error [V].
      v_range: (lowest, highest) recorded voltage [V].
    """
    lo, hi = (float(x) for x in v_range)
    wide, far = _span_flags(name, value, se, lo, hi)
    if not (wide or far):
        return ""
    span, label = hi - lo, parameter_label(name)
    where = f"the recorded {lo * 1e3:.4g}..{hi * 1e3:.4g} mV"
    advice = "; record across the reversal" if name == "e_rev" else ""
    beyond = max(lo - value, value - hi, 0.0)
    if wide:
        return (f"{label} not pinned down: its standard error {se * 1e3:.3g} mV exceeds the "
                f"recorded voltages' span {span * 1e3:.3g} mV ({where[4:]}" + (
                    f"; it lies {beyond * 1e3:.3g} mV beyond them" if beyond else "")
                + f"){advice}")
    return (f"{label} is extrapolated {beyond * 1e3:.3g} mV beyond {where} (more than "
            f"{EXTRAPOLATION_SPANS:g} times their span){advice}")


def refuse(res: Any, bad: Any, code: Any, reasons: Any) -> tuple:
    """A fit refused where ``bad``: status ``code``, NaN numbers (as any refused fit) and
    ``reasons`` as its ``notes`` there.

    Args:
      res: a ``FitResult``.
      bad: bool array of the batch shape.
      code: the ``Status`` (or an int array of the batch shape) of the refused recordings.
      reasons: object array of the batch shape: one line per refused recording.

    Returns:
      (the ``FitResult``, the function that blanks an array of the batch shape where ``bad``).
    """
    notes = np.full(res.batch_shape, "", object) if res.notes is None else np.array(res.notes)
    notes[bad] = np.asarray(reasons, object)[bad]

    def blank(x):
        x = np.array(x, dtype=np.result_type(np.asarray(x).dtype, np.float32), copy=True)
        x[bad] = np.nan
        return x

    res = dataclasses.replace(
        res, params={k: blank(x) for k, x in res.params.items()},
        stderr={k: blank(x) for k, x in res.stderr.items()},
        cov_scaled=blank(res.cov_scaled), loss=blank(res.loss), rmse=blank(res.rmse),
        aic=blank(res.aic), bic=blank(res.bic), lack_of_fit=blank(res.lack_of_fit),
        status=np.where(bad, np.asarray(code, int), res.status).astype(
            np.asarray(res.status).dtype), notes=notes)
    return res, blank


def extrapolation_verdicts(res: Any) -> np.ndarray:
    """Rules 3-5 (no profile needed) for each usable recording: one line naming the voltage
    parameter, its value's distance from or its standard error against the recorded voltages
    ``res.v_range``, or the conductance not told from 0, or "".

    Args:
      res: a ``FitResult``.

    Returns:
      object array of the batch shape.
    """
    return _extrapolation(res)[0]


def fieller_verdicts(res: Any) -> np.ndarray:
    """Rule 5 for each usable recording of a model with an ``e_rev``: "" or the line saying
    that no conductance (parameter in S) is distinguishable from 0, so no interval bounds
    E_rev.

    Args:
      res: a ``FitResult``.

    Returns:
      object array of the batch shape.
    """
    from fitting.engine.status import usable
    from fitting.engine.tdist import normal_quantile, t_quantile

    shape, model = res.batch_shape, res.model
    n = int(np.prod(shape, dtype=int))
    out = np.full(n, "", object)
    names = [k for k in model.param_names if np.ndim(res.params[k]) == len(shape)]
    scales = [k for k in names if model.spec_of(k).si_unit == "S"]
    if "e_rev" not in names or not scales:
        return out.reshape(shape)
    dof = np.asarray(res.n_points).ravel() - model.n_params
    crit = (np.full(n, normal_quantile(FIELLER_LEVEL)) if res.weighted
            else t_quantile(FIELLER_LEVEL, np.where(dof >= 1, dof, 0)))
    value = {k: np.asarray(res.params[k], float).ravel() for k in scales}
    se = {k: np.asarray(res.stderr[k], float).ravel() for k in scales}
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = {k: np.abs(value[k]) / se[k] for k in scales}
    told = np.zeros(n, bool)  # some conductance distinguishable from 0 (or no SE to judge)
    for k in scales:
        told |= ~(ratio[k] < crit)
    ok = np.asarray(usable(np.asarray(res.status))).ravel()
    quantile = "z" if res.weighted else "t_{dof}"
    shown = {k: (model.spec_of(k).factor, model.spec_of(k).unit) for k in scales}
    for j in np.flatnonzero(ok & ~told):
        which = "; ".join(
            f"{k} = {value[k][j] / f:.3g} ± {se[k][j] / f:.3g} {u}, |{k}|/SE {ratio[k][j]:.3g} "
            f"< {quantile.format(dof=dof[j])} {crit[j]:.3g}" for k, (f, u) in shown.items())
        out[j] = (f"E_rev not pinned down: the conductance is not distinguishable from 0 at "
                  f"{FIELLER_LEVEL:.0%} ({which}): no interval bounds E_rev (Fieller's is the "
                  "whole line); record across the reversal, or more points")
    return out.reshape(shape)


def _extrapolation(res):
    """(reasons, codes): ``extrapolation_verdicts`` and the status each refusal gets:
    ``EXTRAPOLATED`` for a reversal potential, ``UNIDENTIFIABLE`` for a gate's voltage."""
    from fitting.engine.status import Status, usable

    shape = res.batch_shape
    n = int(np.prod(shape, dtype=int))
    out = np.full(n, "", object)
    codes = np.full(n, int(Status.CONVERGED))
    ok = np.asarray(usable(np.asarray(res.status))).ravel()
    ranges = np.asarray(res.v_range, float).reshape(n, 2)
    for name in res.model.param_names:
        if np.ndim(res.params[name]) != len(shape) or res.model.spec_of(name).si_unit != "V":
            continue
        value = np.asarray(res.params[name], float).ravel()
        se = np.asarray(res.stderr[name], float).ravel()
        code = Status.EXTRAPOLATED if name == "e_rev" else Status.UNIDENTIFIABLE
        flags = _span_flags(name, value, se, ranges[:, 0], ranges[:, 1])
        # the test is vectorised; only the refused recordings' reasons are written out
        for k in np.flatnonzero(ok & (out == "") & (flags[0] | flags[1])):
            out[k], codes[k] = span_verdict(name, value[k], se[k], ranges[k]), int(code)
    fieller = fieller_verdicts(res).ravel()
    later = (out == "") & (fieller != "")
    out[later], codes[later] = fieller[later], int(Status.EXTRAPOLATED)
    return out.reshape(shape), codes.reshape(shape)


def refuse_extrapolated(res: Any) -> tuple:
    """The fit refused (NaN numbers) where ``extrapolation_verdicts`` gives a reason: with
    ``Status.EXTRAPOLATED`` for an E_rev, ``Status.UNIDENTIFIABLE`` for another voltage (a
    V_1/2). ``fitting.fit`` returns this.

    Returns:
      (``FitResult``, reasons: object array of the batch shape, "" where none).
    """
    reasons, codes = _extrapolation(res)
    bad = reasons != ""
    if np.any(bad):
        res = refuse(res, bad, np.where(bad, codes, 0), reasons)[0]
    return res, reasons
