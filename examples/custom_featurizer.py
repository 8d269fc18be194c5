"""A custom featurizer: per-channel energy normalisation (PCEN) instead of decibels.

    python examples/custom_featurizer.py [WORK_DIR]

Subclass :class:`melgenre.MelFeaturizer`, declare new parameters as dataclass
fields (they are validated, serialised by ``get_config()`` and stored in saved
models), override the step that changes, and register the class so a saved
model can name it.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import librosa
import numpy as np

import melgenre
from melgenre import demo


@melgenre.register_component(package="examples")
@dataclasses.dataclass(frozen=True, kw_only=True)
class PCENFeaturizer(melgenre.MelFeaturizer):
    """Mel spectrogram scaled with PCEN (Wang et al., 2017), robust to loudness and noise floors."""

    gain: float = 0.98
    time_constant: float = 0.4

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.gain < 1:
            raise melgenre.ConfigError(
                f"The 'gain' parameter of PCENFeaturizer must be in (0, 1). Got {self.gain!r}.",
                parameter="gain",
                value=self.gain,
            )

    def scale(self, power: np.ndarray) -> np.ndarray:
        scaled = librosa.pcen(
            power * (2**31),  # librosa's recommended scaling for float input
            sr=self.sample_rate,
            hop_length=self.hop_length,
            gain=self.gain,
            time_constant=self.time_constant,
        )
        return scaled.astype(np.float32)


def main(work: Path) -> None:
    root = demo.make_dataset(work / "data", clips_per_class=10, duration=4.0)
    featurizer = PCENFeaturizer(gain=0.9)
    prep = melgenre.Preprocessing(featurizer)  # the loader follows the featurizer's rate
    dataset = melgenre.FolderDataset(root)
    split = dataset.split(test_size=0.3, seed=0)
    train, test = split.train, split.test
    train_fs, test_fs = (p.features(prep, workers=1, progress=False) for p in (train, test))
    model = melgenre.GenreCNN(
        num_classes=len(dataset.classes), input_shape=featurizer.output_shape, seed=0
    )
    trainer = melgenre.Trainer(model, epochs=8, seed=0, verbose=0)
    trainer.fit(train_fs)
    print(trainer.evaluate(test_fs))

    # the saved model names the class ("examples>PCENFeaturizer") and its parameters
    predictor = trainer.to_predictor(prep)
    predictor.save(work / "pcen-model")
    loaded = melgenre.Predictor.load(work / "pcen-model")
    assert loaded.featurizer == featurizer, loaded.featurizer
    print(loaded.featurizer, "->", loaded.predict(test.paths[0]).label)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "custom-featurizer-out"))
