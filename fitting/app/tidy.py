"""The tidy table of ``ionjax analyze``: one row per file x item x quantity, CSV or JSON."""

import csv
import json
import math

from fitting.io.atomic import atomic_path

FIELDS = ("file", "item", "quantity", "unit", "value", "stderr", "lower", "upper", "status")


def make_row(path, item, quantity, unit, value, stderr=math.nan, interval=None, status=0):
    from fitting.engine.status import Status

    lower, upper = (math.nan, math.nan) if interval is None else interval
    return dict(file=str(path), item=item, quantity=quantity, unit=unit,
                value=float(value), stderr=float(stderr), lower=float(lower),
                upper=float(upper), status=Status(int(status)).name if status != "" else "")


def fit_rows(path, item, res, index, intervals, extra=()):
    """Rows of the free parameters of recording ``index`` of a FitResult."""
    rows = []
    for name in res.model.param_names:
        spec = res.model.spec_of(name)
        iv = intervals.get(name)
        interval = None if iv is None else (iv.lower[index], iv.upper[index])
        rows.append(make_row(path, item, name, spec.si_unit, res.params[name][index],
                         res.stderr[name][index], interval, res.status[index]))
    return rows + [make_row(path, item, q, u, x, status=res.status[index]) for q, u, x in extra]


def write_table(out, rows):
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
             for r in rows]
    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="") as handle:
            if out.lower().endswith(".csv"):
                writer = csv.DictWriter(handle, fieldnames=FIELDS)
                writer.writeheader()
                writer.writerows([{k: ("" if v is None else v) for k, v in r.items()}
                                  for r in clean])
            else:
                json.dump(dict(rows=clean), handle, indent=1)
