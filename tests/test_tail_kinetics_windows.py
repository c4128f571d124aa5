"""Tail and kinetics windows on other labs' recordings (issue 23, items 1 and 3 leftovers).

* A tail window that starts inside a fast component (the capacitive transient's tail) fits that
  component, and its extrapolation to the onset is the transient's: the sweep is refused with
  a suggested start (``fitting.protocols.relaxation_checks.faster_component``); a window that
  starts after it, and a genuine fast relaxation, are not.
* A relaxation fitted while a two-electrode clamp's V_m still settles is the clamp's: refused
  (``clamp_settling``), found on the file's voltage channel even without --voltage-channel.
* ``--voltage-channel`` for the kinetics and isochronal protocols: each sweep's voltage is V_m's
  mean (kinetics: over the window; isochronal: over the step's last 20%), checked against the
  closed forms of the clamp of ``test_two_electrode`` (whose ABF1 writer and V_m model are used).
"""

import numpy as np
import pytest

from test_cli import run
from test_two_electrode import (D0, E, EPOCHS, G, HOLD, LEVELS, N, R, RATE, command,
                                membrane, write_abf1)

from fitting.engine.status import Status
from fitting.protocols import isochronal, kinetics, relaxation_checks, tail
from fitting.recordings.errors import InputError

# --- tails: a window inside the transient ---------------------------------------------------

FS, NOISE = 2000.0, 2e-12            # 2 kHz, 2 pA noise
TAU_CH, TAU_CAP = 0.1, 3e-3          # channel deactivation 100 ms; a filtered transient 3 ms
V_TAIL = np.array([-0.085, -0.055, -0.025, 0.005, 0.035])
E_TAIL, G_TAIL = -0.025, 3e-9        # the open channel's instantaneous I-V: 3 nS, -25 mV


def tails(transient=True, tau=TAU_CH, seed=0):
    """(t [s] from the onset, currents (S, n) [A], onset currents (S,) [A]) over 1.5 s:
    I = I_0 (0.1 + 0.9 exp(-t / tau)) + A exp(-t / tau_cap), I_0 = g (V - E) the open-channel
    current at the onset, A = 0.3 nA per 100 mV of step from -120 mV (a passive transient)."""
    t = np.arange(int(1.5 * FS)) / FS
    onset = G_TAIL * (V_TAIL - E_TAIL)
    i = onset[:, None] * (0.1 + 0.9 * np.exp(-t / tau))
    if transient:
        i = i + 3e-9 * (V_TAIL + 0.120)[:, None] * np.exp(-t / TAU_CAP)
    return t, i + NOISE * np.random.default_rng(seed).standard_normal(i.shape), onset


def window_of(t, i, start, stop):
    """(t, i) in [start, stop) and the current after it (three window lengths)."""
    inside, after = (t >= start) & (t < stop), (t >= stop) & (t < stop + 3 * (stop - start))
    return t[inside], i[:, inside], (t[after], i[:, after])


def test_a_window_inside_the_transient_is_refused_with_a_later_start():
    t, i, onset = tails()
    tw, iw, after = window_of(t, i, 2.5e-3, 30e-3)
    tl = tail.tail_iv(V_TAIL, tw, iw, onset=0.0, after=after)
    refused = tl.kinetics.status == Status.OUT_OF_RANGE
    # the steps from -120 mV are large at depolarised tails: there the transient dominates
    assert refused[-2:].all(), tl.kinetics.notes
    for s in np.flatnonzero(refused):
        assert not np.isfinite(tl.i[s])
        assert "starts inside a faster component" in tl.kinetics.notes[s]
        assert "start --window after" in tl.kinetics.notes[s]
    # without the check the same window gives a plausible, wrong onset current: the transient's
    plain = tail.tail_iv(V_TAIL, tw, iw, onset=0.0)
    wrong = np.abs(plain.i[refused] - onset[refused]) / np.abs(onset[refused])
    assert np.all(wrong > 0.2) and np.all(plain.kinetics.status[refused] == Status.CONVERGED)
    # the suggested start lies where the transient A exp(-t / tau_cap) has fallen to the noise
    # (closed form t = tau_cap ln(A / sd), here ~13 ms) and a window from there to 30% of the
    # tail recovers the onset currents
    largest = 3e-9 * (V_TAIL[-1] + 0.120)
    assert 0.5 * TAU_CAP * np.log(largest / NOISE) < tl.start < 2 * TAU_CAP * np.log(largest / NOISE)
    tw, iw, after = window_of(t, i, tl.start, 0.45)
    later = tail.tail_iv(V_TAIL, tw, iw, onset=0.0, after=after)
    ok = np.abs(onset) > 20e-12  # the sweep at the reversal has no relaxation: its mean
    assert np.all(later.kinetics.status[ok] == Status.CONVERGED), later.kinetics.notes
    np.testing.assert_allclose(later.i, onset, atol=4 * later.stderr.max() + 2e-12)


