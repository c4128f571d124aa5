"""The sweeps of a voltage-clamp recording for the protocol analyses, with their commands
checked: an ABF's (epoch tables from the header) or an NWB file's (epoch tables read off the
stimulus series), in one form."""

import os

from fitting.recordings.errors import InputError
from fitting.recordings.formats.registry import format_of


def checked_sweeps(path, channel, current_unit):
    """Read every sweep of a recording, as ``iv_from_abf`` / ``iv_from_nwb`` do. For an ABF, a
    command from a stimulus file or a user list the recording cannot confirm is refused; an
    applied user list rebuilds the command waveform from the epoch table.

    Args:
      path: an ABF or NWB file.
      channel: the current's ADC channel (ABF) or the recording's index (NWB: electrodes and
        protocols in the file's order).
      current_unit: a unit label overriding the file's.

    Returns:
      dict: ``current`` and ``command`` (per-sweep arrays [A], [V]), ``epochs`` (per-sweep
      (p1s, p2s, levels [V], types)), ``rate`` [Hz], ``format``, ``channel``, ``units``,
      ``user_lists`` and ``command_check``.
    """
    kind = format_of(path)
    if kind == "nwb":
        from fitting.recordings.formats.nwb import nwb_sweeps

        return nwb_sweeps(path, channel, current_unit)
    if kind == "neo":
        from fitting.recordings.formats.registry import NEO_FORMATS
        from fitting.recordings.formats.neo import neo_sweeps

        return neo_sweeps(path, NEO_FORMATS[os.path.splitext(os.fspath(path))[1].lower()],
                          channel, current_unit)
    if kind != "abf":
        raise InputError(
            f"a protocol analysis reads recordings of sweeps (ABF, NWB, WinWCP), not {kind} files",
            path=os.fspath(path))
    return _abf_sweeps(path, channel, current_unit)


def _abf_sweeps(path, channel, current_unit):
    from fitting.recordings.formats.abf import _channel, _read_sweeps, load_abf
    from fitting.recordings.formats.abf_command import protocol_checks, verify, waveform
    from fitting.recordings.units import to_si, unit_info

    abf = load_abf(path)
    channel = _channel(path, abf, channel, "channel")
    lists, slots, probe = protocol_checks(path, abf, channel, None)
    current, command, recorded, epochs, units = _read_sweeps(path, abf, channel, probe,
                                                             current_unit)
    scale = to_si(1.0, unit_info(units["command"])[2])
    epochs, check = verify(path, abf, channel, lists, slots, epochs, recorded, probe, scale,
                           given=False)
    if check and "applied" in check:
        command = [waveform(table, len(c)) for table, c in zip(epochs, command)]
    return dict(current=current, command=command, epochs=epochs, rate=float(abf.dataRate),
                format="abf", channel=channel, units=units, user_lists=lists,
                command_check=check)
