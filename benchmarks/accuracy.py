"""Accuracy and training speed: the default model beside the classic preset, on the bench data.

Run (after building the data set as ../shared/bench/README.md says):

    .venv/bin/python benchmarks/accuracy.py --data-dir data/genres-dev

Split: grouped by piece (manifest.csv's group_id) and stratified; 20 % test, seed 42; 10 % of the
files form a validation split (watched; by default it decides nothing, as in ``melgenre train``),
never the test split. Each model trains in its own process, so peak memory is its own:

* default: what ``melgenre train`` builds with no options (since 2026-12-06; until then the
  first recipe, ``_recipes.CHOSEN``, which recipe_search.py chose on the validation split):
  ``MelFeaturizer.for_clips`` of the files' durations, ``GenreCNN`` and ``Trainer`` at their
  defaults (the plan by updates, warm-up and cosine decay, the clip statistics head fused with
  the windows), seed 42;
* classic: ``MelFeaturizer.classic()`` (44.1 kHz, 4 s chunks resized to 128x128) +
  ``GenreCNN.classic()`` with Adam 1e-4, batch 32, --classic-epochs epochs (the notebook recipe).

Reports file-level and window-level test accuracy, seconds per epoch, training windows per
second, the time the default needs to reach the classic preset's best validation accuracy, and
peak memory; writes benchmarks/results/accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import write_result
from _recipes import split


def run_one(kind: str, data_dir: Path, epochs: int | None, cache_dir: Path, out: Path) -> None:
    import melgenre
    from melgenre.plan import clip_seconds

    train, val, test = split(data_dir)
    if kind == "default":  # as melgenre train builds it
        paths = [*train.paths, *val.paths, *test.paths]
        feat = melgenre.MelFeaturizer.for_clips(clip_seconds(paths))
    else:
        feat = melgenre.MelFeaturizer.classic()
    preprocessing = melgenre.Preprocessing(feat)
    start = time.perf_counter()
    sets = [
        p.features(preprocessing, cache_dir=cache_dir, progress=False) for p in (train, val, test)
    ]
    extract_s = time.perf_counter() - start
    n_classes = len(train.classes)
    if kind == "default":
        model = melgenre.GenreCNN(n_classes, preprocessing.output_shape, seed=42)
        fit = melgenre.Trainer(model, epochs=epochs, seed=42, verbose=2)
    else:
        model = melgenre.GenreCNN.classic(n_classes, feat.output_shape, seed=0)
        fit = melgenre.Trainer(  # the notebook's: a constant rate, the windows alone
            model,
            epochs=epochs,
            learning_rate=1e-4,
            schedule="constant",
            statistics=False,
            seed=0,
            verbose=2,
        )
    model = fit.model
    history = fit.fit(sets[0], validation=sets[1])
    report = fit.evaluate(sets[2])
    validation = fit.evaluate(sets[1])
    seconds = history.params["epoch_seconds"]
    result = {
        "model": model.name,
        "recipe": "melgenre train's defaults" if kind == "default" else "classic",
        "params": int(model.count_params()),
        "featurizer": feat.get_config(),
        "files": {"train": len(train), "validation": len(val), "test": len(test)},
        "windows": {"train": len(sets[0]), "validation": len(sets[1]), "test": len(sets[2])},
        "epochs_run": history.epochs,
        "seconds_per_epoch": sum(seconds) / len(seconds),
        "train_windows_per_second": len(sets[0]) * len(seconds) / sum(seconds),
        "extract_seconds": extract_s,
        "test_file_accuracy": report.file_accuracy,
        "test_window_accuracy": report.window_accuracy,
        "validation_file_accuracy": validation.file_accuracy,
        "validation_window_accuracy": validation.window_accuracy,
        "history": history.metrics,
        "epoch_seconds": seconds,
        "confusion_matrix": report.confusion_matrix,
        "classes": report.classes,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    out.write_text(json.dumps(result))
    print(report, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data/genres-dev"))
    parser.add_argument("--epochs", type=int, default=None, help="default: the Trainer's plan")
    parser.add_argument("--classic-epochs", type=int, default=12)
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument("--only", choices=["default", "classic"])
    parser.add_argument("--_run", choices=["default", "classic"], help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._run:
        run_one(args._run, args.data_dir, args.epochs, args.cache_dir, args._out)
        return
    if not args.data_dir.is_dir():
        raise SystemExit(f"{args.data_dir} not found: build it as ../shared/bench/README.md says")
    results: dict[str, Any] = {}
    kinds = [args.only] if args.only else ["classic", "default"]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            out = Path(tmp) / f"{kind}.json"
            epochs = args.classic_epochs if kind == "classic" else args.epochs
            command = [sys.executable, __file__, "--_run", kind, "--_out", str(out),
                       "--data-dir", str(args.data_dir), "--cache-dir", str(args.cache_dir),
                       *(["--epochs", str(epochs)] if epochs is not None else [])]  # fmt: skip
            subprocess.run(command, check=True)
            results[kind] = json.loads(out.read_text())
    summary: dict[str, Any] = {}
    if "default" in results and "classic" in results:
        default, classic = results["default"], results["classic"]
        target = max(classic["history"]["val_accuracy"])
        reached = [i for i, v in enumerate(default["history"]["val_accuracy"]) if v >= target]
        summary = {
            "file_accuracy_points_over_classic": 100
            * (default["test_file_accuracy"] - classic["test_file_accuracy"]),
            "epoch_speedup": classic["seconds_per_epoch"] / default["seconds_per_epoch"],
            "window_throughput_speedup": default["train_windows_per_second"]
            / classic["train_windows_per_second"],
            "classic_best_val_window_accuracy": target,
            "default_seconds_to_reach_it": sum(default["epoch_seconds"][: reached[0] + 1])
            if reached
            else None,
            "classic_seconds_to_reach_it": sum(
                classic["epoch_seconds"][: classic["history"]["val_accuracy"].index(target) + 1]
            ),
        }
    for kind, r in results.items():
        print(
            f"{kind:>8}: test file {r['test_file_accuracy']:.1%}, "
            f"window {r['test_window_accuracy']:.1%}; "
            f"{r['seconds_per_epoch']:.1f} s/epoch, {r['train_windows_per_second']:.0f} windows/s, "
            f"{r['epochs_run']} epochs, peak {r['peak_rss_mb']:.0f} MB"
        )
    for key, value in summary.items():
        print(f"  {key}: {value}")
    write_result(
        "accuracy", {"data_dir": str(args.data_dir), "results": results, "summary": summary}
    )


if __name__ == "__main__":
    main()
