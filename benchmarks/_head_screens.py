"""The statistics head's screened variants for ``fusion.py``: descriptors and classifiers.

Each ``*_statistics(base)`` returns a subclass of ``base`` (a
:class:`melgenre.statistics.ClipStatistics`) whose vector gains or changes blocks, none of
them in the library (``fusion.py``'s flags of the same names, and ``docs/defaults.rst`` for
what each scored), read from the spectrogram and chroma the cache holds;
:func:`screened_head` puts another classifier in the logistic regression's place. The
screens that read each file's audio again are in ``_audio_screens.py``, those of the
onsets (the rhythm's spectra, the attacks and what follows them) in ``_onset_screens.py``.
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


def relevance_head(base: Any, iterations: int) -> Any:
    """``base`` (a ``StatisticsHead`` class) weighing each block by what the regression reads in it.

    A screen of adaptive relevance: the library's head gives every block of the statistics
    the same say (its numbers divided by the square root of its length), so blocks that say
    nothing about a domain (the rhythm's about a spoken word) share it with those that do.
    Here the block-balanced regression is fitted (C by cross-validation, as the library's),
    then ``iterations`` times each block is scaled by the square root of the norm of the
    regression's coefficients on it (normalised so that the blocks' mean squared scale is 1)
    and the regression refitted at that C: the reweighted ridge whose fixed point is the
    group lasso (the penalty on the sum of the blocks' coefficient norms; Bach et al.'s
    "eta trick"), so blocks the regression leans on get room and the others shrink. C is
    chosen again on the final scaling. The scales fold into the head's ``scale`` weights:
    the exported graph would not change.
    """
    from melgenre._regression import logistic_weights
    from melgenre.fusion import BALANCED_C_GRID, C_GRID

    class RelevanceHead(base):  # type: ignore[misc, valid-type]
        def fit_statistics(self, x: Any, labels: Any, *, n_classes: int, groups: Any = None) -> Any:
            super().fit_statistics(x, labels, n_classes=n_classes, groups=groups)
            assert self.weights_ is not None
            x = np.asarray(x, np.float64)
            labels = np.asarray(labels, np.int64)
            mean, scale = self.weights_["mean"], self.weights_["scale"]
            z = (x - mean) / scale
            named = self._block_sizes(z.shape[1])
            sizes = list(named.values())
            block = np.repeat(np.arange(len(sizes)), sizes)[: z.shape[1]]
            factor = np.ones(len(sizes))
            coef = self.weights_["coef"]
            for _ in range(iterations):
                effective = coef * factor[block]  # the coefficients on z itself
                norms = np.sqrt(np.bincount(block, (effective**2).sum(axis=0), len(sizes)))
                factor = np.sqrt(norms)
                factor = np.maximum(factor / np.sqrt(np.mean(factor**2)), 1e-6)  # a constant block
                coef, _ = logistic_weights(z * factor[block], labels, self.C_, n_classes)
            scaled = z * factor[block]
            grid = BALANCED_C_GRID if self.balance else C_GRID
            if self.C == "auto":
                self.C_ = self._choose_c(scaled, labels, grid, groups)
            coef, intercept = logistic_weights(scaled, labels, self.C_, n_classes)
            self.relevance_ = dict(zip(named, np.round(factor, 3).tolist(), strict=True))
            self.weights_ = {
                "mean": mean,
                "scale": scale / factor[block],
                "coef": coef,
                "intercept": intercept,
            }
            return self

    return RelevanceHead


def with_extra_rows(base: Any, extra_rows: Any) -> Any:
    """``base`` (a ``StatisticsHead`` class) whose regression also learns from extra rows.

    ``extra_rows(statistics, features, files)`` gives ``(rows, owners)``: more training rows
    and, for each, its file's position in ``files`` (the training files, sorted). The rows
    join the library's (each file and its varispeed copies) with their file's label and
    group, so the folds that choose ``C`` keep them with their file. The noisy copies'
    (``_noise_copies.py``) and the excerpts' (``_crop_copies.py``) screens.
    """

    class ExtraRows(base):  # type: ignore[misc, valid-type]
        def fit(self, features: Any, **options: Any) -> Any:
            self._features = features
            return super().fit(features, **options)

        def fit_statistics(self, x: Any, labels: Any, *, n_classes: int, groups: Any = None) -> Any:
            files, file_labels = self._features.file_labels()  # the first rows are the files'
            extra, owners = extra_rows(self.statistics, self._features, files)
            groups = np.arange(len(files)) if groups is None else np.asarray(groups)
            return super().fit_statistics(
                np.concatenate([x, extra]),
                np.concatenate([labels, file_labels[owners]]),
                n_classes=n_classes,
                groups=np.concatenate([groups, owners]),
            )

    return ExtraRows
