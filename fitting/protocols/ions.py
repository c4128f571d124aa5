"""Ion options as typed values: names from ``ionjax.ION_TABLE``, valences (checked against the
table), concentrations [mM = mol/m^3]. Shared by the protocols that fit a GHK model and by the
``fit`` command's models (``fitting.models.registry.Ions``)."""

from __future__ import annotations

from typing import Sequence

import ionjax
from fitting.protocols.base import OptionError, option
from fitting.recordings.units import parse_concentrations, parse_list, parse_valences

__all__ = ["ION_HELP", "ion_field", "ion_valence", "resolve_ions", "valences"]

ION_HELP = dict(
    ion="activation: the ion of a GHK-rectifying channel (e.g. K), for the GHK-corrected G-V; "
        "tail: one ion or several (Na,K), for the GHK fit ranked against the ohmic one and the "
        "permeability ratios. With --c-in, --c-out and --temperature",
    z="valence(s) of --ion (default from the ion table)",
    c_in="intracellular concentration(s) of --ion, e.g. 10,130 (mM; 0 for an ion absent "
         "from the inside)",
    c_out="extracellular concentration(s) of --ion (mM; 0 for an ion absent from the outside)")


def ion_field(name: str):
    """The ``Options`` field ``name`` ("ion", "z", "c_in" or "c_out"), text as typed."""
    return option(help=ION_HELP[name])


def ion_valence(name: str) -> int:
    """Valence of an ion of the table (``ionjax.ion_mobility``); OptionError if unknown."""
    try:
        return ionjax.ion_mobility(name)[0]
    except ValueError as exc:
        raise OptionError(str(exc)) from None


def valences(ions: Sequence[str], text: str | None) -> list:
    """Valences from ``text`` (--z: non-zero integers), checked against the ion table where it
    knows an ion; else from the table."""
    if not text:
        return [ion_valence(n) for n in ions]
    given = parse_valences(text)
    for ion, z in zip(ions, given):
        try:
            table = ionjax.ion_mobility(ion)[0]
        except ValueError:
            continue  # an ion the table does not know: --z says its valence
        if table != z:
            raise OptionError(f"--z {z} conflicts with the valence {table:+d} of {ion}; "
                              f"give --z only for ions outside the table")
    return given


def resolve_ions(ions: str | None, z: str | None, c_in: str | None, c_out: str | None, *,
                 what: str) -> tuple[list, list, list, list]:
    """(names, valences, c_in [mM], c_out [mM]) of comma-separated ion options, one value per
    ion; ``what`` names the asker in the messages (e.g. "--model ghk"). Concentrations are
    >= 0: 0 is an ion absent from that side (bi-ionic, substitution); c < 0 is refused."""
    table = {name.lower(): name for name in ionjax.ION_TABLE}
    names = [table.get(ion.lower(), ion) for ion in parse_list(ions or "")]
    if not names:
        raise OptionError(f"{what} needs --ion NAME (or --ions A,B,...)")
    if len({ion.lower() for ion in names}) != len(names):
        raise OptionError(f"--ions names an ion twice: {','.join(names)}")
    zs = valences(names, z)
    inside = parse_concentrations(c_in, "--c-in") if c_in else []
    outside = parse_concentrations(c_out, "--c-out") if c_out else []
    if not (len(names) == len(zs) == len(inside) == len(outside)):
        raise OptionError(f"give one --z (or none), --c-in and --c-out value per ion "
                          f"({', '.join(names)}); got {len(zs)}, {len(inside)} and "
                          f"{len(outside)}")
    for ion, ci, co in zip(names, inside, outside):
        if ci == 0 and co == 0:
            raise OptionError(f"--c-in and --c-out are both 0 mM for {ion}: an ion absent from "
                              f"both sides carries no current ({what} cannot fit its "
                              f"permeability); leave it out")
    return names, zs, inside, outside
