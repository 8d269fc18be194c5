"""Analysis windows, mel filter banks and decibels in plain NumPy: librosa's, to the bit.

librosa defines the features melgenre's models are trained on, and stays the reference
(``tests/test_dsp.py`` checks these functions against it bit for bit). They are written
out here because importing librosa's spectral code costs about two seconds and 200 MB
(numba, scipy.signal): each extraction worker would pay that before its first file, and
the filter bank is all it needed. The same bank is what an exported model embeds as a
constant, so the in-graph features use exactly these weights.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from melgenre._typing import FloatArray

__all__ = [
    "FREQUENCY_SCALES",
    "LOG_FMIN",
    "analysis_window",
    "filter_bank",
    "hz_to_mel",
    "log_filters",
    "mel_filters",
    "mel_to_hz",
    "power_to_db",
]

#: The band spacings :func:`filter_bank` knows.
FREQUENCY_SCALES = ("mel", "log")
#: The lowest band edge of the log scale when ``fmin`` is 0: A1, about the lowest
#: fundamental of a bass voice or a double bass's low E (41 Hz) with its overtones.
LOG_FMIN = 55.0

#: Slaney's mel scale (librosa's default, ``htk=False``): linear below 1 kHz, log above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def analysis_window(n_fft: int, win_length: int | None) -> FloatArray:
    """Periodic Hann window of ``win_length`` samples, zero-padded (centred) to ``n_fft``.

    The window ``librosa.stft(window="hann", win_length=...)`` uses.
    """
    length = n_fft if win_length is None else win_length
    # scipy.signal.get_window("hann", length, fftbins=True): a symmetric window of
    # length + 1 points with the last dropped
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)
    left = (n_fft - length) // 2
    padded = np.pad(window, (left, n_fft - length - left))
    return np.asarray(padded, dtype=np.float32)


def hz_to_mel(frequencies: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Hertz to mels on Slaney's scale (``librosa.hz_to_mel(htk=False)``)."""
    hz = np.atleast_1d(np.asarray(frequencies, dtype=np.float64))
    mels = hz / _F_SP
    log = hz >= _MIN_LOG_HZ
    mels[log] = _MIN_LOG_MEL + np.log(hz[log] / _MIN_LOG_HZ) / _LOGSTEP
    return mels


def mel_to_hz(mels: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Mels on Slaney's scale to hertz (``librosa.mel_to_hz(htk=False)``)."""
    m = np.atleast_1d(np.asarray(mels, dtype=np.float64))
    hz = _F_SP * m
    log = m >= _MIN_LOG_MEL
    hz[log] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m[log] - _MIN_LOG_MEL))
    return hz


def mel_filters(
    *, sample_rate: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None
) -> FloatArray:
    """Mel filter bank ``(n_mels, 1 + n_fft // 2)``: ``librosa.filters.mel`` with its defaults.

    Triangles on Slaney's mel scale, each scaled to unit area (``norm="slaney"``),
    float32, equal to librosa's to the bit.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    band_hz = mel_to_hz(np.linspace(hz_to_mel(fmin)[0], hz_to_mel(fmax)[0], n_mels + 2))
    widths = np.diff(band_hz)
    ramps = np.subtract.outer(band_hz, fft_hz)
    for i in range(n_mels):
        rising = -ramps[i] / widths[i]
        falling = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (band_hz[2 : n_mels + 2] - band_hz[:n_mels]))[:, np.newaxis]
    if not np.all((band_hz[:-2] == 0) | (weights.max(axis=1) > 0)):
        warnings.warn(
            f"{n_mels} mel bands from a {n_fft}-point FFT at {sample_rate} Hz leave some bands "
            "empty (always zero): use fewer n_mels, a larger n_fft, or a wider fmin..fmax.",
            UserWarning,
            stacklevel=2,
        )
    return weights


def log_filters(
    *, sample_rate: int, n_fft: int, n_bands: int, fmin: float = 0.0, fmax: float | None = None
) -> FloatArray:
    """Log-frequency filter bank ``(n_bands, 1 + n_fft // 2)``: bands a constant ratio apart.

    Triangles whose edges are ``n_bands + 2`` frequencies spaced evenly in log frequency
    from ``fmin`` (:data:`LOG_FMIN` when ``fmin`` is 0) to ``fmax``, as a constant-Q
    transform spaces its bins, so a change of pitch moves a harmonic pattern along the
    band axis without changing its shape. Where the bands are closer than the FFT's bins
    (the low ones), each triangle is widened to reach the neighbouring bin on either side,
    so no band is empty. Each band's weights sum to 1 (the band's mean power), float32.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    low = fmin if fmin > 0 else LOG_FMIN
    if low >= fmax:
        raise ValueError(f"the log scale needs fmin < fmax; got {low:g} and {fmax:g} Hz")
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    step = sample_rate / n_fft
    edges = np.geomspace(low, fmax, n_bands + 2)
    centres = edges[1:-1]
    left = np.minimum(edges[:-2], centres - step)[:, np.newaxis]
    right = np.maximum(edges[2:], centres + step)[:, np.newaxis]
    rising = (fft_hz - left) / (centres[:, np.newaxis] - left)
    falling = (right - fft_hz) / (right - centres[:, np.newaxis])
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights /= weights.sum(axis=1, keepdims=True)
    return np.asarray(weights, dtype=np.float32)


def filter_bank(
    scale: str,
    *,
    sample_rate: int,
    n_fft: int,
    n_bands: int,
    fmin: float = 0.0,
    fmax: float | None = None,
) -> FloatArray:
    """The filter bank of ``scale`` (one of :data:`FREQUENCY_SCALES`)."""
    if scale == "log":
        return log_filters(
            sample_rate=sample_rate, n_fft=n_fft, n_bands=n_bands, fmin=fmin, fmax=fmax
        )
    return mel_filters(sample_rate=sample_rate, n_fft=n_fft, n_mels=n_bands, fmin=fmin, fmax=fmax)


def power_to_db(
    power: FloatArray, *, ref: float | np.floating[Any], amin: float = 1e-10, top_db: float | None
) -> FloatArray:
    """``10 * log10(power / ref)``, floored at ``amin`` and at ``top_db`` below the peak.

    ``librosa.power_to_db`` with a fixed ``ref``; float32 in, float32 out.
    """
    db = 10.0 * np.log10(np.maximum(amin, power))
    db -= 10.0 * np.log10(np.maximum(amin, np.abs(ref)))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return np.asarray(db, dtype=np.float32)
