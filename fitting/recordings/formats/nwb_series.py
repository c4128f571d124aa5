"""The values and sampling rate of an NWB time series (a slice of it), checked: what
``fitting.recordings.formats.nwb`` reads of each response and stimulus."""

import numpy as np

from fitting.recordings.errors import InputError

__all__ = ["RATES", "RATE_TOLERANCE", "common_rate", "series_rate", "series_values"]


def series_values(path: str, ref: tuple, what: str) -> tuple[np.ndarray, object]:
    """Values of a (start, count, series) reference in the series' unit, and the series:
    data * conversion + offset (a conversion that is a power of ten divides exactly, so
    -70 stored in mV is -0.07 V to the last bit, as from an ABF)."""
    start, count, series = ref
    data = series.data
    stop = len(data) if count < 0 else start + count
    conversion = float(series.conversion)
    if not (np.isfinite(conversion) and conversion > 0):
        raise InputError(f"the {what} series {series.name!r} has conversion {conversion!r}: "
                         "not a positive factor to its unit", path=path)
    values = np.asarray(data[start:stop], float)
    if values.ndim != 1 or values.size < 2:
        raise InputError(f"the {what} series {series.name!r} is not one-dimensional with two "
                         f"samples or more (shape {values.shape})", path=path)
    power = round(np.log10(conversion))
    values = values / 10.0 ** -power if power < 0 and conversion == 10.0 ** power else \
        values * conversion
    return values + float(getattr(series, "offset", 0.0) or 0.0), series


RATES = (100.0, 1e7)  # [Hz] the sampling rates of patch-clamp recordings


def series_rate(path: str, series: object, start: int, count: int) -> float:
    """[Hz] a series' sampling rate (its ``rate``, else its uniform timestamps), checked."""
    if series.rate is not None:
        rate = float(series.rate)
    else:
        t = np.asarray(series.timestamps[start:start + count], float)
        steps = np.diff(t)
        if steps.size == 0 or not np.all(steps > 0) or np.ptp(steps) > 1e-6 * np.median(steps):
            raise InputError(f"series {series.name!r} is not sampled at a uniform rate",
                             path=path)
        rate = 1.0 / float(np.median(steps))
    if not RATES[0] <= rate <= RATES[1]:  # NaN included
        raise InputError(f"series {series.name!r} is sampled at {rate:g} Hz: not a patch-clamp "
                         f"rate ({RATES[0]:g} Hz to {RATES[1]:g} Hz)", path=path)
    return rate


RATE_TOLERANCE = 1e-6  # relative: rates from timestamps differ in their last bits


def common_rate(path: str, recording: str, rates) -> float:
    """[Hz] the one sampling rate of a recording's series: their median, where every rate is
    within ``RATE_TOLERANCE`` (relative) of it (1 / a timestep computed from stored
    timestamps differs from series to series by round-off, e.g. 1e-11 s at 10 kHz)."""
    rates = np.asarray(sorted(rates), float)
    rate = float(np.median(rates))
    if np.max(np.abs(rates - rate)) > RATE_TOLERANCE * rate:
        raise InputError(f"{recording}: the sweeps are sampled at different rates "
                         f"{', '.join(f'{r:.9g}' for r in np.unique(rates))} Hz (beyond a "
                         f"relative {RATE_TOLERANCE:g})", path=path)
    return rate
