"""In-graph twin of :class:`~melgenre.ClipStatistics` and :class:`~melgenre.StatisticsHead`.

An exported model with a statistics head computes a file's clip statistics from the
spectrogram its windows were cut from, classifies them and fuses the result with the
windows' probabilities (:func:`melgenre.fusion.fuse`), as the Predictor does:

* the spectrogram is :meth:`MelFeaturizer.tf_spectrogram`'s, padded with its minimum to
  one window when shorter (as the windows are): what the Predictor rebuilds by putting
  the windows at their starts (:func:`~melgenre.statistics.spectrogram_from_windows`);
  windows that do not overlap (resized ones, another featurizer's) are joined end to end;
* the cepstra's mean is the DCT of the bands' mean (the DCT is linear), their spread
  is computed one coefficient at a time (a product with one DCT row and a sum); with
  ``power_weighted``, both over the frames weighted by their share of the power;
* the tempogram's autocorrelation is the windowed onsets' power spectrum (``rfft``)
  taken back to lags after each window's normalisation and the mean over windows
  (the inverse is linear), as the ``rfft`` of the spectrum's even extension;
* the onset spectrum reads the mean power spectrum of the same windows (mean
  removed) at its rates by linear interpolation: two gathers and a weighted sum
  with constant weights, as ``np.interp`` does;
* the similarity by lag is computed block by block of frames (one matrix product of the
  block's frames with the same and the next ``similarity_reach`` frames, its diagonals
  summed), in a ``tf.while_loop``; its block keeps the first ``similarity_lags``
  (:mod:`melgenre._similarity_graph`, as the similarity across bands);
* the similarity by note period and the onset spectrum by note rate read the same mean
  power spectrum at the note periods' rates (as the onset spectrum does), weigh them by a
  softmax and read the similarity and the onset spectrum with the constant indices and
  fractions of ``melgenre._periods``;
* the similarity by phrase reads the similarity by lag as far as ``phrase_lags`` (1,024
  lags at the defaults: the reach computed above), where a mask of the lags that leave
  :data:`~melgenre.statistics.PHRASE_OVERLAP` frames overlapping (from the clip's
  length) is true (0 elsewhere), with the same weights and constant readings;
* the similarity across bands takes each band's neighbourhood mean away (the edge bands
  repeated, as ``scipy.ndimage.uniform_filter1d(mode="nearest")`` does), multiplies the
  bands by themselves and the next ``band_shifts`` (zeros past the last) in one matrix
  product and sums its diagonals, folded as the similarity by lag's are;
* the attacks (``attack=True``) weigh the rises and the frames by the onset excess and
  take the DCT row by row, as the cepstra's mean;
* the harmony (``harmony=True``) is :mod:`melgenre._pitch_graph`'s, from the samples.

Constants enter through element-wise products and sums, never a matrix product with
a constant operand, so TFLite's dynamic-range quantization (which quantizes such
matrices to int8) leaves them in float32. Importing this module imports TensorFlow.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from melgenre._clip_blocks import POWER_FLOOR, SPREAD_FLOOR
from melgenre._periods import SHARPNESS, Reads, period_reads, rate_reads
from melgenre._pitch_graph import harmony
from melgenre._similarity_graph import band_similarity, nonzero, similarity_by_lag
from melgenre._tf import tf
from melgenre.errors import ExportError
from melgenre.statistics import PHRASE_OVERLAP

#: A constant of the NumPy path (float32 weights, int32 indices).
Constant = npt.NDArray[Any]

if TYPE_CHECKING:
    from melgenre.featurizer import Featurizer
    from melgenre.fusion import StatisticsHead
    from melgenre.statistics import ClipStatistics

__all__ = ["check_statistics_twin", "clip_statistics", "fused", "windows_and_spectrogram"]


def check_statistics_twin(head: StatisticsHead) -> None:
    """Raise an ExportError unless ``head`` and its statistics are the twinned classes."""
    from melgenre.fusion import StatisticsHead
    from melgenre.statistics import ClipStatistics

    for value, base in ((head, StatisticsHead), (head.statistics, ClipStatistics)):
        if type(value) is not base:
            raise ExportError(
                f"{type(value).__name__} has no in-graph twin (only {base.__name__} itself "
                "has): serve the bundle with melgenre serve, or export a predictor "
                "without its statistics head."
            )


def windows_and_spectrogram(featurizer: Featurizer, samples: Any) -> tuple[Any, Any]:
    """The featurizer's windows and the time-major ``(t, n_bins)`` spectrogram the statistics read.

    A featurizer whose windows are unresized, gapless slices of its spectrogram
    (:func:`~melgenre.statistics.slices_spectrogram`; the Predictor then places the
    windows at their starts) gives that spectrogram, padded with its minimum to one
    window, computed once for both where its ``tf_transform`` is the twins' own
    (``tf_windows(tf_spectrogram(samples))``); otherwise the windows' first channel
    is joined end to end.
    """
    from melgenre._twins import MelGraphTwins
    from melgenre.statistics import slices_spectrogram

    if not slices_spectrogram(featurizer):
        windows = featurizer.tf_transform(samples)
        first = tf.transpose(windows[..., 0], [0, 2, 1])  # (n, frames, bins)
        return windows, tf.reshape(first, [-1, tf.shape(first)[2]])
    spec = featurizer.tf_spectrogram(samples)
    if type(featurizer).tf_transform is MelGraphTwins.tf_transform:
        windows = featurizer.tf_windows(spec)  # its twins were checked when export began
    else:
        windows = featurizer.tf_transform(samples)
    short = tf.maximum(0, featurizer.frames - tf.shape(spec)[0])
    return windows, tf.pad(spec, [[0, short], [0, 0]], constant_values=tf.reduce_min(spec))


@functools.lru_cache(maxsize=4)
def _constants(statistics: ClipStatistics, n_bins: int) -> dict[str, Constant]:
    """The NumPy path's constants: DCT rows, the tempogram's Hann window, lag 0's weights."""
    from scipy.fft import dct

    rows = dct(np.eye(n_bins), type=2, axis=0, norm="ortho")[: statistics.n_mfcc]
    rows = np.pad(rows, ((0, statistics.n_mfcc - len(rows)), (0, 0)))
    width = statistics.tempo_window
    m = np.arange(width + 1)
    weight = np.where((m == 0) | (m == width), 1.0, 2.0)  # irfft's one-sided sum at lag 0
    periods = statistics.note_period_grid
    rates = statistics.onset_rates
    constants: dict[str, Constant] = {
        "dct": rows.astype(np.float32),
        "hann": np.hanning(width + 2)[1:-1].astype(np.float32),
        "zero_lag": (weight / (2 * width)).astype(np.float32),
    }
    reads: dict[str, Reads] = {
        "similarity": period_reads(statistics.period_multiples, periods, statistics.similarity_lags)
    }
    if statistics.phrase_multiples:
        reads["phrase"] = period_reads(statistics.phrase_multiples, periods, statistics.phrase_lags)
    if statistics.rate_ratios:
        reads["ratios"] = rate_reads(statistics.rate_ratios, periods, rates)
        reads["unit"] = rate_reads((1.0,), periods, rates)
    for name, (below, fraction) in reads.items():
        constants[f"{name}_below"], constants[f"{name}_fraction"] = below, fraction
    # fractional rfft bins, in [0, width]: the onset spectrum's rates, the note periods'
    for name, position in (
        ("rate", rates * 2 * width),
        ("period", 2 * width / periods),
    ):
        below = np.minimum(np.floor(position), width - 1).astype(np.int32)
        constants[f"{name}_below"] = below
        constants[f"{name}_fraction"] = (position - below).astype(np.float32)
    return constants


