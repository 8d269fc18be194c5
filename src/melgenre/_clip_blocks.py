"""The NumPy computations behind :class:`~melgenre.ClipStatistics`' blocks.

Each function computes one or more blocks of a file's statistics from its onset
strength or its dB spectrogram, given the settings it reads; the class puts them in
order (:attr:`ClipStatistics.blocks <melgenre.ClipStatistics.blocks>`) and
``melgenre._statistics_graph`` is their TensorFlow twin, with the same constants.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from melgenre._typing import FloatArray

#: Arrays of any float type (the blocks are computed in float64).
Floats = npt.NDArray[np.floating[Any]]

__all__ = [
    "BAND_SMOOTHING",
    "POWER_FLOOR",
    "SPREAD_FLOOR",
    "attack_cepstra",
    "band_similarity",
    "cepstra_moments",
    "frame_weights",
    "peakiness",
    "rhythm",
    "self_similarity",
]

#: Onset spreads below this (dB) count as this in the peakiness ratio (no division by ~0).
SPREAD_FLOOR = 1e-3
#: Added to the onset spectrum's shares of power before their log10 (-60 dB below the total).
POWER_FLOOR = 1e-6
#: Bands (odd) whose mean, centred on a band, the similarity across bands takes away first.
BAND_SMOOTHING = 5


def frame_weights(spec: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each frame's share of the clip's power: the power mean of its dB bands, normalised.

    Relative to the spectrogram's peak before the powers are taken (the shares do not
    change, and no power overflows); a clip of equal frames gives equal shares.
    """
    power = np.exp((spec - spec.max()) * (np.log(10.0) / 10.0)).mean(axis=0)  # 10 ** (dB / 10)
    return np.asarray(power / power.sum())


def attack_cepstra(
    spec: npt.NDArray[np.float64],
    rise: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64] | None,
    n_mfcc: int,
) -> npt.NDArray[np.float64]:
    """The attacks' two blocks: ``n_mfcc`` cepstra of the bands' rise and of their level there.

    ``rise`` is ``spec``'s positive frame-to-frame differences, ``(n_bins, t - 1)``, and
    ``weights`` its frames' :func:`frame_weights` (computed once by the caller, which reads
    them for other blocks too; ``None`` computes them here). The frames are weighted by
    their onset excess (the bands' mean rise from the frame before, above its mean plus one
    spread; alike when none passes): the cepstra (the DCT, as the head's) of each band's
    mean rise in dB (the attack's spectrum) and of the bands' mean level at the attacks less
    their mean weighted by power (as the head's cepstra's mean): how the spectrum differs
    where notes start from where they sound. Products by ``einsum``, not BLAS (see
    :func:`band_similarity`).
    """
    from scipy.fft import dct

    onset = rise.mean(axis=0)
    weight = np.maximum(onset - onset.mean() - onset.std(), 0.0)
    total = float(weight.sum())
    weight = weight / total if total > 0 else np.full_like(onset, 1.0 / len(onset))
    held = np.einsum("ij,j->i", spec, frame_weights(spec) if weights is None else weights)
    at_attacks = np.einsum("ij,j->i", spec[:, 1:], weight) - held
    profiles = np.stack([np.einsum("ij,j->i", rise, weight), at_attacks])
    cepstra = dct(profiles, type=2, axis=1, norm="ortho")[:, :n_mfcc]
    return np.pad(cepstra, ((0, 0), (0, n_mfcc - cepstra.shape[1]))).ravel()


