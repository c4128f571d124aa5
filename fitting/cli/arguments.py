"""The arguments of the ``ionjax`` command, built from the registries: ``--model`` from the
model registry (``fitting.models.registry``), ``--protocol`` and each protocol's options from
the protocol registry (``fitting.protocols.registry``: the fields of each ``Options``), the
recording options (shared by ``fit``, ``iv`` and ``analyze``) from ``RecordingOptions``."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable

__all__ = ["protocol_defaults", "RECORDING_GROUP", "add_analyze_options", "add_recording_options", "argument_type",
           "options_of", "positive_int", "protocol_fields", "quantity", "temperature",
           "unit_argument"]

RECORDING_GROUP = "recordings (ABF) and corrections"


def argument_type(parse: str, *extra) -> Callable[[str], Any]:
    """An argparse ``type`` from a parser of ``fitting.recordings.units`` (errors become usage
    errors)."""
    def convert(text: str) -> Any:
        from fitting.recordings import units

        try:
            return getattr(units, parse)(text, *extra)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


temperature = argument_type("parse_temperature")


def unit_argument(quantity: str) -> Callable[[str], str]:
    """An argparse ``type``: a unit label of ``quantity`` ("pA", "nA", ...), its table spelling;
    an empty or unknown one is a usage error."""
    def convert(text: str) -> str:
        from fitting.recordings.units import override_unit

        try:
            return override_unit(text, quantity, f"--{quantity}-unit")[0]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


_UNITS_OF = {"voltage": ("mV", "V"), "resistance": ("MOhm", "GOhm"), "time": ("ms", "s")}


def quantity(kind: str) -> Callable[[str], float]:
    """An argparse ``type`` for a quantity written with its unit ("3.18mV" -> 0.00318 V, SI).

    A bare number other than 0 is refused for voltages, resistances and times (is
    ``--ljp 0.003`` volts or millivolts?), as the window's bounds are; concentrations keep
    the field's habit, a bare number in mM (``--c-in 140``).
    """
    parse = argument_type("parse_quantity", kind)

    def convert(text: str) -> float:
        try:
            bare = float(text)
        except ValueError:
            return parse(text)
        if kind in _UNITS_OF and bare != 0:
            raise argparse.ArgumentTypeError(
                f"{text.strip()} has no unit: write it with one, e.g. "
                + " or ".join(f"{text.strip()}{u}" for u in _UNITS_OF[kind]))
        return parse(text)

    return convert


def positive_int(text: str) -> int:
    """An integer >= 1 (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 1")
    return value


def add_recording_options(p: argparse.ArgumentParser) -> None:
    """The ``RecordingOptions`` of a command (``temperature`` is the command's own)."""
    g = p.add_argument_group(RECORDING_GROUP)
    g.add_argument("--channel", type=int, help="ABF: ADC channel of the current (default 0); "
                   "NWB: the recording's index (default all electrodes and protocols); "
                   "WinWCP: the current channel's index")
    g.add_argument("--window", help="measurement window 'start,stop': '60%%,95%%' of the step "
                                     "(default) or times after step onset '2.5ms,7.5ms' (each "
                                     "with its unit)")
    g.add_argument("--statistic", choices=("mean", "peak", "min", "max"),
                   help="statistic of the current over the window (default mean)")
    g.add_argument("--epoch", type=int, help="index of the test-step epoch: ABF, in pyabf's "
                   "sweepEpochs, where 0 is the holding before Clampex epoch A (A is 1, B is 2, "
                   "...); NWB, WinWCP: in the table read off the command (0 is the holding "
                   "before its first change); default: automatic")
    g.add_argument("--command-channel", type=int,
                   help="ADC channel recording the COMMAND voltage (flat at each level): step "
                        "voltages are read from it (needed when a Clampex user list varies a "
                        "level)")
    g.add_argument("--voltage-channel", type=int,
                   help="ADC channel recording the MEMBRANE potential V_m (two-electrode clamp): "
                        "step voltages are its mean over the window, the command's epochs still "
                        "locate the step; the notes give max |V_m - V_cmd|. Not with "
                        "--command-channel")
    g.add_argument("--voltage-unit", type=unit_argument("voltage"),
                   help="unit of the file's voltages, overriding its label (e.g. mV for a "
                        "column headed voltage_V)")
    g.add_argument("--current-unit", type=unit_argument("current"),
                   help="unit of the file's currents, for a file whose label is missing or "
                        "wrong (e.g. pA for a file labelled A that holds pA numbers); refused "
                        "where the label's numbers are typical")
    g.add_argument("--leak", help="leak subtraction: 'ramp' or 'range:LO,HI' (mV)")
    g.add_argument("--ljp", type=quantity("voltage"),
                   help="liquid junction potential, e.g. 3.18mV (V_m = V_cmd - LJP)")
    g.add_argument("--pipette", help="pipette solution for the LJP, e.g. K=140,gluconate=140")
    g.add_argument("--bath", help="bath solution for the LJP, e.g. Na=140,Cl=140")
    g.add_argument("--series-resistance", type=quantity("resistance"),
                   help="series resistance, e.g. 10MOhm (V_m = V - I R_s (1 - compensation))")
    g.add_argument("--compensation", type=float, default=0.0,
                   help="fraction of R_s compensated by the amplifier, 0..1 (default 0)")


def _type_of(parse) -> Callable | None:
    """The argparse ``type`` of an ``option(parse=...)``."""
    if parse is None or callable(parse):
        return parse
    if parse in ("int", "float"):
        return {"int": int, "float": float}[parse]
    if parse == "temperature":
        return temperature
    return quantity(parse)


def protocol_fields() -> dict:
    """name -> dataclass Field of every registered protocol's ``Options`` that is not a
    ``RecordingOptions`` field (the first protocol to declare a name describes it)."""
    from fitting.protocols.base import RECORDING_FIELDS
    from fitting.protocols.registry import PROTOCOLS, get_protocol

    fields = {}
    for name in PROTOCOLS:
        for f in dataclasses.fields(get_protocol(name).options):
            if f.name not in RECORDING_FIELDS and f.name not in fields:
                fields[f.name] = f
    return fields


def add_analyze_options(p: argparse.ArgumentParser) -> None:
    """``--protocol`` (choices and help from the registry) and every protocol's options."""
    from fitting.protocols.registry import PROTOCOLS, get_protocol

    p.add_argument("--protocol", required=True, choices=tuple(PROTOCOLS),
                   help="; ".join(f"{name}: {get_protocol(name).summary}"
                                  for name in PROTOCOLS))
    for name, f in protocol_fields().items():
        meta = f.metadata
        kwargs = dict(help=meta["help"].replace("%", "%%"), type=_type_of(meta.get("parse")))
        if meta.get("choices") is not None:
            kwargs["choices"] = meta["choices"]
        if meta.get("metavar") is not None:
            kwargs["metavar"] = meta["metavar"]
        p.add_argument("--" + name.replace("_", "-"), **kwargs)
    p.epilog = protocol_defaults()
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def protocol_defaults() -> str:
    """The help lines of the shared recording options that a protocol describes in its own
    way (its own default window, statistic or epoch): one block per protocol, for the
    ``analyze --help`` epilog."""
    from fitting.protocols.base import RECORDING_FIELDS
    from fitting.protocols.registry import PROTOCOLS, get_protocol

    blocks = []
    for name in PROTOCOLS:
        lines = [f"  --{f.name.replace('_', '-')}: {f.metadata['help']}"
                 for f in dataclasses.fields(get_protocol(name).options)
                 if f.name in RECORDING_FIELDS and "default" in f.metadata["help"]]
        if lines:
            blocks.append(f"{name}:\n" + "\n".join(lines))
    return ("the shared options as each protocol reads them:\n\n" + "\n".join(blocks)
            if blocks else "")


def options_of(protocol, args: argparse.Namespace) -> Any:
    """The protocol's typed ``Options`` from the parsed arguments, after refusing (never
    ignoring) every given option that is not one of its fields."""
    from fitting.cli.calculators import UsageError
    from fitting.protocols.base import RECORDING_FIELDS

    names = {f.name for f in dataclasses.fields(protocol.options)}
    every = list(RECORDING_FIELDS) + list(protocol_fields())
    given = [f"--{n.replace('_', '-')}" for n in every if n not in names
             and getattr(args, n, None) not in (None, 0.0 if n == "compensation" else None)]
    if given:
        raise UsageError(f"{', '.join(given)} do(es) not apply to --protocol {protocol.name}")
    return protocol.options(**{n: getattr(args, n) for n in names})
