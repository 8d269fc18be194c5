"""Batch normalisation folded into convolutions for inference (melgenre._folding)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

from melgenre import GenreCNN, MelFeaturizer, Predictor, Preprocessing
from melgenre._folding import fold_batch_norm

SHAPE = (32, 32, 1)


def randomize_norms(model: Any, seed: int = 0) -> None:
    """Moving statistics, scales and offsets far from a fresh layer's (1, 0, 0, 1)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, w.shape) if i in (0, 3) else rng.normal(size=w.shape)
                    for i, w in enumerate(layer.get_weights())
                ]
            )


def windows(n: int = 3, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *SHAPE)).astype(np.float32)


def norms(model: Any) -> list[str]:
    return [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization) and layer.name != "standardize"
    ]


@pytest.mark.parametrize("block", ["plain", "residual"])
def test_genre_cnn_folds_every_norm_and_computes_the_same(block: str) -> None:
    model = GenreCNN(
        num_classes=4, input_shape=SHAPE, filters=(4, 8, 8), block=block, dense_units=8, seed=0
    )
    randomize_norms(model)
    folded = fold_batch_norm(model)
    assert norms(model)
    assert not norms(folded)
    assert len(folded.weights) == len(model.weights)  # the same variables, none new
    x = windows()
    expected = np.asarray(model(x, training=False))
    assert not np.allclose(expected, expected[:1])  # the test has something to see
    np.testing.assert_allclose(folded(x, training=False), expected, atol=1e-5)


def test_the_folded_copy_follows_the_live_variables() -> None:
    model = GenreCNN(num_classes=3, input_shape=SHAPE, filters=(4, 8), dense_units=0, seed=0)
    folded = fold_batch_norm(model)
    randomize_norms(model, seed=3)  # after folding: e.g. trained further
    model.get_layer("conv1").kernel.assign(model.get_layer("conv1").kernel * 2.0)
    x = windows()
    np.testing.assert_allclose(folded(x, training=False), model(x, training=False), atol=1e-5)
    # folding again gives a model of the same layers
    assert [layer.name for layer in fold_batch_norm(model).layers] == [
        layer.name for layer in folded.layers
    ]


def functional(body: Any) -> Any:
    inputs = keras.Input(SHAPE)
    return keras.Model(inputs, body(inputs))


def test_only_a_linear_convolution_feeding_one_channel_norm_is_folded() -> None:
    def activated(x: Any) -> Any:  # the convolution's ReLU comes before the norm
        x = keras.layers.Conv2D(4, 3, activation="relu", name="c")(x)
        return keras.layers.BatchNormalization(name="n")(x)

    def shared(x: Any) -> Any:  # the convolution's output is used twice
        y = keras.layers.Conv2D(4, 3, name="c")(x)
        return keras.layers.Add()([keras.layers.BatchNormalization(name="n")(y), y])

    def across_frequency(x: Any) -> Any:  # the norm is over an axis other than channels
        x = keras.layers.Conv2D(4, 3, name="c")(x)
        return keras.layers.BatchNormalization(axis=1, name="n")(x)

    def with_bias(x: Any) -> Any:  # folded: the bias goes through the norm too
        x = keras.layers.Conv2D(4, 3, use_bias=True, bias_initializer="ones", name="c")(x)
        return keras.layers.BatchNormalization(center=False, name="n")(x)

    x = windows()
    for body, folds in [
        (activated, False),
        (shared, False),
        (across_frequency, False),
        (with_bias, True),
    ]:
        model = functional(body)
        randomize_norms(model)
        folded = fold_batch_norm(model)
        assert (folded is not model) is folds, body.__name__
        assert ("n" in [layer.name for layer in folded.layers]) is not folds, body.__name__
        np.testing.assert_allclose(
            folded(x, training=False), model(x, training=False), atol=1e-5, err_msg=body.__name__
        )


def test_sequential_and_subclassed_models_are_used_as_they_are() -> None:
    sequential = keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization()]
    )

    class Subclassed(keras.Model):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3)
            self.norm = keras.layers.BatchNormalization()

        def call(self, x: Any) -> Any:
            return self.norm(self.conv(x))

    subclassed = Subclassed()
    subclassed(windows())
    assert fold_batch_norm(sequential) is sequential
    assert fold_batch_norm(subclassed) is subclassed


def test_predictor_predicts_with_the_weights_the_model_has_now() -> None:
    featurizer = MelFeaturizer(n_mels=32, frames=32)
    model = GenreCNN(num_classes=2, input_shape=featurizer.output_shape, filters=(4, 8), seed=0)
    predictor = Predictor(preprocessing=Preprocessing(featurizer), model=model, labels=["a", "b"])
    x = windows()
    np.testing.assert_allclose(predictor.predict_proba(x), model(x, training=False), atol=1e-5)
    randomize_norms(model, seed=5)  # the compiled pass exists now; the weights change
    np.testing.assert_allclose(predictor.predict_proba(x), model(x, training=False), atol=1e-5)