def test_a_window_after_the_transient_and_a_fast_channel_are_not_refused():
    t, i, onset = tails()
    tw, iw, after = window_of(t, i, 2e-3, 0.45)  # the default: 2 ms to 30% of the tail
    tl = tail.tail_iv(V_TAIL, tw, iw, onset=0.0, after=after)
    assert np.all(tl.kinetics.status == Status.CONVERGED), tl.kinetics.notes
    # a genuine fast relaxation (tau 5 ms, one component, no transient) in the short window
    t, i, onset = tails(transient=False, tau=5e-3, seed=1)
    tw, iw, after = window_of(t, i, 2.5e-3, 30e-3)
    tl = tail.tail_iv(V_TAIL, tw, iw, onset=0.0, after=after)
    ok = np.abs(onset) > 20e-12  # the sweep at the reversal has no relaxation (NO_SIGNAL)
    assert np.all(tl.kinetics.status[ok] == Status.CONVERGED), tl.kinetics.notes
    np.testing.assert_allclose(tl.i[ok], onset[ok], atol=4 * np.nanmax(tl.stderr) + 2e-12)
    np.testing.assert_allclose(tl.kinetics.values["tau1"][ok], 5e-3, rtol=0.05)


def _scipy_onset(t, i):
    """c + a of c + a exp(-t / tau) by scipy's curve_fit (the independent reference)."""
    from scipy.optimize import curve_fit

    p, _ = curve_fit(lambda t, c, a, tau: c + a * np.exp(-t / tau), t, i,
                     p0=(i[-1], i[0] - i[-1], (t[-1] - t[0]) / 5), maxfev=20000)
    return p[0] + p[1], p[2]


def test_hcn2_tails_short_window_refused_default_kept(shared_data):
    path = str(shared_data / "abf" / "hcn2_20d10009.abf")
    short = tail.PROTOCOL.run(path, tail.Options(window="2.5ms,30ms"))
    tl = short.result
    plus5 = int(np.argmin(np.abs(tl.v - 0.005)))
    assert tl.kinetics.status[plus5] == Status.OUT_OF_RANGE and not np.isfinite(tl.i[plus5])
    assert "start it later, e.g. --window" in short.text
    assert "351" in tl.kinetics.notes[plus5]  # the transient's extrapolation, named
    default = tail.PROTOCOL.run(path, tail.Options())
    dl = default.result
    assert not any("faster component" in n for n in dl.kinetics.notes)
    assert dl.start is None
    # the onset currents of the default window agree with scipy's fit of the same samples
    from fitting.protocols.kinetics_read import relaxations_from_abf

    r = relaxations_from_abf(path, window=("2ms", "30%"))
    for s in np.flatnonzero(np.isfinite(dl.i)):
        if abs(dl.i[s]) > 50e-12:
            ref, _ = _scipy_onset(r["t"], r["i"][s])
            assert dl.i[s] == pytest.approx(ref, abs=3 * dl.stderr[s]), s


