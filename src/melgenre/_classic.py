"""The classic genre-classification notebook's network (:meth:`GenreCNN.classic`), for comparison.

Registered with Keras as ``melgenre>_ClassicCNN`` (its name since 0.1, which saved bundles
hold); :mod:`melgenre.model` imports this module, so loading a model registers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from melgenre._tf import keras
from melgenre.model import GenreCNN

__all__ = ["_ClassicCNN"]


@keras.saving.register_keras_serializable(package="melgenre")
class _ClassicCNN(GenreCNN):
    """:meth:`GenreCNN.classic`'s network (a GenreCNN with the notebook's body)."""

    _OWNER = "GenreCNN.classic()"  # what its messages call it

    def __init__(
        self,
        num_classes: int,
        input_shape: Sequence[int] = (128, 128, 1),
        *,
        name: str = "classic_cnn",
        **kwargs: Any,
    ) -> None:
        for fixed in (
            "filters",
            "first_stride",
            "global_pooling",
            "block",
            "dense_units",
            "dropout",
        ):
            kwargs.pop(fixed, None)  # the notebook's, whatever a config says
        super().__init__(
            num_classes,
            input_shape,
            filters=(32, 64, 128, 256, 512),
            dense_units=1200,
            dropout=0.45,
            name=name,
            **kwargs,
        )

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        x = inputs
        for width in filters:
            for padding in ("same", "valid"):
                x = keras.layers.Conv2D(
                    width,
                    3,
                    padding=padding,
                    activation="relu",
                    kernel_initializer=self.initializer(),
                )(x)
            x = keras.layers.MaxPooling2D(pool_size=2, strides=2)(x)
        x = keras.layers.Dropout(0.3, seed=self.next_seed())(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(
            dense_units, activation="relu", kernel_initializer=self.initializer()
        )(x)
        return keras.layers.Dropout(dropout, seed=self.next_seed())(x)
