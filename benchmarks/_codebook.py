"""A screen for ``fusion.py --codebook K``: the clip's frames as a Fisher vector on a codebook.

The head reads a clip's timbre as the mean and spread of its cepstra over frames: one
Gaussian. A note's attack, its sustain and its release, a chord and a single note, the low
and the high end of a register are different frames, and their mean blurs them. The
classic bag-of-frames answer (Aucouturier and Pachet's timbre models; Fisher vectors in
Perronnin's image and the acoustic-scene literature) is a codebook learned from the training
frames, a Gaussian mixture, and per clip how its frames fall on it.

Per frame: the cepstra 1-19 of the log-mel spectrum (the envelope, without the level) and
the frame's level relative to the clip's loudest frame, for the frames within 40 dB of it
(the rest are silence or a reverberant tail), standardised with the training frames' mean
and spread. A diagonal Gaussian mixture of ``K`` components is fitted on up to 100 frames
of each training file (seed 0). Per clip, with each frame's posteriors ``g``: the mean
posterior of each component (``K`` numbers, ``codebook_occupancy``) and the Fisher vector's
first and second order (``2 K D`` numbers, ``codebook_fisher``: the posterior-weighted mean
of ``(x - mu) / sigma`` and of ``((x - mu) / sigma) ** 2 - 1`` per component), each signed
square-rooted, the usual power normalisation. The head's balance gives each block the same
say as its other blocks. ``orders`` (``fusion.py --codebook-orders``) keeps the Fisher
vector's first order only (1) or none of it (0: the occupancy alone, a soft histogram).

Not in the library: the codebook is fitted on the training frames, which a
``ClipStatistics`` (a function of one file) cannot do, so :func:`codebook_head` fits it
before the head's regression.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

#: per frame: cepstra 1..19 and the relative level
DIMS = 20
#: frames quieter than the clip's loudest by more than this many dB are left out
FLOOR_DB = 40.0
#: training frames per file for the mixture's fit
FIT_FRAMES = 100


def frame_descriptors(spectrogram: Any, max_frames: int) -> Any:
    """``(frames, DIMS)``: each audible frame's cepstra 1-19 and level relative to the loudest."""
    from scipy.fft import dct

    spec = np.asarray(spectrogram, np.float64)[:, :max_frames]
    cepstra = dct(spec, type=2, axis=0, norm="ortho")[:DIMS]
    level = cepstra[0] / np.sqrt(spec.shape[0])  # the frame's mean dB
    relative = level - level.max()
    keep = relative > -FLOOR_DB
    return np.concatenate([cepstra[1:DIMS], relative[None]], axis=0)[:, keep].T


def codebook_statistics(base: Any, k: int, orders: int = 2) -> Any:
    """``base`` (a ``ClipStatistics``) plus the Fisher vector of its frames on ``k`` components.

    The instance holds the fitted codebook in ``fitted`` (set by :func:`codebook_head`'s
    ``fit``; the same instance serves fold after fold, each fit replacing it).
    """

    @dataclasses.dataclass(frozen=True)
    class Codebook(base):
        codebook_size: int = k
        codebook_orders: int = orders
        fitted: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

        @property
        def blocks(self) -> dict[str, int]:
            return {
                **super().blocks,
                "codebook_occupancy": self.codebook_size,
                "codebook_fisher": self.codebook_orders * self.codebook_size * DIMS,
            }

        def fit_codebook(self, features: Any) -> None:
            from sklearn.mixture import GaussianMixture

            from melgenre.statistics import spectrogram_from_windows

            rng = np.random.default_rng(0)
            groups = np.asarray(features.groups)
            frames = []
            for file in np.unique(groups):
                where = np.flatnonzero(groups == file)
                spec = spectrogram_from_windows(np.asarray(features.x[where[0] : where[-1] + 1]))
                x = frame_descriptors(spec, self.max_frames)
                if len(x) > FIT_FRAMES:
                    x = x[np.sort(rng.choice(len(x), FIT_FRAMES, replace=False))]
                frames.append(x)
            x = np.concatenate(frames)
            mean, scale = x.mean(0), x.std(0) + 1e-9
            mixture = GaussianMixture(
                self.codebook_size, covariance_type="diag", random_state=0, reg_covar=1e-3
            ).fit((x - mean) / scale)
            self.fitted.update(mean=mean, scale=scale, mixture=mixture)

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            mixture = self.fitted["mixture"]
            x = frame_descriptors(spectrogram, self.max_frames)
            x = (x - self.fitted["mean"]) / self.fitted["scale"]
            posteriors = mixture.predict_proba(x)  # (frames, K)
            weight = posteriors.sum(0) + 1e-9
            z = (x[:, None, :] - mixture.means_[None]) / np.sqrt(mixture.covariances_)[None]
            first = np.einsum("tk,tkd->kd", posteriors, z) / weight[:, None]
            second = np.einsum("tk,tkd->kd", posteriors, z**2 - 1) / weight[:, None]
            parts = [posteriors.mean(0), first.ravel(), second.ravel()]
            numbers = np.concatenate(parts[: 1 + self.codebook_orders])
            numbers = np.sign(numbers) * np.sqrt(np.abs(numbers))
            return np.concatenate([super().__call__(spectrogram, chroma), numbers]).astype(
                np.float32
            )

    return Codebook


def codebook_head(base: Any) -> Any:
    """``base`` (a ``StatisticsHead`` class) that fits its statistics' codebook first."""

    class CodebookHead(base):  # type: ignore[misc, valid-type]
        def fit(self, features: Any) -> Any:
            self.statistics.fit_codebook(features)
            return super().fit(features)

    return CodebookHead


def screened(kind: Any, head_kind: Any, k: int, orders: int = 2) -> tuple[Any, Any]:
    """The statistics and head classes with the ``k``-component codebook screen added."""
    return codebook_statistics(kind, k, orders), codebook_head(head_kind)
