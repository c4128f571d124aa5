"""fitting.recordings: what was measured. Files in, typed recordings and I-V data out, in SI.

Modules, each with one job:

    model        Recording / Sweep / Epoch / Channel (typed, frozen) and ReadOptions
    formats/     one module per file format behind a registry (sniff + read): see its docstring
    read         ``read`` (= ``fitting.read``: one file's step I-V or table, corrected) and
                 ``read_files`` (several, stacked)
    parallel     files read side by side in a pool of processes, in order (``read_files``)
    sweeps       ``read_recording``: the Recording of any file of sweeps (what protocols read)
    stepiv       the step I-V of a Recording: test step, window statistic, plausibility
    epochs       epoch tables read off a stored command (NWB, neo)
    window       analysis windows within an epoch ("60%", "2.5ms") as sample ranges
    corrections  series resistance, liquid junction potential, leak (physical order)
    data         IVData (v [V], i [A] of shape (..., n), labels, metadata), stack, padding
    units        unit labels and human-entered quantities against ionjax.units
    plausibility are a recording's currents plausible in their unit? label + configuration
                 (whole-cell 1 uA, two-electrode 100 uA); an override the data must confirm
    errors       InputError (a ValueError located as file:line:column)
    traces       ``read_beattie2018``: the whole traces of Beattie et al. (2018) (.mat layout)
    trace_files  ``read_traces``: whole traces from CSV tables, recordings' sweeps and that folder

Imports run one way: recordings imports ionjax, numpy and the optional readers (pyabf, pynwb,
neo, imported when a file of theirs is read), never the engine, protocols or cli. Names below
load on first use.
"""

from ionjax._src.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "model": ["Channel", "Epoch", "ReadOptions", "Recording", "Sweep"],
    "read": ["read_files"],  # ``read`` is the module's name here: use fitting.read
    "sweeps": ["read_recording"],
    "data": ["IVData"],
    "errors": ["InputError"],
    "traces": ["read_beattie2018"],
    "trace_files": ["read_traces", "read_trace_table"],
    "formats.registry": ["format_of"],
}
__getattr__, __dir__, __all__ = _lazy_exports(__name__, _EXPORTS)
