"""The activation protocol: the activation curve (G-V) of a step I-V.

Two routes on the same I-V points (peak or steady current per step):

* the joint I-V fit, I = g_max / (1 + exp((v_half - V)/slope)) (V - E_rev)
  (``BoltzmannOhmic``), which fits E_rev with the gating;
* the chord conductance G = I / (V - E_rev), E_rev given or the joint fit's, then
  G = g_max / (1 + exp((v_half - V)/slope)) (``BoltzmannConductance``) and G / g_max. Points
  within ``min_driving_force`` of E_rev are masked (G is 0/0 there). Each G is weighted by
  its standard error s / |V - E_rev|, s the current noise (``sigma``, or the joint fit's RMS
  residual sqrt(RSS / (n - k)), or where that fit is refused the model-free
  ``inference.difference_noise``); the uncertainty of E_rev itself is not propagated.

For a GHK-rectifying channel of one ion (``ghk=``), the joint fit is ``BoltzmannGHK`` and the
G-V is GHK-corrected: G = I u'(E) / u(V), u the GHK current per unit permeability and E the
Nernst potential, i.e. the permeability P = I / u in units of the open channel's conductance at
its reversal. The chord conductance of such a channel would mix rectification into the gating
(on a simulated K+ channel, 140/5 mM, V_1/2 -20 mV: the chord route gives -5 mV, this one -20).

Every fit comes with profile-likelihood intervals of v_half and slope (``profile_intervals``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from fitting.engine.status import Status
from fitting.outputs.table import fit_rows
from fitting.protocols.base import Analysis, OptionError, Protocol, RecordingOptions, option
from fitting.protocols.gating import boltzmann, check_voltage, closing_line, fit_line
from fitting.protocols.ions import ion_field, resolve_ions
from ionjax.units import mV

__all__ = ["Activation", "Options", "PROTOCOL", "activation", "analyse", "draw", "extract"]


@dataclasses.dataclass(frozen=True)
class Activation:
    """Both activation routes [SI].

    Attributes:
      joint: ``FitResult`` of ``BoltzmannOhmic`` on (v, i).
      joint_intervals: profile intervals of its ``v_half``, ``slope`` (and ``e_rev``).
      e_rev: (...,) reversal potential used for the chord conductance [V].
      conductance: (..., n) chord conductance [S] (NaN where masked).
      conductance_stderr: (..., n) its standard error [S].
      gv: ``FitResult`` of ``BoltzmannConductance`` on (v, conductance).
      gv_intervals: profile intervals of its ``v_half`` and ``slope``.
      normalized: (..., n) conductance / fitted g_max.
      notes: dict "joint" / "gv" -> (...,) why a fit was refused as not pinned down by its
        intervals (``fitting.engine.quality.refuse_unidentified``), or "".
    """

    joint: object
    joint_intervals: dict
    e_rev: np.ndarray
    conductance: np.ndarray
    conductance_stderr: np.ndarray
    gv: object
    gv_intervals: dict
    normalized: np.ndarray
    notes: dict = dataclasses.field(default_factory=dict)


def _absent_ion(side: str) -> str:
    """Why the GHK-corrected G-V does not exist with the ion absent from one side."""
    return (f"{side} 0 mM: the GHK-corrected G-V is undefined for an ion absent from one "
            f"side (its Nernst potential is infinite and the open channel's conductance at "
            f"reversal, the G-V's unit, is 0); fit the gated GHK current itself instead "
            f"(BoltzmannGHK: ionjax fit --model boltzmann-ghk)")


def _ghk_conductance(ghk, v):
    """(u(V) [A per m^3/s], u'(E) [S per m^3/s], E [V]) of the GHK unit current of one ion."""
    import ionjax
    from fitting.models import BoltzmannGHK

    model = BoltzmannGHK(**ghk)  # validates z, c_in, c_out, temperature
    args = (model.c_in, model.c_out, model.z)
    if not (model.c_in > 0 and model.c_out > 0):
        raise ValueError(_absent_ion("c_in =" if model.c_in == 0 else "c_out ="))
    e = float(ionjax.nernst_potential(*args, temperature=model.temperature))
    unit = np.asarray(ionjax.ghk_current(np.asarray(v, float), 1.0, *args,
                                         temperature=model.temperature), float)
    h = 1e-4  # central difference over +-0.1 mV: u is smooth, exact to ~1e-8 relative
    up, down = (float(ionjax.ghk_current(e + d, 1.0, *args, temperature=model.temperature))
                for d in (h, -h))
    return unit, (up - down) / (2 * h), e, model


def _check_side(v, i, e, z) -> None:
    """ValueError where a given E_rev lies on the wrong side of the currents, i.e. where the
    chord conductances I / (V - E_rev) are negative beyond noise (z = G / SE(G) < -3) in a way
    that the noise cannot make: at points between the currents' own zero crossing (``fitting.
    engine.inference.measured_reversal``, a sign change beyond the noise) and E_rev, or, where
    the currents do not cross zero, at most of the points whose G differs from 0 beyond noise.
    The message names E_rev and where the currents cross zero."""
    from fitting.engine.inference import measured_reversal

    for r in np.ndindex(z.shape[:-1]):
        ok = np.isfinite(v[r]) & np.isfinite(i[r])
        cross = float(measured_reversal(v[r][ok], i[r][ok], noise=None).value)
        wrong = z[r] < -3
        if np.isfinite(cross):
            lo, hi = sorted((cross, float(e[r])))
            bad = wrong & (v[r] > lo) & (v[r] < hi)
        else:
            bad = wrong if np.sum(wrong) > np.sum(np.abs(z[r]) > 3) / 2 else wrong & False
        if not np.any(bad):
            continue
        where = (f"cross zero at {cross * 1e3:.1f} mV" if np.isfinite(cross)
                 else "do not cross zero")
        raise ValueError(f"e_rev {float(e[r]) * 1e3:.1f} mV lies on the wrong side of the "
                         f"currents, which {where}: the chord conductance I/(V - E_rev) is "
                         f"negative at {', '.join(f'{x * 1e3:g}' for x in v[r][bad])} mV")


def activation(v: ArrayLike, i: ArrayLike, *, e_rev: ArrayLike | None = None,
               sigma: ArrayLike | None = None, min_driving_force: float = 5 * mV,
               ghk: dict | None = None) -> Activation:
    """Activation curve of a step I-V by the joint fit and by chord conductance (see module).

    Args:
      v: (..., n) or (n,) step voltages [V].
      i: (..., n) peak or steady currents [A].
      e_rev: reversal potential [V] (scalar or (...,)), or None for the joint fit's.
      sigma: current noise SD [A] (broadcastable), or None to estimate it from the joint fit.
      min_driving_force: points with |V - E_rev| below this [V] are left out of the G-V.
      ghk: for a GHK-rectifying channel of one ion, dict(z=, c_in= [mM], c_out= [mM],
        temperature= [K]): the joint fit is ``BoltzmannGHK`` and the G-V is GHK-corrected,
        G = I u'(E) / u(V) with u the GHK current per unit permeability and E the Nernst
        potential (the conductance the open channel has at its reversal; points within
        ``min_driving_force`` of E left out). ``e_rev`` must then be None. The ion must be
        present on both sides (c > 0): at c = 0 E is infinite, u'(E) = 0 and G is undefined
        (ValueError; fit ``BoltzmannGHK`` to the I-V instead).

    Returns:
      ``Activation`` (with ``ghk``, ``e_rev`` is the Nernst potential and the joint fit's
      intervals cover ``v_half`` and ``slope``).

    Raises:
      ValueError: a given ``e_rev`` on the wrong side of the currents (chord conductances
        negative beyond 3 standard errors between the currents' zero crossing and it),
        naming where the currents cross zero.
    """
    from fitting.engine.batch import fit
    from fitting.engine.inference import difference_noise
    from fitting.engine.profile import profile_intervals
    from fitting.engine.quality import refuse_unidentified as judged
    from fitting.models import BoltzmannConductance, BoltzmannOhmic

    v = check_voltage("v", v)
    i = np.asarray(i, float)
    if not min_driving_force > 0:
        raise ValueError(f"min_driving_force must be > 0 V; got {min_driving_force}")
    batch = i.shape[:-1]
    v_full = np.broadcast_to(v, i.shape)
    if ghk is not None:
        if e_rev is not None:
            raise ValueError("with ghk the reversal is the Nernst potential: leave e_rev None")
        unit, slope_at_e, nernst, model = _ghk_conductance(ghk, v_full)
        joint = fit(model, v, i, sigma=sigma)
        joint, joint_intervals, joint_notes = judged(
            joint, profile_intervals(joint, v, i, ["v_half", "slope"], sigma=sigma))
        e = np.full(batch, nernst)
        # the GHK-corrected "driving force": I = G_ghk * unit / u'(E)
        drive = np.where(np.abs(v_full - nernst) >= min_driving_force, unit / slope_at_e,
                         0.0)
    else:
        joint = fit(BoltzmannOhmic(), v, i, sigma=sigma)
        joint, joint_intervals, joint_notes = judged(joint, profile_intervals(
            joint, v, i, ["e_rev", "v_half", "slope"], sigma=sigma))
        e = np.asarray(joint.params["e_rev"], float) if e_rev is None else \
            np.broadcast_to(check_voltage("e_rev", e_rev), batch).astype(float)
        drive = v_full - e[..., None]
    near = np.abs(v_full - e[..., None]) < min_driving_force
    use = np.isfinite(drive) & (drive != 0) & ~near & np.isfinite(i)
    if sigma is None:  # the joint fit's residual SD, else (a refused fit) a model-free one
        dof = np.maximum(np.asarray(joint.n_points) - joint.model.n_params, 1)
        noise = np.sqrt(np.asarray(joint.rmse, float) ** 2 * np.asarray(joint.n_points) / dof)
        noise = np.where(np.isfinite(noise), noise, difference_noise(v_full, i))[..., None]
    else:
        noise = np.broadcast_to(np.asarray(sigma, float), i.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(use, i / drive, np.nan)
        g_se = np.where(use, noise / np.abs(drive), np.nan)
    ok = use & np.isfinite(g_se) & (g_se > 0)
    if e_rev is not None:
        _check_side(v_full, i, e, g / np.where(ok, g_se, np.inf))
    g_se_fit = np.where(ok, g_se, 1.0)
    gv = fit(BoltzmannConductance(), v_full, np.where(ok, g, 0.0), sigma=g_se_fit, mask=ok)
    gv, gv_intervals, gv_notes = judged(gv, profile_intervals(
        gv, v_full, np.where(ok, g, 0.0), ["v_half", "slope"], sigma=g_se_fit, mask=ok))
    normalized = g / np.asarray(gv.params["g_max"], float)[..., None]
    return Activation(joint=joint, joint_intervals=joint_intervals, e_rev=e, conductance=g,
                      conductance_stderr=g_se, gv=gv, gv_intervals=gv_intervals,
                      normalized=normalized, notes={"joint": joint_notes, "gv": gv_notes})


@dataclasses.dataclass(frozen=True)
class Options(RecordingOptions):
    """Options of the activation protocol (``ionjax analyze --protocol activation``): how the
    step I-V is read (``RecordingOptions``), and the reversal or the ion of the G-V."""

    e_rev: float | None = option(help="activation: reversal potential for G = I/(V - E_rev), "
                                      "e.g. 50mV (default: the joint fit's)", parse="voltage")
    ion: str | None = ion_field("ion")
    z: str | None = ion_field("z")
    c_in: str | None = ion_field("c_in")
    c_out: str | None = ion_field("c_out")


def extract(paths, options: Options, progress=None):
    """The step I-V of all ``paths`` as one IVData (``fitting.protocols.steady_iv``)."""
    from fitting.protocols.steady_iv import read_steps

    return read_steps(paths, options, progress)


def _ghk_options(options: Options) -> dict | None:
    """``activation``'s ghk= from the ion options (one ion), or None without ``ion``."""
    if options.ion is None:
        if any(getattr(options, k) is not None for k in ("z", "c_in", "c_out")):
            raise OptionError("--z, --c-in and --c-out describe the ion of --ion: give --ion "
                              "too")
        return None
    if options.e_rev is not None:
        raise OptionError("--e-rev and --ion exclude each other: with --ion the reversal is "
                          "the ion's Nernst potential")
    what = "--model boltzmann-ghk"
    ions, z, c_in, c_out = resolve_ions(options.ion, options.z, options.c_in, options.c_out,
                                        what=what)
    if options.temperature is None:
        raise OptionError(f"{what} needs --temperature (e.g. 22C or 295.15K)")
    if len(ions) != 1:
        raise OptionError(f"{what} takes one ion; use multi-ghk for {ions}")
    from fitting.models import BoltzmannGHK

    if not (c_in[0] > 0 and c_out[0] > 0):
        raise OptionError(_absent_ion("--c-in" if c_in[0] == 0 else "--c-out"))
    m = BoltzmannGHK(z=z[0], c_in=c_in[0], c_out=c_out[0], temperature=options.temperature)
    return dict(z=m.z, c_in=m.c_in, c_out=m.c_out, temperature=m.temperature)


def analyse(data, options: Options) -> Analysis:
    """Both activation routes on each recording of ``data`` and the printed report.

    Args:
      data: an IVData (R, n) [V, A] (``extract``).
      options: ``Options`` (``e_rev``, or ``ion`` with ``z``, ``c_in``, ``c_out`` and
        ``temperature`` for the GHK-corrected G-V).

    Returns:
      ``Analysis`` with ``result`` the ``Activation`` of all recordings, one panel each.
    """
    ghk = _ghk_options(options)
    try:
        a = activation(data.v, data.i, e_rev=options.e_rev, ghk=ghk)
    except ValueError as exc:  # the command's words for the API's
        if getattr(exc, "cli_message", None):
            raise OptionError(exc.cli_message) from None
        if str(exc).startswith("e_rev "):
            raise OptionError("--e-rev " + str(exc)[len("e_rev "):]) from None
        raise
    route = "chord" if ghk is None else "ghk"
    rows, lines, panels = [], [], []
    sources = data.metadata.get("sources") or [data.metadata]
    for r, label in enumerate(data.labels):
        source = sources[r] if len(sources) == len(data.labels) else {}
        name = source.get("source", label)
        epoch = source.get("epoch")
        lines.append(f"{name}: activation, {np.sum(np.isfinite(data.i[r]))} steps"
                     + (f" (test step: epoch {epoch}; --epoch names another)"
                        if epoch is not None else ""))
        lines.append(fit_line("joint I-V fit ", a.joint, r, a.joint_intervals,
                              a.notes.get("joint")))
        gv_rows = fit_rows(name, route, a.gv, r, a.gv_intervals,
                           extra=[("e_rev_used", "V", a.e_rev[r])])
        if route == "chord" and not np.isfinite(a.e_rev[r]):  # nothing to divide by: the rows
            why = Status(int(np.ravel(a.joint.status)[r]))  # carry the joint fit's reason
            gv_rows = [dict(row, status=(why or Status.EXTRAPOLATED).name) for row in gv_rows]
            lines.append(f"    {'chord G-V'.ljust(14)}: refused (no reversal potential: the "
                         "joint fit was refused and none was given; give --e-rev)")
        else:
            lines.append(fit_line(f"{route} G-V".ljust(14), a.gv, r, a.gv_intervals,
                                  a.notes.get("gv")))
        lines += closing_line((a.joint, a.gv), r, data.v, data.i, a.conductance)
        panels.append((name, dict(result=a, index=r, v=data.v)))
        rows += fit_rows(name, "joint", a.joint, r, a.joint_intervals) + gv_rows
    return Analysis("activation", list(data.labels), a, "\n".join(lines), rows, panels)


def draw(panel: dict, ax) -> None:
    """Normalised chord conductance with errors and both fitted Boltzmann curves; where no
    G-V fit is usable, the chord conductances [nS] alone."""
    a, r = panel["result"], panel["index"]
    v = np.broadcast_to(panel["v"], a.conductance.shape)[r]
    g_max = float(a.gv.params["g_max"][r])
    fitted = np.isfinite(g_max)
    y, err = ((a.normalized[r], a.conductance_stderr[r] / g_max) if fitted else
              (a.conductance[r] * 1e9, a.conductance_stderr[r] * 1e9))
    ok = np.isfinite(y)
    ax.errorbar(v[ok] * 1e3, y[ok], err[ok], fmt="o", ms=3, label="G / G_max (chord)" if
                fitted else "G (chord); no usable Boltzmann fit (see the report)")
    grid = np.linspace(np.min(v), np.max(v), 200)
    for res, style, label in ((a.gv, "-", "Boltzmann, G-V"), (a.joint, "--", "joint I-V fit")):
        vh, k = float(res.params["v_half"][r]), float(res.params["slope"][r])
        if fitted and np.isfinite(vh):
            ax.plot(grid * 1e3, boltzmann(grid, vh, k), style, label=f"{label}: V_1/2 "
                    f"{vh * 1e3:.1f} mV")
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("G / G_max" if fitted else "G [nS]")
    ax.legend(fontsize=7)


PROTOCOL = Protocol("activation", "Boltzmann of the step I-V (joint fit and chord G-V)",
                    Options, extract, analyse, draw, together=True)
