"""The results file of ``ionjax fit``: one row per recording with its source file and
corrections, and, with ``--intervals``, the profile-likelihood interval of every parameter."""

import json

import numpy as np

import fitting
from fitting import io
from fitting.outputs.results import json_safe


def row_text(data):
    """Per recording of ``data`` (an IVData, one file or several stacked): ``source`` (its
    file) and ``corrections`` (the corrections applied to it, as JSON)."""
    n = len(data.labels)
    sources = data.metadata.get("sources")
    counts = data.metadata.get("rows_per_source")
    if sources is None or counts is None:
        sources, counts = [data.metadata], [n]
    source, corrections = [], []
    for meta, count in zip(sources, counts):
        source += [str(meta.get("source", ""))] * count
        corrections += [json.dumps(json_safe(meta.get("corrections", [])))] * count
    return {"source": source[:n], "corrections": corrections[:n]}


def write_fit_results(args, data, res, v, i, reversal, extra, provenance):
    """Write ``args.out`` (JSON, CSV, Parquet or NWB) for ``ionjax fit``."""
    intervals = None
    if args.intervals:
        intervals = fitting.profile_intervals(res, v, i, mask=np.isfinite(v))
    io.write_results(args.out, res, data.labels, reversal, files=args.files,
                     provenance=provenance, extra=extra, intervals=intervals,
                     text=row_text(data))
