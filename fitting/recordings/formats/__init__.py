"""fitting.recordings.formats: one module per file format, behind a registry.

    registry      the formats by name (one ``register`` line each, the module named by string
                  so that nothing is imported until a file is read); ``lookup`` / ``format_of``
                  ask each format's ``sniff(head, name)``; refused formats with their route
    abf           Axon ABF 1/2 (pyabf): the Recording (ADC and DAC channels listed), the step I-V
    abf_command   is the epoch table the command that was applied? (user lists pyabf ignores)
    abf_dac       which DAC commands the current's voltage (two-electrode layouts pair by what
                  the protocol drives, not by index)
    abf_header    an ABF2 header's section map checked against the file's size, before pyabf
    abf_sweeps    an ABF's sweeps read once (pyabf's values; each channel read alone, the epoch
                  tables built once per file instead of once per sweep)
    abf_userlist  the Clampex user-list and waveform-source fields of an ABF header
    nwb           NWB icephys (pynwb): recordings per electrode and protocol, their step I-Vs
    nwb_series    an NWB series' values and sampling rate, checked
    neo           formats read through neo (WinWCP): recorded current and command
    table         CSV / TSV I-V tables (a format of kind "table": read straight into IVData)

Writing a format (one module here plus one ``register`` line in ``registry.py``):

* ``sniff(head: bytes, name: str) -> bool``: does this file (its first bytes, its name) belong
  to the format? Every registered module is imported to ask it, so import the reading library
  (pyabf, pynwb, neo, ...) inside ``read``, never at the top of the module.
* ``read(path, options: ReadOptions)``: for ``kind="sweeps"``, a
  ``fitting.recordings.model.Recording``: its ``Sweep`` s (current [A], command [V] sampled at
  ``Recording.rate``, and the epoch table: ``fitting.recordings.epochs.epoch_tables`` reads
  one off a stored command), the ``Channel`` s it chose and which gives the voltage
  (``voltage_source``). Honour every field of ``ReadOptions`` (``channel``, the unit
  overrides, ``command_channel``) or refuse it with an ``InputError`` naming the file. For
  ``kind="table"``, an ``IVData``.
* optional ``iv(path, **options)``: the format's own step I-V with the keyword options of
  ``fitting.read`` (``window``, ``statistic``, ``epoch``, the corrections); without it
  ``fitting.recordings.stepiv.recording_iv`` makes the step I-V from the ``Recording``.

``tests/test_recordings.py`` registers a toy format this way from a temporary module.
"""

__all__: list[str] = []  # a namespace of modules: import them by name
