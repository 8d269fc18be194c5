"""A custom loader: pre-emphasis of the samples, carried into training, prediction and export.

    python examples/custom_loader.py [WORK_DIR]

Subclass :class:`melgenre.AudioLoader`, override ``load`` for what changes the
samples, and its in-graph twin ``tf_load`` so that an exported model applies it
too (an export's input is the samples the application decoded). A loader that
only adds a decoder overrides ``decode`` instead, which needs no twin.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

import melgenre
from melgenre import demo


@melgenre.register_component(package="examples")
@dataclasses.dataclass(frozen=True, kw_only=True)
class PreEmphasisLoader(melgenre.AudioLoader):
    """``y[n] - coefficient * y[n - 1]`` after decoding: lifts the highs, as speech front ends."""

    coefficient: float = 0.97

    def load(self, source: Any) -> melgenre.Audio:
        audio = super().load(source)
        y = audio.samples
        emphasized = np.concatenate([y[:1], y[1:] - self.coefficient * y[:-1]])
        return melgenre.Audio(emphasized.astype(np.float32), audio.sample_rate, audio.source)

    def tf_load(self, samples: Any) -> Any:
        import tensorflow as tf

        y = super().tf_load(samples)  # the base loader's offset and duration
        return tf.concat([y[:1], y[1:] - self.coefficient * y[:-1]], axis=0)


def main(work: Path) -> None:
    root = demo.make_dataset(work / "data", clips_per_class=8, duration=4.0)
    loader = PreEmphasisLoader(sample_rate=22050, coefficient=0.9)
    prep = melgenre.Preprocessing(melgenre.MelFeaturizer(sample_rate=22050), loader=loader)
    dataset = melgenre.FolderDataset(root)
    split = dataset.split(test_size=0.25, seed=0)
    train_fs = split.train.features(prep, workers=1, progress=False)
    classes = len(dataset.classes)
    model = melgenre.GenreCNN(num_classes=classes, input_shape=prep.output_shape, seed=0)
    trainer = melgenre.Trainer(model, epochs=4, seed=0, verbose=0)
    trainer.fit(train_fs)

    # the saved model names the loader ("examples>PreEmphasisLoader") and its parameters
    trainer.to_predictor(prep).save(work / "model")
    predictor = melgenre.Predictor.load(work / "model")
    assert predictor.preprocessing.loader == loader, predictor.preprocessing.loader

    # the export applies tf_load in its graph; its parity check compares the two
    exported = melgenre.ExportedModel.load(predictor.export(work / "export"))
    path = split.test.paths[0]
    decoded = melgenre.AudioLoader(sample_rate=22050).load(path)  # what an application decodes
    graph = exported(decoded.samples)["probabilities"]
    expected = np.array(list(predictor.predict(path).probabilities.values()))
    print(
        f"{type(loader).__name__} -> {predictor.predict(path).label}; "
        f"export differs by {np.abs(graph - expected).max():.1e}"
    )


if __name__ == "__main__":  # feature extraction may start worker processes
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "custom-loader-out"))