def clip_statistics(
    statistics: ClipStatistics, spec: Any, samples: Any = None, rate: int | None = None
) -> Any:
    """``statistics(spec.T)`` in ops: time-major ``(t, n_bins)`` to ``(dim,)`` float32.

    With ``harmony=True`` the chroma comes from the mono ``samples`` at ``rate``
    (:mod:`melgenre._pitch_graph`).
    """
    if statistics.harmony and (samples is None or rate is None):
        raise ExportError("ClipStatistics(harmony=True) needs the samples and their rate.")
    spec = tf.cast(spec, tf.float32)[: statistics.max_frames]
    n_bins = int(spec.shape[1])
    constants = _constants(statistics, n_bins)
    mean = tf.reduce_mean(spec, axis=0)
    centred = spec - mean
    power = _frame_weights(spec) if statistics.power_weighted or statistics.attack else None
    cepstra_mean, cepstra_std = _cepstra_moments(statistics, power, centred, mean, constants)
    rises = tf.maximum(spec[1:] - spec[:-1], 0.0)
    onset = tf.concat([tf.zeros([1]), tf.reduce_mean(rises, axis=1)], 0)
    onset_mean = tf.reduce_mean(onset)
    spread = tf.sqrt(tf.reduce_mean(tf.square(onset - onset_mean)))
    excess = tf.reduce_mean(tf.maximum(onset - onset_mean - spread, 0.0))
    peakiness = excess / tf.maximum(spread, SPREAD_FLOOR)
    tempogram, onset_spectrum, period_log_power = _rhythm(statistics, onset, constants)
    reach = similarity_by_lag(statistics, centred)
    similarity = reach[: statistics.similarity_lags]
    by_period, by_rate, by_phrase = tf.zeros([0]), tf.zeros([0]), tf.zeros([0])
    if statistics.period_multiples or statistics.rate_ratios or statistics.phrase_multiples:
        weights = tf.nn.softmax(SHARPNESS * period_log_power)
    if statistics.phrase_multiples:
        count = statistics.phrase_lags
        overlapping = tf.range(1, count + 1) <= tf.shape(spec)[0] - PHRASE_OVERLAP
        masked = tf.where(overlapping, reach[:count], tf.zeros([count]))
        padded = tf.concat([masked, tf.zeros([1])], 0)
        by_phrase = tf.reduce_sum(_read(padded, "phrase", constants) * weights, axis=1)
    if statistics.period_multiples:
        padded = tf.concat([similarity, tf.zeros([1])], 0)
        by_period = tf.reduce_sum(_read(padded, "similarity", constants) * weights, axis=1)
    if statistics.rate_ratios:
        extended = tf.concat([onset_spectrum, onset_spectrum[-1:]], 0)
        relative = _read(extended, "ratios", constants) - _read(extended, "unit", constants)
        by_rate = tf.reduce_sum(relative * weights, axis=1)
    return tf.concat(
        [
            cepstra_mean,
            cepstra_std,
            tempogram,
            onset_spectrum,
            similarity,
            tf.stack([onset_mean, spread, peakiness]),
            by_period,
            by_rate,
            band_similarity(statistics, spec),
            by_phrase,
            _attack(power, centred, rises, constants) if statistics.attack else tf.zeros([0]),
            harmony(samples, rate) if statistics.harmony and rate is not None else tf.zeros([0]),
        ],
        0,
    )


