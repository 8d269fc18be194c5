"""A custom model: GenreCNN with a residual body, saved and loaded like the built-in one.

    python examples/custom_model.py [WORK_DIR]

Override :meth:`melgenre.GenreCNN.body` (inputs -> feature vector); the softmax
head, ``get_config()``, seeding and saving are inherited. Register the class
with Keras so ``.keras`` files (and so saved melgenre models) can rebuild it.
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
class ResidualCNN(GenreCNN):
    """Each block adds a 1x1-projected shortcut around two 3x3 convolutions."""

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        x = keras.layers.LayerNormalization(axis=(1, 2, 3), center=False, scale=False)(inputs)
        for width in filters:
            shortcut = keras.layers.Conv2D(
                width, 1, kernel_initializer=self.initializer("he_normal")
            )(x)
            for _ in range(2):
                x = keras.layers.Conv2D(
                    width,
                    3,
                    padding="same",
                    use_bias=False,
                    kernel_initializer=self.initializer("he_normal"),
                )(x)
                x = keras.layers.BatchNormalization(momentum=0.9)(x)
                x = keras.layers.Activation("relu")(x)
            x = keras.layers.Add()([x, shortcut])
            x = keras.layers.MaxPooling2D(2)(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.layers.Dropout(dropout, seed=self.next_seed())(x)


def main(work: Path) -> None:
    root = demo.make_dataset(work / "data", clips_per_class=10, duration=4.0)
    featurizer = melgenre.MelFeaturizer(n_mels=64, frames=64)
    prep = melgenre.Preprocessing(featurizer)  # the loader follows the featurizer's rate
    dataset = melgenre.FolderDataset(root)
    split = dataset.split(test_size=0.3, seed=0)
    train, test = split.train, split.test
    train_fs, test_fs = (p.features(prep, workers=1, progress=False) for p in (train, test))
    model = ResidualCNN(
        num_classes=len(dataset.classes),
        input_shape=featurizer.output_shape,
        filters=(16, 32),
        first_stride=1,
        seed=0,
    )
    trainer = melgenre.Trainer(model, epochs=8, learning_rate=1e-3, seed=0, verbose=0)
    trainer.fit(train_fs)
    print(f"{model.count_params():,} parameters;", trainer.evaluate(test_fs))

    predictor = melgenre.Predictor(preprocessing=prep, model=trainer.model, labels=dataset.classes)
    predictor.save(work / "residual-model")
    loaded = melgenre.Predictor.load(work / "residual-model")
    assert type(loaded.model).__name__ == "ResidualCNN"
    print(type(loaded.model).__name__, "->", loaded.predict(test.paths[0]).label)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "custom-model-out"))
