"""The statistics head's screened variants for ``fusion.py``: descriptors and classifiers.

Each ``*_statistics(base)`` returns a subclass of ``base`` (a
:class:`melgenre.statistics.ClipStatistics`) whose vector gains or changes blocks, none of
them in the library (``fusion.py``'s flags of the same names, and ``docs/training.rst`` for
what each scored), read from the spectrogram and chroma the cache holds;
:func:`screened_head` puts another classifier in the logistic regression's place. The
screens that read each file's audio again are in ``_audio_screens.py``.
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from typing import Any

import numpy as np


def weighted_cepstra_statistics(base: Any, decibels: float) -> Any:
    """``base`` with its cepstra's mean and spread weighted by each frame's level.

    A screened variant, not in the library: a frame's level is the power mean of its dB
    bands, its weight ``10 ** (level / decibels)`` (normalised over the clip), so the loud
    frames, where an instrument or a voice sounds, give the timbre, and the silences and
    reverberant tails between notes or words count for little. The vector keeps its
    blocks and their lengths; only the first two blocks' values change.
    """
    from scipy.fft import dct

    from melgenre._clip_blocks import cepstra_moments

    @dataclasses.dataclass(frozen=True)
    class WeightedCepstra(base):
        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            out = super().__call__(spectrogram, chroma)
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            cepstra = dct(spec, type=2, axis=0, norm="ortho")[: self.n_mfcc]
            cepstra = np.pad(cepstra, ((0, self.n_mfcc - len(cepstra)), (0, 0)))
            level = 10 * np.log10(np.mean(10 ** (spec / 10), axis=0) + 1e-12)
            weight = 10 ** ((level - level.max()) / decibels)
            n = self.n_mfcc
            out[:n], out[n : 2 * n] = cepstra_moments(cepstra, weight / weight.sum())
            return out

    return WeightedCepstra


def weighted_bands_statistics(base: Any) -> Any:
    """``base`` with its similarity across bands summed over frames weighted by their power.

    A screened variant, not in the library: the products of each frame's detail (its
    bands less their neighbourhood's mean) with itself shifted count by the frame's share
    of the clip's power (``melgenre._clip_blocks.frame_weights``), as the cepstra's
    moments do with ``power_weighted``, so the partials' intervals are read where the
    sound is. The block keeps its length.
    """
    from scipy.ndimage import uniform_filter1d

    from melgenre._clip_blocks import BAND_SMOOTHING, frame_weights

    @dataclasses.dataclass(frozen=True)
    class WeightedBands(base):
        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            out = super().__call__(spectrogram, chroma)
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            bands = spec[self.band_from :]
            if not (len(bands) and self.band_shifts):
                return out
            detail = bands - uniform_filter1d(bands, BAND_SMOOTHING, axis=0, mode="nearest")
            detail = detail * np.sqrt(frame_weights(spec))
            n = len(detail)
            sums = [
                float(np.sum(detail[:-k] * detail[k:])) if k < n else 0.0
                for k in range(1, self.band_shifts + 1)
            ]
            start = 0
            for name, size in self.blocks.items():
                if name == "band_similarity":
                    out[start : start + size] = np.asarray(sums) / max(
                        float(np.sum(detail * detail)), 1e-12
                    )
                start += size
            return out

    return WeightedBands


def delta_cepstra_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus the spread of the cepstra's frame-to-frame changes.

    A screened variant (how fast timbre changes: attacks, articulation), not in the library.
    """
    from scipy.fft import dct

    @dataclasses.dataclass(frozen=True)
    class DeltaCepstra(base):
        @property
        def dim(self) -> int:
            return super().dim + self.n_mfcc

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            cepstra = dct(spec, type=2, axis=0, norm="ortho")[: self.n_mfcc]
            cepstra = np.pad(cepstra, ((0, self.n_mfcc - len(cepstra)), (0, 0)))
            spread = np.diff(cepstra, axis=1).std(axis=1)
            return np.concatenate([super().__call__(spectrogram, chroma), spread]).astype(
                np.float32
            )

    return DeltaCepstra


