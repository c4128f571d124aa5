"""The authors' published numbers for Beattie et al. (2018), and their loss, for tests and benches.

Beattie KA, Hill AP, Bardenet R, Cui Y, Vandenberg JI, Gavaghan DJ, de Boer TP, Mirams GR (2018).
Sinusoidal voltage protocols for rapid characterisation of ion channel kinetics. J Physiol
596:1813-1828, doi:10.1113/JP275733. Numbers from the authors' supplementary repository
(github mirams/sine-wave, commit 54ca435db5f886577a9bcd83946805869e9dc377, CC BY 4.0), read with
``scipy.io.loadmat`` and printed with ``repr`` (no rounding):

* ``MAXIMUM_LIKELIHOOD``: per cell, the MCMC sample of highest log-likelihood in
  ``MCMCResults/MCMCChain_<cell>_hh_sine_wave_*.mat`` (what their ``GettingAllParameters.m``
  collects: the paper's Table F11 and ``Figures/figure_7/parameters_each_cell_and_average.txt``,
  which agree with these to 8 digits), and ``LOG_LIKELIHOOD`` that sample's log-likelihood
  (``MCMCLikelihood_*``), the loss the paper's fit reached.
* ``CMAES_CELL5``: the best of the 25 CMA-ES runs for cell 5 (16713110) in
  ``CMAESFullSearchResults/FullGlobalSearchParams_16713110_hh_sine_wave_protocol_29082348.mat``
  (row 17) and its negative log-likelihood (``...Vals...``, row 17): the issue's "CMA-ES optimum",
  identical to cell 5's ``MAXIMUM_LIKELIHOOD`` (their MCMC started there and found nothing better).

Parameters are (p1, ..., p8, g) in the paper's units: p1, p3, p5, p7 in 1/ms; p2, p4, p6, p8 in
1/mV; g in uS (currents in nA for V in mV).

The authors' loss (``Code/objective_without_capacitance.m``) is the Gaussian log-likelihood
-N/2 log(2 pi sigma^2) - SSR / (2 sigma^2) over the kept samples, with sigma the sample standard
deviation (N - 1) of the first 2,000 samples of the recorded current and
E_K = (R T / F) ln(4 / 130) with R = 8314 mJ/(mol K), F = 96485 C/mol (``Code/SimulatingData.m``;
CODATA gives an E_K 4.6 uV more negative).

Three details of their files that a user of ../shared/data/beattie2018 should know:

* Their simulation (``Code/MexHH.c``) integrates the four-state form of the two gates from the
  initial condition [0, 0, 0] of its three free states: all probability in the fourth, "a closed,
  r not inactivated". So a starts at 0 and r at 1 (``A0``, ``R0``), not both at 0.

* ``sine_wave_protocol.mat`` already holds the 0.1 ms shift of the authors' simulations: its
  first change is at sample 2501 (t = 250.1 ms) and its sine samples equal
  -30 + 54 sin(0.007 s) + 26 sin(0.037 s) + 10 sin(0.19 s) at s = t - 2500.1 ms (to 2e-12 mV).
  The authors' CVODE simulation holds each step from its sample on and follows the sine
  continuously, so the exact zero-order-hold step reproduces it when the sine samples carry the
  voltage at the middle of each interval (``sine_wave_midpoint``); shifting the file once more
  would shift it twice.
* Their kept ranges are MATLAB's ``I(2549:2999)`` etc., 1-based inclusive, which are the 0-based
  half-open ``[2548, 2999)`` of ``KEPT_RANGES`` (the data README's ranges start one sample later).
"""

import numpy as np

COMMIT = "54ca435db5f886577a9bcd83946805869e9dc377"
DOI = "10.1113/JP275733"

# the paper's cell 1 .. 9 (ExperimentalData/cell_index.txt)
CELLS = ("16713003", "16715049", "16708016", "16708060", "16713110", "16708118", "16704007",
         "16704047", "16707014")
TEMPERATURE_C = {"16708016": 21.8, "16708060": 21.7, "16704047": 21.6, "16704007": 21.2,
                 "16713003": 21.3, "16713110": 21.4, "16715049": 21.4, "16707014": 21.4,
                 "16708118": 21.7}
K_IN, K_OUT = 130.0, 4.0  # mM
R_AUTHORS, F_AUTHORS = 8314.0, 96485.0  # mJ/(mol K), C/mol: their constants