def test_a_window_after_a_faster_component_is_refused_where_its_onset_moves():
    """I = I_0 (0.1 + 0.9 exp(-t / 100 ms)) - 0.5 I_0 exp(-t / 25 ms): a rising phase (a delay)
    before the deactivation. A window from 60 ms sees mostly the slow component and puts the
    onset at ~0.9 I_0 where the current there is 0.5 I_0; from 30 ms (half-way) the fit moves
    by more than 3 SE and 5%: refused, with the advice to start earlier. A single exponential
    fitted from the same late start is kept, and equals its onset current."""
    t, i, onset = tails(transient=False)
    delayed = i - 0.5 * onset[:, None] * np.exp(-t / 25e-3)
    inside, before = (t >= 0.06) & (t < 0.45), t < 0.06
    plain = tail.tail_iv(V_TAIL, t[inside], delayed[:, inside], onset=0.0)
    big = np.abs(onset) > 50e-12
    # without the check: CONVERGED onset currents near I_0, not the recording's 0.5 I_0
    assert np.all(plain.kinetics.status[big] == Status.CONVERGED)
    np.testing.assert_allclose(plain.i[big], onset[big], rtol=0.15)
    # with it: all four refused (the fifth is flat), so no I-V is left
    with pytest.raises(ValueError, match="only 1 of 5 tails") as e:
        tail.tail_iv(V_TAIL, t[inside], delayed[:, inside], onset=0.0,
                     before=(t[before], delayed[:, before]))
    assert str(e.value).count("moves with its start") == 4
    k = kinetics.kinetics(t[inside], delayed[:, inside], origin=0.0)
    k = relaxation_checks.earlier_start(k, t[inside], delayed[:, inside], t[before],
                                        delayed[:, before], 0.0,
                                        lambda t_, i_: kinetics.kinetics(t_, i_, origin=0.0))
    for s in np.flatnonzero(big):
        assert "moves with its start: from 30 ms" in k.notes[s]
        assert "start --window earlier" in k.notes[s]
    # one exponential from the same late start: kept, and right
    single = tail.tail_iv(V_TAIL, t[inside], i[:, inside], onset=0.0,
                          before=(t[before], i[:, before]))
    assert np.all(single.kinetics.status[big] == Status.CONVERGED), single.kinetics.notes
    np.testing.assert_allclose(single.i[big], onset[big], atol=4 * np.nanmax(single.stderr))


def test_a_late_window_after_the_whole_relaxation_is_refused_not_averaged():
    """tau 20 ms, the window from 100 ms (5 tau): every sweep looks flat there and its mean is
    the steady 0.1 I_0, which the tail used to report as the onset current (10x too small).
    From half-way (50 ms, or 25 ms where it is still flat at 50) the relaxation is seen again
    and puts the onset near I_0: refused. The
    sweep at the reversal, flat all the way down to the transient's 2 ms, is kept."""
    t, i, onset = tails(transient=False, tau=20e-3, seed=3)
    inside, before = (t >= 0.1) & (t < 0.45), t < 0.1
    plain = tail.tail_iv(V_TAIL, t[inside], i[:, inside], onset=0.0)
    big = np.abs(onset) > 50e-12
    assert np.all(plain.kinetics.status[big] == Status.NO_SIGNAL)
    np.testing.assert_allclose(plain.i[big], 0.1 * onset[big], rtol=0.2)  # the old answer
    k = kinetics.kinetics(t[inside], i[:, inside], origin=0.0)
    means = (i[:, inside].mean(axis=1), np.full(len(V_TAIL), 1e-12))
    k = relaxation_checks.earlier_start(k, t[inside], i[:, inside], t[before], i[:, before], 0.0,
                                        lambda t_, i_: kinetics.kinetics(t_, i_, origin=0.0),
                                        means)
    assert np.all(k.status[big] == Status.OUT_OF_RANGE), k.notes
    assert all("moves with its start: from " in k.notes[s] for s in np.flatnonzero(big))
    assert k.status[~big].tolist() == [Status.NO_SIGNAL]
    with pytest.raises(ValueError, match="only 1 of 5 tails"):
        tail.tail_iv(V_TAIL, t[inside], i[:, inside], onset=0.0, before=(t[before], i[:, before]))


def test_hcn2_late_tail_window_refused_where_the_onset_moves(shared_data):
    """hcn2 --window 200ms,800ms: the -55 mV tail's onset current is -456.5 pA from 200 ms,
    -373.9 pA from 100 ms and about -312 pA from 2 ms (scipy's fit of that window, below):
    refused; the default window keeps every sweep it kept before."""
    path = str(shared_data / "abf" / "hcn2_20d10009.abf")
    late = tail.PROTOCOL.run(path, tail.Options(window="200ms,800ms")).result
    m55 = int(np.argmin(np.abs(late.v - -0.055)))
    assert late.kinetics.status[m55] == Status.OUT_OF_RANGE, late.kinetics.notes[m55]
    assert "moves with its start: from 100 ms" in late.kinetics.notes[m55]
    from fitting.protocols.kinetics_read import relaxations_from_abf

    r = relaxations_from_abf(path, window=("2ms", "30%"))
    ref, _ = _scipy_onset(r["t"], r["i"][m55])
    assert abs(ref - -456.5e-12) > 100e-12  # what the late window claimed was 10 SE off
    assert not any("moves with its start" in n
                   for n in tail.PROTOCOL.run(path, tail.Options()).result.kinetics.notes)