def _cepstra_moments(
    statistics: ClipStatistics,
    weights: Any,
    centred: Any,
    mean: Any,
    constants: dict[str, Constant],
) -> tuple[Any, Any]:
    """The cepstra's mean and spread over time (``melgenre._clip_blocks.cepstra_moments``).

    ``centred`` is the ``(t, n_bins)`` spectrogram less its plain ``mean`` over frames.
    Alike over frames, or by each frame's share of the power (``power_weighted``; the
    ``(t, 1)`` ``weights`` of :func:`_frame_weights`): the plain mean moved by the weighted
    mean of ``centred`` (a clip of equal frames stays exactly centred, where float32
    weights summing to about 1 would leave a spread of rounding).
    """
    if statistics.power_weighted:
        shift = tf.reduce_sum(centred * weights, axis=0)
        mean, centred = mean + shift, centred - shift

        def average(values: Any) -> Any:  # (t, 1) over frames, by weight
            return tf.reduce_sum(values * weights)

    else:

        def average(values: Any) -> Any:
            return tf.reduce_mean(values)

    cepstra_mean = tf.reduce_sum(tf.constant(constants["dct"]) * mean, axis=1)
    cepstra_std = tf.stack(  # one (n_bins,) row at a time: no (n_mfcc, n_bins) matrix product
        [
            tf.sqrt(average(tf.square(tf.reduce_sum(centred * tf.constant(row), 1, keepdims=True))))
            for row in constants["dct"]
        ]
    )
    return cepstra_mean, cepstra_std


def _frame_weights(spec: Any) -> Any:
    """Each frame's share of the power, ``(t, 1)`` (``melgenre._clip_blocks.frame_weights``)."""
    power = tf.reduce_mean(tf.pow(10.0, (spec - tf.reduce_max(spec)) / 10.0), axis=1)
    return (power / tf.reduce_sum(power))[:, None]


def _attack(power: Any, centred: Any, rises: Any, constants: dict[str, Constant]) -> Any:
    """The attacks' cepstra (``melgenre._clip_blocks.attack_cepstra``) from ``(t, n_bins)``.

    ``power`` is the frames' :func:`_frame_weights`, shared with the cepstra's moments. The
    levels are read from ``centred`` (the spectrogram less its plain mean): both weightings
    sum to 1, so the difference is the same, without float32's rounding of large levels.
    """
    onset = tf.reduce_mean(rises, axis=1)
    mean = tf.reduce_mean(onset)
    weight = tf.maximum(onset - mean - tf.sqrt(tf.reduce_mean(tf.square(onset - mean))), 0.0)
    total = tf.reduce_sum(weight)
    alike = tf.ones_like(weight) / tf.cast(tf.size(weight), tf.float32)
    weight = tf.where(total > 0.0, weight / nonzero(total), alike)[:, None]
    held = tf.reduce_sum(centred * power, axis=0)
    profiles = (  # (n_bins,) each; the DCT row by row, as the cepstra's mean
        tf.reduce_sum(rises * weight, axis=0),
        tf.reduce_sum(centred[1:] * weight, axis=0) - held,
    )
    dct = tf.constant(constants["dct"])
    return tf.concat([tf.reduce_sum(dct * profile, axis=1) for profile in profiles], 0)


