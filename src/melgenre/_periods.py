"""The similarity by note period: how a clip repeats after 1, 2, 3, 4, 6, 8... of its notes.

A jig and a reel play notes at nearly the same rate (a jig's eighths 0.155 to 0.19 s
apart, a reel's 0.125 to 0.155 s) and their bars last nearly as long (six eighths of a
jig, eight of a reel): the similarity by lag, read at fixed lags, sees the same curve.
What differs is how many notes a figure lasts before the melody repeats. So
:class:`~melgenre.ClipStatistics` reads its similarity by lag at multiples of the
clip's note period: a tempo-free picture of the metre and phrase lengths.

The note period is read softly from the onset windows' power spectrum (the onset
spectrum's, before its log): at periods a twelfth of an octave apart (``2 ** (k / 12)``
frames, those within ``note_periods``), each weighted by a softmax of
:data:`SHARPNESS` times its log10 share of power (power to the 4.3rd), so the strongest
rate leads and the block is continuous in the spectrogram (an argmax would jump, and
an exported graph could not match it). The similarity is read at each multiple of each
period by linear interpolation over its lags, lags past ``similarity_lags`` counting as 0,
and the readings are averaged with the periods' weights.

Both paths (NumPy, :mod:`melgenre.statistics`; TensorFlow, ``melgenre._statistics_graph``)
take their constants from here: the periods and, per multiple and period, the index of
the lag below and the fraction towards the next.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from melgenre._typing import FloatArray

__all__ = ["SHARPNESS", "PeriodReads", "note_period_grid", "period_reads", "similarity_by_period"]

#: The periods' weights are a softmax of this times their log10 share of onset power.
SHARPNESS = 10.0


class PeriodReads(NamedTuple):
    """Where the similarity is read: per (multiple, period), the lag index below and the fraction.

    ``below`` indexes the similarity with one 0 appended (lag ``similarity_lags + 1``),
    so ``padded[below] * (1 - fraction) + padded[below + 1] * fraction`` is the reading.
    """

    below: npt.NDArray[np.int32]
    fraction: npt.NDArray[np.float32]


def note_period_grid(low: float, high: float) -> FloatArray:
    """The periods ``2 ** (k / 12)`` frames (integer ``k``) within ``[low, high]``, ascending."""
    first = math.ceil(12 * math.log2(low) - 1e-9)
    last = math.floor(12 * math.log2(high) + 1e-9)
    return np.asarray(2.0 ** (np.arange(first, last + 1) / 12), dtype=np.float64)


def period_reads(multiples: tuple[float, ...], periods: FloatArray, lags: int) -> PeriodReads:
    """The constants that read a ``lags``-long similarity (lags 1 to ``lags``) at every product."""
    at = np.minimum(np.outer(multiples, periods), lags + 1.0)  # past the last lag: the 0
    below = np.minimum(np.floor(at), float(lags))  # a lag in [1, lags]
    return PeriodReads((below - 1).astype(np.int32), (at - below).astype(np.float32))


def similarity_by_period(
    similarity: FloatArray, log_power: FloatArray, reads: PeriodReads
) -> FloatArray:
    """The block: the similarity at each multiple, averaged over the periods by their weights.

    ``similarity`` holds lags 1 to ``lags``; ``log_power`` the log10 shares of onset power at
    the periods (the grid's order).
    """
    score = SHARPNESS * np.asarray(log_power, np.float64)
    weights = np.exp(score - score.max())
    weights /= weights.sum()
    padded = np.append(np.asarray(similarity, np.float64), 0.0)
    fraction = reads.fraction.astype(np.float64)
    values = padded[reads.below] * (1.0 - fraction) + padded[reads.below + 1] * fraction
    return np.asarray((values * weights).sum(axis=1))
