"""Issue 24 item 4: the Beattie et al. (2018) cell-5 fit by ionjax, PINTS CMA-ES and scipy, side
by side in one run, and the batch cost of ``fit_traces``.

    python bench/bench_traces.py [--data DIR] [--pints-cap 600] [--scipy-cap 300]
                                 [--batch 9,90,900] [--chunk 45] [--batch-cap 900]

DIR holds ``beattie2018`` (default $IONJAX_DATA, else ../shared/data). Needs the ``bench`` extra
(myokit, pints, scipy). Every method fits cell 5 (16713110) with the same data, mask (the 5 ms
after each step edge left out, ``step_edge_mask``), noise SD (SD of the first 200 ms), E_K
(Nernst at the cell's temperature) and model (``beattie2018()``: both gates start at 0, the
sine's rates at each interval's midpoint, driving force at the samples), and every final loss is
the same number: ``TraceFitResult.loss``, the Gaussian negative log-likelihood in amperes over
the kept samples, evaluated by ionjax's simulator at each method's final parameters.

* ionjax: ``fit_traces`` (8 starts from the prior, Levenberg-Marquardt in ln x) in a fresh
  process with the persistent compilation cache off (IONJAX_NO_CACHE=1), so the first call
  compiles; the second call in that process is the warm time. Likewise all 9 cells in one call.
* PINTS CMA-ES as in the paper: parameters log-transformed, the paper's prior box (rates
  1e-7..1e3 per ms, sensitivities 1e-7..0.4 per mV) and rate bounds (each rate's fastest value
  over the protocol 1.67e-5..1000 per ms) as boundaries (points outside are rejected), a Gaussian
  log-likelihood with known sigma; runs restarted from the same prior starts as ionjax (g by
  linear least squares) until the wall-time cap. The simulator: Myokit's analytical Markov
  simulation (myokit.lib.markov, the model as its 4-state Markov scheme, no compiler) is checked
  against ionjax and timed, and where one simulation takes longer than ``--myokit-max`` seconds
  the fit uses the same exact zero-order-hold step written as a Python loop instead (said in the
  output).
* scipy: ``least_squares`` (trust-region reflective, 2-point Jacobian) on the sigma-weighted
  residuals in ln x, from the same starts in turn until the cap; ``solve_ivp`` (LSODA, max step
  one sample) is timed for one simulation and the fit uses the exact step when that is too slow.
* Batch cost: ``fit_traces`` on 9, 90, 900 cells simulated from the 9 cells' fitted parameters
  with Gaussian noise at each cell's sigma, fresh processes, in chunks of ``--chunk`` cells (the
  memory bound); per-cell time of the warm calls.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
CELL5 = "16713110"
DT = 1e-4
PAPER_TO_SI = np.array([1e3, 1e3] * 4 + [1e-6])
PRIOR_RATE = (1e-4, 1e6)  # [1/s] the paper's 1e-7..1e3 per ms
PRIOR_SENSITIVITY = (1e-4, 400.0)  # [1/V] the paper's 1e-7..0.4 per mV
PRIOR_G = (1e-10, 1e-5)  # [S] 0.1 nS .. 10 uS (wide; the paper's prior on g is not binding)


def _data_folder(arg):
    base = arg or os.environ.get("IONJAX_DATA") or str(ROOT.parent / "shared" / "data")
    return Path(base) / "beattie2018"


def _rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------- ionjax workers (subprocess)

def _worker(args):
    """Runs in a fresh process; prints one JSON line."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from fitting.engine.traces import fit_traces, step_edge_mask
    from fitting.recordings.traces import read_beattie2018

    folder = _data_folder(args.data)
    out = {}
    if args.worker in ("cell5", "all9"):
        d = read_beattie2018(folder, cells=[CELL5] if args.worker == "cell5" else None)
        mask = step_edge_mask(d["v"], DT)
        times, res = [], None
        for _ in range(2):
            start = time.perf_counter()
            res = fit_traces(d["t"], d["v"], d["i"], temperature=d["temperature"], mask=mask,
                             starts=args.starts, seed=args.seed)
            times.append(time.perf_counter() - start)
        out = dict(times=times, loss=res.out["loss"].tolist(), chi2=res.out["chi2"].tolist(),
                   x=res.out["x"].tolist(), status=res.status.tolist(),
                   sigma=np.asarray(res.sigma).tolist(), e_rev=np.asarray(res.e_rev).tolist(),
                   temperature=d["temperature"].tolist(), cells=d["cells"].tolist(),
                   n_steps=res.out["n_steps"].tolist(), rss_mib=_rss_mib())
    elif args.worker == "batch":
        import jax.numpy as jnp

        from fitting.models.trace import beattie2018

        ref = json.loads(Path(args.ref).read_text())
        d = read_beattie2018(folder, cells=[CELL5])
        v, n = d["v"], args.n_cells
        model = beattie2018()
        x9, sig9, e9 = (np.array(ref[k]) for k in ("x", "sigma", "e_rev"))
        temp9 = np.array(ref["temperature"])
        with jax.enable_x64(True):
            clean = np.asarray(jax.vmap(lambda x, e: model.current(x, jnp.asarray(v), DT, e))(
                jnp.asarray(x9), jnp.asarray(e9)))
        rng = np.random.default_rng(args.seed + n)
        which = np.arange(n) % len(x9)
        mask = step_edge_mask(v, DT)
        chunk = min(args.chunk, n)
        while n % chunk:  # equal chunks: one compiled program
            chunk -= 1
        starts = list(range(0, n, chunk))
        if n <= args.chunk:
            starts = starts * 2  # the same cells twice: cold, then warm
        times, losses, ok, began = [], [], [], time.perf_counter()
        for k, lo in enumerate(starts):
            if k > 0 and time.perf_counter() - began > args.batch_cap:
                break
            idx = which[lo:lo + chunk]
            i = clean[idx] + sig9[idx, None] * rng.standard_normal((len(idx), v.size))
            start = time.perf_counter()
            res = fit_traces(d["t"], v, i, temperature=temp9[idx], mask=mask,
                             starts=args.starts, seed=args.seed)
            times.append(time.perf_counter() - start)
            losses.append(res.out["loss"].tolist())
            ok.append(int(np.sum(res.usable)))
        out = dict(times=times, chunk=chunk, n=n, fitted=chunk * len(times), usable=ok,
                   rss_mib=_rss_mib())
    print("JSON " + json.dumps(out), flush=True)


