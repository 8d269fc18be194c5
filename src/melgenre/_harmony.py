"""A harmony channel for a window: the pitch-class profile (chroma) of its mel bands.

A chorale and a madrigal differ in harmony more than in timbre: which of the twelve
pitch classes sound together. A log-mel window carries that only implicitly, spread
over octaves. The chroma channel folds the window's mel power onto the twelve pitch
classes (C, C#, ... B, equal temperament at A = 440 Hz) with one constant matrix
(:func:`chroma_operator`) and scales each frame to a peak of 1, as
``librosa.feature.chroma_stft(norm=np.inf)`` does for an STFT.

It is computed from the mel bands, not from a second spectrogram, so the featurizer,
its cache and the exported graph (``melgenre._graph``) need nothing but the window and
the same matrix. The matrix is measured, not assumed: every band's response to steady
tones (eight per semitone, A0 up to ``fmax``, through the featurizer's own analysis window
and filter bank, so the FFT's leakage counts) is split by the tones' pitch classes. A
band counts when at least :data:`MIN_SHARE` of its response comes from one pitch class;
wider bands (the low ones, where a mel band spans several semitones) are left out. With
the default 128 bands from a 2048-point FFT at 22050 Hz the bands above about 330 Hz
count; their weights fall off by octave around C5 (523 Hz), as librosa's chroma filters
do, so the partials that name a chord count most. Each window is computed on its own, so
streamed and whole-file windows stay equal.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from melgenre._filters import analysis_window, filter_bank
from melgenre._typing import FloatArray

__all__ = ["MIN_SHARE", "chroma_operator", "pitch_class_rows", "window_chroma"]

#: The least share of a band's response to steady tones that one pitch class must hold.
MIN_SHARE = 0.5
#: Middle C (pitch class 0) at A = 440 Hz.
C4_HZ = 440.0 * 2.0 ** (-9 / 12)
#: The octave weighting's centre (C5) and width (in octaves, a Gaussian's deviation).
CENTRE_HZ = 2.0 * C4_HZ
OCTAVE_WIDTH = 2.0
#: Test tones per semitone, from A0 (27.5 Hz).
STEPS = 8
LOWEST_HZ = 27.5


@functools.lru_cache(maxsize=8)
def chroma_operator(
    sample_rate: int,
    n_fft: int,
    win_length: int | None,
    n_mels: int,
    fmin: float,
    fmax: float | None,
    frequency_scale: str = "mel",
) -> FloatArray:
    """The ``(12, n_mels)`` matrix from a window's band power to its pitch classes.

    Column ``b`` is the share of band ``b``'s response to steady tones that each pitch
    class holds, times the band's octave weight; 0 for a band no pitch class holds
    :data:`MIN_SHARE` of.

    Raises
    ------
    ValueError
        No band is narrow enough: too few bands, too short an FFT or too low an
        ``fmax`` to tell pitch classes apart.
    """
    top = sample_rate / 2 if fmax is None else fmax  # validated: at most the Nyquist
    basis = filter_bank(
        frequency_scale, sample_rate=sample_rate, n_fft=n_fft, n_bands=n_mels, fmin=fmin, fmax=fmax
    ).astype(np.float64)
    lowest = max(LOWEST_HZ, fmin)
    semitones = np.arange(
        math.ceil(12 * STEPS * math.log2(lowest / C4_HZ)),
        math.floor(12 * STEPS * math.log2(top / C4_HZ)) + 1,
    ) / float(STEPS)
    hz = C4_HZ * 2.0 ** (semitones / 12)
    samples = np.arange(n_fft) / sample_rate
    window = analysis_window(n_fft, win_length).astype(np.float64)
    tones = np.cos(2 * np.pi * hz[:, None] * samples[None, :]) * window
    response = np.square(np.abs(np.fft.rfft(tones, axis=-1))) @ basis.T  # (tones, n_mels)
    total = response.sum(axis=0)
    heard = total > 0
    response = response / np.where(heard, total, 1.0)
    classes = np.round(semitones).astype(int) % 12
    share = np.zeros((12, n_mels))
    np.add.at(share, classes, response)
    usable = heard & (share.max(axis=0) >= MIN_SHARE)
    if not usable.any():
        raise ValueError(
            f"no mel band holds {MIN_SHARE:.0%} of its response in one pitch class "
            f"({n_mels} bands, n_fft={n_fft}, {fmin:g}-{top:g} Hz at {sample_rate} Hz)"
        )
    centre = np.exp2(np.log2(hz) @ response)  # each band's mean tone, in Hz
    weights = share * np.exp(-0.5 * np.square(np.log2(centre / CENTRE_HZ) / OCTAVE_WIDTH))
    weights[:, ~usable] = 0.0
    return np.asarray(weights, dtype=np.float32)


def pitch_class_rows(rows: int) -> npt.NDArray[np.int32]:
    """The pitch class of each of the channel's ``rows`` rows: ``r * 12 // rows``.

    With 128 rows each class fills 10 or 11 rows, so the channel has the window's shape.
    """
    return np.asarray(np.arange(rows) * 12 // rows, dtype=np.int32)


def window_chroma(windows: FloatArray, operator: FloatArray, rows: int) -> FloatArray:
    """Chroma of ``(n, n_mels, frames)`` log-mel windows (dB): ``(n, rows, frames)``.

    The dB values go back to power (``10 ** (dB / 10)``; a window's reference cancels
    in the scaling), are multiplied by ``operator`` (:func:`chroma_operator`), each
    frame is scaled to a peak of 1 (a frame with no power in the usable bands stays 0)
    and the twelve classes are spread over ``rows`` rows (:func:`pitch_class_rows`).

    Examples
    --------
    >>> import numpy as np
    >>> op = chroma_operator(22050, 2048, None, 128, 0.0, None)
    >>> hz = 440 * 2.0 ** (-9 / 12) * 2 ** np.array([1, 1 + 4 / 12, 1 + 7 / 12])  # C E G
    >>> from melgenre._filters import mel_to_hz, hz_to_mel
    >>> centres = mel_to_hz(np.linspace(0, hz_to_mel(11025)[0], 130))[1:-1]
    >>> window = np.full((1, 128, 4), -80.0, np.float32)
    >>> window[0, [int(np.argmin(np.abs(centres - f))) for f in hz]] = 0.0
    >>> sorted(np.argsort(window_chroma(window, op, 12)[0, :, 0])[-3:].tolist())  # C, E and G
    [0, 4, 7]
    """
    power = np.exp(np.asarray(windows, np.float32) * np.float32(math.log(10.0) / 10.0))
    profile = np.matmul(operator, power)  # (n, 12, frames)
    peak = profile.max(axis=1, keepdims=True)
    scaled = profile / np.where(peak > 0, peak, np.float32(1.0))
    return np.ascontiguousarray(np.take(scaled, pitch_class_rows(rows), axis=1), np.float32)
