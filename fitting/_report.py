"""Text reports of fit results in the units physiologists read (nS, mV, pA)."""

import numpy as np

_PA = 1e-12


def _unit_of(model, name):
    for spec in model.specs:
        if spec.name == name:
            return spec.factor, spec.unit
    return 1.0, ""  # derived quantities (ratios) are dimensionless


def _ordered(res):
    """Free parameters in the model's order, then derived quantities."""
    names = list(res.model.param_names)
    return names + sorted(set(res.params) - set(names))


def _format(value, factor):
    value = value / factor
    return f"{value:.6g}" if np.isfinite(value) else "nan"


def _single(res):
    model = res.model
    lines = [f"[[Model]] {model.name}",
             f"[[Fit]] status {int(res.status)}: {res.message}; {int(res.n_steps)} steps; "
             f"{int(res.n_points)} points ({int(res.n_masked)} masked)",
             f"    rmse = {float(res.rmse) / _PA:.6g} pA   loss = {float(res.loss):.6g}   "
             f"AIC = {float(res.aic):.4f}   BIC = {float(res.bic):.4f}",
             "[[Parameters]]",
             f"    {'name':<12} {'value':>14} {'stderr':>14} {'rel. err':>9}  unit"]
    for name in _ordered(res):
        value = res.params[name]
        factor, unit = _unit_of(model, name)
        values = np.atleast_1d(np.asarray(value, float))
        errors = np.atleast_1d(np.asarray(res.stderr[name], float))
        for j, (x, e) in enumerate(zip(values, errors)):
            label = name if values.size == 1 else f"{name}[{j}]"
            rel = f"{100 * abs(e / x):.3g}%" if x != 0 and np.isfinite(e) else "-"
            lines.append(f"    {label:<12} {_format(x, factor):>14} {_format(e, factor):>14} "
                         f"{rel:>9}  {unit}")
    return "\n".join(lines)


def _batch(res, max_rows):
    model = res.model
    status = np.asarray(res.status).ravel()
    n = status.size
    lines = [f"[[Model]] {model.name}",
             f"[[Batch]] {n} recordings, {int(np.sum(status == 0))} converged "
             f"({100 * np.mean(status == 0):.1f}%)"]
    for code in np.unique(status[status != 0]):
        lines.append(f"    status {code}: {int(np.sum(status == code))} x {res.message.ravel()[status == code][0]}")
    lines.append("[[Parameters]] median [25%, 75%] over converged recordings")
    for name in _ordered(res):
        value = res.params[name]
        factor, unit = _unit_of(model, name)
        values = np.asarray(value, float).reshape(n, -1)[status == 0]
        for j in range(values.shape[1]):
            label = name if values.shape[1] == 1 else f"{name}[{j}]"
            col = values[:, j] / factor
            if col.size:
                q = np.nanpercentile(col, [50, 25, 75])
                lines.append(f"    {label:<12} {q[0]:.6g} [{q[1]:.6g}, {q[2]:.6g}] {unit}")
    if n <= max_rows:
        for k in range(n):
            lines.append(f"--- recording {k} ---")
            lines.append(_single(res[np.unravel_index(k, res.batch_shape)]))
    return "\n".join(lines)


def summary(res, max_rows=10):
    if res.batch_shape == ():
        return _single(res)
    return _batch(res, max_rows)
