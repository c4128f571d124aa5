"""The sweeps of a voltage-clamp ABF for the protocol analyses, with their commands checked."""

from fitting.io._abf import _channel, _read_sweeps, load_abf
from fitting.io._command import protocol_checks, verify, waveform
from fitting.io.units import to_si, unit_info


def checked_sweeps(path, channel, current_unit):
    """Open an ABF and read every sweep, as ``iv_from_abf`` does: a command from a stimulus file
    or a user list the recording cannot confirm is refused; an applied user list rebuilds the
    command waveform from the epoch table.

    Returns:
      dict: ``abf``, ``channel`` (checked index), ``current`` and ``command`` (per-sweep arrays
      [A], [V]), ``epochs`` (per-sweep (p1s, p2s, levels [V], types)), ``units``,
      ``user_lists`` and ``command_check``.
    """
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
    return dict(abf=abf, channel=channel, current=current, command=command, epochs=epochs,
                units=units, user_lists=lists, command_check=check)
