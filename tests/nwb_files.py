"""NWB files made from the real ABF recordings by tools other than ionjax, for the NWB tests.

* ``neuroconv_nwb``: neuroconv's Axon interface (neo reads the ABF; the command is neo's
  reconstruction of the DAC waveform from the ABF 2 protocol), one interface per electrode,
  combined by neuroconv's converter into the icephys tables (intracellular recordings,
  simultaneous and sequential recordings).
* ``pynwb_nwb``: pynwb's own writer, for what neuroconv cannot make: ABF 1 files (no protocol
  section for neo to rebuild the command from) and ramps (neo 0.14 draws a ramp epoch as a step
  to its end level and the holding level as 0 mV). The command is pyabf's ``sweepC``, the current
  ``sweepY``; each sweep is its own series with its own ``conversion`` (a per-sweep gain), with
  or without the intracellular-recordings table.
"""

import datetime
import warnings

import numpy as np

START = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)


def neuroconv_nwb(abf, out, channels=(0,)):
    """``abf`` converted by neuroconv, electrode k recording channel ``IN{k}`` under ``Cmd k``."""
    from neuroconv.datainterfaces.icephys.axon.axonintracellularconverter import (
        AxonIntracellularConverter)
    from neuroconv.datainterfaces.icephys.axon.axonintracellularinterface import (
        AxonIntracellularInterface)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = AxonIntracellularInterface.get_channel_names(abf)
        commands = AxonIntracellularInterface.get_command_names(abf)
        interfaces = {f"cell{k}": AxonIntracellularInterface(
            abf, response_channel_name=names[k], mode="voltage_clamp",
            stimulus_command=commands[k]) for k in channels}
        converter = AxonIntracellularConverter(data_interfaces=interfaces)
        metadata = converter.get_metadata()
        metadata["NWBFile"].setdefault("session_start_time", START)
        converter.run_conversion(nwbfile_path=str(out), metadata=metadata, overwrite=True)
    return out


def pynwb_nwb(abf, out, *, table=True, channel=0, codes_per_mV=None):
    """``abf`` written with pynwb from pyabf's sweeps (see the module docstring); with
    ``codes_per_mV`` the command is stored as int16 codes (a DAC's steps) with its conversion."""
    import pyabf
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import VoltageClampSeries, VoltageClampStimulusSeries

    printing = np.get_printoptions()
    data = pyabf.ABF(str(abf))
    np.set_printoptions(**printing)
    nwb = NWBFile(session_description="pynwb conversion", identifier=str(abf),
                  session_start_time=START)
    device = nwb.create_device(name="amplifier")
    electrode = nwb.create_icephys_electrode(name="electrode0", description="patch pipette",
                                             device=device)
    rate = float(data.dataRate)
    for sweep in range(data.sweepCount):
        data.setSweep(sweep, channel=channel)
        assert data.sweepUnitsY == "pA" and data.sweepUnitsC == "mV"
        gain = 0.5 + 0.25 * sweep  # a different gain for every sweep: pA per stored unit
        response = VoltageClampSeries(
            name=f"current_{sweep}", data=np.asarray(data.sweepY, float) / gain,
            conversion=gain * 1e-12, electrode=electrode, gain=1.0, rate=rate,
            starting_time=sweep * len(data.sweepY) / rate, sweep_number=sweep)
        command, conversion = np.asarray(data.sweepC, float), 1e-3
        if codes_per_mV is not None:
            command = np.round(command * codes_per_mV).astype(np.int16)
            conversion = 1e-3 / codes_per_mV
        stimulus = VoltageClampStimulusSeries(
            name=f"command_{sweep}", data=command, conversion=conversion,
            electrode=electrode, gain=1.0, rate=rate,
            starting_time=sweep * len(data.sweepC) / rate, sweep_number=sweep)
        if table:
            nwb.add_intracellular_recording(electrode=electrode, stimulus=stimulus,
                                            response=response)
        else:
            nwb.add_acquisition(response)
            nwb.add_stimulus(stimulus)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(out), "w") as io:
            io.write(nwb)
    return out
