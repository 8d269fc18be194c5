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

__all__ = ["analysis_window", "hz_to_mel", "mel_filters", "mel_to_hz", "power_to_db"]

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
