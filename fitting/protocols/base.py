"""What a protocol is: typed options, extract -> analyse -> rows -> draw.

A protocol module defines an ``Options`` frozen dataclass whose fields are made with
:func:`option` (a default and a help text each; the ``ionjax analyze`` command builds its
arguments from these fields and refuses, never ignores, an option that is not one of them) and
a :class:`Protocol` instance naming the functions of the four steps::

    opts = membrane_test.Options(channel=0)
    data = membrane_test.extract("cell.abf", opts)      # the recording's numbers
    result = membrane_test.analyse(data, opts)          # an Analysis: what the command prints
    print(result.text); table = result.rows             # the tidy rows of ``fitting.outputs``
    membrane_test.PROTOCOL.draw(result.panels[0][1], ax)

The recording options shared by the commands ``fit``, ``iv`` and ``analyze`` (channel, window,
corrections, ...) are the fields of :class:`RecordingOptions`; an ``Options`` class declares
the ones it uses as fields of the same name (or subclasses ``RecordingOptions``), with help
texts that give its own defaults; ``Protocol.corrections`` follows from them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

__all__ = ["CORRECTIONS", "NO_CROSSING", "Analysis", "OptionError", "Protocol", "RECORDING_FIELDS", "RecordingOptions",
           "estimate_text", "option", "option_names", "parse_leak", "parse_window"]


class OptionError(ValueError):
    """An option value or combination a protocol refuses (the command: exit status 2)."""


def option(default: Any = None, *, help: str, parse: str | Callable | None = None,
           choices: Sequence | None = None, metavar: str | None = None) -> Any:
    """A field of an ``Options`` dataclass with its command-line description.

    Args:
      default: the value when the option is not given (None: the protocol's own default).
      help: one line for ``ionjax analyze --help``.
      parse: how the command parses the text: "int", "float", a unit kind of
        ``fitting.recordings.units.parse_quantity`` ("voltage", "resistance", ...),
        "temperature", a callable, or None (the text itself).
      choices: the allowed values, or None.
      metavar: the argument's name in the help, or None.
    """
    return dataclasses.field(default=default, metadata=dict(help=help, parse=parse,
                                                            choices=choices, metavar=metavar))


def option_names(options_type: type) -> tuple[str, ...]:
    """The field names of an ``Options`` dataclass, in order."""
    return tuple(f.name for f in dataclasses.fields(options_type))


@dataclasses.dataclass(frozen=True)
class RecordingOptions:
    """How a recording is read and corrected (the options ``fit``, ``iv`` and ``analyze``
    share; units SI). None: the reader's default."""

    channel: int | None = option(help="current channel (ABF: ADC index; NWB: recording index)")
    window: str | None = option(help="measurement window 'start,stop' (e.g. '60%,95%')")
    statistic: str | None = option(help="statistic over the window: mean, peak, min, max")
    epoch: int | None = option(help="index of the test-step epoch")
    command_channel: int | None = option(help="ADC channel recording the command voltage")
    voltage_channel: int | None = option(help="ADC channel recording the membrane potential")
    voltage_unit: str | None = option(help="unit of the file's voltages, overriding its label")
    current_unit: str | None = option(help="unit of the file's currents, overriding its label")
    leak: str | None = option(help="leak subtraction: 'ramp' or 'range:LO,HI' (mV)")
    ljp: float | None = option(help="liquid junction potential [V]")
    pipette: str | None = option(help="pipette solution for the LJP, e.g. K=140,gluconate=140")
    bath: str | None = option(help="bath solution for the LJP, e.g. Na=140,Cl=140")
    series_resistance: float | None = option(help="series resistance [Ohm]")
    compensation: float = option(0.0, help="fraction of R_s compensated, 0..1")
    temperature: float | None = option(help="temperature [K] (GHK, LJP from solutions)")


RECORDING_FIELDS = option_names(RecordingOptions)
CORRECTIONS = ("series_resistance", "compensation", "ljp", "pipette", "bath", "leak")


def estimate_text(value: float, stderr: float, scale: float, unit: str, why: str,
                  fmt: str = ".2f", err_fmt: str = ".2g") -> str:
    """A printed result: ``value ± stderr unit`` (times ``scale``), or ``not available (why)``
    where the value is not finite: a report never prints "nan" as a result."""
    import math

    if not math.isfinite(value):
        return f"not available ({why})"
    if not math.isfinite(stderr):
        return f"{value * scale:{fmt}} {unit} (stderr undefined)"
    return f"{value * scale:{fmt}} ± {stderr * scale:{err_fmt}} {unit}"


NO_CROSSING = "the current does not cross zero beyond its noise"


def parse_window(text: str | None, default: tuple[str, str]) -> tuple:
    """The window 'start,stop' as two values of ``fitting.recordings.units.parse_list``, or
    ``default`` for None."""
    from fitting.recordings.units import parse_list

    return tuple(parse_list(text)) if text else default


def parse_leak(text: str | None) -> str | tuple | None:
    """``--leak``: None, "ramp", or ("range", lo [V], hi [V]) from 'range:LO,HI' (mV)."""
    from fitting.recordings.units import parse_list

    if text and text.startswith("range:"):
        values = parse_list(text[len("range:"):], "voltage")
        if len(values) != 2:
            raise OptionError(f"--leak range:LO,HI takes two voltages (e.g. range:-110,-80); "
                              f"got {text!r}")
        return ("range", *values)
    if text not in (None, "ramp"):
        raise OptionError(f"--leak must be 'ramp' or 'range:LO,HI' (mV); got {text!r}")
    return text


@dataclasses.dataclass(frozen=True)
class Analysis:
    """What a protocol found in one file (or, for a protocol that reads its files together,
    in all of them).

    Attributes:
      protocol: the protocol's name.
      source: the file(s) analysed.
      result: the protocol's own result object (e.g. ``MembraneTest``, ``Activation``).
      text: what ``ionjax analyze`` prints for it (lines, no final newline).
      rows: the tidy rows (``fitting.outputs.table.make_row``).
      panels: (title, payload) per figure panel; ``Protocol.draw(payload, ax)`` draws one.
      extra: protocol-specific output beside the table (e.g. the ramp's binned curves).
    """

    protocol: str
    source: Any
    result: Any
    text: str
    rows: list
    panels: list
    extra: Any = None


@dataclasses.dataclass(frozen=True)
class Protocol:
    """A protocol: its name, typed options and the functions of its steps.

    Attributes:
      name: the ``--protocol`` name.
      summary: one line for the ``--protocol`` help ("what it measures").
      options: the ``Options`` frozen dataclass (fields made by :func:`option`).
      extract: ``extract(path, options) -> data`` (``paths`` for ``together``).
      analyse: ``analyse(data, options) -> Analysis``.
      draw: ``draw(payload, ax)``: one figure panel (matplotlib axes).
      together: True when all files are read as one batch (``extract`` gets the list).
      write_extra: optional ``write_extra(analyses, options) -> list[str]``: writes the
        protocol's own output files, returns the lines to print.
    """

    name: str
    summary: str
    options: type
    extract: Callable[[Any, Any], Any]
    analyse: Callable[[Any, Any], Analysis]
    draw: Callable[[Any, Any], None]
    together: bool = False
    write_extra: Callable[[list, Any], list] | None = None

    @property
    def corrections(self) -> tuple[str, ...]:
        """The corrections that apply to it: those of ``CORRECTIONS`` that are fields of its
        ``Options``."""
        names = option_names(self.options)
        return tuple(name for name in CORRECTIONS if name in names)

    def rows(self, analysis: Analysis) -> list:
        """The tidy rows of an analysis."""
        return analysis.rows

    def run(self, source: Any, options: Any) -> Analysis:
        """``analyse(extract(source, options), options)``."""
        return self.analyse(self.extract(source, options), options)