# --- two-electrode clamp: kinetics and isochronal with a recorded V_m ------------------------

TAU_G, G_CH, E_CH = 30e-3, 20e-6, -0.090  # a K conductance activating with tau 30 ms
V_HALF, SLOPE = -0.040, 0.008              # its steady activation (isochronal fixture)


def _onset():
    return N // 64 + EPOCHS[0][0]


def _write(path, v_m, i):
    return write_abf1(path, [("Vm", "mV", v_m * 1e3), ("Imemb", "nA", i * 1e9)],
                      [("Cmd 0", "mV", True), ("Cmd 1", "nA", False)],
                      [(1, HOLD * 1e3, 0.0, EPOCHS[0][0]),
                       (1, LEVELS[0] * 1e3, EPOCHS[1][1] * 1e3, EPOCHS[1][0]),
                       (1, HOLD * 1e3, 0.0, EPOCHS[2][0])])


def oocyte(tmp_path, channel: bool):
    """The ABF1 of ``test_two_electrode`` (V_m on ADC 0 settling with tau 2 ms, current on
    ADC 1): the cell's leak G (V_m - E) and, with ``channel``, a K current of the step
    G_CH (1 - exp(-t / TAU_G)) (V_m - E_CH) during epoch B."""
    v_m = membrane(command())
    i = G * (v_m - E)
    if channel:
        t = (np.arange(N) - _onset()) / RATE
        gate = np.where((t >= 0) & (t < EPOCHS[1][0] / RATE), 1 - np.exp(-t / TAU_G), 0.0)
        i = i + G_CH * gate * (v_m - E_CH)
    path = tmp_path / ("channel.abf" if channel else "settling.abf")
    return path, v_m, _write(path, v_m, i)


