"""In-graph similarities of :mod:`melgenre._statistics_graph`: by lag and across bands.

The twins of :func:`melgenre._clip_blocks.self_similarity` and
:func:`melgenre._clip_blocks.band_similarity`: each a matrix product of a sequence with
itself shifted, its diagonals summed (:func:`_lag_sums`), so no index constant enters an
exported artifact. Importing this module imports TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from melgenre._clip_blocks import BAND_SMOOTHING
from melgenre._tf import tf

if TYPE_CHECKING:
    from melgenre.statistics import ClipStatistics

__all__ = ["band_similarity", "nonzero", "similarity_by_lag"]


def nonzero(energy: Any) -> Any:
    """``energy`` with 0 replaced by 1: the divisor of a normalisation whose numerator is 0 then.

    NumPy divides by ``max(energy, floor)`` (a floor of 1e-10 or 1e-9); the two differ
    only below it, and a float16-quantized TFLite file, whose constants are float16,
    would store such a floor as 0.
    """
    return tf.where(energy > 0.0, energy, tf.ones_like(energy))


#: Frames per block of the similarity's products (one matrix product per block).
_SIMILARITY_BLOCK = 128


def similarity_by_lag(statistics: ClipStatistics, centred: Any) -> Any:
    """The similarity by lag (lags 1 to ``similarity_reach``), block by block of frames.

    Each block's frames against the same and the next ``count`` frames: one matrix
    product, its diagonals 1 to ``count`` summed. The frames are padded
    with zeros, which add nothing, so lags past the clip are 0 (and no slice is ever
    empty: TFLite's sum of one is not reliably 0).
    """
    count, block = statistics.similarity_reach, _SIMILARITY_BLOCK
    n_frames = tf.shape(centred)[0]
    padded = tf.pad(centred, [[0, block + count], [0, 0]])

    def body(start: Any, sums: Any) -> tuple[Any, Any]:
        rows = padded[start : start + block]
        products = tf.matmul(rows, padded[start : start + block + count], transpose_b=True)
        return start + block, sums + _lag_sums(products, block, count)[1:]

    _, sums = tf.while_loop(
        lambda start, _: start < n_frames, body, [tf.constant(0), tf.zeros([count])]
    )
    return sums / nonzero(tf.reduce_sum(tf.square(centred)))


def band_similarity(statistics: ClipStatistics, spec: Any) -> Any:
    """The similarity across bands of a time-major ``(t, n_bins)`` spectrogram.

    Band-major inside: the neighbourhood's slices and the product's operands are rows
    (slices along a time-major tensor's inner axis looked slower in TFLite's float
    kernels, by about 2 ms a 15 s file, measured on a busy machine).
    """
    count = statistics.band_shifts
    n_bands = int(spec.shape[1]) - statistics.band_from
    if not count or n_bands <= 0:
        return tf.zeros([count])
    bands = tf.transpose(spec[:, statistics.band_from :])  # (n_bands, t)
    reach = BAND_SMOOTHING // 2
    extended = tf.concat([bands[:1]] * reach + [bands] + [bands[-1:]] * reach, 0)
    mean = tf.add_n([extended[k : k + n_bands] for k in range(BAND_SMOOTHING)])
    detail = bands - mean / BAND_SMOOTHING
    products = tf.matmul(detail, tf.pad(detail, [[0, count], [0, 0]]), transpose_b=True)
    sums = _lag_sums(products, n_bands, count)
    return sums[1:] / nonzero(sums[0])


def _lag_sums(products: Any, rows: int, count: int) -> Any:
    """The sums of a ``(rows, rows + count)`` product's diagonals 0 to ``count``.

    ``products[i, j]`` pairs row ``i`` of a sequence with row ``j`` of the same sequence
    padded with ``count`` zero rows: lag ``j - i``. Lag ``l`` of row ``i`` sits at
    ``i * (rows + count + 1) + l`` of the flattened product: padded by one more row's
    worth and folded that wide, the lags are columns (the pairs with ``j < i`` land past
    column ``count``), with no index constant, which TFLite would store in every artifact.
    """
    flat = tf.pad(tf.reshape(products, [-1]), [[0, rows]])
    skewed = tf.reshape(flat, [rows, rows + count + 1])
    return tf.reduce_sum(skewed[:, : count + 1], axis=0)
