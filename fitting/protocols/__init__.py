"""What a protocol means: one module per protocol, each a Python API first.

    base           Protocol (name, typed Options, extract -> analyse -> rows -> draw), Analysis,
                   option(), RecordingOptions (the reading options the commands share)
    registry       the protocols by name, one line each (lazy: ``ionjax --help`` imports no jax)
    membrane_test  access/membrane resistance and capacitance per sweep: the protocol; its
                   analysis is membrane_fit (``fitting.membrane_test``), the circuit read
                   through the amplifier's filter membrane_charge, its reader membrane_read,
                   the summary over sweeps and the two decay models compared membrane_summary,
                   what the samples give without a decay model membrane_samples
    activation     Boltzmann of the step I-V: joint fit and chord / GHK G-V (``activation``)
    inactivation   h_inf from two pulses (``inactivation``)
    isochronal     the same analysis of tail currents after a varied step
    ramp           measured reversal and slope conductance of ramp I-Vs
    kinetics       time constants of relaxations (``kinetics``); steady_band its
                   no-relaxation test (the steady level and the noise band around it)
    tail           instantaneous I-V from tails, ohmic vs GHK: the protocol; its analysis
                   tail_fit (``tail_iv``), its reader kinetics_read
    steady_iv      the step I-V read with the corrections (``fit``, ``iv``, activation)
    gating, ions, reversal   what several protocols share
    relaxation_checks   a fitted relaxation that is the recording's, refused: a tail window
                   started inside the transient, a tail amplitude extrapolated over many tau,
                   a clamp still settling or lost (kinetics, tail)
    kinetics_read, ramp_read, membrane_read, twopulse_read (inactivation and isochronal)
                   the protocols' readers: a Recording of any format -> the numbers analysed

Imports ``fitting.recordings``, ``fitting.engine``, ``fitting.models``, ``fitting.outputs`` and
``ionjax`` (engine and models on first use); never ``fitting.cli``.
"""

__all__: list[str] = []  # a namespace of modules: import them by name
