"""fitting.recordings.formats: one module per file format, behind a registry.

    registry      the formats by name (one ``register`` line each, the module named by string
                  so that nothing is imported until a file is read); ``lookup`` / ``format_of``
                  ask each format's ``sniff(head, name)``; refused formats with their route
    abf           Axon ABF 1/2 (pyabf): the Recording (ADC and DAC channels listed), the step I-V
    abf_command   is the epoch table the command that was applied? (user lists pyabf ignores)
    abf_userlist  the Clampex user-list and waveform-source fields of an ABF header
    nwb           NWB icephys (pynwb): recordings per electrode and protocol, their step I-Vs
    nwb_series    an NWB series' values and sampling rate, checked
    neo           formats read through neo (WinWCP): recorded current and command
    table         CSV / TSV I-V tables (a format of kind "table": read straight into IVData)

A format module provides ``sniff(head: bytes, name: str) -> bool`` and
``read(path, options: ReadOptions)``: a ``Recording`` for a format of sweeps (and optionally
``iv(path, **options)``, its own step I-V), an ``IVData`` for a table.
"""

__all__: list[str] = []  # a namespace of modules: import them by name
