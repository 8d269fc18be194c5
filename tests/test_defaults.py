"""The defaults, untouched, learn: what a new user's first `melgenre train` relies on.

No setting here is tuned for the data: the featurizer fits its window to the clips, the
trainer plans its own length, warm-up, decay and early stopping, and the model is
``GenreCNN``'s default. Only the seed is fixed, so the run is the same every time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from melgenre import FolderDataset, GenreCNN, MelFeaturizer, Preprocessing, Trainer, demo
from melgenre.plan import clip_seconds


@pytest.mark.parametrize("seed", [0, 1])
def test_the_defaults_learn_a_small_synthesized_set(tmp_path: Path, seed: int) -> None:
    # five classes x 12 clips of 2 s: one window per clip, 7 training files per class
    data = demo.make_dataset(tmp_path, clips_per_class=12, duration=2.0, seed=seed)
    dataset = FolderDataset(data)
    featurizer = MelFeaturizer.for_clips(clip_seconds(dataset.paths))
    preprocessing = Preprocessing(featurizer)
    split = dataset.split(test_size=0.25, validation_size=0.15, seed=seed)
    assert split.validation is not None
    train, validation, test = (
        part.features(preprocessing, workers=1, progress=False)
        for part in (split.train, split.validation, split.test)
    )
    model = GenreCNN(len(dataset.classes), preprocessing.output_shape, seed=seed)
    trainer = Trainer(model, seed=seed, verbose=0)
    plan = trainer.plan(train)
    assert plan.epochs == 200  # a tiny set gets the longest plan, not 30 epochs of nothing
    trainer.fit(train, validation=validation)
    report = trainer.evaluate(test)
    assert report.file_accuracy >= 0.9, report
