"""Choose the training recipe on the *validation* split of the bench data (never the test split).

Run (after building the data set as ../shared/bench/README.md says):

    .venv/bin/python benchmarks/recipe_search.py --data-dir data/genres-dev [--recipes NAME ...]

Trains a fresh ``GenreCNN`` (seed 0) per recipe of ``_recipes.RECIPES`` (augmentation,
featurizer, model width, learning-rate schedule) on the grouped split that ``accuracy.py``
uses, with early stopping on validation loss, and reports the best epoch's validation accuracy
(file and window level). The test files are never featurized here. Results are merged into
benchmarks/results/recipe_search.json by recipe name (each with its date), so recipes can be
added without re-running the others: on CPU with fixed seeds a recipe's accuracy does not
depend on when it ran, only its seconds do.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, write_result
from _recipes import RECIPES, featurizer, split, trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data/genres-dev"))
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=12)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        raise SystemExit(f"{args.data_dir} not found: build it as ../shared/bench/README.md says")
    import keras

    previous = RESULTS / "recipe_search.json"
    results: dict[str, Any] = {}
    if previous.exists():
        results = json.loads(previous.read_text())["results"]
    train, val, _test = split(args.data_dir)  # the test split is not touched
    for name in args.recipes:
        keras.backend.clear_session()
        feat = featurizer(name)
        sets = [p.features(feat, cache_dir=args.cache_dir, progress=False) for p in (train, val)]
        fit = trainer(name, len(train.classes), sets[0], epochs=args.epochs,
                      patience=args.patience, verbose=0)  # fmt: skip
        start = time.perf_counter()
        history = fit.fit(sets[0], validation=sets[1])
        report = fit.evaluate(sets[1])
        results[name] = {
            "recipe": RECIPES[name],
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "params": int(fit.model.count_params()),
            "windows": {"train": len(sets[0]), "validation": len(sets[1])},
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
             "epochs": args.epochs, "patience": args.patience, "results": results},
        )  # fmt: skip
    ranked = sorted(results, key=lambda k: -results[k]["validation_file_accuracy"])
    for name in ranked:
        r = results[name]
        print(f"{name:>20}: {r['validation_file_accuracy']:.1%} file, "
              f"{r['validation_window_accuracy']:.1%} window")  # fmt: skip


if __name__ == "__main__":
    main()
