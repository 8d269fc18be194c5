"""A custom model: GenreCNN with squeeze-and-excitation blocks, saved and loaded like the default.

    python examples/custom_model.py [WORK_DIR]

Override :meth:`melgenre.GenreCNN.body` (inputs -> feature vector); the softmax
head, ``get_config()``, seeding and saving are inherited, and the building blocks
(:meth:`~melgenre.GenreCNN.conv_bn`, :meth:`~melgenre.GenreCNN.residual_block`,
:meth:`~melgenre.GenreCNN.pool`) can be reused. Register the class with Keras so
``.keras`` files (and so saved melgenre models) can rebuild it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import keras

import melgenre
from melgenre import demo
from melgenre.model import GenreCNN


@keras.saving.register_keras_serializable(package="examples")
class SqueezeExciteCNN(GenreCNN):
    """Each block reweights its channels by what the whole window holds (Hu et al., 2018)."""

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        x = keras.layers.LayerNormalization(axis=(1, 2), center=False, scale=False)(inputs)
        for i, width in enumerate(filters):
            x = self.conv_bn(x, width, 3, self.first_stride if i == 0 else 1, name=str(i))
            x = keras.layers.Activation("relu")(x)
            x = self.squeeze_excite(x, width)
            x = keras.layers.MaxPooling2D(2)(x)
        x = self.pool(x)  # as the global_pooling parameter says
        return keras.layers.Dropout(dropout, seed=self.next_seed())(x)

    def squeeze_excite(self, x: Any, width: int, ratio: int = 4) -> Any:
        """Scale each channel by a gate in (0, 1) computed from all channels' means."""
        gate = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
        gate = keras.layers.Dense(
            max(1, width // ratio),
            activation="relu",
            kernel_initializer=self.initializer("he_normal"),
        )(gate)
        gate = keras.layers.Dense(
            width, activation="sigmoid", kernel_initializer=self.initializer()
        )(gate)
        return keras.layers.Multiply()([x, gate])


def main(work: Path) -> None:
    root = demo.make_dataset(work / "data", clips_per_class=10, duration=4.0)
    featurizer = melgenre.MelFeaturizer(n_mels=64, frames=64)
    prep = melgenre.Preprocessing(featurizer)  # the loader follows the featurizer's rate
    dataset = melgenre.FolderDataset(root)
    split = dataset.split(test_size=0.3, seed=0)
    train, test = split.train, split.test
    train_fs, test_fs = (p.features(prep, workers=1, progress=False) for p in (train, test))
    model = SqueezeExciteCNN(
        num_classes=len(dataset.classes),
        input_shape=featurizer.output_shape,
        filters=(16, 32),
        first_stride=1,
        seed=0,
    )
    trainer = melgenre.Trainer(model, epochs=8, learning_rate=1e-3, seed=0, verbose=0)
    trainer.fit(train_fs)
    print(f"{model.count_params():,} parameters;", trainer.evaluate(test_fs))

    predictor = trainer.to_predictor(prep)
    predictor.save(work / "se-model")
    loaded = melgenre.Predictor.load(work / "se-model")
    assert type(loaded.model).__name__ == "SqueezeExciteCNN"
    print(type(loaded.model).__name__, "->", loaded.predict(test.paths[0]).label)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "custom-model-out"))
