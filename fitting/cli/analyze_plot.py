"""Figures of ``ionjax analyze`` (matplotlib, optional extra ``plot``): one panel per file.

Each protocol gives a panel: membrane test (R_a, R_m and C_m per sweep), activation
(normalised chord conductance and both fitted curves), inactivation (h_inf and its fit), ramp
(the I-V curves and their reversals), kinetics (tau against voltage) and tail (the
instantaneous I-V with its ohmic fit). Error bars are standard errors. Displayed in mV, pA,
MOhm, pF and ms.
"""

import numpy as np

from fitting.cli.plot import _pyplot, save_figure

MAX_PANELS = 6


def _boltzmann(v, v_half, slope):
    return 1.0 / (1.0 + np.exp((v_half - v) / slope))


def _membrane(ax, d):
    res = d["result"]
    s = np.arange(len(res.status))
    for name, scale, label, fmt in (("access_resistance", 1e-6, "R_a [MOhm]", "o"),
                                    ("membrane_resistance", 1e-6, "R_m [MOhm]", "s")):
        ax.errorbar(s, res.values[name] * scale, res.stderr[name] * scale, fmt=fmt, ms=3,
                    label=label)
    ax.set_xlabel("sweep")
    ax.set_ylabel("resistance [MOhm]")
    twin = ax.twinx()
    twin.errorbar(s, res.values["capacitance"] * 1e12, res.stderr["capacitance"] * 1e12,
                  fmt="^", ms=3, color="C2", label="C_m [pF]")
    twin.set_ylabel("C_m [pF]", color="C2")
    ax.legend(loc="upper left", fontsize=7)


def _activation(ax, d):
    a, r = d["result"], d["index"]
    v = np.broadcast_to(d["v"], a.conductance.shape)[r]
    ok = np.isfinite(a.normalized[r])
    g_max = float(a.gv.params["g_max"][r])
    ax.errorbar(v[ok] * 1e3, a.normalized[r][ok], a.conductance_stderr[r][ok] / g_max,
                fmt="o", ms=3, label="G / G_max (chord)")
    grid = np.linspace(np.min(v), np.max(v), 200)
    for res, style, label in ((a.gv, "-", "Boltzmann, G-V"), (a.joint, "--", "joint I-V fit")):
        vh, k = float(res.params["v_half"][r]), float(res.params["slope"][r])
        if np.isfinite(vh):
            ax.plot(grid * 1e3, _boltzmann(grid, vh, k), style,
                    label=f"{label}: V_1/2 {vh * 1e3:.1f} mV")
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("G / G_max")
    ax.legend(fontsize=7)


def _inactivation(ax, d):
    res = d["result"]
    v = d["v"]
    ax.plot(v * 1e3, res.h, "o", ms=3, label="I / I_max")
    vh, k = float(res.fit.params["v_half"]), float(res.fit.params["slope"])
    if np.isfinite(vh):
        grid = np.linspace(np.min(v), np.max(v), 200)
        ax.plot(grid * 1e3, _boltzmann(grid, vh, k), "-",
                label=f"h_inf: V_1/2 {vh * 1e3:.1f} mV, k {k * 1e3:.1f} mV")
    ax.set_xlabel("prepulse V [mV]")
    ax.set_ylabel("h")
    ax.legend(fontsize=7)


def _ramp(ax, d):
    iv, e = d["iv"], d["reversal"]
    for s in range(len(iv.labels)):
        ax.plot(iv.v[s] * 1e3, iv.i[s] * 1e12, lw=0.8, label=f"sweep {s}")
        if np.isfinite(e.value[s]):
            ax.errorbar(e.value[s] * 1e3, 0.0, xerr=e.stderr[s] * 1e3, fmt="k|", ms=8)
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("I [pA]")
    if len(iv.labels) <= 8:
        ax.legend(fontsize=6)


def _kinetics(ax, d):
    k, v = d["result"], d["v"]
    for name, fmt in (("tau1", "o"), ("tau2", "s")):
        if name in k.values:
            ax.errorbar(v * 1e3, k.values[name] * 1e3, k.stderr[name] * 1e3, fmt=fmt, ms=3,
                        label=name)
    ax.set_yscale("log")
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("tau [ms]")
    ax.legend(fontsize=7)


def _tail(ax, d):
    tl = d["result"]
    ok = np.isfinite(tl.i)
    ax.errorbar(tl.v[ok] * 1e3, tl.i[ok] * 1e12, tl.stderr[ok] * 1e12, fmt="o", ms=3,
                label="instantaneous I (extrapolated)")
    g, e = float(tl.ohmic.params["g"]), float(tl.ohmic.params["e_rev"])
    if np.isfinite(g):
        grid = np.linspace(np.min(tl.v), np.max(tl.v), 50)
        ax.plot(grid * 1e3, g * (grid - e) * 1e12, "-", label=f"ohmic: E_rev {e * 1e3:.1f} mV")
    ax.axhline(0, color="0.7", lw=0.5)
    ax.set_xlabel("V [mV]")
    ax.set_ylabel("I [pA]")
    ax.legend(fontsize=7)


DRAW = {"membrane-test": _membrane, "activation": _activation, "inactivation": _inactivation,
        "isochronal": _inactivation,
        "ramp": _ramp, "kinetics": _kinetics, "tail": _tail}


def figure(protocol, panels, path):
    """One panel per (title, data) of ``panels`` (the first ``MAX_PANELS``), saved to ``path``
    atomically. Returns the Figure."""
    plt = _pyplot()
    panels = panels[:MAX_PANELS]
    cols = min(len(panels), 3)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (title, data) in zip(axes.ravel(), panels):
        DRAW[protocol](ax, data)
        ax.set_title(title, fontsize=8)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return fig
