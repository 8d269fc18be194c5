"""A rhythm channel for a window: the autocorrelation tempogram of its onset strength.

A genre's metre (a jig's 6/8 against a reel's 4/4) is a periodicity over one or two
seconds, which a small CNN's receptive field hardly spans before it pools. The
tempogram states it directly: for every frame, how the onset strength around it
correlates with itself 0, 1, ... ``lags - 1`` frames later.

Each window is computed on its own (as the delta channels are), so streamed and
whole-file windows stay equal. librosa defines the features and is the reference in the
tests; the steps here are a linear padding, a framing, a windowed real DFT written as
matrix products and a normalisation, so the exported graph computes them with the
very same constants (:func:`tempogram_operators`, ``melgenre._graph``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from melgenre._filters import analysis_window
from melgenre._typing import FloatArray

__all__ = ["TempogramOperators", "tempogram_operators", "window_onsets", "window_tempogram"]


def window_onsets(windows: FloatArray) -> FloatArray:
    """Onset strength of ``(n, bins, frames)`` log-mel windows: ``(n, frames)``.

    The mean over bands of each band's rise since the previous frame (falls count as
    0), and 0 at a window's first frame: ``librosa.onset.onset_strength(S=window,
    lag=1, max_size=1, center=False)`` for each window.
    """
    rises = np.maximum(0.0, np.diff(np.asarray(windows, np.float32), axis=-1))
    return np.pad(rises.mean(axis=1), [(0, 0), (1, 0)]).astype(np.float32)


class TempogramOperators(NamedTuple):
    """The constant matrices of :func:`window_tempogram` for one window length."""

    #: ``(frames, frames + 2 * (lags // 2))``: librosa's centring, a ``linear_ramp`` pad
    ramp: FloatArray
    #: ``(lags,)``: the periodic Hann window on each frame's span of onsets
    window: FloatArray
    #: ``(lags, k)``: the real DFT, cosine and sine parts (zero-padded to ``2 * lags`` points)
    cos: FloatArray
    sin: FloatArray
    #: ``(k, lags)``: from a power spectrum back to the autocorrelation at lags ``0 .. lags - 1``
    inverse: FloatArray


@functools.lru_cache(maxsize=8)
def tempogram_operators(frames: int, lags: int) -> TempogramOperators:
    """The constants of a tempogram of ``lags`` lags over windows of ``frames`` frames."""
    half = lags // 2
    identity = np.eye(frames, dtype=np.float64)
    ramp = np.pad(identity, [(0, 0), (half, half)], mode="linear_ramp", end_values=0)
    size = 2 * lags  # >= 2 * lags - 1: the circular autocorrelation is the linear one
    k = np.arange(size // 2 + 1)
    phase = 2 * np.pi * np.outer(np.arange(lags), k) / size
    weights = np.where((k == 0) | (k == size // 2), 1.0, 2.0) / size
    inverse = weights[:, None] * np.cos(2 * np.pi * np.outer(k, np.arange(lags)) / size)
    return TempogramOperators(
        ramp=ramp.astype(np.float32),
        window=analysis_window(lags, None).astype(np.float32),
        cos=np.cos(phase).astype(np.float32),
        sin=np.sin(phase).astype(np.float32),
        inverse=inverse.astype(np.float32),
    )


def window_tempogram(windows: FloatArray, lags: int) -> FloatArray:
    """Autocorrelation tempogram of each window's onset strength: ``(n, lags, frames)``.

    For each window ``w``, ``librosa.feature.tempogram(onset_envelope=o,
    win_length=lags, center=True, window="hann", norm=np.inf)`` of its onset
    strength ``o`` (:func:`window_onsets`): row ``m`` is the autocorrelation at a lag
    of ``m`` frames, each frame's column scaled to a peak of 1 (a silent column stays 0).

    Examples
    --------
    >>> import numpy as np
    >>> clicks = np.zeros((1, 4, 64), np.float32)
    >>> clicks[..., ::8] = 10.0  # an onset every 8 frames
    >>> t = window_tempogram(clicks, 32)[0, :, 32]  # the column of a frame mid-window
    >>> int(np.argmax(t[1:])) + 1  # the strongest lag after 0
    8
    """
    onsets = window_onsets(windows)
    frames = onsets.shape[-1]
    ops = tempogram_operators(frames, lags)
    padded = onsets @ ops.ramp  # (n, frames + 2 * half)
    spans = np.lib.stride_tricks.sliding_window_view(padded, lags, axis=-1)[:, :frames]
    spans = spans * ops.window  # (n, frames, lags)
    power = np.square(spans @ ops.cos) + np.square(spans @ ops.sin)
    autocorrelation = power @ ops.inverse  # (n, frames, lags)
    peak = np.abs(autocorrelation).max(axis=-1, keepdims=True)
    scaled = autocorrelation / np.where(peak > 0, peak, 1.0)
    return np.ascontiguousarray(scaled.transpose(0, 2, 1), dtype=np.float32)
