"""Issue 23 item 4, the leftovers of the hostile pass: every number right or refused.

1. ``ionjax.pnp_steady`` with concrete inputs out of bounds (37 K: degC given as kelvin) raises
   ``validate_inputs``' message on the host, and stays NaN under jit;
2. the ``ionjax`` console entry point handles SIGINT/SIGTERM before any heavy import;
3. ``ionjax analyze`` tables carry the per-file ``notes`` column of ``ionjax fit``'s;
4. a slow tail (tau about twice the window, as the hcn2 -70 mV tail) against scipy's least
   squares: float64 reaches its optimum; float32 stops short, and says so (Status.STALLED)
   where it is farther off than the rule's 0.5 standard errors.
"""

import csv
import os
import re
import signal
import subprocess
import sys
import time
import tomllib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import least_squares

import fitting
import ionjax
from fitting.models.relaxation import Exponentials

HERE = os.path.dirname(__file__)
ROOT = os.path.dirname(HERE)
T = 298.15  # K
Z2, D2 = np.array([1.0, -1.0]), np.array([1.33e-9, 2.03e-9])
CIN2, COUT2 = np.array([15.0, 15.0]), np.array([150.0, 150.0])
PORE = dict(length=5e-9, area=1e-18, temperature=T, n_grid=32)


# --- 1. pnp_steady: the host-side message on concrete inputs ------------------------------------

@pytest.mark.parametrize("change, message", [
    (dict(temperature=37.0), r"got 37 K: did you mean 37 degC \(310.15 K\)"),
    (dict(temperature=25.0), r"got 25 K: did you mean 25 degC \(298.15 K\)"),
    (dict(length=5e-3), r"length must be <= 0.0001 m"),
    (dict(c_out=np.array([2e4, 2e4])), r"c_out must be <= 10000 mol/m\^3"),
])
def test_pnp_steady_refuses_concrete_inputs_out_of_bounds_with_validate_inputs_message(
        change, message):
    """The same message as ``validate_inputs`` on the host; NaN (converged False) under jit,
    where nothing can raise; a value inside the bounds still solves."""
    kwargs = dict(PORE, c_out=COUT2)
    kwargs.update(change)
    c_out = kwargs.pop("c_out")
    with pytest.raises(ValueError, match=message):
        ionjax.pnp_steady(jnp.array([0.03]), Z2, D2, CIN2, c_out, **kwargs)
    name, value = next(iter(change.items()))
    with pytest.raises(ValueError, match=message):
        ionjax.validate_inputs(**{name: value})
    s = jax.jit(ionjax.pnp_steady, static_argnames="n_grid")(jnp.array([0.03]), Z2, D2, CIN2,
                                                              c_out, **kwargs)
    assert np.all(np.isnan(np.asarray(s.total))) and not bool(jnp.any(s.converged))
    good = ionjax.pnp_steady(jnp.array([0.03]), Z2, D2, CIN2, COUT2, **PORE)
    assert bool(jnp.all(good.converged)) and np.all(np.isfinite(np.asarray(good.total)))


def test_pnp_steady_leaves_non_physical_values_to_nan():
    """A temperature or length that is not a positive number is not a unit slip: NaN, as
    documented (and as the electroneutrality check leaves such baths)."""
    for change in (dict(temperature=np.inf), dict(temperature=-5.0), dict(length=np.nan)):
        s = ionjax.pnp_steady(jnp.array([0.03]), Z2, D2, CIN2, COUT2, **{**PORE, **change})
        assert np.all(np.isnan(np.asarray(s.total))) and not bool(jnp.any(s.converged))


# --- 4. a slow tail against scipy: the fit reaches the optimum, STALLED does not fire -----------

def _slow_tail(windows, seed):
    """A tail as the kinetics protocol hands it to the fit (times scaled to 1e-3 over the
    window, currents to 1e-10 at the largest excursion): c + a exp(-s / tau) with the c and a
    of the hcn2 -70 mV tail and tau ``windows`` times the window (2 there), 1790 samples,
    noise SD 0.02. The float32 fit stops at its first step for each: STALLED for tau 2 (seeds
    1, 2), CONVERGED 0.3-0.5 standard errors off for tau 4 (seeds 2, 3)."""
    s = np.linspace(0.0, 1e-3, 1790)
    y = 1e-10 * (1.62 - 2.555 * np.exp(-s / (windows * 1e-3)))
    return s, y + 1e-10 * 0.02 * np.random.default_rng(seed).standard_normal(s.size)


