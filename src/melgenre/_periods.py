"""The clip statistics read relative to the note period: metre and rhythm whatever the tempo.

A jig and a reel play notes at nearly the same rate (a jig's eighths 0.155 to 0.19 s
apart, a reel's 0.125 to 0.155 s) and their bars last nearly as long (six eighths of a
jig, eight of a reel): the similarity by lag and the onset spectrum, read at fixed lags
and rates, see nearly the same curves. What differs is counted in notes: after how many
notes a figure repeats, and how the onsets group (a jig's threes, a hornpipe's dotted
pairs), and after how many notes a phrase comes back. So :class:`~melgenre.ClipStatistics`
reads two of its blocks again relative to the clip's note period:

* the similarity by note period: the similarity by lag at ``period_multiples`` of it;
* the onset spectrum by note rate: the onset spectrum at ``rate_ratios`` of the note
  rate, relative to its level at the note rate (log10: a ratio of powers);
* the similarity by phrase: the similarity by lag again, at ``phrase_multiples`` of it
  (four and eight bars: a jig's 24 and 48 notes, a reel's 32 and 64), up to
  ``phrase_lags``, at the lags after which enough of the clip overlaps its repetition.

The note period is read softly from the onset windows' power spectrum (the onset
spectrum's, before its log): at periods a twelfth of an octave apart (``2 ** (k / 12)``
frames, those within ``note_periods``), each weighted by a softmax of
:data:`SHARPNESS` times its log10 share of power (power to the 4.3rd), so the strongest
rate leads and the blocks are continuous in the spectrogram (an argmax would jump, and
an exported graph could not match it). Each reading interpolates linearly: the
similarity over its lags (lags past ``similarity_lags`` count as 0), the onset spectrum
over log rate (rates past its ends count as its end values); the readings are averaged
with the periods' weights.

Both paths (NumPy, :mod:`melgenre.statistics`; TensorFlow, ``melgenre._statistics_graph``)
take their constants from here: per reading, the index of the value below and the
fraction towards the next.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from melgenre._typing import FloatArray
from melgenre._validation import check_reals
from melgenre.errors import ConfigError

if TYPE_CHECKING:
    from melgenre.statistics import ClipStatistics

__all__ = [
    "SHARPNESS",
    "Reads",
    "checked",
    "note_period_grid",
    "onset_by_note_rate",
    "period_reads",
    "period_weights",
    "rate_reads",
    "read",
    "relative_blocks",
    "similarity_by_period",
]

#: The periods' weights are a softmax of this times their log10 share of onset power.
SHARPNESS = 10.0


class Reads(NamedTuple):
    """Linear readings of a vector with one value appended (``values[-1]`` again, or 0).

    ``extended[below] * (1 - fraction) + extended[below + 1] * fraction`` is a reading.
    """

    below: npt.NDArray[np.int32]
    fraction: npt.NDArray[np.float32]


def note_period_grid(low: float, high: float) -> FloatArray:
    """The periods ``2 ** (k / 12)`` frames (integer ``k``) within ``[low, high]``, ascending."""
    first = math.ceil(12 * math.log2(low) - 1e-9)
    last = math.floor(12 * math.log2(high) + 1e-9)
    return np.asarray(2.0 ** (np.arange(first, last + 1) / 12), dtype=np.float64)


def _reads(position: npt.NDArray[np.float64], last: float) -> Reads:
    """Readings at fractional indices ``position``, clipped to ``[0, last]`` (``last``: whole)."""
    at = np.clip(position, 0.0, last)
    below = np.minimum(np.floor(at), max(last - 1.0, 0.0))  # ``below + 1`` stays in the vector
    return Reads(below.astype(np.int32), (at - below).astype(np.float32))


def period_reads(multiples: tuple[float, ...], periods: FloatArray, lags: int) -> Reads:
    """Read a similarity of lags 1 to ``lags`` (0 appended) at every multiple of every period."""
    return _reads(np.outer(multiples, periods) - 1.0, float(lags))  # lag 1 is index 0


def rate_reads(ratios: tuple[float, ...], periods: FloatArray, rates: FloatArray) -> Reads:
    """Read a curve at log-spaced ``rates`` (its end appended) at ``ratio / period``, every pair."""
    step = (math.log2(rates[-1]) - math.log2(rates[0])) / max(len(rates) - 1, 1)
    position = (np.log2(np.outer(ratios, 1.0 / periods)) - math.log2(rates[0])) / step
    return _reads(position, float(len(rates) - 1))


def read(extended: npt.NDArray[np.float64], reads: Reads) -> npt.NDArray[np.float64]:
    """The readings (shape of ``reads.below``) of a vector with its extra value appended."""
    fraction = reads.fraction.astype(np.float64)
    return np.asarray(
        extended[reads.below] * (1.0 - fraction) + extended[reads.below + 1] * fraction
    )


def period_weights(log_power: FloatArray) -> npt.NDArray[np.float64]:
    """The periods' weights: a softmax of :data:`SHARPNESS` times their log10 share of power."""
    score = SHARPNESS * np.asarray(log_power, np.float64)
    weights = np.exp(score - score.max())
    return np.asarray(weights / weights.sum())


