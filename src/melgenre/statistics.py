"""Clip statistics: what a file's whole spectrogram says beside its windows.

A window model hears a few seconds at a time and a file's answer averages its
windows, so what only the whole clip shows (its tempo, the period at which its
melody and harmony repeat, how its timbre varies) reaches the answer only as far
as each window carries it. :class:`ClipStatistics` summarises a file's log-mel
spectrogram in one vector, the descriptors of music information retrieval:

* the mean and standard deviation over time of ``n_mfcc`` cepstral
  coefficients (the DCT of the dB bands: timbre and its spread);
* the global tempogram: the autocorrelation of the onset strength (the mean
  rise of the bands from one frame to the next) in windows of
  ``tempo_window`` frames, each normalised, averaged over the clip, for lags
  1 to ``tempo_lags`` (tempo and the grouping of beats);
* the onset spectrum: the same windows' power spectra (mean removed, each
  normalised by its total, averaged), read in log10 at rates a
  ``1 / onset_rates_per_octave`` octave apart from one per ``tempo_lags`` frames
  to one per two frames: the rate of the notes read finely (the tempogram's lags
  are whole frames, 23 ms at the defaults, 15 % of a fast reel's 0.15 s note),
  and, on a log axis, as a position;
* the spectrum's self-similarity by lag: how alike the (mean-removed) bands
  are to themselves 1 to ``similarity_lags`` frames later, relative to lag 0
  (the periods of melody, harmony and bars);
* the onset strength's mean, spread and mean excess over one spread above
  its mean, in spreads (how peaked the onsets are);
* the similarity by note period: the self-similarity read at ``period_multiples``
  of the clip's note period (the strongest rate of the onset spectrum between
  ``note_periods``, weighted softly; ``melgenre._periods``): after how many notes
  the music repeats, whatever its tempo (a jig's figures of three and six notes, a
  reel's of four and eight).

A :class:`~melgenre.fusion.StatisticsHead` (standardisation and a multinomial
logistic regression) classifies these vectors; its file probabilities multiply
the window model's (:func:`~melgenre.fusion.fuse`, a product of experts).
``Trainer(statistics=True)`` fits one after the window model, on the training
files.

The statistics are computed from a file's windows (:func:`spectrogram_from_windows`
puts the spectrogram back together from the overlapping slices), so they need
nothing the windows do not already carry: the cache, a bundle's preprocessing
and the predictor's streaming stay as they are.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import numpy.typing as npt

from melgenre._periods import note_period_grid, period_reads, similarity_by_period
from melgenre._typing import FloatArray, IntArray
from melgenre._validation import check_int, check_reals
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError

if TYPE_CHECKING:
    from melgenre.features import MelFeaturizer

__all__ = ["ClipStatistics", "slices_spectrogram", "spectrogram_from_windows", "window_starts"]

logger = logging.getLogger(__name__)

#: Onset spreads below this (dB) count as this in the peakiness ratio (no division by ~0).
_SPREAD_FLOOR = 1e-3
#: Added to the onset spectrum's shares of power before their log10 (-60 dB below the total).
_POWER_FLOOR = 1e-6


def _matches(first: FloatArray, second: FloatArray, offset: int) -> bool:
    """Whether ``second`` starts ``offset`` frames after ``first`` (their overlap is equal)."""
    frames = int(first.shape[1])
    scale = max(float(np.abs(first).max()), 1.0) * 1e-5
    return bool(np.allclose(first[:, offset:], second[:, : frames - offset], rtol=0, atol=scale))


def _offset(first: FloatArray, second: FloatArray, guess: int | None = None) -> int:
    """Frames between two overlapping windows' starts: ``guess`` if it fits, else the smallest.

    ``frames`` when they do not overlap. A silent overlap fits any offset.
    """
    frames = int(first.shape[1])
    if guess is not None and 0 < guess < frames and _matches(first, second, guess):
        return guess
    return next((k for k in range(1, frames) if _matches(first, second, k)), frames)


def _hop(x: FloatArray) -> int:
    """The hop between a file's regular windows (all but the last, which may end-align).

    The first pair's offset, unless another regular pair disagrees (a silent overlap
    matches any offset); then the most common offset of the pairs whose overlap is not
    silent.
    """
    hop = _offset(x[0], x[1], x.shape[2] // 2)  # half a window: the usual hop, tried first
    pairs = list(itertools.pairwise(x[:-1]))
    if all(_matches(a, b, hop) for a, b in pairs):
        return hop
    frames = int(x.shape[2])
    offsets = [(_offset(a, b), a, b) for a, b in pairs]
    # a pair that also matches one frame later overlaps in silence: it says nothing
    telling = [k for k, a, b in offsets if k + 1 >= frames or not _matches(a, b, k + 1)]
    votes = telling or [k for k, _, _ in offsets]
    return max(set(votes), key=lambda k: (votes.count(k), k))


def spectrogram_from_windows(windows: FloatArray, starts: IntArray | None = None) -> FloatArray:
    """Put a file's spectrogram back together from its overlapping windows.

    With ``starts`` (each window's first frame), every window is put in its
    place. Without, the windows are taken as cut from one spectrogram every
    ``hop`` frames, the last one aligned to the end (as
    :class:`~melgenre.MelFeaturizer` cuts them), and the hop and the last
    window's offset are found by matching the overlaps (the most common offset
    when a silent overlap matches several); a stationary sound (a steady tone)
    matches several offsets and may come back a little longer or shorter.
    Windows that do not overlap (resized ones, another featurizer's) are joined
    end to end.

    Parameters
    ----------
    windows : np.ndarray [shape=(n_windows, n_bins, frames[, channels])]
        One file's windows, in order; only the first channel is used.
    starts : array of int [shape=(n_windows,)], optional
        Each window's first spectrogram frame (:func:`window_starts`).

    Returns
    -------
    spectrogram : np.ndarray [shape=(n_bins, n_frames), dtype=float32]

    Examples
    --------
    >>> import numpy as np
    >>> spec = np.random.default_rng(0).normal(size=(4, 300)).astype(np.float32)
    >>> windows = np.stack([spec[:, s : s + 128] for s in (0, 64, 128, 172)])
    >>> bool(np.array_equal(spectrogram_from_windows(windows), spec))
    True
    """
    x = np.asarray(windows, dtype=np.float32)
    if x.ndim == 4:
        x = x[..., 0]
    if x.ndim != 3 or len(x) == 0:
        raise ConfigError(
            f"Expected one file's windows, shape (n_windows > 0, n_bins, frames); got {x.shape}."
        )
    if starts is not None:
        return _placed(x, np.asarray(starts, dtype=np.int64))
    if len(x) == 1:
        single: FloatArray = x[0]
        return single
    hop, frames = _hop(x), x.shape[2]
    last = _offset(x[-2], x[-1], hop)  # the last window may be aligned to the end
    parts = [window[:, :hop] for window in x[:-2]] + [x[-2][:, :last], x[-1]]
    return np.concatenate(parts, axis=1) if hop < frames else np.concatenate(list(x), axis=1)


def _placed(x: FloatArray, starts: IntArray) -> FloatArray:
    """Windows ``(n, bins, frames)`` put at their ``starts`` in one spectrogram."""
    frames = int(x.shape[2])
    if starts.shape != (len(x),) or starts.min() < 0 or np.any(np.diff(starts) < 0):
        raise ConfigError(
            f"starts must give each of the {len(x)} windows' first frame, in order; "
            f"got shape {starts.shape}."
        )
    spec = np.zeros((x.shape[1], int(starts[-1]) + frames), np.float32)
    for window, start in zip(x, starts, strict=True):
        spec[:, start : start + frames] = window
    return spec


def window_starts(featurizer: object, times: FloatArray) -> IntArray | None:
    """The first spectrogram frame of each window, from their start times, where exact.

    Exact for a :class:`~melgenre.MelFeaturizer` whose windows are unresized
    slices of its spectrogram with no gaps between them (``hop_frames <=
    frames``): then :func:`spectrogram_from_windows` needs no matching, and an
    exported graph reads the spectrogram itself. ``None`` otherwise.
    """
    if not slices_spectrogram(featurizer):
        return None
    per_frame = featurizer.hop_length / featurizer.sample_rate
    starts: IntArray = np.rint(np.asarray(times, np.float64)[:, 0] / per_frame).astype(np.int64)
    return starts


def slices_spectrogram(featurizer: object) -> TypeGuard[MelFeaturizer]:
    """Whether ``featurizer``'s windows are unresized, gapless slices of its spectrogram."""
    from melgenre.features import MelFeaturizer

    return (
        isinstance(featurizer, MelFeaturizer)
        and featurizer.resize_frames is None
        and featurizer.hop_frames <= featurizer.frames
    )


@dataclasses.dataclass(frozen=True)
class ClipStatistics:
    """A file's log-mel spectrogram summarised as one vector (timbre, tempo, periodicity).

    Parameters
    ----------
    n_mfcc : int > 0, default=20
        Cepstral coefficients whose mean and spread are taken.
    tempo_window : int > 1, default=256
        Frames per autocorrelation window of the tempogram (about 6 s at
        22.05 kHz and a 512-sample hop).
    tempo_lags : int > 0, default=128
        Lags of the tempogram kept (about 3 s).
    tempo_hop : int > 0, default=4
        Frames between tempogram windows.
    onset_rates_per_octave : int >= 0, default=12
        Resolution of the onset spectrum: its rates are this many to an
        octave, from ``1 / tempo_lags`` to 1/2 per frame (73 rates at the
        defaults: 0.34 to 21.5 Hz at 22.05 kHz and a 512-sample hop). 0 leaves
        the onset spectrum out.
    similarity_lags : int > 0, default=160
        Lags of the spectrum's self-similarity kept (about 3.7 s).
    period_multiples : tuple of float > 0, default=(1, 1.5, 2, 3, 4, 5, 6, 8, 9, 12, 16)
        The multiples of the note period at which the similarity is read (one
        number each); ``()`` leaves the block out.
    note_periods : (float, float), default=(4.3, 28.7)
        The shortest and longest note period considered, in frames (10 to 1.5
        notes a second at 22.05 kHz and a 512-sample hop); at least 2 frames, and
        at least one period ``2 ** (k / 12)`` between them.
    max_frames : int > 0, default=25840
        Longer spectrograms are summarised by their first ``max_frames``
        frames (ten minutes at the defaults).

    Examples
    --------
    >>> import numpy as np
    >>> stats = ClipStatistics()
    >>> spec = np.random.default_rng(0).normal(size=(128, 600)).astype(np.float32)
    >>> stats(spec).shape == (stats.dim,)
    True
    """

    n_mfcc: int = 20
    tempo_window: int = 256
    tempo_lags: int = 128
    tempo_hop: int = 4
    onset_rates_per_octave: int = 12
    similarity_lags: int = 160
    period_multiples: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 9.0, 12.0, 16.0)
    note_periods: tuple[float, float] = (4.3, 28.7)
    max_frames: int = 25_840

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_int(owner, "n_mfcc", self.n_mfcc, low=1)
        check_int(owner, "tempo_window", self.tempo_window, low=2)
        check_int(owner, "tempo_lags", self.tempo_lags, low=1, high=self.tempo_window - 1)
        check_int(owner, "tempo_hop", self.tempo_hop, low=1)
        check_int(owner, "onset_rates_per_octave", self.onset_rates_per_octave, low=0)
        if self.onset_rates_per_octave and self.tempo_lags < 2:
            raise ConfigError(
                f"{owner}: the onset spectrum (onset_rates_per_octave > 0) needs tempo_lags "
                f">= 2 (its lowest rate is one per tempo_lags frames); got {self.tempo_lags}."
            )
        check_int(owner, "similarity_lags", self.similarity_lags, low=1)
        check_int(owner, "max_frames", self.max_frames, low=1)
        for name in ("period_multiples", "note_periods"):  # JSON's lists as tuples (hashed)
            value = check_reals(owner, name, getattr(self, name), low=0.0, closed_low=False)
            object.__setattr__(self, name, value)
        low_high = self.note_periods
        if len(low_high) != 2 or low_high[0] < 2.0 or not len(note_period_grid(*low_high)):
            raise ConfigError(
                f"The 'note_periods' parameter of {owner} must be (shortest, longest) in "
                f"frames, shortest >= 2, with a period 2 ** (k / 12) between them. Got "
                f"{low_high!r} instead.",
                parameter="note_periods",
                value=low_high,
            )

    @property
    def dim(self) -> int:
        """Length of the vector."""
        return sum(self.blocks.values())

    @property
    def blocks(self) -> dict[str, int]:
        """The vector's parts in order, by name, and their lengths (summing to :attr:`dim`)."""
        return {
            "cepstra_mean": self.n_mfcc,
            "cepstra_std": self.n_mfcc,
            "tempogram": self.tempo_lags,
            "onset_spectrum": len(self.onset_rates),
            "similarity": self.similarity_lags,
            "onset": 3,
            "similarity_by_period": len(self.period_multiples),
        }

    @property
    def note_period_grid(self) -> FloatArray:
        """The note periods the similarity by period weighs, in frames (ascending)."""
        return note_period_grid(*self.note_periods)

    @property
    def onset_rates(self) -> FloatArray:
        """The onset spectrum's rates, in cycles per frame (empty when it is off)."""
        if not self.onset_rates_per_octave:
            return np.zeros(0, np.float64)
        per_octave = self.onset_rates_per_octave
        count = int(np.floor(per_octave * np.log2(self.tempo_lags / 2) + 1e-9)) + 1
        return np.asarray(2.0 ** (np.arange(count) / per_octave) / self.tempo_lags)

    def __call__(self, spectrogram: FloatArray) -> FloatArray:
        """The statistics of one ``(n_bins, n_frames)`` dB spectrogram, shape ``(dim,)``."""
        from scipy.fft import dct

        spec = np.asarray(spectrogram, dtype=np.float64)[:, : self.max_frames]
        if spec.ndim != 2 or spec.shape[1] < 2:
            raise ConfigError(
                f"Expected a spectrogram (n_bins, n_frames >= 2); got {np.shape(spectrogram)}."
            )
        cepstra = dct(spec, type=2, axis=0, norm="ortho")[: self.n_mfcc]
        cepstra = np.pad(cepstra, ((0, self.n_mfcc - len(cepstra)), (0, 0)))
        onset = np.concatenate([[0.0], np.maximum(np.diff(spec, axis=1), 0.0).mean(axis=0)])
        spread = float(onset.std())
        tempogram, onset_spectrum, period_power = self._rhythm(onset)
        similarity = self._similarity(spec)
        by_period: FloatArray = np.zeros(0, np.float32)
        if self.period_multiples:
            reads = period_reads(self.period_multiples, self.note_period_grid, len(similarity))
            log_power = np.log10(period_power + _POWER_FLOOR)
            by_period = similarity_by_period(similarity, log_power, reads)
        return np.concatenate(
            [
                cepstra.mean(axis=1),
                cepstra.std(axis=1),
                tempogram,
                onset_spectrum,
                similarity,
                [onset.mean(), spread, self._peakiness(onset, spread)],
                by_period,
            ]
        ).astype(np.float32)

    @staticmethod
    def _peakiness(onset: npt.NDArray[np.float64], spread: float) -> float:
        """How far the onsets rise above one spread over their mean, in spreads, on average.

        Continuous in the spectrogram (a share of frames above a threshold would jump
        when one frame crosses it, and an exported twin could not match it); a spread
        under :data:`_SPREAD_FLOOR` dB counts as that floor.
        """
        excess = np.maximum(onset - onset.mean() - spread, 0.0).mean()
        return float(excess / max(spread, _SPREAD_FLOOR))

    def _rhythm(self, onset: npt.NDArray[np.float64]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The tempogram, the onset spectrum and its shares of power at the note periods.

        All from the same windows of the onsets; the last two are empty when off.
        """
        width = self.tempo_window
        padded = np.pad(onset, width // 2, mode="linear_ramp")
        frames = np.lib.stride_tricks.sliding_window_view(padded, width)[:: self.tempo_hop]
        hann = np.hanning(width + 2)[1:-1]
        spectrum = np.fft.rfft(frames * hann, 2 * width, axis=1)
        lags = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, : self.tempo_lags + 1]
        lags = lags / np.maximum(lags[:, :1], 1e-10)
        tempogram = np.asarray(lags.mean(axis=0)[1:])
        rates = self.onset_rates
        periods = self.note_period_grid if self.period_multiples else rates[:0]
        if not len(rates) and not len(periods):
            return tempogram, rates, periods
        centred = frames - frames.mean(axis=1, keepdims=True)
        power = np.abs(np.fft.rfft(centred * hann, 2 * width, axis=1)) ** 2
        power = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-10)
        mean = power.mean(axis=0)
        bins = np.arange(width + 1)
        curve = np.interp(rates * 2 * width, bins, mean)
        return tempogram, np.log10(curve + _POWER_FLOOR), np.interp(2 * width / periods, bins, mean)

    def _similarity(self, spec: npt.NDArray[np.float64]) -> FloatArray:
        centred = spec - spec.mean(axis=1, keepdims=True)
        n_frames = centred.shape[1]
        spectrum = np.fft.rfft(centred, 2 * n_frames, axis=1)
        lags = np.fft.irfft(np.abs(spectrum) ** 2, axis=1).sum(axis=0)[:n_frames]
        lags = lags[: self.similarity_lags + 1]  # lags past the clip are 0 (the rest of
        lags = np.pad(lags, (0, self.similarity_lags + 1 - len(lags)))  # irfft wraps round)
        return np.asarray(lags[1:] / max(float(lags[0]), 1e-9))

    def from_windows(self, windows: FloatArray, starts: IntArray | None = None) -> FloatArray:
        """The statistics of one file from its windows (:func:`spectrogram_from_windows`)."""
        return self(spectrogram_from_windows(windows, starts))

    def transform(self, features: FeatureSet) -> tuple[IntArray, FloatArray]:
        """Every file's statistics: ``(file indices, (n_files, dim) array)``, files sorted.

        Reads one file's windows at a time (memory-mapped sets stay on disk).
        """
        groups = np.asarray(features.groups)
        files, first = np.unique(groups, return_index=True)
        bounds = np.append(np.sort(first), len(groups))
        rows = np.zeros((len(files), self.dim), np.float32)
        for start, stop in itertools.pairwise(bounds):
            file = int(groups[start])
            if not np.all(groups[start:stop] == file):
                raise ConfigError("A FeatureSet's windows must come file after file.")
            rows[int(np.searchsorted(files, file))] = self.from_windows(features.x[start:stop])
        return files, rows

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-safe: sequences as lists, as JSON gives them back)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClipStatistics:
        """Rebuild from :meth:`get_config`.

        A config without ``onset_rates_per_octave`` was written before the onset
        spectrum existed, one without ``period_multiples`` before the similarity by
        note period: they are rebuilt without them, so their head's weights still fit.
        """
        return cls(**{"onset_rates_per_octave": 0, "period_multiples": (), **config})
