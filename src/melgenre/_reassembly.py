"""Putting a file's spectrogram back together from its windows (what the clip statistics read).

The windows of a :class:`~melgenre.MelFeaturizer` are unresized slices of its
spectrogram, usually overlapping; the statistics need the whole spectrogram, and the
cache keeps only the windows. :func:`spectrogram_from_windows` puts them back at their
starts (given by the Predictor, :func:`window_starts`, or found from their overlaps).
These functions are public as ``melgenre.statistics.*``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, TypeGuard

import numpy as np

from melgenre._typing import FloatArray, IntArray
from melgenre.errors import ConfigError

if TYPE_CHECKING:
    from melgenre.features import MelFeaturizer

__all__ = ["slices_spectrogram", "spectrogram_from_windows", "window_starts"]


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
