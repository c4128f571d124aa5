"""The isochronal protocol: a Boltzmann of the tail current at a fixed voltage against the
preceding (varied) step: the activation curve read from tails, which the driving force at the
tail voltage scales equally. The analysis is the inactivation protocol's
(``fitting.protocols.inactivation``) on the tail; window default '2ms,10%' of it, its mean."""

from __future__ import annotations

import dataclasses

from fitting.protocols import inactivation
from fitting.protocols.base import Analysis, Protocol, option

__all__ = ["Options", "PROTOCOL", "analyse", "draw", "extract"]


@dataclasses.dataclass(frozen=True)
class Options(inactivation.Options):
    """Options of the isochronal protocol: as inactivation's (``test_epoch`` is the tail), and
    a recorded membrane potential (two-electrode clamp)."""

    voltage_channel: int | None = option(help="ADC channel recording the membrane potential "
                                              "(each step's voltage: its mean over the step's "
                                              "last 20%)")


def extract(path, options: Options) -> tuple:
    """(path, window, IVData of step voltage against tail current) of the recording."""
    return inactivation.extract(path, options, tails=True)


def analyse(data: tuple, options: Options) -> Analysis:
    """The Boltzmann fit of the tail current against the step voltage and the report."""
    return inactivation.analyse(data, options, tails=True)


def draw(panel: dict, ax) -> None:
    """I_tail / I_max against the step voltage and the fitted activation curve (its own
    labels: no prepulse, no h)."""
    inactivation.draw(panel, ax, tails=True)


PROTOCOL = Protocol("isochronal", "Boltzmann of the tail current at a fixed voltage vs the "
                    "preceding step", Options, extract, analyse, draw)
