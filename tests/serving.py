"""A tiny featurizer and CNN, a small trained bundle (tones vs noise vs chirps at 8 kHz), and a
fresh Python process to run a model in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from melgenre import FolderDataset, GenreCNN, MelFeaturizer, Predictor, Preprocessing, Trainer
from signals import write_separable

SR = 8000
#: 32 mel bands x 32 frames (0.51 s windows) at 8 kHz: small enough to train in seconds.
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)


def tiny_model(featurizer: MelFeaturizer = FEAT, seed: int = 3) -> GenreCNN:
    """A two-block GenreCNN for three classes on ``featurizer``'s windows."""
    return GenreCNN(
        num_classes=3,
        input_shape=featurizer.output_shape,
        filters=(8, 16),
        dense_units=16,
        dropout=0.1,
        first_stride=1,
        seed=seed,
    )


def train_bundle(root: Path) -> Path:
    """Train a tiny CNN on synthesized classes and save it (with history and test metrics)."""
    ds = FolderDataset(write_separable(root / "data", sample_rate=SR))
    split = ds.split(test_size=0.25, validation_size=0.2, seed=0)
    train, validation, test = (
        part.features(FEAT, workers=1, progress=False)
        for part in (split.train, split.validation, split.test)
    )
    trainer = Trainer(
        tiny_model(),
        epochs=10,
        batch_size=16,
        learning_rate=3e-3,
        schedule="constant",
        seed=1,
        verbose=0,
    )
    history = trainer.fit(train, validation=validation)
    predictor = Predictor(preprocessing=Preprocessing(FEAT), model=trainer.model, labels=ds.classes)
    return predictor.save(root / "model", history=history, report=predictor.evaluate(test))


def run_fresh(*args: str) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in a fresh process, TensorFlow's log settings unset (as a user's shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300, check=True
    )


def run_cli(capsys: Any, *argv: str) -> tuple[int, str, str]:
    """``melgenre ARGV`` in this process: the exit code, standard output and error."""
    from melgenre.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
