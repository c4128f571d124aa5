"""The physics calculators of the ``ionjax`` command (nernst, ghk-voltage, ljp). Inputs
outside physics raise ``UsageError``; the ion options are checked by
``fitting.protocols.ions``, the LJP computed by ``fitting.recordings.corrections``."""

import numpy as np

import ionjax
from fitting.protocols.base import OptionError
from fitting.protocols.ions import ion_valence, valences
from fitting.protocols.steady_iv import solution_ljp
from fitting.recordings.units import check_dissolvable, parse_concentrations, parse_list

__all__ = ["COMMAND", "UsageError", "cmd_ghk_voltage", "cmd_ljp", "cmd_nernst",
           "finite_or_refuse"]


class UsageError(OptionError):
    """A bad command-line value (reported without traceback, exit status 2)."""


def finite_or_refuse(value, what: str) -> float:
    """``value`` as a float, or a UsageError when the result does not exist."""
    value = float(value)
    if not np.isfinite(value):
        raise UsageError(f"{what} is not finite for these inputs")
    return value


def _mv(value):
    """[V] -> "x.xx" mV, without a minus sign on a value that rounds to zero."""
    return f"{round(float(value) * 1e3, 2) + 0.0:.2f}"


def cmd_nernst(args) -> int:
    """``ionjax nernst``: E_ion [mV] of one ion."""
    if args.ion is not None and args.z is not None:
        valences([args.ion], str(args.z))  # refuses a --z that contradicts the ion
    z = args.z if args.z is not None else ion_valence(args.ion)
    for option, c in (("--c-in", args.c_in), ("--c-out", args.c_out)):
        if not c > 0:  # c < 0 is no concentration; at c = 0 E is +-inf (validate_inputs)
            why = ("the Nernst potential of an ion absent from one side is infinite (use "
                   "ionjax ghk-voltage for bi-ionic or substitution conditions)" if c == 0
                   else "a concentration cannot be negative")
            raise UsageError(f"{option} {c:g} mM: {why}; give {option} > 0")
        check_dissolvable(c, f"{option} {c:g} mM")
    ionjax.validate_inputs(c_in=args.c_in, c_out=args.c_out, z=z, temperature=args.temperature,
                           quantity="nernst")
    e = ionjax.nernst_potential(args.c_in, args.c_out, z, temperature=args.temperature)
    print(f"E_{args.ion or 'ion'} = {_mv(finite_or_refuse(e, 'the Nernst potential'))} mV")
    return 0


def cmd_ghk_voltage(args) -> int:
    """``ionjax ghk-voltage``: the GHK reversal [mV] of several ions."""
    ions = parse_list(args.ions)
    if len({ion.lower() for ion in ions}) != len(ions):
        raise UsageError(f"--ions names an ion twice: {args.ions}")
    p = np.asarray(parse_list(args.p, "concentration"), float)
    c_in = np.asarray(parse_concentrations(args.c_in, "--c-in"))  # 0: absent from that side
    c_out = np.asarray(parse_concentrations(args.c_out, "--c-out"))
    z = np.asarray(valences(ions, args.z), int)
    if not (len(ions) == len(p) == len(c_in) == len(c_out) == len(z)):
        raise UsageError("give one --p, --c-in and --c-out value per ion")
    if not (np.all(np.isfinite(p)) and np.all(p >= 0) and np.any(p > 0)):
        raise UsageError(f"--p must be >= 0 with at least one > 0; got {args.p}")
    ionjax.validate_inputs(p=p, c_in=c_in, c_out=c_out, z=z, temperature=args.temperature)
    v = float(ionjax.ghk_voltage(p, c_in, c_out, z, temperature=args.temperature))
    if np.isinf(v):  # no permeant ion can carry current one way: the current never reverses
        way = "outward" if v > 0 else "inward"
        raise UsageError(f"no reversal potential: no permeant ion (--p > 0) can carry {way} "
                         f"current with these --c-in/--c-out (the GHK reversal is "
                         f"{'+' if v > 0 else '-'}infinite)")
    if np.isnan(v):  # the inputs passed validate_inputs: no permeant ion on either side
        raise UsageError("no reversal potential: no permeant ion (--p > 0) is present on either "
                         "side (--c-in and --c-out are 0)")
    print(f"V_rev = {_mv(v)} mV")
    return 0


def cmd_ljp(args) -> int:
    """``ionjax ljp``: the Henderson LJP [mV] of two solutions."""
    ljp = solution_ljp(args.pipette, args.bath, args.temperature)  # 0 mM: an ion absent
    celsius = args.temperature - ionjax.ZERO_CELSIUS
    print(f"LJP = {_mv(ljp)} mV at {celsius:.4g} degC (bath relative to pipette; V_membrane = "
          "V_command - LJP)")
    return 0


COMMAND = {"nernst": cmd_nernst, "ghk-voltage": cmd_ghk_voltage, "ljp": cmd_ljp}