def test_kinetics_refuses_the_clamp_settling_found_on_the_voltage_channel(tmp_path):
    path, v_m, (lsb_v, _) = oocyte(tmp_path, channel=False)
    a = kinetics.PROTOCOL.run(path, kinetics.Options(channel=1))  # no --voltage-channel
    k = a.result
    step = LEVELS != HOLD
    assert np.all(k.status[step] == Status.OUT_OF_RANGE), k.notes
    assert "channel 0 (Vm) records a voltage that follows the command" in a.text
    # the settling time named is where V_m, read independently from the written trace, stays
    # within 1 mV of its final level: tau ln(|jump| / 1 mV) (closed form), to a sample
    t0 = 1e-3
    for s in np.flatnonzero(step):
        vm = v_m[s, _onset():_onset() + EPOCHS[1][0]][int(t0 * RATE):]
        final = vm[-len(vm) // 10:].mean()
        expected = t0 + (np.flatnonzero(np.abs(vm - final) > 1e-3)[-1] + 1) / RATE
        jump = abs(LEVELS[s] - HOLD) / (1 + R * G)  # V_m's jump at the onset
        assert expected == pytest.approx(2e-3 * np.log(jump / 1e-3), abs=2 / RATE)
        assert f"only at {expected * 1e3:.3g} ms" in k.notes[s], k.notes[s]
    # a window that starts after V_m has settled is the channel's: nothing to fit here
    b = kinetics.PROTOCOL.run(path, kinetics.Options(channel=1, window="15ms,100%"))
    assert not any("settling" in n for n in b.result.notes)


def test_kinetics_with_voltage_channel_uses_vm_and_finds_the_channel(tmp_path):
    path, v_m, (lsb_v, _) = oocyte(tmp_path, channel=True)
    opts = kinetics.Options(channel=1, window="15ms,100%", voltage_channel=0)
    a = kinetics.PROTOCOL.run(path, opts)
    k = a.result
    step = np.abs(LEVELS - E_CH) > 0.015  # a driving force the relaxation shows
    assert np.all(k.status[step] == Status.CONVERGED), k.notes
    np.testing.assert_allclose(k.values["tau1"][step], TAU_G, rtol=0.01)
    # each sweep's voltage: V_m's window mean (the samples written, 15 ms .. the epoch's end)
    lo, hi = _onset() + int(15e-3 * RATE), _onset() + EPOCHS[1][0]
    v_rows = [r["value"] for r in a.rows if r["quantity"] == "v_step"]
    np.testing.assert_allclose(v_rows, v_m[:, lo:hi].mean(axis=1), atol=lsb_v * 1e-3)
    settled = (LEVELS + D0 + R * G * E) / (1 + R * G)  # closed form of the settled clamp
    np.testing.assert_allclose(v_rows, settled, atol=2e-5)
    assert "V_m recorded on channel 0" in a.text
    # from 1 ms the window holds the clamp's settling: the channel's sweeps are not both
    early = kinetics.PROTOCOL.run(path, kinetics.Options(channel=1, voltage_channel=0)).result
    assert np.all(early.status[LEVELS != HOLD] == Status.OUT_OF_RANGE), early.notes


def test_isochronal_with_voltage_channel_fits_against_vm(tmp_path):
    """Tail current at the holding level after a varied step: I = g P(V_step) (V_tail - E_CH)
    with P the Boltzmann of V_m; against V_m the fit returns V_1/2 and the slope, against the
    command the closed-form shifted ones."""
    v_m = membrane(command())
    b = slice(_onset(), _onset() + EPOCHS[1][0])
    c = slice(b.stop, b.stop + EPOCHS[2][0])
    v_pre = v_m[:, b][:, -EPOCHS[1][0] // 5:].mean(axis=1)
    p = 1 / (1 + np.exp((V_HALF - v_pre) / SLOPE))
    i = np.zeros_like(v_m)
    i[:, c] = G_CH * p[:, None] * (v_m[:, c] - E_CH)
    i += 1e-9 * np.random.default_rng(3).standard_normal(i.shape)
    path = tmp_path / "isochronal.abf"
    _write(path, v_m, i)
    opts = dict(channel=1, window="20ms,90%", statistic="mean")
    measured = isochronal.PROTOCOL.run(path, isochronal.Options(**opts, voltage_channel=0))
    fit = measured.result.fit
    assert float(fit.params["v_half"]) == pytest.approx(V_HALF, abs=0.2e-3)
    assert float(fit.params["slope"]) == pytest.approx(SLOPE, rel=0.02)
    assert "V_m recorded on channel 0" in measured.text
    command_side = isochronal.PROTOCOL.run(path, isochronal.Options(**opts)).result.fit
    # V_m = (V_cmd + d0 + R g E) / (1 + R g): V_1/2 and slope in command coordinates
    assert float(command_side.params["v_half"]) == pytest.approx(
        V_HALF * (1 + R * G) - D0 - R * G * E, abs=0.3e-3)
    assert float(command_side.params["slope"]) == pytest.approx(SLOPE * (1 + R * G), rel=0.02)
    # 5 ms into the tail V_m still moves by 82% of exp(-2.5) of its jump: more than the clamp
    # allows after the two largest steps (jumps of 76 and 95 mV), which are left out
    some = isochronal.PROTOCOL.run(path, isochronal.Options(channel=1, window="5ms,90%",
                                                            statistic="mean", voltage_channel=0))
    lost = [line for line in some.text.splitlines() if "the clamp did not hold" in line]
    assert [line.split(":")[0].strip() for line in lost] == ["sweep 7", "sweep 8"]
    assert all("over the window" in line for line in lost)
    with pytest.raises(InputError, match="in 8 of 9 sweeps: the clamp did not hold"):
        isochronal.PROTOCOL.run(path, isochronal.Options(channel=1, window="0ms,90%",
                                                         statistic="mean", voltage_channel=0))


def test_cli_accepts_voltage_channel_for_kinetics_and_isochronal(tmp_path):
    path, *_ = oocyte(tmp_path, channel=True)
    out = run("analyze", path, "--protocol", "kinetics", "--channel", "1", "--voltage-channel",
              "0", "--window", "15ms,100%", "--out", tmp_path / "k.csv")
    assert out.returncode == 0, out.stderr
    assert "V_m recorded on channel 0" in out.stdout
    refused = run("analyze", path, "--protocol", "isochronal", "--channel", "1",
                  "--voltage-channel", "0", "--series-resistance", "1MOhm")
    assert refused.returncode == 2 and "--voltage-channel" in refused.stderr
