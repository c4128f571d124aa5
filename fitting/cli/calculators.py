"""The physics calculators of the ``ionjax`` command (nernst, ghk-voltage, ljp) and the checks
of ion options that ``fit`` shares with them. Inputs outside physics raise ``UsageError``."""

import warnings

import numpy as np

import ionjax
from fitting.recordings.units import parse_list, parse_positive, parse_solution, parse_valences


class UsageError(ValueError):
    """A bad command-line value (reported without traceback, exit status 2)."""


def ion_valence(name):
    """Valence of an ion of the table (``ionjax.ion_mobility``), as a UsageError if unknown."""
    try:
        return ionjax.ion_mobility(name)[0]
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def finite_or_refuse(value, what):
    """``value`` as a float, or a UsageError when the result does not exist."""
    value = float(value)
    if not np.isfinite(value):
        raise UsageError(f"{what} is not finite for these inputs")
    return value


def valences(ions, text):
    """Valences from --z (non-zero integers), checked against the ion table where it knows an
    ion; else from the table."""
    if not text:
        return [ion_valence(n) for n in ions]
    given = parse_valences(text)
    for ion, z in zip(ions, given):
        try:
            table = ionjax.ion_mobility(ion)[0]
        except ValueError:
            continue  # an ion the table does not know: --z says its valence
        if table != z:
            raise UsageError(f"--z {z} conflicts with the valence {table:+d} of {ion}; "
                             f"give --z only for ions outside the table")
    return given


def _mv(value):
    """[V] -> "x.xx" mV, without a minus sign on a value that rounds to zero."""
    return f"{round(float(value) * 1e3, 2) + 0.0:.2f}"


def solution_ljp(pipette, bath, temperature):
    """Henderson LJP [V] of two solutions given as text; a warning of ionjax (e.g. a solution
    that is not electroneutral) is an error here, never a printed number."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            value = ionjax.liquid_junction_potential(parse_solution(pipette), parse_solution(bath),
                                                     temperature=temperature)
        except UserWarning as exc:
            raise UsageError(f"liquid junction potential: {exc}") from None
    return finite_or_refuse(value, "the liquid junction potential")


def cmd_nernst(args):
    if args.ion is not None and args.z is not None:
        valences([args.ion], str(args.z))  # refuses a --z that contradicts the ion
    z = args.z if args.z is not None else ion_valence(args.ion)
    ionjax.validate_inputs(c_in=args.c_in, c_out=args.c_out, z=z, temperature=args.temperature)
    e = ionjax.nernst_potential(args.c_in, args.c_out, z, temperature=args.temperature)
    print(f"E_{args.ion or 'ion'} = {_mv(finite_or_refuse(e, 'the Nernst potential'))} mV")
    return 0


def cmd_ghk_voltage(args):
    ions = parse_list(args.ions)
    if len({ion.lower() for ion in ions}) != len(ions):
        raise UsageError(f"--ions names an ion twice: {args.ions}")
    p = np.asarray(parse_list(args.p, "concentration"), float)
    c_in = np.asarray(parse_positive(args.c_in, "concentration", "--c-in"))
    c_out = np.asarray(parse_positive(args.c_out, "concentration", "--c-out"))
    z = np.asarray(valences(ions, args.z), int)
    if not (len(ions) == len(p) == len(c_in) == len(c_out) == len(z)):
        raise UsageError("give one --p, --c-in and --c-out value per ion")
    if not (np.all(np.isfinite(p)) and np.all(p >= 0) and np.any(p > 0)):
        raise UsageError(f"--p must be >= 0 with at least one > 0; got {args.p}")
    ionjax.validate_inputs(p=p, c_in=c_in, c_out=c_out, z=z, temperature=args.temperature)
    v = ionjax.ghk_voltage(p, c_in, c_out, z, temperature=args.temperature)
    print(f"V_rev = {_mv(finite_or_refuse(v, 'the GHK reversal potential'))} mV")
    return 0


def cmd_ljp(args):
    ljp = solution_ljp(args.pipette, args.bath, args.temperature)
    print(f"LJP = {_mv(ljp)} mV (bath relative to pipette; V_membrane = V_command - LJP)")
    return 0