def _run_worker(kind, args, extra=()):
    cmd = [sys.executable, __file__, "--worker", kind, "--starts", str(args.starts),
           "--seed", str(args.seed), "--chunk", str(args.chunk),
           "--batch-cap", str(args.batch_cap)] + list(extra)
    if args.data:
        cmd += ["--data", args.data]
    env = dict(os.environ, IONJAX_NO_CACHE="1")  # cold: the first call compiles
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("JSON ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"worker {kind} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(lines[-1][5:])
    out["process_wall"] = wall
    return out


# ----------------------------------------------------------------- the common loss and simulators

class Cell:
    """Cell 5 as every method sees it (SI)."""

    def __init__(self, folder):
        import jax
        import jax.numpy as jnp

        from fitting.engine import trace_inputs
        from fitting.engine.traces import step_edge_mask
        from fitting.models.trace import beattie2018
        from fitting.recordings.traces import read_beattie2018

        d = read_beattie2018(folder, cells=[CELL5])
        self.t, self.v, self.i = d["t"], d["v"], d["i"][0]
        self.model = beattie2018()
        self.mask = step_edge_mask(self.v, DT)
        with jax.enable_x64(True):  # as inside fit_traces' x64 worker process
            self.e_rev = float(trace_inputs.reversal(self.model, d["temperature"], None, 1)[0])
        with jax.enable_x64(False):
            e32 = float(trace_inputs.reversal(self.model, d["temperature"], None, 1)[0])
        self.e_rev_note = f"E_K without x64 {e32 * 1e3:.9f} mV vs x64 {self.e_rev * 1e3:.9f} mV"
        self.sigma = float(trace_inputs.window_sigma(self.t, d["i"], self.mask[None], 0.2)[0])
        self.n = int(self.mask.sum())
        with jax.enable_x64(True):
            self.vg = np.asarray(self.model.gating_voltage(jnp.asarray(self.v)))
            self._jax_current = jax.jit(
                lambda x: self.model.current(x, jnp.asarray(self.v), DT, self.e_rev))
        self.v_min, self.v_max = float(self.v.min()), float(self.v.max())
        self.i_kept = self.i[self.mask]

    def jax_current(self, x):
        import jax
        import jax.numpy as jnp

        with jax.enable_x64(True):
            return np.asarray(self._jax_current(jnp.asarray(x, jnp.float64)))

    def loss(self, x, current=None):
        """``TraceFitResult.loss`` at x [SI]: ionjax's simulator unless a current is given."""
        f = self.jax_current(x) if current is None else current
        r = (self.i - f)[self.mask] / self.sigma
        return 0.5 * self.n * np.log(2 * np.pi * self.sigma ** 2) + 0.5 * float(r @ r)

    def loop_current(self, x):
        """The exact zero-order-hold step of both gates, a plain Python loop over the samples
        (the rates from NumPy): the same arithmetic as ionjax's scan, one sample at a time."""
        p1, p2, p3, p4, p5, p6, p7, p8, g = x
        vg = self.vg
        with np.errstate(over="ignore", invalid="ignore"):
            k1, k2 = p1 * np.exp(p2 * vg), p3 * np.exp(-p4 * vg)
            k3, k4 = p5 * np.exp(p6 * vg), p7 * np.exp(-p8 * vg)
            ta, tr = k1 + k2, k3 + k4
            ca, cr = -np.expm1(-DT * ta), -np.expm1(-DT * tr)
            ba, br = (ca * k1 / ta).tolist(), (cr * k4 / tr).tolist()
            da, dr = (1.0 - ca).tolist(), (1.0 - cr).tolist()
        out = [0.0] * vg.size
        a = r = 0.0
        for j in range(vg.size - 1):
            a = da[j] * a + ba[j]
            r = dr[j] * r + br[j]
            out[j + 1] = a * r
        return g * np.array(out) * (self.v - self.e_rev)

    def inside(self, x):
        """The paper's prior box and rate bounds (``RATE_BOUNDS``) at x [SI]."""
        from fitting.models.trace import RATE_BOUNDS

        a, b, g = x[0:8:2], x[1:8:2], x[8]
        if not (np.all((a > PRIOR_RATE[0]) & (a < PRIOR_RATE[1]))
                and np.all((b > PRIOR_SENSITIVITY[0]) & (b < PRIOR_SENSITIVITY[1]))
                and PRIOR_G[0] < g < PRIOR_G[1]):
            return False
        logk = self.model.fastest_log_rates(x, self.v_min, self.v_max)
        return bool(np.all((logk > np.log(RATE_BOUNDS[0])) & (logk < np.log(RATE_BOUNDS[1]))))

    def starts(self, n, seed):
        """ionjax's starts (``sample_starts``, the same seed), g by linear least squares."""
        from fitting.engine.traces import sample_starts

        out = sample_starts(self.model, n, self.v_min, self.v_max, seed=seed)
        for x in out:
            x[-1] = 1.0
            shape = self.loop_current(x)[self.mask]
            g = float(shape @ self.i_kept / (shape @ shape))
            x[-1] = np.clip(g if g > 0 else 1e-9, 2 * PRIOR_G[0], PRIOR_G[1] / 2)  # in the box
        return out


MMT = """[[model]]
ikr.O = 0
ikr.I = 0
ikr.C = 0
ikr.IC = 1

[engine]
time = 0 [ms] bind time
pace = 0 bind pace

[membrane]
V = engine.pace
    label membrane_potential

[ikr]
use membrane.V
p1 = 1
p2 = 1
p3 = 1
p4 = 1
p5 = 1
p6 = 1
p7 = 1
p8 = 1
g = 1
EK = 0
k1 = p1 * exp(p2 * V)
k2 = p3 * exp(-p4 * V)
k3 = p5 * exp(p6 * V)
k4 = p7 * exp(-p8 * V)
dot(O) = k1 * C + k4 * I - (k2 + k3) * O
dot(I) = k1 * IC + k3 * O - (k2 + k4) * I
dot(C) = k2 * O + k4 * IC - (k1 + k3) * C
dot(IC) = k2 * I + k3 * C - (k1 + k4) * IC
IKr = g * O * (V - EK)
"""


class MyokitSim:
    """Myokit's analytical Markov simulation (no compiler) of the model as its 4-state scheme
    (O = a r, I = a (1 - r), C = (1 - a) r, IC: both gates at 0), mV and time in samples; the
    protocol is one step per sample at ionjax's gating voltage (the sine at each interval's
    midpoint, steps held); the current is g O (V - E_K) at the samples, as ionjax."""

    def __init__(self, cell):
        import myokit
        import myokit.lib.markov as markov

        self.cell = cell
        model = myokit.parse_model(MMT)
        names = [f"ikr.p{j}" for j in range(1, 9)] + ["ikr.g"]
        self.linear = markov.LinearModel(model, ["ikr.O", "ikr.I", "ikr.C", "ikr.IC"], names,
                                         "ikr.IKr")
        # time in samples (integers: no rounding at the 80,000 edges), so rates per sample;
        # events scheduled last first (Myokit's linked list is then built in linear time)
        # Myokit's Python pacing walks the event list at each event (quadratic in the events):
        # one protocol per 1,000 samples, the state carried from one to the next
        self.protocols = []
        for lo in range(0, cell.vg.size, 1000):
            protocol = myokit.Protocol()
            for j in range(min(lo + 1000, cell.vg.size) - 1, lo - 1, -1):
                protocol.schedule(float(cell.vg[j] * 1e3), float(j - lo), 1.0)
            self.protocols.append(protocol)
        self.times = np.arange(cell.vg.size, dtype=float)
        self.per_sample = np.array([DT * 1e3, 1.0] * 4 + [1.0])  # paper units -> per sample
        self.markov = markov

    def current(self, x):
        params, state, o = list(np.asarray(x) / PAPER_TO_SI * self.per_sample), None, []
        for protocol, lo in zip(self.protocols, range(0, self.times.size, 1000)):
            sim = self.markov.AnalyticalSimulation(self.linear, protocol)
            sim.set_parameters(params)
            if state is not None:
                sim.set_state(state)
            times = self.times[lo:lo + 1000] - lo
            o.append(np.asarray(sim.run(float(times.size), log_times=times)["ikr.O"]))
            state = np.clip(sim.state(), 0.0, None)
            state = state / state.sum()
        return x[-1] * np.concatenate(o) * (self.cell.v - self.cell.e_rev)


# ----------------------------------------------------------------- baselines

class Tracker:
    """Best loss over wall time for a method; ``hit`` the first time it reaches ``target``."""

    def __init__(self, target, tol):
        self.start = time.perf_counter()
        self.best, self.x, self.hit, self.history, self.evals = np.inf, None, None, [], 0
        self.target, self.tol = target, tol

    def seen(self, loss, x):
        self.evals += 1
        if loss < self.best:
            self.best, self.x = loss, np.array(x)
            elapsed = time.perf_counter() - self.start
            self.history.append((elapsed, loss))
            if self.hit is None and loss <= self.target + self.tol:
                self.hit = elapsed

    def elapsed(self):
        return time.perf_counter() - self.start

    def at(self, seconds):
        """The best loss reached by ``seconds`` (inf if none)."""
        past = [loss for t, loss in self.history if t <= seconds]
        return min(past) if past else np.inf


def fit_pints(cell, simulate, starts, cap, target, tol, seed):
    import pints

    class Model(pints.ForwardModel):
        def n_parameters(self):
            return 9

        def simulate(self, theta, times):
            return simulate(np.exp(theta))[cell.mask]

    class Bounds(pints.Boundaries):
        def n_parameters(self):
            return 9

        def check(self, theta):
            return cell.inside(np.exp(theta))

    problem = pints.SingleOutputProblem(Model(), cell.t[cell.mask], cell.i_kept)
    loglik = pints.GaussianKnownSigmaLogLikelihood(problem, cell.sigma)
    track = Tracker(target, tol)
    np.random.seed(seed)
    runs = []
    for k, x0 in enumerate(starts):
        if track.elapsed() > cap:
            break
        opt = pints.CMAES(np.log(x0), 1.0, Bounds())  # sigma0 = 1 in ln x (a factor e)
        best_run, unchanged, iterations = np.inf, 0, 0
        while track.elapsed() < cap and not opt.stop():
            xs = opt.ask()
            fs = []
            for theta in xs:
                f = -loglik(theta)
                fs.append(f)
                track.seen(f, np.exp(theta))
            opt.tell(fs)
            iterations += 1
            fb = opt.f_best()
            # PINTS' default stop: 200 iterations without a change of 1e-11
            unchanged = unchanged + 1 if abs(fb - best_run) < 1e-11 else 0
            best_run = min(best_run, fb)
            if unchanged >= 200:
                break
        runs.append(dict(start=k, iterations=iterations, best=best_run,
                         finished=track.elapsed() < cap))
    return track, runs


def fit_scipy(cell, simulate, starts, cap, target, tol):
    from scipy.optimize import least_squares

    class Cap(Exception):
        pass

    track = Tracker(target, tol)
    runs = []

    def residual(theta):
        if track.elapsed() > cap:
            raise Cap
        x = np.exp(theta)
        r = (cell.i_kept - simulate(x)[cell.mask]) / cell.sigma
        if not np.all(np.isfinite(r)):
            return np.full(r.shape, 1e10)
        track.seen(0.5 * cell.n * np.log(2 * np.pi * cell.sigma ** 2) + 0.5 * float(r @ r), x)
        return r

    for k, x0 in enumerate(starts):
        if track.elapsed() > cap:
            break
        try:
            sol = least_squares(residual, np.log(x0), method="trf", jac="2-point")
            runs.append(dict(start=k, nfev=sol.nfev, status=sol.status, finished=True))
        except Cap:
            runs.append(dict(start=k, finished=False))
    return track, runs


def time_solve_ivp(cell, x, cap):
    """One simulation by scipy's solve_ivp (LSODA, max step one sample, rtol 1e-8): seconds,
    and its largest difference from ionjax relative to the largest current (None past cap)."""
    from scipy.integrate import solve_ivp

    p1, p2, p3, p4, p5, p6, p7, p8, g = x
    vg, n = cell.vg, cell.vg.size
    began = time.perf_counter()

    def rhs(t, y):
        if time.perf_counter() - began > cap:
            raise TimeoutError
        v = vg[min(int(t / DT + 1e-9), n - 1)]
        k1, k2 = p1 * np.exp(p2 * v), p3 * np.exp(-p4 * v)
        k3, k4 = p5 * np.exp(p6 * v), p7 * np.exp(-p8 * v)
        return [k1 * (1 - y[0]) - k2 * y[0], k4 * (1 - y[1]) - k3 * y[1]]

    try:
        sol = solve_ivp(rhs, (0, (n - 1) * DT), [0.0, 0.0], method="LSODA", rtol=1e-8,
                        atol=1e-10, max_step=DT, t_eval=np.arange(n) * DT)
    except TimeoutError:
        return time.perf_counter() - began, None
    seconds = time.perf_counter() - began
    f = g * sol.y[0] * sol.y[1] * (cell.v - cell.e_rev)
    ref = cell.jax_current(x)
    return seconds, float(np.abs(f - ref).max() / np.abs(ref).max())


# ----------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--starts", type=int, default=8, help="starts per cell (all methods)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pints-cap", type=float, default=600.0, help="[s]")
    parser.add_argument("--scipy-cap", type=float, default=300.0, help="[s]")
    parser.add_argument("--myokit-max", type=float, default=1.0,
                        help="[s] per simulation: slower and PINTS uses the Python loop")
    parser.add_argument("--ivp-cap", type=float, default=60.0, help="[s] one solve_ivp run")
    parser.add_argument("--batch", default="9,90,900", help="simulated batch sizes")
    parser.add_argument("--chunk", type=int, default=45, help="cells per fit_traces call")
    parser.add_argument("--batch-cap", type=float, default=900.0,
                        help="[s] per batch size: stop adding chunks after this")
    parser.add_argument("--tol", type=float, default=1.0,
                        help="'reached' = a loss within this of ionjax's (NLL units)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-cells", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--ref", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args)

    from _common import machine

    print(machine(), flush=True)
    folder = _data_folder(args.data)
    cell = Cell(folder)
    print(f"cell 5 ({CELL5}): {cell.n} of {cell.v.size} samples kept, sigma "
          f"{cell.sigma * 1e12:.3f} pA, E_K {cell.e_rev * 1e3:.3f} mV ({cell.e_rev_note})",
          flush=True)

    # ionjax, fresh processes, compile counted
    one = _run_worker("cell5", args)
    x_ionjax = np.array(one["x"][0])
    loss_ionjax = cell.loss(x_ionjax)
    print(f"ionjax cell 5: first call {one['times'][0]:.1f} s (compiles; process "
          f"{one['process_wall']:.1f} s with imports), warm {one['times'][1]:.2f} s; loss "
          f"{one['loss'][0]:.3f} (here {loss_ionjax:.3f}); status {one['status'][0]}; "
          f"peak RSS {one['rss_mib']:.0f} MiB", flush=True)
    nine = _run_worker("all9", args)
    print(f"ionjax all 9 cells, one call: first {nine['times'][0]:.1f} s (compiles; process "
          f"{nine['process_wall']:.1f} s), warm {nine['times'][1]:.2f} s; statuses "
          f"{nine['status']}; peak RSS {nine['rss_mib']:.0f} MiB", flush=True)

    # the simulators against ionjax at the authors' optimum
    sys.path.insert(0, str(ROOT / "tests"))
    from beattie_reference import CMAES_CELL5

    theirs = np.array(CMAES_CELL5) * PAPER_TO_SI
    ref = cell.jax_current(theirs)
    scale = np.abs(ref).max()
    start = time.perf_counter()
    loop = cell.loop_current(theirs)
    t_loop = time.perf_counter() - start
    mk = MyokitSim(cell)
    start = time.perf_counter()
    f_mk = mk.current(theirs)
    t_myokit = time.perf_counter() - start
    t_ivp, err_ivp = time_solve_ivp(cell, theirs, args.ivp_cap)
    print(f"at the authors' CMA-ES optimum: loss {cell.loss(theirs):.3f} (ionjax's simulator), "
          f"{cell.loss(theirs, f_mk):.3f} (Myokit), {cell.loss(theirs, loop):.3f} (Python loop)")
    print(f"one simulation, 80,000 samples: Myokit analytical {t_myokit:.2f} s (max |diff| / "
          f"max |I| = {np.abs(f_mk - ref).max() / scale:.1e}); Python-loop exact step "
          f"{t_loop:.3f} s ({np.abs(loop - ref).max() / scale:.1e}); solve_ivp LSODA "
          + (f"{t_ivp:.1f} s ({err_ivp:.1e})" if err_ivp is not None
             else f"> {t_ivp:.0f} s (stopped)"), flush=True)
    use_myokit = t_myokit <= args.myokit_max
    pints_sim = mk.current if use_myokit else cell.loop_current
    pints_name = "Myokit analytical" if use_myokit else "Python-loop exact step"
    scipy_name = "Python-loop exact step"  # solve_ivp: timed above, far slower per simulation

    starts = cell.starts(args.starts, args.seed)
    pints_track, pints_runs = fit_pints(cell, pints_sim, starts, args.pints_cap, loss_ionjax,
                                        args.tol, args.seed)
    print(f"PINTS CMA-ES ({pints_name}): {pints_track.evals} evaluations, runs {pints_runs}",
          flush=True)
    scipy_track, scipy_runs = fit_scipy(cell, cell.loop_current, starts,
                                        args.scipy_cap, loss_ionjax, args.tol)
    print(f"scipy least_squares ({scipy_name}): {scipy_track.evals} evaluations, runs "
          f"{scipy_runs}", flush=True)

    # batch cost
    batch = []
    with tempfile.TemporaryDirectory() as tmp:
        ref_file = Path(tmp) / "nine.json"
        ref_file.write_text(json.dumps(nine))
        per_cell = nine["times"][1] / 9
        for n in [int(s) for s in args.batch.split(",") if s]:
            if n * per_cell > 2 * args.batch_cap:
                print(f"batch {n}: not run, about {n * per_cell:.0f} s at the last warm per-cell "
                      f"time ({per_cell:.2f} s), over twice --batch-cap", flush=True)
                batch.append(dict(n=n, skipped=n * per_cell))
                continue
            out = _run_worker("batch", args, ["--n-cells", str(n), "--ref", str(ref_file)])
            batch.append(out)
            warm = out["times"][1:]
            per = sum(warm) / (len(warm) * out["chunk"]) if warm else float("nan")
            per_cell = per if warm else per_cell
            print(f"batch {n}: {out['fitted']} cells fitted in {len(out['times'])} call(s) of "
                  f"{out['chunk']} (first compiles: {out['times'][0]:.1f} s); warm "
                  f"{per:.3f} s per cell; usable {sum(out['usable'])}/{out['fitted']}; peak RSS "
                  f"{out['rss_mib']:.0f} MiB", flush=True)

    # the table
    rows = [("ionjax fit_traces, cold (compile)", one["times"][0], loss_ionjax, None),
            ("ionjax fit_traces, warm", one["times"][1], loss_ionjax, None)]
    for name, track, cap in ((f"PINTS CMA-ES + {pints_name}", pints_track, args.pints_cap),
                             (f"scipy least_squares + {scipy_name}", scipy_track,
                              args.scipy_cap)):
        final = cell.loss(track.x) if track.x is not None else np.inf
        rows.append((name + f" (cap {cap:.0f} s)", min(track.elapsed(), cap), final, track.hit))
    print()
    print(f"{'method (cell 5)':56s} {'wall [s]':>9s} {'final loss':>14s} {'vs ionjax':>10s} "
          f"{'reached ionjax loss':>20s}")
    for name, wall, loss, hit in rows:
        ratio = wall / one["times"][0]
        reached = "-" if hit is None and "ionjax" in name else (
            f"at {hit:.0f} s ({hit / one['times'][0]:.0f}x cold, {hit / one['times'][1]:.0f}x "
            "warm)" if hit is not None else "not within cap")
        print(f"{name:56s} {wall:9.1f} {loss:14.3f} {ratio:9.1f}x {reached:>20s}")
    print(f"(ratio: wall time / ionjax cold; 'reached': first loss within {args.tol:g} of "
          f"ionjax's {loss_ionjax:.3f}; loss = TraceFitResult.loss, NLL in A, ionjax's simulator)")
    for name, track in (("PINTS", pints_track), ("scipy", scipy_track)):
        marks = [m for m in (10, 30, 60, 120, 300, 600, 900) if m <= track.elapsed() + 1]
        print(f"{name} best loss by time: " + ", ".join(
            f"{m} s: {track.at(m) - loss_ionjax:+.3g}" for m in marks) + " (minus ionjax's)")
    print(f"all 9 cells in one call: {nine['times'][0]:.1f} s cold, {nine['times'][1]:.2f} s warm")
    for out in batch:
        if "skipped" in out:
            print(f"batch {out['n']:4d} simulated cells: not run (about {out['skipped']:.0f} s "
                  "estimated)")
            continue
        warm = out["times"][1:]
        per = sum(warm) / (len(warm) * out["chunk"]) if warm else float("nan")
        note = "" if out["fitted"] >= out["n"] else f" (only {out['fitted']} fitted: cap)"
        print(f"batch {out['n']:4d} simulated cells: {per * 1e3:8.1f} ms per cell warm "
              f"(calls of {out['chunk']}){note}")


if __name__ == "__main__":
    main()
