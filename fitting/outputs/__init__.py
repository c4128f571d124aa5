"""Tidy tables and their files, written atomically.

    table    the tidy rows of ``ionjax analyze`` (``make_row``, ``fit_rows``) and their writer
    results  fit results, one row per recording: JSON, CSV, Parquet or NWB
    columns  what every format shares: JSON-safe values, typed columns, Parquet, provenance
    nwb      results into an NWB file (a copy of an NWB source) and back
    iv_table I-V tables as CSV (``ionjax iv --out``), read back by ``fitting.recordings``
    atomic   atomic writes (a leaf: imports nothing of ``fitting``; any layer may use it)

Used by ``fitting.cli`` and ``fitting.protocols``; imports neither.
"""

__all__: list[str] = []  # a namespace of modules: import them by name