def modulation_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus how the level of 8 band groups moves, and how fast.

    A screened variant, not in the library: per group of 16 mel bands (its mean dB), the
    power of its envelope's modulation in 7 octave-wide bands from 0.34 to 21.5 Hz
    (128-frame Hann windows every 32 frames, mean removed, averaged; log10), the envelope
    dynamics that tell a plucked or struck note's decay from a bowed or blown one's steady
    tone and tremolo or vibrato (4-8 Hz) from none; and the 5, 25, 50, 75 and 95 % quantiles
    of the whole spectrum's frame-to-frame level change (dB): how it rises and falls.
    """
    groups, width, hop = 8, 128, 32
    edges = [1, 2, 3, 5, 9, 17, 33]  # rfft bins of 128 frames: octaves from ~0.34 Hz

    @dataclasses.dataclass(frozen=True)
    class Modulation(base):
        @property
        def dim(self) -> int:
            return super().dim + groups * len(edges) + 5

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            bands = np.array_split(spec, groups, axis=0)
            envelope = np.stack([b.mean(axis=0) for b in bands])  # (groups, frames)
            if envelope.shape[1] < width:
                pad = width - envelope.shape[1]
                envelope = np.pad(envelope, ((0, 0), (0, pad)), mode="edge")
            view = np.lib.stride_tricks.sliding_window_view(envelope, width, axis=1)[:, ::hop]
            view = view - view.mean(axis=-1, keepdims=True)
            power = np.abs(np.fft.rfft(view * np.hanning(width), axis=-1)) ** 2
            power = power.mean(axis=1)  # (groups, width // 2 + 1)
            bounds = [*edges, width // 2 + 1]
            modulation = np.stack(
                [power[:, a:b].mean(axis=1) for a, b in itertools.pairwise(bounds)],
                axis=1,
            )
            level = np.diff(spec.mean(axis=0))
            quantiles = np.quantile(level, [0.05, 0.25, 0.5, 0.75, 0.95]) if len(level) else 0
            extra = np.concatenate([np.log10(modulation + 1e-6).ravel(), np.ravel(quantiles)])
            return np.concatenate([super().__call__(spectrogram, chroma), extra]).astype(np.float32)

    return Modulation


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


def without_blocks(base: Any, names: tuple[str, ...]) -> Any:
    """``base`` less the blocks ``names`` (an ablation: which block carries a gain).

    The vector is computed whole and the named blocks' numbers are left out; their lengths in
    ``blocks`` become 0, so the head's block balance weighs the rest as before.
    """
    unknown = set(names) - set(base().blocks)

    @dataclasses.dataclass(frozen=True)
    class Without(base):
        @property
        def blocks(self) -> dict[str, int]:
            return {name: 0 if name in names else n for name, n in super().blocks.items()}

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            whole = super().__call__(spectrogram, chroma)
            kept, at = [], 0
            for name, n in super().blocks.items():
                if name not in names:
                    kept.append(whole[at : at + n])
                at += n
            return np.concatenate(kept)

    if unknown:
        raise SystemExit(f"--drop-blocks: no block named {sorted(unknown)}")
    return Without


def progression_statistics(base: Any) -> Any:
    """``base`` plus how the chroma moves: its correlation with itself later, transposed.

    A screened variant, not in the library: each chroma frame (the file's, as the harmony
    blocks read it; 93 ms) centred over its pitch classes and scaled to a unit norm, then
    correlated with the frame ``d`` later rolled down ``k`` pitch classes, for ``k`` 0 to 11
    and ``d`` 4 and 8 frames (0.37 and 0.74 s), averaged over frames weighted by the pair's
    energy: 24 numbers, unchanged by transposition. A chord that moves to the one a fourth
    above (a dominant to its tonic) raises ``k = 5``; modal music's steps and thirds raise
    others; ``k = 0`` is how long the harmony holds.
    """
    from melgenre import _pitch

    lags = (4, 8)

    def numbers(chroma: Any) -> list[float]:
        frames = np.asarray(chroma, np.float64)
        energy = frames.sum(1)
        centred = _pitch._centred(frames, axis=1)  # as the chord templates are correlated
        out: list[float] = []
        for d in lags:
            if d >= len(frames):
                out += [0.0] * 12
                continue
            weight = np.sqrt(energy[:-d] * energy[d:])
            weight = weight / max(weight.sum(), 1e-12)
            later = centred[d:]
            for k in range(12):
                product = (centred[:-d] * np.roll(later, -k, axis=1)).sum(1)
                out.append(float(product @ weight))
        return out

    @dataclasses.dataclass(frozen=True)
    class Progression(base):
        @property
        def blocks(self) -> dict[str, int]:
            return {**super().blocks, "progressions": 12 * len(lags)}

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            out = super().__call__(spectrogram, chroma)
            return np.concatenate([out, numbers(chroma)]).astype(np.float32)

    return Progression


def screened_head(kind: str) -> Any:
    """A ``StatisticsHead`` whose logistic regression gives way to another classifier.

    A screen: the head scales the statistics as the library's does (its block balance
    included), then fits ``kind`` on them: ``"svm"`` an RBF SVM (C in 1, 3, 10, 30 and gamma
    a third, one and three times ``1 / (dim * variance)``, by 5-fold log loss; Platt's
    probabilities), ``"trees"`` 500 extra trees, ``"lda"`` linear discriminants with
    Ledoit-Wolf shrinkage.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import SVC

    from melgenre.fusion import StatisticsHead

    class ScreenedHead(StatisticsHead):
        def fit_statistics(self, x: Any, labels: Any, *, n_classes: int) -> Any:
            super().fit_statistics(x, labels, n_classes=n_classes)
            scaled = self._scaled(x)
            if kind == "svm":
                gamma = 1.0 / (scaled.var() * scaled.shape[1])
                search = GridSearchCV(
                    SVC(kernel="rbf", probability=True, random_state=0),
                    {"C": [1, 3, 10, 30], "gamma": [gamma / 3, gamma, gamma * 3]},
                    scoring="neg_log_loss",
                    cv=StratifiedKFold(5, shuffle=True, random_state=0),
                )
                with warnings.catch_warnings():  # SVC(probability=True), deprecated in 1.9
                    warnings.simplefilter("ignore", FutureWarning)
                    self.other_ = search.fit(scaled, labels).best_estimator_
            elif kind == "trees":
                self.other_ = ExtraTreesClassifier(500, random_state=0, n_jobs=2)
                self.other_.fit(scaled, labels)
            else:
                self.other_ = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
                self.other_.fit(scaled, labels)
            self.n_classes_ = n_classes
            return self

        def _scaled(self, x: Any) -> Any:
            assert self.weights_ is not None
            return (np.asarray(x, np.float64) - self.weights_["mean"]) / self.weights_["scale"]

        def predict_proba(self, x: Any) -> Any:
            out = np.zeros((len(x), self.n_classes_), np.float32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                out[:, self.other_.classes_] = self.other_.predict_proba(self._scaled(x))
            return out

    return ScreenedHead


def grouped_c_head(base: Any, group_of: Any) -> Any:
    """``base`` (a ``StatisticsHead`` class) choosing C by folds grouped as the data say.

    The library chooses the regression's L2 strength by 5-fold stratified cross-validation
    of the log loss over the training *files*. Where several files share a group (an
    instrument program, a voice, a piece), those folds put the group on both sides, so they
    reward remembering a group over what generalizes to a new one. Here the folds are
    ``StratifiedGroupKFold`` (shuffled, seed 0) over ``group_of(path)`` of each training
    file, as many as the class with the fewest groups allows (at most 5). A screen.
    """

    class GroupedCHead(base):  # type: ignore[misc, valid-type]
        def fit(self, features: Any) -> Any:
            files, _ = features.file_labels()
            self.groups_ = [group_of(features.paths[f]) for f in files]
            return super().fit(features)

        def _choose_c(self, x: Any, labels: Any, grid: Any, groups: Any = None) -> float:
            from melgenre._regression import choose_c

            by_file = np.asarray(self.groups_)  # rows of varispeed copies: their file's group
            return choose_c(x, labels, grid, by_file if groups is None else by_file[groups])

    return GroupedCHead
