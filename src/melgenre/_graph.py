"""In-graph twins of melgenre's NumPy preprocessing, in TensorFlow ops, for exported models.

An exported model takes mono samples and must compute the features its model was
trained on. Each function here mirrors a step of :class:`~melgenre.MelFeaturizer`
(``_dsp``/``_filters``) operation for operation, with the same constants:

* the centred STFT with librosa's zero (``"constant"``) padding and periodic Hann window
  (:func:`~melgenre._filters.analysis_window`, embedded as a constant);
* the featurizer's own filter bank (``mel_basis``: :func:`~melgenre._filters.mel_filters`,
  librosa's Slaney scale and norm to the bit, or :func:`~melgenre._filters.log_filters`),
  embedded as a constant matrix;
* ``power_to_db`` with the featurizer's ``ref`` (``"max"``: the recording's own peak) and
  ``top_db`` below the peak of *this* recording, not of a batch;
* the same window starts (a tail window aligned to the end, short audio padded with the
  spectrogram's minimum), and the time resize and deltas as constant matrices computed by
  the NumPy functions themselves (both are linear along time);
* the tempogram channel with :func:`melgenre._rhythm.tempogram_operators`' matrices, the
  ones the NumPy path multiplies by, and the chroma channel with the featurizer's own
  :func:`melgenre._harmony.chroma_operator` matrix.

``melgenre check-parity`` measures the agreement (``tests/test_export.py`` pins it).
Importing this module imports TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._dsp import resize_time, window_deltas
from melgenre._harmony import pitch_class_rows
from melgenre._rhythm import tempogram_operators
from melgenre._tf import tf
from melgenre._typing import FloatArray

if TYPE_CHECKING:
    from melgenre.features import MelFeaturizer

__all__ = ["file_probabilities", "mel_power", "scale", "window_times", "windows"]

_AMIN = 1e-10


def _decibels(power: Any) -> Any:
    """``10 * log10(max(amin, power))`` as ``max(log(power), log(amin)) * 10 / ln(10)``.

    The floor is applied in the log domain so that no constant is as small as
    ``amin``: a float16-quantized TFLite file stores constants as float16, where 1e-10
    is 0, and silence would become ``log(0) - log(0) = nan``.
    """
    floor = tf.constant(np.log(np.float32(_AMIN)), tf.float32)
    return tf.maximum(tf.math.log(power), floor) * tf.constant(10.0 / np.log(10.0), tf.float32)


def _starts(n_frames: Any, frames: int, step: int) -> Any:
    """:func:`melgenre._dsp.window_starts` in ops: every ``step`` frames, plus a tail window."""
    total = tf.maximum(n_frames, frames)
    starts = tf.range(0, total - frames + 1, step)
    count = tf.shape(starts)[0]
    tail = tf.cast(starts[-1] + frames < total, tf.int32)
    return tf.concat([starts, tf.reshape(total - frames, [1])], 0)[: count + tail]


def mel_power(featurizer: MelFeaturizer, samples: Any) -> Any:
    """``featurizer.mel_power`` in ops, time-major: ``(n,)`` samples to ``(t, n_mels)``."""
    n_fft, hop = featurizer.n_fft, featurizer.hop_length
    samples = tf.reshape(tf.cast(samples, tf.float32), [-1])
    samples = tf.pad(samples, [[0, tf.maximum(0, n_fft - tf.shape(samples)[0])]])
    padded = tf.pad(samples, [[n_fft // 2, n_fft // 2]])
    window = tf.constant(featurizer._window)
    spectrum = tf.signal.stft(
        padded,
        frame_length=n_fft,
        frame_step=hop,
        fft_length=n_fft,
        window_fn=lambda length, dtype: window,
        pad_end=False,
    )
    power = tf.math.square(tf.math.real(spectrum)) + tf.math.square(tf.math.imag(spectrum))
    return _filter_bank(power, featurizer.mel_basis)


def scale(featurizer: MelFeaturizer, power: Any) -> Any:
    """``featurizer.scale`` in ops: decibels re ``ref``, clipped ``top_db`` below this peak."""
    db = _decibels(power)
    if featurizer.ref == "max":
        ref = tf.reduce_max(power)
    else:
        ref = tf.constant(float(featurizer.ref), tf.float32)
    db = db - _decibels(tf.abs(ref))
    if featurizer.top_db is not None:
        db = tf.maximum(db, tf.reduce_max(db) - float(featurizer.top_db))
    return db


def windows(featurizer: MelFeaturizer, spec: Any) -> Any:
    """``featurizer.windows`` in ops: time-major ``(t, bins)`` to ``(n, *output_shape)``."""
    frames = featurizer.frames
    n_frames = tf.shape(spec)[0]
    short = tf.maximum(0, frames - n_frames)
    spec = tf.pad(spec, [[0, short], [0, 0]], constant_values=tf.reduce_min(spec))
    starts = _starts(n_frames, frames, featurizer.hop_frames)
    cut = tf.gather(spec, starts[:, None] + tf.range(frames)[None, :])  # (n, frames, bins)
    if featurizer.resize_frames is not None:
        cut = _along_time(cut, _time_operator(frames, featurizer.resize_frames))
    cut = tf.transpose(cut, [0, 2, 1])  # (n, bins, frames)
    channels = [cut]
    if featurizer.deltas:
        size = featurizer.resize_frames or frames
        identity = np.eye(size, dtype=np.float32)[np.newaxis]
        channels += [
            tf.einsum("nbf,fg->nbg", cut, tf.constant(delta[0]))
            for delta in window_deltas(identity, featurizer.deltas)
        ]
    if featurizer.tempogram:
        channels.append(_tempogram(cut, featurizer.n_bins))
    if featurizer.chroma:
        channels.append(_chroma(cut, featurizer._chroma_operator, featurizer.n_bins))
    return tf.stack(channels, axis=-1)


def _chroma(cut: Any, operator: FloatArray, rows: int) -> Any:
    """:func:`melgenre._harmony.window_chroma` in ops: ``(n, rows, frames)`` per window."""
    power = tf.exp(cut * (np.log(10.0) / 10.0))
    profile = tf.einsum("cb,nbf->ncf", tf.constant(operator), power)  # (n, 12, frames)
    peak = tf.reduce_max(profile, axis=1, keepdims=True)
    scaled = profile / tf.where(peak > 0.0, peak, tf.ones_like(peak))
    return tf.gather(scaled, tf.constant(pitch_class_rows(rows)), axis=1)


def _tempogram(cut: Any, lags: int) -> Any:
    """:func:`melgenre._rhythm.window_tempogram` in ops: ``(n, lags, frames)`` per window."""
    rises = tf.maximum(cut[:, :, 1:] - cut[:, :, :-1], 0.0)
    onsets = tf.pad(tf.reduce_mean(rises, axis=1), [[0, 0], [1, 0]])  # (n, frames)
    frames = int(cut.shape[-1])
    ops = tempogram_operators(frames, lags)
    padded = tf.einsum("nf,fp->np", onsets, tf.constant(ops.ramp))
    spans = tf.signal.frame(padded, lags, 1, axis=-1)[:, :frames] * tf.constant(ops.window)
    real = tf.einsum("ntl,lk->ntk", spans, tf.constant(ops.cos))
    imag = tf.einsum("ntl,lk->ntk", spans, tf.constant(ops.sin))
    lagged = tf.einsum("ntk,km->ntm", real * real + imag * imag, tf.constant(ops.inverse))
    peak = tf.reduce_max(tf.abs(lagged), axis=-1, keepdims=True)
    scaled = lagged / tf.where(peak > 0.0, peak, tf.ones_like(peak))
    return tf.transpose(scaled, [0, 2, 1])


def _filter_bank(power: Any, basis: FloatArray) -> Any:
    """``power @ basis.T`` over the filter bank's non-zero entries only.

    ``power`` is ``(t, bins)``. Each mel filter spans a few FFT bins (about 1.5 % of the
    matrix is non-zero, as in the NumPy featurizer's sparse product): the bins of every
    non-zero entry are gathered, weighted, and summed per filter (``unsorted_segment_sum``). This
    keeps the filter weights out of a MatMul, which TFLite's quantizer would turn into
    int8 (``quantize="int8"`` then quantizes the network's weights, never the
    preprocessing's constants), and costs about what the dense product does.
    """
    rows, cols = np.nonzero(basis)
    weights = tf.constant(basis[rows, cols].astype(np.float32))
    gathered = tf.gather(tf.transpose(power), tf.constant(cols.astype(np.int32)))  # (nnz, t)
    mel = tf.math.unsorted_segment_sum(  # num_segments: an empty filter still gets its row
        gathered * weights[:, None], tf.constant(rows.astype(np.int32)), basis.shape[0]
    )
    return tf.transpose(mel)  # (t, n_mels)


def _time_operator(frames: int, size: int) -> Any:
    """``(frames, size)`` matrix ``M`` with ``x @ M == resize_time(x, size)`` along time."""
    identity = np.eye(frames, dtype=np.float32)
    return np.ascontiguousarray(resize_time(identity, size))


def _along_time(cut: Any, operator: Any) -> Any:
    """Apply a ``(frames, size)`` time operator to ``(n, frames, bins)`` windows."""
    return tf.einsum("nfb,fg->ngb", cut, tf.constant(operator))


def window_times(featurizer: MelFeaturizer, n_samples: Any) -> Any:
    """``featurizer.window_times`` in ops: ``(windows, 2)`` start and end seconds."""
    n_samples = tf.cast(n_samples, tf.int32)
    starts = _starts(
        1 + n_samples // featurizer.hop_length, featurizer.frames, featurizer.hop_frames
    )
    per_frame = featurizer.hop_length / featurizer.sample_rate
    begin = tf.cast(starts, tf.float32) * per_frame
    end = tf.minimum(
        tf.cast(starts + featurizer.frames, tf.float32) * per_frame,
        tf.cast(n_samples, tf.float32) / featurizer.sample_rate,
    )
    return tf.stack([begin, end], axis=1)


def file_probabilities(probabilities: Any, aggregation: str) -> Any:
    """A file's probabilities from its windows' ``(n, labels)`` (:data:`AGGREGATIONS`)."""
    if aggregation == "max":
        peak = tf.reduce_max(probabilities, axis=0)
        return peak / tf.reduce_sum(peak)
    if aggregation == "vote":
        votes = tf.one_hot(tf.argmax(probabilities, axis=1), tf.shape(probabilities)[1])
        return tf.reduce_mean(votes, axis=0)
    return tf.reduce_mean(probabilities, axis=0)