def cepstra_moments(
    cepstra: npt.NDArray[np.float64], weights: npt.NDArray[np.float64] | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The ``(n_mfcc, frames)`` cepstra's mean and spread over time, by ``weights`` if given.

    With :func:`frame_weights`, a sound's timbre is read where it sounds: the silences
    and reverberant tails between notes or words count for their share of the power.
    """
    if weights is None:
        return cepstra.mean(axis=1), cepstra.std(axis=1)
    mean = cepstra @ weights
    spread = np.sqrt(np.maximum((cepstra - mean[:, np.newaxis]) ** 2 @ weights, 0.0))
    return mean, spread


def peakiness(onset: npt.NDArray[np.float64], spread: float) -> float:
    """How far the onsets rise above one spread over their mean, in spreads, on average.

    Continuous in the spectrogram (a share of frames above a threshold would jump
    when one frame crosses it, and an exported twin could not match it); a spread
    under :data:`SPREAD_FLOOR` dB counts as that floor.
    """
    excess = np.maximum(onset - onset.mean() - spread, 0.0).mean()
    return float(excess / max(spread, SPREAD_FLOOR))


def rhythm(
    onset: npt.NDArray[np.float64],
    *,
    window: int,
    hop: int,
    lags: int,
    rates: FloatArray,
    periods: FloatArray,
) -> tuple[Floats, Floats, Floats]:
    """The tempogram, the onset spectrum and the log10 share of power at the note periods.

    All from the same Hann-windowed stretches of ``onset`` (``window`` frames every
    ``hop``): the tempogram at lags 1 to ``lags``, the onset spectrum at ``rates``
    (cycles per frame) and the share of power at ``periods`` (frames); the last two
    are empty when ``rates`` and ``periods`` are.
    """
    padded = np.pad(onset, window // 2, mode="linear_ramp")
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop]
    hann = np.hanning(window + 2)[1:-1]
    windowed = frames * hann
    spectrum = np.fft.rfft(windowed, 2 * window, axis=1)
    # each window's autocorrelation relative to its lag 0 (its energy), averaged: by the
    # transform's linearity, one inverse FFT of the windows' relative power spectra
    energy = np.maximum(np.einsum("ij,ij->i", windowed, windowed), 1e-10)
    relative = (spectrum.real**2 + spectrum.imag**2) / energy[:, np.newaxis]
    tempogram = np.asarray(np.fft.irfft(relative.mean(axis=0), 2 * window)[1 : lags + 1])
    if not len(rates) and not len(periods):
        return tempogram, rates, periods
    centred = frames - frames.mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(centred * hann, 2 * window, axis=1)) ** 2
    power = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-10)
    mean = power.mean(axis=0)
    bins = np.arange(window + 1)

    def log_power_at(position: npt.NDArray[np.floating[Any]]) -> FloatArray:  # rfft bins
        return np.asarray(np.log10(np.interp(position, bins, mean) + POWER_FLOOR))

    return tempogram, log_power_at(rates * 2 * window), log_power_at(2 * window / periods)


def self_similarity(spec: npt.NDArray[np.float64], reach: int) -> FloatArray:
    """The similarity by lag, lags 1 to ``reach`` (one FFT whatever its lags).

    How alike the mean-removed bands are to themselves a lag later, summed over bands
    and frames, relative to lag 0; lags past the clip are 0.
    """
    centred = spec - spec.mean(axis=1, keepdims=True)
    n_frames = centred.shape[1]
    spectrum = np.fft.rfft(centred, 2 * n_frames, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).sum(axis=0)  # the bands' sum, then one
    lags = np.fft.irfft(power, 2 * n_frames)[:n_frames]  # inverse FFT (it is linear)
    lags = lags[: reach + 1]  # lags past the clip are 0 (the rest of
    lags = np.pad(lags, (0, reach + 1 - len(lags)))  # irfft wraps round)
    return np.asarray(lags[1:] / max(float(lags[0]), 1e-9))


def band_similarity(
    spec: npt.NDArray[np.float64], *, band_from: int, shifts: int
) -> npt.NDArray[np.float64]:
    """The similarity across bands: shifts 1 to ``shifts`` from band ``band_from`` up.

    Each band has the mean of the :data:`BAND_SMOOTHING` bands around it taken away
    first (the spectral envelope); zeros when the spectrogram has no band from
    ``band_from`` up.
    """
    from scipy.ndimage import uniform_filter1d

    bands = spec[band_from:]
    n_bands = len(bands)
    if not (n_bands and shifts):  # fewer bands than band_from: nothing to read
        return np.zeros(shifts)
    detail = bands - uniform_filter1d(bands, BAND_SMOOTHING, axis=0, mode="nearest")
    # shift by shift with einsum's own loops (1.0 ms a 15 s file; an FFT took 1.6): a
    # matrix product (0.7 ms) wakes BLAS's threads, whose spinning afterwards cost an
    # exported model called next in the same process 10 ms
    sums = [
        np.einsum("ij,ij->", detail[:-shift], detail[shift:]) if shift < n_bands else 0.0
        for shift in range(1, shifts + 1)
    ]
    return np.asarray(sums) / max(float(np.einsum("ij,ij->", detail, detail)), 1e-9)
