"""Results into NWB: a table of one row per recording in a processing module (pynwb: extra ``nwb``).

``write_nwb`` writes the rows of ``fitting.engine.table.records`` (or the tidy rows of
``ionjax analyze``) as a ``DynamicTable`` named ``ionjax_results`` in the processing module
``icephys`` (the schema's name; created if the file has none) (numbers in SI, the unit in every column name and description, a missing number as
NaN; "/" in a name, which HDF5 forbids, spelled "_per_"), with the provenance (settings,
corrections of each source, software version) as JSON in the table's description. When the results come from one NWB
file, the new file is a copy of it (pynwb's export: acquisition, stimulus, icephys tables) with
the results added; otherwise it holds the results and names the source files, which NWB cannot
link (ABF, CSV).

``read_nwb_results`` reads the table back (a list of dicts), so the numbers round-trip.
"""

from __future__ import annotations

import datetime
import os
import uuid
import warnings

from fitting.outputs.atomic import atomic_path
from fitting.outputs.columns import strict_json, typed_columns

__all__ = ["MODULE", "TABLE", "read_nwb_results", "write_nwb"]

MODULE, TABLE = "icephys", "ionjax_results"  # the schema's module name for icephys
_DESCRIBED = {
    "label": "recording: file and recording name", "message": "the status in words",
    "status": "fitting.Status code (0 converged, 1 max steps: usable; others failed, numbers "
              "NaN), or its name (ionjax analyze)",
    "n_points": "number of I-V points fitted", "n_masked": "points left out (NaN, padding)",
    "loss": "weighted sum of squared residuals: RSS in A^2, or chi^2 (dimensionless) with "
            "sigma", "rmse_A": "root mean square residual [A]",
    "aicc": "corrected Akaike information criterion (compare between models only)",
    "aic": "Akaike information criterion", "bic": "Bayesian information criterion",
    "source": "the recording's file", "corrections": "corrections applied to the recording "
    "(JSON: series resistance, liquid junction potential, leak)",
    "file": "the recording's file", "item": "sweep number, or the summary row (mean)",
    "quantity": "what the row measures", "unit": "SI unit of value, stderr, lower, upper",
    "value": "the measured value [SI, see unit]", "stderr": "its standard error",
    "lower": "lower end of its 95% profile-likelihood interval", "upper": "upper end of it",
    "e_rev_fit_V": "where the fitted current crosses zero [V]",
    "e_rev_fit_stderr_V": "standard error of e_rev_fit (delta method) [V]",
    "e_rev_measured_V": "where the data themselves cross zero (interpolated) [V]",
    "e_rev_measured_stderr_V": "standard error of e_rev_measured [V]",
}
_UNITS = ("V", "A", "S", "m^3/s", "m/s", "Ohm", "F", "s", "1")
_KINDS = {"stderr": "standard error of ", "lower": "lower end of the 95% profile-likelihood "
          "interval of ", "upper": "upper end of the 95% profile-likelihood interval of "}


def _describe(key):
    """A column's description: its meaning and unit (parameter columns ``<name>[_stderr|_lower
    |_upper]_<SI unit>``)."""
    if key in _DESCRIBED:
        return _DESCRIBED[key]
    name, _, unit = key.rpartition("_")
    if unit not in _UNITS or not name:
        return f"{key} (dimensionless)"
    base, _, kind = name.rpartition("_")
    if kind in _KINDS and base:
        return f"{_KINDS[kind]}{base} [{unit}]"
    return f"fitted {name} [{unit}]"


def _table(rows, provenance):
    from hdmf.common import DynamicTable, VectorData

    columns = [VectorData(name=key.replace("/", "_per_"), description=_describe(key), data=data)
               for key, data in typed_columns(rows).items()]
    return DynamicTable(name=TABLE, description="ionjax fit results, one row per recording; "
                        "provenance: " + strict_json(provenance or {}), columns=columns)


def write_nwb(path, rows: list, *, files=(), provenance: dict | None = None,
              description: str = "ionjax results", subject=None) -> None:
    """Write ``rows`` (dicts of one recording each) as an NWB file at ``path``, atomically.

    Args:
      path: the .nwb file to write.
      rows: list of dicts (column -> value), all with the same keys.
      files: the source files; one NWB source is copied into the result.
      provenance: JSON-able dict of what produced the results.
      description: the session description of a new file.
      subject: a ``pynwb.file.Subject`` for a new file (the source's is kept in a copy): the
        results cannot know it, and without one nwbinspector reports the subject missing.
    """
    try:
        from pynwb import NWBHDF5IO, NWBFile
    except ImportError as exc:
        raise ImportError("writing NWB files needs pynwb: pip install 'ionjax[nwb]'") from exc
    from fitting.recordings.formats.registry import format_of

    files = [os.fspath(f) for f in files]
    source = files[0] if len(files) == 1 and os.path.isfile(files[0]) and \
        format_of(files[0]) == "nwb" else None
    table = _table(rows, provenance)
    with warnings.catch_warnings(), atomic_path(path) as tmp:
        warnings.simplefilter("ignore")
        if source is not None:
            with NWBHDF5IO(source, "r", load_namespaces=True) as src:
                nwb = src.read()
                _add(nwb, table)
                with NWBHDF5IO(tmp, "w") as out:
                    out.export(src_io=src, nwbfile=nwb)
            return
        nwb = NWBFile(session_description=description, identifier=str(uuid.uuid4()),
                      session_start_time=datetime.datetime.now(datetime.timezone.utc),
                      source_script="ionjax", source_script_file_name="ionjax",
                      notes="sources (not linkable from NWB): " + ", ".join(files),
                      subject=subject)
        _add(nwb, table)
        with NWBHDF5IO(tmp, "w") as out:
            out.write(nwb)


def _add(nwb, table):
    module = nwb.processing.get(MODULE) or nwb.create_processing_module(
        name=MODULE, description="intracellular electrophysiology analyses")
    if TABLE in module.data_interfaces:
        raise ValueError(f"the source NWB file already has ionjax results ({MODULE}/{TABLE}): "
                         "write the new ones from its own source")
    module.add(table)


def read_nwb_results(path) -> list:
    """The results table of an NWB file written by ``write_nwb``, as a list of dicts."""
    from pynwb import NWBHDF5IO

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(os.fspath(path), "r", load_namespaces=True) as io:
            table = io.read().processing[MODULE][TABLE]
            names = list(table.colnames)
            data = {n: table[n].data[:] for n in names}
    return [{n.replace("_per_", "/"): (data[n][k].decode() if isinstance(data[n][k], bytes) else data[n][k].item()
                 if hasattr(data[n][k], "item") else data[n][k]) for n in names}
            for k in range(len(data[names[0]]) if names else 0)]
