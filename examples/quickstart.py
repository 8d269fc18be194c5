"""Quick start: train on a folder per class, save the model, predict a new file.

    python examples/quickstart.py [WORK_DIR] [--clips N] [--epochs N]

Uses melgenre's synthesized demo data (nothing is downloaded) and leaves the
model bundle in WORK_DIR/model, which the other examples can use.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(work: Path, clips: int, epochs: int) -> None:
    from melgenre import demo

    demo.make_dataset(work / "data", clips_per_class=clips, duration=4.0)
    # [quickstart]
    from melgenre import FolderDataset, GenreCNN, MelFeaturizer, Predictor, Preprocessing, Trainer

    prep = Preprocessing(MelFeaturizer(sample_rate=22050))  # the sample rate, stated once
    dataset = FolderDataset(work / "data")  # one folder per class
    train, validation, test = dataset.split(test_size=0.2, validation_size=0.1, seed=42)
    train_fs, val_fs, test_fs = (
        part.features(prep, cache_dir=work / "cache", progress=False)
        for part in (train, validation, test)
    )
    model = GenreCNN(num_classes=len(dataset.classes), input_shape=prep.output_shape, seed=0)
    trainer = Trainer(model, epochs=epochs, seed=0, verbose=0)
    history = trainer.fit(train_fs, validation=val_fs)
    report = trainer.evaluate(test_fs)
    print(
        f"test accuracy: file-level {report.file_accuracy:.0%}, "
        f"window-level {report.window_accuracy:.0%}"
    )

    predictor = trainer.to_predictor()  # the model, its heads and its windows' preprocessing
    predictor.save(work / "model", history=history, report=report)

    prediction = Predictor.load(work / "model").predict(test.paths[0])
    print(f"{test.paths[0].name}: {prediction.label} ({prediction.confidence:.0%})")
    # [quickstart-end]


if __name__ == "__main__":  # needed: feature extraction starts worker processes
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", nargs="?", type=Path, default=Path("quickstart-out"))
    parser.add_argument("--clips", type=int, default=24, help="demo clips per class")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    main(args.work, args.clips, args.epochs)
