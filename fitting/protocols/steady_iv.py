"""The step I-V: one point per step (a statistic of the current over a window of each sweep),
read from recordings or I-V tables with the corrections of ``RecordingOptions``. What the
``fit`` and ``iv`` commands read, and the data of the activation protocol."""

from __future__ import annotations

import warnings
from typing import Callable, Sequence

from fitting.protocols.base import (
    OptionError,
    RecordingOptions,
    parse_leak,
    parse_window,
)

__all__ = ["is_table", "ljp_of", "notes", "read_steps", "solution_ljp", "source_notes"]


def solution_ljp(pipette: str, bath: str, temperature: float) -> float:
    """Henderson LJP [V] of two solutions given as text ('K=140,gluconate=140'), by
    ``fitting.recordings.corrections.junction_potential``; a warning of ionjax (e.g. a solution
    that is not electroneutral) is an error here, never a number."""
    from fitting.recordings.corrections import junction_potential
    from fitting.recordings.errors import InputError
    from fitting.recordings.units import parse_solution

    solutions = (parse_solution(pipette), parse_solution(bath))
    for option, text, solution in (("--pipette", pipette, solutions[0]),
                                   ("--bath", bath, solutions[1])):
        if not any(solution.values()):  # ions at 0 mM are absent; one must be present
            raise OptionError(f"{option} {text!r} holds no ion (every concentration is 0)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            value, _ = junction_potential(solutions, temperature=temperature)
        except UserWarning as exc:
            raise OptionError(f"liquid junction potential: {exc}") from None
        except InputError as exc:
            if isinstance(exc.__cause__, ValueError):  # ionjax's own message, as it was
                raise exc.__cause__ from None
            raise
    return value


def ljp_of(options: RecordingOptions) -> float | None:
    """LJP [V] from ``ljp`` or from the ``pipette``/``bath`` solutions, or None."""
    from fitting.recordings.corrections import DEFAULT_TEMPERATURE

    if options.ljp is not None and (options.pipette or options.bath):
        raise OptionError("give either --ljp or --pipette/--bath, not both")
    if options.ljp is not None:
        return options.ljp
    if bool(options.pipette) != bool(options.bath):
        raise OptionError("--pipette and --bath go together")
    if options.pipette:
        t = options.temperature if options.temperature is not None else DEFAULT_TEMPERATURE
        return solution_ljp(options.pipette, options.bath, t)
    return None


def is_table(path) -> bool:
    """Whether ``path`` is read as an I-V table (a refused format is left to the reader)."""
    from fitting.recordings.errors import InputError
    from fitting.recordings.formats.registry import format_of

    try:
        return format_of(path) == "table"
    except InputError:
        return False


def read_steps(paths: Sequence, options: RecordingOptions,
               progress: Callable | None = None):
    """The files as one IVData (R, n_max) [V, A], with the requested corrections (series
    resistance acts on the total measured current, so it is corrected before the leak);
    files that cannot be read are listed in ``metadata["skipped"]``."""
    from fitting.recordings.read import read_files

    tables = [p for p in paths if is_table(p)]
    if options.leak == "ramp" and tables:
        raise OptionError(f"{tables[0]}: --leak ramp needs a recording of sweeps (ABF, NWB, "
                          "...); use --leak range:LO,HI")
    abf_only = [f"--{name.replace('_', '-')}" for name in
                ("window", "channel", "statistic", "epoch", "command_channel", "voltage_channel")
                if getattr(options, name, None) is not None]
    if abf_only and tables:
        raise OptionError(f"{tables[0]}: {', '.join(abf_only)} appl"
                          f"{'ies' if len(abf_only) == 1 else 'y'} to recordings of sweeps "
                          "(ABF, NWB, ...), not to I-V tables")
    if options.command_channel is not None and options.voltage_channel is not None:
        raise OptionError("give --command-channel (an ADC recording the command) or "
                          "--voltage-channel (an ADC recording the membrane potential), not both")
    window = parse_window(options.window, ("60%", "95%"))
    if len(window) != 2:
        raise OptionError(f"--window takes two values 'start,stop'; got {options.window!r}")
    ljp = ljp_of(options)
    data = read_files(paths, progress=progress, skip_bad=True, leak=parse_leak(options.leak),
                      ljp=ljp, series_resistance=options.series_resistance,
                      compensation=options.compensation, channel=options.channel,
                      window=window, statistic=options.statistic or "mean",
                      epoch=options.epoch, command_channel=options.command_channel,
                      voltage_channel=options.voltage_channel,
                      voltage_unit=options.voltage_unit, current_unit=options.current_unit)
    if options.pipette:  # an LJP from solutions states the temperature it was computed at
        from fitting.recordings.corrections import DEFAULT_TEMPERATURE

        t = DEFAULT_TEMPERATURE if options.temperature is None else options.temperature
        given = "" if options.temperature is not None else " (the default: give --temperature)"
        note = f"LJP of --pipette/--bath = {ljp * 1e3:.2f} mV at {t - 273.15:.4g} degC{given}"
        data = data.replace(metadata={**data.metadata, "notes": [note]})
    return data


def source_notes(source: dict, channel_given: bool) -> list:
    """The notes of one file's reading (its metadata): the command DAC when not the current's
    own, the clamp error of a recorded membrane potential, voltage and current channels not
    read, recordings left out."""
    lines = []
    if source.get("command_dac_choice"):
        lines.append(f"current on ADC {source['channel']}; {source['command_dac_choice']}")
    clamp = source.get("clamp_error")
    if clamp:
        lines.append(f"voltage from the recorded membrane potential (ADC "
                     f"{source['voltage_channel']}), mean over the window; it differs from the "
                     f"command by up to {clamp['max_abs_V'] * 1e3:.3g} mV (sweep "
                     f"{clamp['sweep']}; mean {clamp['mean_V'] * 1e3:+.3g} mV)")
    probe = source.get("clamp_probe")
    where = "" if probe is None else (f" on channel {probe}, read for this check only: "
                                      f"--voltage-channel {probe} takes it as the voltage")
    for lost in source.get("clamp_lost", []):
        lines.append(f"sweep {lost['sweep']}: the clamp did not hold (V_m spans "
                     f"{lost['min_V'] * 1e3:.3g} .. {lost['max_V'] * 1e3:.3g} mV over the "
                     f"window{where}): point left out")
    if source.get("clamp_probe_spans"):
        lines.append(f"channel {probe} records a voltage that spans more than 5 mV over the "
                     "window in every sweep: if it is V_m, the clamp never held "
                     f"(--voltage-channel {probe} takes it as the voltage)")
    volts = source.get("other_voltage_channels")
    if volts:
        lines.append(f"channel(s) {', '.join(volts)} record a voltage, not read: the step "
                     "voltage is the command's (--command-channel N reads a recorded command, "
                     "--voltage-channel N a recorded membrane potential)")
    others = source.get("other_current_channels")
    if others and not channel_given:
        lines.append(f"channel(s) {', '.join(others)} also hold a current, not read "
                     "(--channel N reads one)")
    return lines + [f"{why}; left out" for why in source.get("skipped_recordings", [])]


def notes(data, channel_given: bool) -> list:
    """The notes of a reading, (source file, note) pairs: those of the whole reading (the LJP of
    solutions with its temperature) with the file "", then ``source_notes`` of each file."""
    return [("", line) for line in data.metadata.get("notes", [])] + [
        (str(source.get("source", "")), line)
        for source in data.metadata.get("sources", [data.metadata])
        for line in source_notes(source, channel_given)]