def _power(frames: Any, width: int) -> Any:
    spectrum = tf.signal.rfft(frames, fft_length=[2 * width])
    return tf.square(tf.math.real(spectrum)) + tf.square(tf.math.imag(spectrum))


def _rhythm(
    statistics: ClipStatistics, onset: Any, constants: dict[str, Constant]
) -> tuple[Any, Any, Any]:
    """The tempogram, the onset spectrum and the log10 power at the note periods.

    The last two are empty when they are off.
    """
    width = statistics.tempo_window
    half = width // 2
    ramp = tf.range(half, dtype=tf.float32) / half  # np.pad(mode="linear_ramp"), both ends
    padded = tf.concat([onset[0] * ramp, onset, onset[-1] * (1.0 - 1.0 / half - ramp)], 0)
    frames = tf.signal.frame(padded, width, statistics.tempo_hop)
    hann = tf.constant(constants["hann"])
    tempogram = _tempogram(statistics, _power(frames * hann, width), constants)
    if not (
        statistics.onset_rates_per_octave or statistics.period_multiples or statistics.rate_ratios
    ):
        return tempogram, tf.zeros([0]), tf.zeros([0])
    centred = frames - tf.reduce_mean(frames, axis=1, keepdims=True)
    power = _power(centred * hann, width)
    power = tf.reduce_mean(power / nonzero(tf.reduce_sum(power, axis=1, keepdims=True)), axis=0)

    def log_power_at(name: str) -> Any:
        below = tf.gather(power, constants[f"{name}_below"])
        above = tf.gather(power, constants[f"{name}_below"] + 1)
        curve = below + tf.constant(constants[f"{name}_fraction"]) * (above - below)
        return tf.math.log(curve + POWER_FLOOR) / np.log(10.0)

    return tempogram, log_power_at("rate"), log_power_at("period")


def _tempogram(statistics: ClipStatistics, power: Any, constants: dict[str, Constant]) -> Any:
    width = statistics.tempo_window
    zero_lag = tf.reduce_sum(power * tf.constant(constants["zero_lag"]), axis=1, keepdims=True)
    scaled = tf.reduce_mean(power / nonzero(zero_lag), axis=0)  # (width + 1,)
    # irfft of a real spectrum without an IRFFT op (TFLite has none): the DFT of its even
    # extension is real and is the inverse's sum, times the length
    even = tf.concat([scaled, tf.reverse(scaled[1:-1], [0])], 0)[None]  # (1, 2 * width)
    lags = tf.math.real(tf.signal.rfft(even, fft_length=[2 * width]))[0] / (2 * width)
    return lags[1 : statistics.tempo_lags + 1]


def _read(extended: Any, name: str, constants: dict[str, Constant]) -> Any:
    """:func:`melgenre._periods.read` in ops: two gathers and a weighted sum."""
    below = tf.gather(extended, constants[f"{name}_below"])
    above = tf.gather(extended, constants[f"{name}_below"] + 1)
    return below + tf.constant(constants[f"{name}_fraction"]) * (above - below)


def fused(head: StatisticsHead, window_probabilities: Any, statistics: Any) -> Any:
    """:func:`melgenre.fusion.fuse` of the windows' file probabilities and the head's."""
    weights = head.weights_
    if weights is None:
        raise ExportError("The statistics head is not fitted.")
    z = (statistics - tf.constant(weights["mean"], tf.float32)) / tf.constant(
        weights["scale"], tf.float32
    )
    logits = tf.reduce_sum(z * tf.constant(weights["coef"], tf.float32), axis=1)
    logits += tf.constant(weights["intercept"], tf.float32)
    clip = tf.nn.softmax(logits)
    logs = tf.math.log(tf.clip_by_value(window_probabilities, 1e-7, 1.0))
    logs += head.weight * tf.math.log(tf.clip_by_value(clip, 1e-7, 1.0))
    return tf.nn.softmax(logs)