MAXIMUM_LIKELIHOOD = {
    "16713003": (0.000198004073737361, 0.05933075226338069, 7.168795833626788e-05,
                 0.04933355551907674, 0.10480523809574527, 0.013878947177710281,
                 0.003825885398112162, 0.035952756766614774, 0.13507475538713107),
    "16715049": (0.0003238689586282199, 0.06526772102182299, 7.819474464789566e-05,
                 0.04969501389242134, 0.08045286338031583, 0.002515627727637037,
                 0.004920687798111195, 0.032426654718330554, 0.09019619620166727),
    "16708016": (0.00047770613286764267, 0.0661279521240185, 5.161082351447249e-05,
                 0.05232774179164348, 0.13750804785208295, 0.009380364501178592,
                 0.003918098241926812, 0.037515283013511605, 0.10106452582785044),
    "16708060": (0.0006413785794192484, 0.057735703478223065, 5.802722228014535e-05,
                 0.051712313194734544, 0.08927206183744858, 0.005696658998305754,
                 0.005871510308852979, 0.032442543447218385, 0.07414335887390283),
    "16713110": (0.00022602607665052555, 0.06991688456086355, 3.4480994110644046e-05,
                 0.05461441978453112, 0.08732405593795897, 0.008913020054971405,
                 0.005151125829762749, 0.031583391135911, 0.15239599365234804),
    "16708118": (0.0006183956830463724, 0.06579414932005902, 0.00012754180467164548,
                 0.037940084637720355, 0.0810304360731734, 0.016535134241429838,
                 0.009160506165928157, 0.02525541942592037, 0.021839213181681902),
    "16704007": (0.0005404501454627423, 0.04844225046036254, 6.585500347824593e-05,
                 0.04573007261755642, 0.06272257817853971, 0.008660974126231714,
                 0.005381543703419851, 0.031758791482364115, 0.1552959249308543),
    "16704047": (0.0003133566148753455, 0.04813753287179558, 5.0647117737199443e-05,
                 0.049104335495948476, 0.07225405026211006, 0.006319734134611656,
                 0.005981397056975398, 0.0327676039932801, 0.09844940385706626),
    "16707014": (0.0005619443203053682, 0.043342205505970344, 0.00012399993144793567,
                 0.04440160245183718, 0.06587704099627738, 0.0028176061099477972,
                 0.003634452653363421, 0.034303198964865604, 0.05141460753027027),
}
LOG_LIKELIHOOD = {
    "16713003": -212113.24842578534, "16715049": 23820.284849749238,
    "16708016": 142411.68920907576, "16708060": 132272.99609737395,
    "16713110": -1510631.7557874036, "16708118": 218013.15952046606,
    "16704007": -630175.8090483111, "16704047": 97587.42910808281,
    "16707014": 178928.1446970433,
}
# row 17 of the CMA-ES files, the same point as the MCMC chain's best (the chain starts there)
CMAES_CELL5 = (0.00022602607665052555, 0.06991688456086355, 3.4480994110644046e-05,
               0.05461441978453112, 0.08732405593795897, 0.008913020054971405,
               0.005151125829762749, 0.031583391135911, 0.15239599365234804)
CMAES_CELL5_NEGATIVE_LOG_LIKELIHOOD = 1510631.7557874036

# 0-based, end exclusive (MATLAB's I(1:2499); I(2549:2999); ... I(70049:end))
KEPT_RANGES = ((0, 2499), (2548, 2999), (3048, 4999), (5048, 14999), (15048, 19999),
               (20048, 29999), (30048, 64999), (65048, 69999), (70048, 80000))
SINE_SAMPLES = (30001, 65001)  # the file's samples on the sine: t in [3000.1, 6500.1) ms
DT_MS = 0.1
A0, R0 = 0.0, 1.0  # the gates at t = 0 in the authors' simulations


def kept_mask(n=80000):
    """True on the samples the authors' loss uses (capacitive spikes after each step left out)."""
    mask = np.zeros(n, bool)
    for start, end in KEPT_RANGES:
        mask[start:min(end, n)] = True
    return mask


def sine(t_ms):
    """The protocol's sine [mV] at times ``t_ms`` [ms] of the file's (shifted) clock."""
    s = np.asarray(t_ms) - 2500.1
    return -30 + 54 * np.sin(0.007 * s) + 26 * np.sin(0.037 * s) + 10 * np.sin(0.19 * s)


def sine_wave_midpoint(v_mv):
    """The sine-wave protocol [mV] as the voltage to hold over each sample interval.

    Steps keep their samples (the authors' steps start on a sample); sine samples are replaced
    by the sine at the middle of their interval, t_n + 0.05 ms, so that a zero-order hold follows
    the continuous sine to second order, as the authors' CVODE simulation does.
    """
    v = np.array(v_mv, float)
    start, end = SINE_SAMPLES
    t = np.arange(start, end) * DT_MS
    if np.abs(v[start:end] - sine(t)).max() > 1e-6:
        raise ValueError("these samples are not the sine wave of Beattie et al. (2018)")
    v[start:end] = sine(t + DT_MS / 2)
    return v


def e_k_authors(temperature_c):
    """E_K [mV] as the authors compute it (their R and F; 273.15 K offset)."""
    return R_AUTHORS * (273.15 + temperature_c) / F_AUTHORS * np.log(K_OUT / K_IN)


def log_likelihood(simulated_na, recorded_na):
    """The authors' Gaussian log-likelihood of a simulated current [nA] given the recording [nA]."""
    simulated, recorded = np.asarray(simulated_na, float), np.asarray(recorded_na, float)
    sigma = np.std(recorded[:2000], ddof=1)
    residual = (recorded - simulated)[kept_mask(recorded.size)]
    return (-0.5 * residual.size * np.log(2 * np.pi * sigma**2)
            - 0.5 * np.sum(residual**2) / sigma**2)