def _scipy_optimum(s, y):
    """The least-squares optimum by scipy's MINPACK LM, in float64, from 21 starts of tau
    (log-spaced over 1e-2 .. 1e3 windows; c and a by linear least squares): the lowest RSS."""
    u, z = s / 1e-3, y / 1e-10

    def residual(p):  # c, a, ln tau
        return p[0] + p[1] * np.exp(-u / np.exp(p[2])) - z

    best = None
    for log_tau in np.linspace(np.log(1e-2), np.log(1e3), 21):
        basis = np.stack([np.ones_like(u), np.exp(-u / np.exp(log_tau))], axis=1)
        c, a = np.linalg.lstsq(basis, z, rcond=None)[0]
        sol = least_squares(residual, [c, a, log_tau], method="lm", xtol=1e-15, ftol=1e-15,
                            gtol=1e-15, max_nfev=20000)
        if best is None or sol.cost < best.cost:
            best = sol
    c, a, log_tau = best.x
    return dict(c=c * 1e-10, a1=a * 1e-10, tau1=np.exp(log_tau) * 1e-3), 2 * best.cost * 1e-20


@pytest.mark.parametrize("windows, seed", [(2.0, 1), (2.0, 2), (4.0, 2), (4.0, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_slow_tail_against_scipy_is_at_its_optimum_or_stalled(dtype, windows, seed):
    """Levenberg-Marquardt along the long valley of a slow exponential (c and a nearly cancel),
    against scipy's optimum. float64 ends CONVERGED there: each parameter within 0.01
    standard errors, the RSS within 1e-9 relative. float32 stops at its first, damped step
    (shorter than its xtol, 2.8e-3 relative): an answer that is CONVERGED must lie within the
    STALLED rule's 0.5 standard errors of scipy's optimum, and one farther off must be STALLED
    (no values): STALLED is no false alarm here, the float32 answer is short of the optimum."""
    s, y = _slow_tail(windows, seed)
    want, rss = _scipy_optimum(s, y)
    assert 0.8 * windows * 1e-3 < want["tau1"] < 1.25 * windows * 1e-3  # a finite optimum
    res = fitting.fit(Exponentials(1, 0), s.astype(dtype), y.astype(dtype))
    if dtype == np.float64:
        assert res.status == fitting.Status.CONVERGED, res.summary()
        np.testing.assert_allclose(np.sum((y - np.asarray(res.predict(s))) ** 2), rss,
                                   rtol=1e-9)
    within = 0.01 if dtype == np.float64 else fitting.engine.statistics.STALL_SIGMAS
    if res.status == fitting.Status.STALLED:
        assert dtype == np.float32 and np.isnan(float(res.params["tau1"]))
        return
    assert res.status == fitting.Status.CONVERGED, res.summary()
    for name, value in want.items():
        got, se = float(res.params[name]), float(res.stderr[name])
        assert abs(got - value) <= within * se, (name, got, value, se)


# --- 2. the console entry point: signal handlers before any heavy import -----------------------

def _console_script():
    """What pip's wrapper of the ``ionjax`` entry point in pyproject.toml runs (less its
    ``import re``, which the interpreter's site has loaded already)."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        entry = tomllib.load(handle)["project"]["scripts"]["ionjax"]
    module, function = entry.split(":")
    return f"import sys\nfrom {module} import {function}\nsys.exit({function}())"


# what runs before the handlers are installed: the wrapper's code, the import machinery, and
# the lazy namespaces of the packages around the entry module (a few ms; no CLI module, no jax)
_BEFORE_HANDLERS = {os.path.join(ROOT, *p.split("/")) for p in (
    "fitting/__init__.py", "fitting/cli/__init__.py", "fitting/cli/__main__.py",
    "fitting/cli/interrupt.py", "ionjax/__init__.py", "ionjax/_src/__init__.py",
    "ionjax/_src/lazy.py")}


def test_the_console_entry_point_handles_a_signal_in_its_first_milliseconds():
    """SIGINT or SIGTERM 5-200 ms (the first 50 ms, and more for a loaded machine) after the
    start of the ``ionjax`` console script (the imports: jax takes about a second) ends it
    with one line and 130 / 143, or, before the interpreter has installed any handler, kills
    it quietly (-2 / -15). A traceback only from the few ms
    before the entry module's handlers (``_BEFORE_HANDLERS``: the interpreter's start, frozen
    importlib, the lazy package namespaces), never from the CLI's modules. The interpreter's site
    module (which no package can guard) is left out with -S, its packages given by PYTHONPATH;
    the old entry point (fitting.cli.main:main, handlers installed after importing the parser,
    ~40 ms) printed KeyboardInterrupt tracebacks from fitting/cli/arguments.py and others."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in sys.path if p and os.path.isdir(p) and p != ROOT]))
    command = [sys.executable, "-S", "-c", _console_script(), "nernst", "--ion", "K",
               "--c-in", "140", "--c-out", "5", "--temperature", "25C"]
    runs = [(signal.SIGINT, t) for t in (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.08, 0.12, 0.2)]
    runs += [(signal.SIGTERM, t) for t in (0.01, 0.03, 0.05, 0.08, 0.12, 0.2)]
    handled = 0
    for number, delay in runs:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
        time.sleep(delay)
        proc.send_signal(number)
        stdout, stderr = proc.communicate(timeout=120)
        ours = {f for f in re.findall(r'File "([^"]+)"', stderr) if f.startswith(ROOT)}
        assert not ours - _BEFORE_HANDLERS, f"{number!r} at {delay} s:\n{stderr}"
        if "Traceback" in stderr:  # before the handlers: the interpreter's start
            continue
        if proc.returncode == 0:  # finished before the signal came (a fast machine)
            continue
        assert proc.returncode in (128 + number, -number), (number, delay, proc.returncode,
                                                             stderr)
        if proc.returncode > 0:
            handled += 1
            assert stderr.strip().splitlines() == ["ionjax: interrupted"] or \
                stderr.strip().splitlines()[-1].startswith("ionjax: interrupted"), stderr
    assert handled > 0  # some signals did land in the command's own start


# --- 3. analyze tables carry the per-file notes column of fit's -------------------------------

def test_analyze_tables_notes_say_what_concerns_each_row(shared_data, tmp_path):
    """``ionjax analyze FOLDER --out`` (CSV; JSON has the same rows): a ``notes`` column
    holding what concerns each row: a tail's refusal (the -85 and -70 mV tails) on that sweep's
    rows only, the report's warnings about the file on every row, and the status message of
    a row without a value that no line of its sweep explains (hostile pass: every row repeated
    every sweep's refusal and every status message)."""
    from test_cli import run

    folder = tmp_path / "cells"
    folder.mkdir()
    (folder / "hcn2.abf").write_bytes((shared_data / "abf" / "hcn2_20d10009.abf").read_bytes())
    out = run("analyze", folder, "--protocol", "tail", "--window", "5ms,30%", "--out",
              tmp_path / "tail.csv")
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "tail.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[-1] == "notes"
    from fitting.recordings.formats.registry import written_by_ionjax

    assert written_by_ionjax(tmp_path / "tail.csv")  # a folder's listing still leaves it out
    refusals = {int(re.search(r"\(sweep (\d+)\)", line).group(1)): line.strip()
                for line in out.stdout.splitlines() if "refused (" in line}
    assert len(refusals) == 2, refusals
    warnings = [line.strip() for line in out.stdout.splitlines() if "warning: " in line]
    for row in rows:
        mine = refusals.get(int(row["item"])) if row["item"].isdigit() else None
        others = [line for s, line in refusals.items() if line != mine]
        assert (mine is None or mine in row["notes"]) and not any(
            line in row["notes"] for line in others), row
        assert all(line in row["notes"] for line in warnings), row
        if row["status"] and not fitting.usable(fitting.Status[row["status"]]) and not mine:
            assert fitting.Status[row["status"]].message in row["notes"], row
        if mine:  # its own reason, not the status's generic message
            assert fitting.Status[row["status"]].message not in row["notes"], row


def test_with_notes_gives_each_file_its_own_notes():
    """Of one analysis of two files (a protocol that reads its files together): a line naming
    a file is that file's note, a line naming none and a note of the whole reading are both
    files', a reading note of one file is its own, and a row without a value adds its status
    message; notes are said once each, "; "-separated, "" where a file has none."""
    from fitting.cli.analyze import with_notes
    from fitting.outputs.table import make_row
    from fitting.protocols.base import Analysis

    text = "\n".join(["/d/a.abf: 4 sweeps", "  b.abf: refused (no step found)",
                      "warning: the chord G-V extrapolates", "  fit: E_rev -20 mV"])
    analysis = Analysis("activation", ["/d/a.abf", "/d/b.abf"], None, text, [], [])
    rows = [make_row("/d/a.abf", 0, "v_half", "V", -0.03),
            make_row("/d/b.abf", 0, "v_half", "V", float("nan"), status=4),
            make_row("/d/c.abf", 0, "v_half", "V", -0.03)]
    reading = [("", "LJP 3 mV"), ("/d/a.abf", "channel 1 not read")]
    notes = [row["notes"] for row in with_notes(rows, [analysis], reading)]
    assert notes[0] == "warning: the chord G-V extrapolates; LJP 3 mV; channel 1 not read"
    assert notes[1] == ("b.abf: refused (no step found); warning: the chord G-V extrapolates; "
                        "LJP 3 mV; " + fitting.Status.SINGULAR.message)
    assert notes[2] == ""
    # a line naming a sweep is that sweep's rows' note only, and replaces the status message
    text = "/d/a.abf: tails\n  -85.0 mV (sweep 1): refused (tau 535 ms found is longer)"
    analysis = Analysis("tail", "/d/a.abf", None, text, [], [])
    rows = [make_row("/d/a.abf", 0, "tau1", "s", 0.1),
            make_row("/d/a.abf", 1, "tau1", "s", float("nan"), status=5),
            make_row("/d/a.abf", 2, "tau1", "s", float("nan"), status=8)]
    notes = [row["notes"] for row in with_notes(rows, [analysis], [])]
    assert notes == ["", "-85.0 mV (sweep 1): refused (tau 535 ms found is longer)",
                     fitting.Status.STALLED.message]
