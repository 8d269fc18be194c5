"""Batch normalisation that trains with TensorFlow's fused kernel: :class:`BatchNormalization`.

Keras 3's :class:`keras.layers.BatchNormalization` computes a training batch's
statistics and the normalisation as separate element-wise operations
(``tf.nn.moments``, then ``tf.nn.batch_normalization``), and their gradients
likewise: several passes over every feature map. On a CPU that dominates
:class:`~melgenre.GenreCNN`'s training step, whose first block normalises 16 maps
of 128 x 128 per window: the normalisation's forward and backward pass took
about three times as long as TensorFlow's fused kernel (``FusedBatchNormV3``,
one pass each way), and a third of the whole step (``benchmarks/train_time.py``
measures the step both ways).

melgenre's :class:`BatchNormalization` is Keras' layer with the training path swapped
for the fused kernel where it applies (TensorFlow backend, 4-D float32 input
normalised over its last axis, no mask, renormalisation or synchronised
statistics); the mathematics, the variables, the configuration and the
inference path are Keras' own, and so is the class *name*: Keras files store a
layer's weights under a path made from its class name (``batch_normalization``,
``batch_normalization_1``, ...), so a model saved with either layer loads into
the other. :func:`melgenre._folding.fold_batch_norm` folds it alike.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

from typing import Any

from melgenre._tf import keras

__all__ = ["BatchNormalization"]


@keras.saving.register_keras_serializable(package="melgenre")
class BatchNormalization(keras.layers.BatchNormalization):  # type: ignore[misc]
    """:class:`keras.layers.BatchNormalization`, trained with TensorFlow's fused kernel.

    Takes the same arguments and computes the same function as Keras' layer
    (to float rounding); only the training step is faster. Inputs the fused
    kernel does not cover go through Keras' own computation.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre._batchnorm import BatchNormalization
    >>> norm = BatchNormalization(momentum=0.9)
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, size=(4, 8, 8, 2)).astype("float32")
    >>> y = np.asarray(norm(x, training=True))
    >>> bool(abs(y.mean()) < 1e-5 and abs(y.std() - 1.0) < 1e-3)
    True
    """

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if not (training and self.trainable) or not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        from melgenre._tf import tf

        channels = int(inputs.shape[-1])
        scale = self.gamma if self.scale else tf.ones((channels,), tf.float32)
        offset = self.beta if self.center else tf.zeros((channels,), tf.float32)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, scale, offset, epsilon=self.epsilon, is_training=True, data_format="NHWC"
        )
        # the kernel returns the batch variance with Bessel's correction; Keras' moving
        # variance averages the plain (biased) one, as the normalisation itself uses
        count = tf.cast(tf.size(inputs, out_type=tf.int64) // channels, tf.float32)
        variance = variance * tf.maximum(count - 1.0, 0.0) / tf.maximum(count, 1.0)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        return outputs

    def _fusable(self, inputs: Any, mask: Any) -> bool:
        """Whether the fused kernel computes exactly what Keras' layer would."""
        rank = len(inputs.shape)
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not getattr(self, "renorm", False)  # Keras 3.13 added batch renormalisation
            and not self.synchronized
            and rank == 4
            and self.axis in (-1, rank - 1)
            and inputs.shape[-1] is not None
            and keras.backend.standardize_dtype(inputs.dtype) == "float32"
            and self.compute_dtype == "float32"
            and self.epsilon >= 1.001e-5  # the kernel's smallest
        )
