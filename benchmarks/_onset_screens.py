"""The statistics head's screened onset variants for ``fusion.py``: rhythm and attacks.

As in ``_head_screens.py``, each ``*_statistics(base)`` returns a subclass of ``base`` (a
:class:`melgenre.statistics.ClipStatistics`) whose vector gains blocks read from the onsets
of the spectrogram the cache holds: the tempogram on a log-lag axis, the onsets' power
spectrum, the level envelopes after the onsets, the attacks' cepstra (the screen that became
``ClipStatistics(attack=True)``) and the spectrum's decay after them. ``fusion.py``'s flags
of the same names run them; ``docs/defaults.rst`` says what each scored.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def scale_transform_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus the tempogram's magnitude spectrum over log lag.

    A screened variant, not in the library (after Holzapfel and Stylianou's scale transform
    for rhythmic similarity, 2011): the global tempogram, sampled at 64 lags spaced evenly in
    log lag from 2 frames to ``tempo_lags``, is one rhythm drawn on a log-time axis, on which a
    change of tempo is a shift; the magnitude of its Fourier transform does not see the shift.
    So the pattern of beats and their subdivisions (a jig's three against a reel's two or
    four) reaches the classifier whatever the tempo.
    """
    points, keep = 64, 24

    @dataclasses.dataclass(frozen=True)
    class ScaleTransform(base):
        @property
        def dim(self) -> int:
            return super().dim + keep

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            base = super().__call__(spectrogram, chroma)
            start = 2 * self.n_mfcc
            tempogram = np.asarray(base[start : start + self.tempo_lags], np.float64)
            lags = np.geomspace(2, self.tempo_lags, points)
            curve = np.interp(lags, np.arange(1, self.tempo_lags + 1), tempogram)
            curve = (curve - curve.mean()) * np.hanning(points)
            magnitude = np.abs(np.fft.rfft(curve))[1 : keep + 1]
            return np.concatenate([base, magnitude]).astype(np.float32)

    return ScaleTransform