def similarity_by_period(
    similarity: FloatArray, weights: npt.NDArray[np.float64], reads: Reads
) -> FloatArray:
    """The similarity (lags 1 to ``lags``) at each multiple, averaged over the periods."""
    values = read(np.append(np.asarray(similarity, np.float64), 0.0), reads)
    return np.asarray((values * weights).sum(axis=1))


def onset_by_note_rate(
    onset_spectrum: FloatArray, weights: npt.NDArray[np.float64], ratios: Reads, unit: Reads
) -> FloatArray:
    """The onset spectrum at each ratio less its level at the note rate, averaged over the periods.

    ``unit`` reads it at the note rates themselves (ratio 1, shape ``(1, periods)``).
    """
    curve = np.asarray(onset_spectrum, np.float64)
    extended = np.append(curve, curve[-1])
    return np.asarray(((read(extended, ratios) - read(extended, unit)) * weights).sum(axis=1))


def checked(statistics: ClipStatistics, name: str) -> tuple[float, ...]:
    """``statistics``' ``name`` (``period_multiples``, ``rate_ratios``, ``note_periods``) checked.

    A tuple of positive floats (JSON gives lists; the statistics are hashed).
    """
    owner = type(statistics).__name__
    value = check_reals(owner, name, getattr(statistics, name), low=0.0, closed_low=False)
    if name == "note_periods" and (
        len(value) != 2 or value[0] < 2.0 or not len(note_period_grid(*value))
    ):
        raise ConfigError(
            f"The 'note_periods' parameter of {owner} must be (shortest, longest) in frames, "
            f"shortest >= 2, with a period 2 ** (k / 12) between them. Got {value!r} instead.",
            parameter=name,
            value=value,
        )
    if name == "rate_ratios" and value and not statistics.onset_rates_per_octave:
        raise ConfigError(
            f"{owner}: the onset spectrum by note rate (rate_ratios) reads the onset "
            "spectrum; with onset_rates_per_octave=0 pass rate_ratios=() too.",
            parameter=name,
            value=value,
        )
    return value


def phrase_mask(count: int, n_frames: int, overlap: int) -> npt.NDArray[np.bool_]:
    """True at the lags 1 to ``count`` after which ``overlap`` of ``n_frames`` frames overlap."""
    return np.arange(1, count + 1) <= n_frames - overlap


def relative_blocks(
    statistics: ClipStatistics,
    similarity: FloatArray,
    onset_spectrum: FloatArray,
    period_log_power: FloatArray,
    n_frames: int,
    overlap: int,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The similarity by note period, the onset spectrum by note rate, the similarity by phrase.

    Each is empty when off. ``similarity`` holds lags 1 to ``statistics.similarity_reach``:
    the similarity by note period reads its first ``similarity_lags`` (0 past them), the
    similarity by phrase its first ``phrase_lags``, 0 at the lags whose repetition overlaps
    fewer than ``overlap`` of the clip's ``n_frames`` (:func:`phrase_mask`).
    ``period_log_power`` is the log10 of the onset windows' mean share of power at the note
    periods (floored as the onset spectrum is).
    """
    by_period: FloatArray = np.zeros(0, np.float32)
    by_rate: FloatArray = np.zeros(0, np.float32)
    by_phrase: FloatArray = np.zeros(0, np.float32)
    if not (statistics.period_multiples or statistics.rate_ratios or statistics.phrase_multiples):
        return by_period, by_rate, by_phrase
    periods = statistics.note_period_grid
    weights = period_weights(period_log_power)
    if statistics.period_multiples:
        reads = period_reads(statistics.period_multiples, periods, statistics.similarity_lags)
        by_period = similarity_by_period(similarity[: statistics.similarity_lags], weights, reads)
    if statistics.rate_ratios:
        ratios = rate_reads(statistics.rate_ratios, periods, statistics.onset_rates)
        unit = rate_reads((1.0,), periods, statistics.onset_rates)
        by_rate = onset_by_note_rate(onset_spectrum, weights, ratios, unit)
    if statistics.phrase_multiples:
        count = statistics.phrase_lags
        reads = period_reads(statistics.phrase_multiples, periods, count)
        by_phrase = similarity_by_period(
            np.where(phrase_mask(count, n_frames, overlap), similarity[:count], 0.0),
            weights,
            reads,
        )
    return by_period, by_rate, by_phrase
