"""A small trained Predictor (three separable classes at 8 kHz), shared by the predictor tests.

``conftest.py`` trains it once a session (``trained_predictor``): test_predictor.py
predicts with it, test_bundle_saving.py saves, damages and loads its bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from melgenre import FolderDataset, GenreCNN, MelFeaturizer, Predictor, Preprocessing, Trainer
from signals import write_separable

SR = 8000
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)
LABELS = ["chirp", "noise", "tone"]


def make_data(root: Path) -> Path:
    write_separable(root, sample_rate=SR)
    return root


def train_predictor(data_dir: Path, featurizer: MelFeaturizer = FEAT) -> tuple[Predictor, Any]:
    ds = FolderDataset(data_dir)
    train, _, test = ds.split(test_size=0.25, seed=0)[:]
    model = GenreCNN(
        num_classes=3,
        input_shape=featurizer.output_shape,
        filters=(8, 16),
        dense_units=16,
        dropout=0.1,
        first_stride=1,  # 32x32 test windows are small enough already
        seed=3,
    )
    trainer = Trainer(  # the window path alone: tests/test_fusion.py covers the head
        model,
        epochs=8,
        batch_size=16,
        learning_rate=1e-3,
        schedule="constant",
        seed=1,
        verbose=0,
        statistics=False,
    )
    history = trainer.fit(train.features(featurizer, workers=1, progress=False))
    predictor = Predictor(preprocessing=Preprocessing(featurizer), model=model, labels=ds.classes)
    predictor.trainer = trainer  # type: ignore[attr-defined]
    return predictor, (history, test)