def onset_spectrum_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus the onsets' power spectrum at log-spaced rates.

    A screened variant, not in the library: the tempogram's windows' power spectra
    (each normalised by its total, averaged over the clip), read at 61 rates spaced a
    twelfth of an octave apart from 0.5 to 16 Hz, in log10. The lags of the
    tempogram are whole frames (23 ms), 15 % of a 0.15 s note; its spectrum at 0.084 Hz
    steps reads the rate of the notes (a reel's 7 Hz, a jig's 6, a hornpipe's 5) finely,
    and in the log domain a rate is a position, not a sum of cosines.
    """
    rates = 0.5 * 2.0 ** (np.arange(61) / 12)

    @dataclasses.dataclass(frozen=True)
    class OnsetSpectrum(base):
        @property
        def dim(self) -> int:
            return super().dim + len(rates)

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            onset = np.concatenate([[0.0], np.maximum(np.diff(spec, axis=1), 0.0).mean(axis=0)])
            width = self.tempo_window
            padded = np.pad(onset, width // 2, mode="linear_ramp")
            frames = np.lib.stride_tricks.sliding_window_view(padded, width)[:: self.tempo_hop]
            frames = frames - frames.mean(axis=1, keepdims=True)
            power = np.abs(np.fft.rfft(frames * np.hanning(width + 2)[1:-1], 2 * width)) ** 2
            power = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-10)
            mean = power.mean(axis=0)
            frame_rate = 22050 / 512  # the default featurizer's; a screen, not general
            hertz = np.fft.rfftfreq(2 * width, 1 / frame_rate)
            curve = np.log10(np.interp(rates, hertz, mean) + 1e-6)
            return np.concatenate([super().__call__(spectrogram, chroma), curve]).astype(np.float32)

    return OnsetSpectrum


def envelope_statistics(base: Any) -> Any:
    """``base`` plus onset-triggered level envelopes: how a sound starts, decays or holds.

    A screened variant, not in the library: for lags of -3 to 32 frames, the level change
    ``L[t + lag] - L[t]`` (dB, the power mean of the bands) averaged over the frames ``t``
    weighted by their onset excess (the onset strength above its mean plus one spread,
    continuous, as ``peakiness`` reads it), broadband and in 4 equal groups of bands: a
    plucked or struck note falls after its onset, a bowed or blown one holds, a soft
    attack rises over the frames after it.
    """
    lags = (-3, -2, -1, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
    groups = 4

    def changes(level: Any, weight: Any) -> list[float]:
        out = []
        for lag in lags:
            if abs(lag) >= len(level):
                out.append(0.0)
                continue
            if lag > 0:
                change, at = level[lag:] - level[:-lag], weight[:-lag]
            else:
                change, at = level[:lag] - level[-lag:], weight[-lag:]
            total = at.sum()
            out.append(float((at * change).sum() / total) if total > 0 else 0.0)
        return out

    @dataclasses.dataclass(frozen=True)
    class Envelope(base):
        @property
        def dim(self) -> int:
            return super().dim + len(lags) * (groups + 1)

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            onset = np.concatenate([[0.0], np.maximum(np.diff(spec, axis=1), 0.0).mean(axis=0)])
            weight = np.maximum(onset - onset.mean() - onset.std(), 0.0)
            power = 10 ** ((spec - spec.max()) / 10)
            parts = [power, *np.array_split(power, groups, axis=0)]
            numbers = [x for p in parts for x in changes(10 * np.log10(p.mean(0) + 1e-10), weight)]
            return np.concatenate([super().__call__(spectrogram, chroma), numbers]).astype(
                np.float32
            )

    return Envelope


def attack_statistics(base: Any) -> Any:
    """``base`` plus the timbre of the attacks: which bands rise when a note starts.

    The screen of what ``ClipStatistics(attack=True)`` computes since 2026-12-06 (its blocks
    before the harmony, this one's after it; pair it with ``attack=False``, as ``fusion.py
    --attack`` does): the frames weighted by their onset excess (the
    onset strength above its mean plus one spread, as the envelope screen and ``peakiness``
    read it; every frame alike when none passes), then ``n_mfcc`` cepstra (DCT, as the
    head's) of two spectra over those frames: each band's mean rise in dB (the attack's
    spectrum: a brass note brightens as it starts, a bow's scrape and a hammer's thump rise
    in their own bands) and the bands' mean level there less their power-weighted mean over
    the clip (how the spectrum at the attacks differs from the sound held): two blocks.
    """
    from melgenre._clip_blocks import attack_cepstra, frame_weights

    @dataclasses.dataclass(frozen=True)
    class Attack(base):
        @property
        def blocks(self) -> dict[str, int]:
            return {**super().blocks, "attack_rise": self.n_mfcc, "attack_level": self.n_mfcc}

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            rise = np.maximum(np.diff(spec, axis=1), 0.0)
            attacks = attack_cepstra(spec, rise, frame_weights(spec), self.n_mfcc)
            return np.concatenate([super().__call__(spectrogram, chroma), attacks]).astype(
                np.float32
            )

    return Attack


def decay_statistics(base: Any, lags: tuple[int, ...] = (3, 8)) -> Any:
    """``base`` plus how the spectrum changes after the attacks, band by band.

    A screened variant, not in the library: the frames weighted by their onset excess, as
    ``ClipStatistics(attack=True)`` weighs them, and for each of ``lags`` frames the bands'
    mean change in dB from the onset frame to ``lag`` frames later, into ``n_mfcc`` cepstra
    (a piano's upper partials die before its lower ones, a bowed or blown note holds its
    spectrum, a brass note keeps brightening): one block per lag.
    """
    from scipy.fft import dct

    @dataclasses.dataclass(frozen=True)
    class Decay(base):
        @property
        def blocks(self) -> dict[str, int]:
            return {**super().blocks, **{f"decay_{lag}": self.n_mfcc for lag in lags}}

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            onset = np.maximum(np.diff(spec, axis=1), 0.0).mean(axis=0)  # frames 1..t-1
            weight = np.maximum(onset - onset.mean() - onset.std(), 0.0)
            out = []
            for lag in lags:
                count = spec.shape[1] - 1 - lag  # onset frames with a frame ``lag`` later
                if count < 1:
                    out.append(np.zeros(self.n_mfcc))
                    continue
                w = weight[:count]
                w = w / w.sum() if w.sum() > 0 else np.full(count, 1.0 / count)
                change = np.einsum(
                    "ij,j->i", spec[:, 1 + lag : 1 + lag + count] - spec[:, 1 : 1 + count], w
                )
                cepstra = dct(change, type=2, norm="ortho")[: self.n_mfcc]
                out.append(np.pad(cepstra, (0, self.n_mfcc - len(cepstra))))
            return np.concatenate([super().__call__(spectrogram, chroma), *out]).astype(np.float32)

    return Decay
