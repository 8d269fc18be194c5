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
