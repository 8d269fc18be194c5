"""Batch normalisation folded into the convolution before it, for inference.

At inference a :class:`keras.layers.BatchNormalization` is an affine map per
channel, ``y = (x - mean) / sqrt(var + eps) * gamma + beta``; after a
convolution with a linear activation it can be folded into the convolution's
kernel and bias (``kernel * s`` and ``(bias - mean) * s + beta`` with
``s = gamma / sqrt(var + eps)``), as TensorFlow Lite's converter does. That
removes two full passes over every feature map: on :class:`~melgenre.GenreCNN`
the batch normalisation after the first convolution (16 maps of 128 x 128 per
window) cost more than the convolution itself.

:func:`fold_batch_norm` returns an inference copy of a Functional model that
*shares* the original's variables: the folded kernel and bias are computed from
the live variables inside the graph on every call (a few thousand
multiplications against the millions of the convolutions), so a model trained
further, or loaded with other weights, is still what the copy computes. Only a
``Conv1D``/``Conv2D``/``Conv3D`` (exactly those classes, channels last, linear
activation, float32) whose output feeds nothing but one batch normalisation over
the channel axis is folded; everything else is called as it is, and a model that
is not Functional (a subclassed model) is returned unchanged.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

import logging
from typing import Any

from melgenre import _batchnorm
from melgenre._tf import keras

__all__ = ["fold_batch_norm"]

logger = logging.getLogger(__name__)

_CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
#: Keras' batch normalisation, and melgenre's, which only trains faster
_NORMALISATIONS = (keras.layers.BatchNormalization, _batchnorm.BatchNormalization)


class _FoldedConvolution(keras.layers.Layer):  # type: ignore[misc]
    """A convolution and the batch normalisation after it, as one convolution (inference only)."""

    def __init__(self, convolution: Any, norm: Any) -> None:
        super().__init__(name=convolution.name, dtype=convolution.dtype_policy)
        self.convolution = convolution
        self.norm = norm
        self.built = True

    def call(self, inputs: Any) -> Any:
        ops, conv, norm = keras.ops, self.convolution, self.norm
        scale = ops.rsqrt(norm.moving_variance + norm.epsilon)
        if norm.gamma is not None:
            scale = scale * norm.gamma
        shift = -norm.moving_mean * scale
        if conv.use_bias:
            shift = shift + conv.bias * scale
        if norm.beta is not None:
            shift = shift + norm.beta
        return conv.convolution_op(inputs, conv.kernel * scale) + shift

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.convolution.compute_output_shape(input_shape)


def _only_node(layer: Any, attribute: str) -> Any:
    nodes: list[Any] = list(getattr(layer, attribute, ()))
    return nodes[0] if len(nodes) == 1 else None


def _pairs(model: Any) -> dict[int, Any]:
    """``{id(convolution): norm}`` for every foldable convolution/normalisation pair."""
    pairs: dict[int, Any] = {}
    for norm in model.layers:
        if type(norm) not in _NORMALISATIONS:
            continue
        node = _only_node(norm, "_inbound_nodes")
        if node is None or len(node.parent_nodes) != 1:
            continue
        conv = node.parent_nodes[0].operation
        rank = len(norm.input.shape)
        foldable = (
            type(conv) in _CONVOLUTIONS
            and getattr(conv, "data_format", None) == "channels_last"
            and conv.get_config().get("activation") == "linear"
            and norm.axis in (-1, rank - 1)
            and conv.compute_dtype == "float32"
            and norm.compute_dtype == "float32"
            and _only_node(conv, "_inbound_nodes") is not None
            and len(conv._outbound_nodes) == 1
        )
        if foldable:
            pairs[id(conv)] = norm
    return pairs


def fold_batch_norm(model: Any) -> Any:
    """An inference copy of ``model`` with batch normalisation folded into convolutions.

    Parameters
    ----------
    model : keras.Model
        Any model; only a Functional one (such as :class:`~melgenre.GenreCNN`)
        has anything folded.

    Returns
    -------
    keras.Model
        A Functional model sharing ``model``'s variables, to be called with
        ``training=False`` only; ``model`` itself when there is nothing to fold.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import GenreCNN
    >>> from melgenre._folding import fold_batch_norm
    >>> model = GenreCNN(num_classes=3, input_shape=(32, 32, 1), filters=(4, 8))
    >>> folded = fold_batch_norm(model)
    >>> [layer.name for layer in folded.layers if "bn" in layer.name]
    []
    >>> x = np.random.default_rng(0).normal(size=(2, 32, 32, 1)).astype("float32")
    >>> bool(np.allclose(folded(x, training=False), model(x, training=False), atol=1e-5))
    True
    """
    try:
        pairs = _pairs(model)
    except (AttributeError, TypeError, ValueError):  # not a graph of layers
        return model
    if not pairs:
        return model
    norms = {id(norm) for norm in pairs.values()}

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if id(layer) in pairs:
            return _FoldedConvolution(layer, pairs[id(layer)])(*args)
        if id(layer) in norms:
            return args[0]  # already applied by the folded convolution before it
        return layer(*args, **kwargs)

    try:
        folded = keras.models.clone_model(
            model, clone_function=lambda layer: layer, call_function=call
        )
    except ValueError as exc:  # a Sequential or subclassed model: used as it is
        logger.debug("Batch normalisation not folded in %s: %s", model.name, exc)
        return model
    logger.debug("Folded %d batch normalisations of %s", len(pairs), model.name)
    return folded
