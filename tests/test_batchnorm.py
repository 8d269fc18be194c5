"""Batch normalisation trained with TensorFlow's fused kernel (melgenre._batchnorm)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf

import melgenre._batchnorm
from melgenre import GenreCNN
from melgenre._batchnorm import BatchNormalization as FusedBatchNormalization

RNG = np.random.default_rng(0)


def _step(layer: Any, x: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """Output, gradients (input and variables) and moving statistics after one training call."""
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = layer(inputs, training=True)
        loss = tf.reduce_sum(y * weights)
    grads = tape.gradient(loss, [inputs, *layer.trainable_variables])
    return [
        np.asarray(y),
        *(np.asarray(g) for g in grads),
        np.asarray(layer.moving_mean),
        np.asarray(layer.moving_variance),
    ]


def _pair(shape: tuple[int, ...], **kwargs: Any) -> tuple[Any, Any]:
    ours, theirs = FusedBatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs)
    for layer in (ours, theirs):
        layer.build(shape)
    start = [RNG.uniform(0.5, 2.0, w.shape).astype(np.float32) for w in theirs.get_weights()]
    for layer in (ours, theirs):
        layer.set_weights(start)
    return ours, theirs


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((6, 12, 10, 4), {"momentum": 0.9}),
        ((6, 12, 10, 4), {"center": False, "scale": False, "epsilon": 1e-2}),
        ((2, 3, 3, 1), {}),  # few values per channel: the variance correction shows
        ((16, 5), {}),  # not 4-D: Keras' own path
    ],
)
def test_training_matches_keras_batch_normalization(
    shape: tuple[int, ...], kwargs: dict[str, Any]
) -> None:
    ours, theirs = _pair(shape, **kwargs)
    x = RNG.normal(3.0, 2.0, size=shape).astype(np.float32)
    weights = RNG.normal(size=shape).astype(np.float32)
    for _ in range(2):  # the second call starts from updated moving statistics
        got, expected = _step(ours, x, weights), _step(theirs, x, weights)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # inference uses the moving statistics, as Keras' layer does
    np.testing.assert_allclose(
        np.asarray(ours(x, training=False)), np.asarray(theirs(x, training=False)), atol=1e-5
    )


def test_frozen_layer_normalises_with_its_moving_statistics() -> None:
    ours, theirs = _pair((4, 6, 6, 3))
    ours.trainable = theirs.trainable = False
    x = RNG.normal(size=(4, 6, 6, 3)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(ours(x, training=True)), np.asarray(theirs(x, training=True)), atol=1e-6
    )
    np.testing.assert_array_equal(np.asarray(ours.moving_mean), np.asarray(theirs.moving_mean))


def test_genre_cnn_uses_it_and_loads_weights_saved_with_keras_layers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = (32, 32, 1)
    x = RNG.normal(size=(3, *shape)).astype(np.float32)
    with monkeypatch.context() as patch:  # a model as saved before the fused layer
        patch.setattr(melgenre._batchnorm, "BatchNormalization", keras.layers.BatchNormalization)
        old = GenreCNN(num_classes=3, input_shape=shape, filters=[4, 8], seed=0)
        assert type(old.get_layer("bn0")) is keras.layers.BatchNormalization
        old.compile(optimizer="adam", loss="categorical_crossentropy")
        old.fit(x, np.eye(3, dtype=np.float32), epochs=2, verbose=0)
        old.save(tmp_path / "old.keras")
    loaded = keras.models.load_model(tmp_path / "old.keras")
    assert type(loaded.get_layer("bn0")) is FusedBatchNormalization
    np.testing.assert_allclose(
        np.asarray(loaded.predict_on_batch(x)), np.asarray(old.predict_on_batch(x)), atol=1e-6
    )
