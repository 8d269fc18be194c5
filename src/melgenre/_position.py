"""A frequency-position channel for the network's input: :class:`FrequencyPosition`.

A convolutional network that ends in a global mean over both axes is blind to
*where* in the spectrum a pattern lies: a bass note and a piccolo's share a shape
an octave grid apart. Concatenating a channel that holds each band's position
(a ramp from -1 at the lowest band to 1 at the highest, the same in every frame)
lets the first convolution tell registers and formant regions apart while the
network stays convolutional, as CoordConv (Liu et al., 2018) and the
frequency-aware CNNs of acoustic scene classification (Koutini et al., 2019) do.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

from typing import Any

from melgenre._tf import keras

__all__ = ["FrequencyPosition"]


@keras.saving.register_keras_serializable(package="melgenre")
class FrequencyPosition(keras.layers.Layer):  # type: ignore[misc]
    """Append a channel holding each band's position, from -1 (lowest) to 1 (highest).

    Input ``(batch, bands, frames, channels)``, output ``(batch, bands, frames,
    channels + 1)``. No weights; built from Keras operations, so a model that
    uses it saves, loads and exports like any other.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre._position import FrequencyPosition
    >>> y = np.asarray(FrequencyPosition()(np.zeros((2, 3, 4, 1), "float32")))
    >>> y.shape
    (2, 3, 4, 2)
    >>> y[0, :, 0, 1].tolist()
    [-1.0, 0.0, 1.0]
    """

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        bands = int(inputs.shape[1])
        ramp = ops.linspace(-1.0, 1.0, bands) if bands > 1 else ops.zeros((1,))
        ramp = ops.reshape(ops.cast(ramp, inputs.dtype), (1, bands, 1, 1))
        return ops.concatenate([inputs, ops.zeros_like(inputs[..., :1]) + ramp], axis=-1)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        shape = tuple(input_shape)
        return (*shape[:-1], None if shape[-1] is None else shape[-1] + 1)
