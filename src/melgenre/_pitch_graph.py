"""In-graph twin of :mod:`melgenre._pitch`: the chroma and its summaries from samples.

An exported model whose statistics have ``harmony=True`` computes the chroma from its
input samples as :func:`melgenre._pitch.audio_chroma` does (the first ten minutes;
octave by octave, frames by ``tf.signal.frame``, the binomial halving on the samples
taken as pairs) and :func:`melgenre._pitch.pitch_class_summaries` from it. As in
:mod:`melgenre._statistics_graph`, constants enter through element-wise products and
sums, never a matrix product with a constant operand (which TFLite's dynamic-range
quantization would turn to int8): the frames are multiplied by the filters, broadcast,
and summed.
Importing this module imports TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from melgenre import _pitch
from melgenre._tf import tf

__all__ = ["chroma", "fine_chroma", "harmony", "summaries", "tuned_chroma", "tuning"]


def _halve(y: Any) -> Any:
    """:func:`melgenre._pitch.halve` in ops: the padded samples as (even, odd) pairs."""
    a, b, c = _pitch.HALVING_TAPS[:3]
    pairs = tf.reshape(tf.pad(y, [[2, 2 + tf.shape(y)[0] % 2]]), [-1, 2])
    even, odd = pairs[:, 0], pairs[:, 1]
    return (even[:-2] + even[2:]) * a + (odd[:-2] + odd[1:-1]) * b + even[1:-1] * c


def fine_chroma(samples: Any, rate: int) -> Any:
    """:func:`melgenre._pitch.fine_chroma` of mono ``(n,)`` samples: ``(frames, 36)``."""
    octaves = _pitch.chroma_octaves(rate)
    hop = _pitch.chroma_hop(rate)
    bins = 12 * _pitch.SUBDIVISIONS
    y = tf.cast(samples, tf.float32)
    frames = 1 + tf.shape(y)[0] // hop
    total = tf.zeros([frames, bins])
    for octave, kernel in enumerate(_pitch.octave_filters(float(rate), octaves)):
        width, step = len(kernel), hop // 2**octave
        padded = tf.pad(y, [[width // 2, width // 2 + step]])
        cut = tf.signal.frame(padded, width, step)[:frames]  # (frames, width)
        rows = np.flatnonzero(np.any(kernel != 0.0, axis=1))  # the longest filter's span
        first, last = int(rows[0]), int(rows[-1]) + 1
        products = cut[:, first:last, tf.newaxis] * tf.constant(kernel[first:last])
        parts = tf.reduce_sum(products, axis=1)
        total += tf.sqrt(tf.square(parts[:, :bins]) + tf.square(parts[:, bins:]))
        if octave < octaves - 1:
            y = _halve(y)
    return total


def tuning(fine: Any) -> Any:
    """:func:`melgenre._pitch.tuning` in ops: a scalar, in semitones."""
    peak = tf.reduce_max(fine, axis=1, keepdims=True)
    relative = fine / tf.maximum(peak, _pitch.ENERGY_FLOOR)
    powered = tf.pow(relative, float(_pitch.TUNING_SHARPNESS))
    share = tf.reduce_sum(tf.reshape(powered, [-1, 12, _pitch.SUBDIVISIONS]), axis=[0, 1])
    angles = 2 * np.pi * np.arange(_pitch.SUBDIVISIONS) / _pitch.SUBDIVISIONS
    sine = tf.reduce_sum(share * tf.constant(np.sin(angles), tf.float32))
    cosine = tf.reduce_sum(share * tf.constant(np.cos(angles), tf.float32))
    return tf.atan2(sine, cosine + _pitch.ENERGY_FLOOR) / (2 * np.pi)


def tuned_chroma(fine: Any, offset: Any) -> Any:
    """:func:`melgenre._pitch.tuned_chroma` in ops: ``(frames, 12)``."""
    bins = 12 * _pitch.SUBDIVISIONS
    position = _pitch.SUBDIVISIONS * offset
    shift = tf.floor(position)
    fraction = position - shift
    below = (_pitch.SUBDIVISIONS * tf.range(12) + tf.cast(shift, tf.int32)) % bins
    lower = tf.gather(fine, below, axis=1)
    upper = tf.gather(fine, (below + 1) % bins, axis=1)
    return (1 - fraction) * lower + fraction * upper


def chroma(samples: Any, rate: int) -> Any:
    """:func:`melgenre._pitch.audio_chroma` of mono ``(n,)`` samples: ``(frames, 12)``."""
    fine = fine_chroma(tf.cast(samples, tf.float32)[: int(_pitch.CHROMA_SECONDS * rate)], rate)
    return tuned_chroma(fine, tuning(fine))


def _centred(v: Any, axis: int) -> Any:
    v = v - tf.reduce_mean(v, axis=axis, keepdims=True)
    norm = tf.sqrt(tf.reduce_sum(tf.square(v), axis=axis, keepdims=True))
    return v / tf.maximum(norm, _pitch.NORM_FLOOR)


def _mean(values: Any, count: Any) -> Any:
    """The mean of a 1-D tensor, 0 when it is empty."""
    return tf.reduce_sum(values) / tf.cast(tf.maximum(count, 1), tf.float32)


def _dft_magnitudes(rows: Any) -> Any:
    """``|rfft(rows)|[:, 1:7]`` of ``(n, 12)`` rows by products with cosines and sines.

    (TFLite's RFFT takes powers of two only.)
    """
    k = np.arange(1, 7)[:, None] * np.arange(12)[None, :] * (2 * np.pi / 12)
    cos, sin = (tf.constant(f(k), tf.float32) for f in (np.cos, np.sin))
    real = tf.reduce_sum(rows[:, tf.newaxis, :] * cos, axis=2)
    imag = tf.reduce_sum(rows[:, tf.newaxis, :] * sin, axis=2)
    return tf.sqrt(tf.square(real) + tf.square(imag))


def summaries(frames_by_class: Any) -> Any:
    """:func:`melgenre._pitch.pitch_class_summaries` of a ``(frames, 12)`` chroma: ``(40,)``."""
    floor = _pitch.ENERGY_FLOOR
    chroma_t = tf.transpose(tf.cast(frames_by_class, tf.float32))  # (12, frames)
    energy = tf.reduce_sum(chroma_t, axis=0)
    weight = energy / tf.maximum(tf.reduce_sum(energy), floor)
    frames = chroma_t / tf.maximum(energy, floor)
    mean = tf.reduce_sum(frames * weight, axis=1)
    dft = _dft_magnitudes(tf.transpose(frames))  # (frames, 6)
    dft_mean = tf.reduce_sum(dft * weight[:, tf.newaxis], axis=0)
    second = tf.reduce_sum(tf.square(dft) * weight[:, tf.newaxis], axis=0)
    dft_spread = tf.sqrt(tf.maximum(second - tf.square(dft_mean), 0.0))
    keys, types = _pitch.templates()
    key = tf.reduce_sum(tf.constant(keys, tf.float32) * _centred(mean, 0), axis=1)  # (24,)
    centred = _centred(frames, 0)  # (12, frames)
    fits = tf.reduce_sum(
        tf.constant(types, tf.float32)[..., tf.newaxis] * centred[tf.newaxis, tf.newaxis], axis=2
    )  # (types, transpositions, frames)
    best = tf.reduce_max(fits, axis=1)  # (types, frames)
    soft = tf.nn.softmax(_pitch.CHORD_SHARPNESS * best, axis=0)
    # the frames' changes, one more (0) after the last frame: TFLite's reductions of an
    # empty tensor (a one-frame clip) are not 0, so the last is masked out instead
    padded = tf.concat([frames, frames[:, -1:]], axis=1)
    change = tf.reduce_sum(tf.abs(padded[:, 1:] - padded[:, :-1]), axis=0)  # (frames,)
    count = tf.shape(change)[0] - 1
    real = tf.cast(tf.range(count + 1) < count, tf.float32)
    change_mean = _mean(change, count)
    spread = tf.sqrt(_mean(tf.square(change - change_mean) * real, count))
    excess = _mean(tf.maximum(change - change_mean - spread, 0.0) * real, count)
    return tf.concat(
        [
            _dft_magnitudes(mean[tf.newaxis])[0],
            dft_mean,
            dft_spread,
            tf.stack([tf.reduce_max(key[:12]), tf.reduce_max(key[12:])]),
            tf.reverse(tf.math.top_k(key, 3).values, [0]),
            tf.reduce_sum(soft * weight, axis=1),
            tf.reduce_sum(best * weight, axis=1),
            tf.stack([change_mean, spread, excess / tf.maximum(spread, _pitch.SPREAD_FLOOR)]),
        ],
        0,
    )


def harmony(samples: Any, rate: int) -> Any:
    """The harmony blocks of :class:`~melgenre.ClipStatistics` from mono samples: ``(40,)``."""
    return summaries(chroma(samples, rate))
