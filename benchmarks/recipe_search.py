"""Choose the training recipe on the *validation* split of the bench data (never the test split).

Run (after building the data set as ../shared/bench/README.md says):

    .venv/bin/python benchmarks/recipe_search.py --data-dir data/genres-dev

Trains ``GenreCNN()`` on ``MelFeaturizer()`` windows of the grouped split that
``accuracy.py`` uses, once per recipe below, with early stopping on validation
loss, and reports the best epoch's validation accuracy (file and window level).
The test files are never featurized here. Writes benchmarks/results/recipe_search.json.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from _common import write_result
from accuracy import split

RECIPES: dict[str, dict[str, Any]] = {
    "none": {},
    "specaugment": {"time_masks": 2, "max_time_mask": 16, "freq_masks": 2, "max_freq_mask": 16},
    "specaugment+mixup": {
        "time_masks": 2,
        "max_time_mask": 16,
        "freq_masks": 2,
        "max_freq_mask": 16,
        "mixup_alpha": 0.3,
    },
    "mixup": {"time_masks": 0, "freq_masks": 0, "mixup_alpha": 0.3},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data/genres-dev"))
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=12)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"{args.data_dir} not found: build it as ../shared/bench/README.md says")
    import keras

    import melgenre

    train, val, _test = split(args.data_dir)  # the test split is not touched
    feat = melgenre.MelFeaturizer()
    sets = [p.features(feat, cache_dir=args.cache_dir, progress=False) for p in (train, val)]
    results: dict[str, Any] = {}
    for name in args.recipes:
        keras.backend.clear_session()
        augmentation = melgenre.Augmentation(**RECIPES[name]) if RECIPES[name] else None
        model = melgenre.GenreCNN(
            num_classes=len(train.classes), input_shape=feat.output_shape, seed=0
        )
        trainer = melgenre.Trainer(
            model,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            seed=0,
            verbose=0,
            patience=args.patience,
            augmentation=augmentation,
        )
        start = time.perf_counter()
        history = trainer.fit(sets[0], validation=sets[1])
        report = trainer.evaluate(sets[1])
        results[name] = {
            "augmentation": RECIPES[name],
            "learning_rate": args.learning_rate,
            "best_epoch": history.params.get("best_epoch"),
            "epochs_run": history.epochs,
            "validation_file_accuracy": report.file_accuracy,
            "validation_window_accuracy": report.window_accuracy,
            "seconds": time.perf_counter() - start,
            "history": history.metrics,
        }
        print(
            f"{name:>20}: validation file {report.file_accuracy:.1%}, window "
            f"{report.window_accuracy:.1%}, best epoch {history.params.get('best_epoch')} of "
            f"{history.epochs}, {results[name]['seconds']:.0f} s",
            flush=True,
        )
    write_result(
        "recipe_search",
        {"data_dir": str(args.data_dir), "files": {"train": len(train), "validation": len(val)},
         "results": results},
    )  # fmt: skip


if __name__ == "__main__":
    main()
