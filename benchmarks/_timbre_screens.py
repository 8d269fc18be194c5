"""A screened head variant: how a file's cepstral coefficients move together (fusion.py).

Not in the library. ``--cepstra-correlation K`` adds the correlations between the first
``K`` cepstral coefficients over the clip's frames, weighted by each frame's share of the
power (as the head's cepstra's mean and spread are): the off-diagonal of the song-level
Gaussian's covariance that Mandel and Ellis (2005) classify songs by, as a correlation so
that it adds what the spreads already give nothing twice. ``K * (K - 1) / 2`` numbers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def cepstra_correlation_statistics(base: Any, k: int) -> Any:
    """``base`` (a ``ClipStatistics``) plus the power-weighted correlations of ``k`` cepstra."""
    from scipy.fft import dct

    from melgenre._clip_blocks import frame_weights

    upper = np.triu_indices(k, 1)

    @dataclasses.dataclass(frozen=True)
    class CepstraCorrelation(base):  # type: ignore[misc,valid-type]
        @property
        def dim(self) -> int:
            return int(super().dim + len(upper[0]))

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            cepstra = dct(spec, type=2, axis=0, norm="ortho")[:k]
            cepstra = np.pad(cepstra, ((0, k - len(cepstra)), (0, 0)))
            weights = frame_weights(spec)
            centred = cepstra - (cepstra @ weights)[:, np.newaxis]
            covariance = (centred * weights) @ centred.T
            spread = np.sqrt(np.maximum(np.diag(covariance), 1e-12))
            correlation = covariance / np.outer(spread, spread)
            return np.concatenate(
                [super().__call__(spectrogram, chroma), correlation[upper]]
            ).astype(np.float32)

    return CepstraCorrelation


def vibrato_statistics(base: Any) -> Any:
    """``base`` plus how a sound's pitch and level waver: vibrato and tremolo (``--vibrato``).

    A screened variant, not in the library. A bowed string, a flute or a singer waver in
    pitch 4 to 8 times a second, a piano, an organ or a mallet do not; a tremolo wavers
    in level. From the audio (``librosa.yin``, 55 to 1,760 Hz, every 256 samples, 11.6 ms):
    each frame's pitch in cents less its median over 0.25 s (the note it is in), kept
    where the frame is within 30 dB of the clip's loudest and wavers by under a semitone;
    the level in dB likewise. For each: the root mean square and the median of the
    deviation (log1p), the share of its power (above 1 Hz) at 3.5 to 8.5 Hz and the rate
    there that holds the most; and the share of frames kept. 9 numbers, one block.
    """
    from _audio_screens import audio_numbers, file_blocks

    return file_blocks(base, "Vibrato", {"vibrato": 9}, audio_numbers(vibrato_numbers))


def vibrato_numbers(y: Any, rate: int) -> Any:
    """The 9 numbers of :func:`vibrato_statistics` for mono samples ``y`` at ``rate``."""
    from scipy.ndimage import median_filter

    hop = 256
    f0, rms = _yin(np.asarray(y, np.float64), rate, hop)
    n = len(f0)
    level = 20 * np.log10(np.maximum(rms, 1e-10))
    loud = level > level.max() - 30.0
    cents = 1200 * np.log2(np.maximum(f0, 1.0) / 55.0)
    fps = rate / hop
    size = round(0.25 * fps) | 1
    pitch = cents - median_filter(cents, size=size, mode="nearest")
    steady = loud & (np.abs(pitch) < 100.0)
    swell = level - median_filter(level, size=size, mode="nearest")
    freqs = np.fft.rfftfreq(n, 1 / fps)
    band = (freqs >= 3.5) & (freqs <= 8.5)
    out: list[float] = []
    for deviation, kept in ((pitch, steady), (swell, loud)):
        if kept.sum() < 8 or not band.any():
            out += [0.0, 0.0, 0.0, 0.0]
            continue
        x = np.where(kept, deviation, 0.0)
        power = np.abs(np.fft.rfft(x * np.hanning(n))) ** 2
        total = max(float(power[freqs >= 1.0].sum()), 1e-12)
        out += [
            float(np.log1p(np.sqrt(np.mean(deviation[kept] ** 2)))),
            float(np.log1p(np.median(np.abs(deviation[kept])))),
            float(power[band].sum() / total),
            float(freqs[band][np.argmax(power[band])]),
        ]
    out.append(float(steady.mean()))
    return np.array(out)


def _yin(
    y: Any, rate: int, hop: int, frame: int = 2048, fmin: float = 55.0, fmax: float = 1760.0
) -> tuple[Any, Any]:
    """Each frame's fundamental (Hz) by YIN (de Cheveigne and Kawahara 2002) and its RMS.

    NumPy alone (librosa 0.11's ``yin`` segfaults in its numba stencil here, librosa#1928):
    the cumulative mean normalised difference of ``frame``-sample frames every ``hop``,
    its first dip below 0.1 between the lags of ``fmax`` and ``fmin`` (else its minimum
    there), refined by a parabola through the dip and its neighbours.
    """
    padded = np.pad(y, frame // 2)
    count = 1 + (len(padded) - frame) // hop
    frames = np.lib.stride_tricks.as_strided(
        padded, (count, frame), (padded.strides[0] * hop, padded.strides[0])
    )
    rms = np.sqrt(np.mean(frames**2, axis=1))
    half = frame // 2
    # d(tau) = sum_j (x_j - x_{j+tau})^2 over the frame's first half, j < half
    head = frames[:, :half]
    size = 2 * frame
    cross = np.fft.irfft(
        np.conj(np.fft.rfft(head, size, axis=1)) * np.fft.rfft(frames, size, axis=1), size, axis=1
    )[:, : half + 1]
    cumulative = np.concatenate([np.zeros((count, 1)), np.cumsum(frames**2, axis=1)], axis=1)
    later = cumulative[:, half : frame + 1] - cumulative[:, : half + 1]
    difference = np.maximum(later[:, :1] + later - 2 * cross, 0.0)
    lags = np.arange(half + 1)
    running = np.cumsum(difference[:, 1:], axis=1) / lags[1:]
    normalised = np.ones_like(difference)
    normalised[:, 1:] = difference[:, 1:] / np.maximum(running, 1e-12)
    low, high = int(rate / fmax), min(int(rate / fmin), half - 1)
    window = normalised[:, low:high]
    below = window < 0.1
    dip = np.where(below.any(axis=1), below.argmax(axis=1), window.argmin(axis=1))
    # walk down to the local minimum after the first crossing
    for _ in range(8):
        step = (dip + 1 < window.shape[1]) & (
            window[np.arange(count), np.minimum(dip + 1, window.shape[1] - 1)]
            < window[np.arange(count), dip]
        )
        dip = dip + step
    tau = dip + low
    rows = np.arange(count)
    a = normalised[rows, np.maximum(tau - 1, 1)]
    b = normalised[rows, tau]
    c = normalised[rows, np.minimum(tau + 1, half)]
    curve = a - 2 * b + c
    shift = 0.5 * (a - c) / np.where(np.abs(curve) > 1e-12, curve, np.inf)
    return rate / (tau + np.clip(shift, -1.0, 1.0)), rms
