"""The development suite: file-level accuracy by k-fold grouped, stratified cross-validation.

Run (after building the data sets as ../shared/bench/README.md says; the demo set is made here):

    .venv/bin/python benchmarks/cv.py --domain digits --folds 5 --candidates library updates
    .venv/bin/python benchmarks/cv.py --domain all --folds 3      # screen every candidate
    .venv/bin/python benchmarks/cv.py --domain genres --fold-ids 3 4 --candidates library-full

Domains (folder, group column of manifest.csv):

* ``genres``: data/genres-dev, grouped by piece (``group_id``);
* ``digits``: data/digits, grouped by voice (``voice``);
* ``instruments``: data/instruments, grouped by General MIDI program (``program``);
* ``instruments-120``: data/instruments-120 (``instruments.py --per-class 120 --seed 1``: the
  same programs, twice the clips of each), grouped likewise;
* ``instruments-files``: data/instruments split by file only (stratified, every program on
  both sides: the protocol of the bench README's reference figure, not an honest one);
* ``demo``: ``melgenre.demo.make_dataset`` (made in data/demo if missing), one group per file.

Folds come from scikit-learn's ``StratifiedGroupKFold`` (shuffled, seed 42): every file is
tested exactly once, no group is on both sides, classes are balanced across folds. Inside each
training part, 10 % of the files (grouped the same way) are held out as the validation split for
early stopping; the test fold is used for nothing but its score. Windows are extracted once per
featurizer into data/cache and reused by every fold and candidate.

Each candidate (:data:`CANDIDATES`) is a set of library settings; ``library`` is what
``melgenre train DATA --out M`` does with no flags. Results are merged into
benchmarks/results/cv/<domain>.json fold by fold (a killed run keeps its finished folds):
per fold the file- and window-level accuracy, the file-level confusion matrix, the files right
per group (piece, voice, program), epochs run, best epoch and seconds; per candidate the mean
and standard deviation over the folds.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

from _candidates import CANDIDATES, DOMAINS, SUITE
from _common import RESULTS, cpu, environment
from _folds import folds


def scaled_augmentation(frames: int, bands: int) -> dict[str, Any]:
    """SpecAugment + mixup with masks sized to the window (1/8 of each axis)."""
    return {
        "time_masks": 2,
        "max_time_mask": max(1, frames // 8),
        "freq_masks": 2,
        "max_freq_mask": max(1, bands // 8),
        "mixup_alpha": 0.3,
    }


def decaying_trainer(weight_decay: float) -> Any:
    """A Trainer that compiles with AdamW (``weight_decay``) on the plan's schedule."""
    import keras

    import melgenre

    class DecayingTrainer(melgenre.Trainer):  # type: ignore[misc]
        def compile(self, plan: Any = None) -> None:
            rate = plan.learning_rate_schedule() if plan is not None else self.learning_rate
            self.optimizer = keras.optimizers.AdamW(learning_rate=rate, weight_decay=weight_decay)
            super().compile(plan)

    return DecayingTrainer


def load_dataset(domain: str) -> tuple[Any, Any]:
    """The domain's FolderDataset and its grouping callable (``None``: one group per file)."""
    import melgenre
    from melgenre import demo

    folder, column = DOMAINS[domain]
    root = Path(folder)
    if domain == "demo" and not root.is_dir():
        demo.make_dataset(root)
    if not root.is_dir():
        raise SystemExit(f"{root} not found: build it as ../shared/bench/README.md says")
    groups = None
    if column is not None:
        with open(root / "manifest.csv") as handle:
            rows = list(csv.DictReader(handle))
        group_of = {(root / row["path"]).resolve(): row[column] for row in rows}

        def groups(path: Path) -> str:
            return group_of[Path(path).resolve()]

    return melgenre.FolderDataset(root), groups


def file_table(predict: Any, test: Any) -> list[tuple[str, Any, int]]:
    """``(path, mean window probabilities, true label)`` per test file, in file order."""
    import numpy as np

    from melgenre.evaluation import file_probabilities

    probabilities = np.concatenate([np.asarray(predict(b)) for b in test.batches(256)])
    files, means = file_probabilities(probabilities, test.groups)
    _, truth = test.file_labels()  # the same sorted file indices
    return [
        (str(test.paths[index]), mean, int(label))
        for index, mean, label in zip(files, means, truth, strict=True)
    ]


def group_scores(
    table: list[tuple[str, Any, int]], test: Any, classes: Any, groups: Any
) -> dict[str, list[int]]:
    """``{group: [files right, files]}`` on the test fold, from the mean of each file's windows.

    ``table`` is :func:`file_table`'s; ``classes`` are the model's labels by output index
    (matched to the test set's by name).
    """
    import numpy as np

    out: dict[str, list[int]] = {}
    for path, mean, label in table:
        score = out.setdefault(str(groups(Path(path)) if groups else path), [0, 0])
        score[0] += int(classes[int(np.argmax(mean))] == test.classes[label])
        score[1] += 1
    return dict(sorted(out.items()))


def fold_features(name: str, parts: tuple[Any, Any, Any], cache_dir: Path) -> tuple[Any, ...]:
    """``(train, validation, test, preprocessing)``: a fold's FeatureSets for candidate ``name``."""
    import dataclasses

    import melgenre
    from melgenre.plan import clip_seconds

    settings = CANDIDATES[name]
    if "train_fraction" in settings:  # a learning curve: a share of each class's files
        from _folds import share

        parts = (share(parts[0], settings["train_fraction"]), parts[1], parts[2])
    if settings.get("all"):  # train on the validation files too (no validation set then)
        parts = (
            dataclasses.replace(parts[0], items=parts[0].items + parts[1].items),
            parts[1],
            parts[2],
        )
    options = settings.get("featurizer", {})
    kind = melgenre.MelFeaturizer
    if "featurizer_class" in settings:
        import _probes

        kind = _probes.FEATURIZERS[settings["featurizer_class"]]
    if settings.get("windows") == "for_clips":
        featurizer = kind.for_clips(clip_seconds(parts[0].paths), **options)
    else:
        featurizer = kind(**options)
    preprocessing = melgenre.Preprocessing(featurizer)
    training = preprocessing
    divisor = settings.get("train_hop_divisor")
    if divisor:  # denser training windows: the same model input, more offsets
        hop = max(1, featurizer.frames // divisor)
        training = melgenre.Preprocessing(dataclasses.replace(featurizer, window_hop=hop))
    train, validation, test = (
        p.features(prep, cache_dir=cache_dir, progress=False)
        for p, prep in zip(parts, (training, preprocessing, preprocessing), strict=True)
    )
    if settings.get("varispeed_windows"):  # the copies' windows join the training windows
        import _probes

        train = _probes.with_varispeed_windows(train, settings["varispeed_windows"])
    return train, validation, test, preprocessing


def run_fold(
    name: str,
    parts: tuple[Any, Any, Any],
    cache_dir: Path,
    verbose: int,
    groups: Any = None,
    keep_probabilities: bool = False,
) -> dict[str, Any]:
    """Train candidate ``name`` on one fold's training part; score it on the test fold."""
    import keras

    import melgenre

    keras.backend.clear_session()
    settings = CANDIDATES[name]
    train, validation, test, preprocessing = fold_features(name, parts, cache_dir)
    featurizer = preprocessing.featurizer
    fold = {
        "files": {"train": train.n_files, "validation": validation.n_files, "test": test.n_files},
        "window_frames": featurizer.frames,
        "cpu": cpu(),
    }
    if "clip" in settings:
        import _clip

        if settings["clip"].get("two_stage"):
            row = _clip.run_two_stage(
                train,
                validation,
                test,
                model_options=settings.get("model", {}),
                trainer_options=settings.get("trainer", {}),
            )
        else:
            row = _clip.run(
                train,
                validation,
                test,
                options=settings["clip"],
                model_options=settings.get("model", {}),
            )
        return {**row, **fold}
    augmentation = settings.get("augmentation")
    if augmentation == "scaled":
        augmentation = scaled_augmentation(featurizer.frames, featurizer.n_mels)
    trainer_options = dict(settings.get("trainer", {}))
    if settings.get("varispeed_windows") and "epochs" not in trainer_options:
        # as many updates as the files alone get (the plan's floor of 10 epochs would double
        # them on genres): the copies add variety, not training length
        from melgenre.plan import TARGET_UPDATES

        steps = -(-len(train) // trainer_options.get("batch_size", 32))
        trainer_options["epochs"] = max(1, round(TARGET_UPDATES / steps))
    if "label_smoothing" in settings:
        trainer_options["loss"] = keras.losses.CategoricalCrossentropy(
            label_smoothing=settings["label_smoothing"]
        )
    trainer_class = (
        decaying_trainer(settings["weight_decay"]) if "weight_decay" in settings else None
    )
    model_class = melgenre.GenreCNN
    if "model_class" in settings:
        import _probes

        model_class = _probes.MODELS[settings["model_class"]]
    members, start = [], time.perf_counter()
    first_seed = settings.get("seed", 42)
    for seed in range(first_seed, first_seed + settings.get("ensemble", 1)):
        model = model_class(
            num_classes=len(train.classes),
            input_shape=preprocessing.output_shape,
            seed=seed,
            **settings.get("model", {}),
        )
        trainer = (trainer_class or melgenre.Trainer)(
            model,
            seed=seed,
            verbose=verbose,
            augmentation=melgenre.Augmentation(**augmentation) if augmentation else None,
            **trainer_options,
        )
        history = trainer.fit(train, validation=None if settings.get("all") else validation)
        members.append((model, trainer.evaluate(test)))
    seconds = time.perf_counter() - start
    report = members[0][1]

    def predict(x: Any) -> Any:
        import numpy as np

        return np.mean([np.asarray(m.predict_on_batch(x)) for m, _ in members], axis=0)

    if len(members) > 1:
        from melgenre.evaluation import evaluate_features

        fold["member_file_accuracy"] = [r.file_accuracy for _, r in members]
        fold["member_window_accuracy"] = [r.window_accuracy for _, r in members]
        report = evaluate_features(predict, test, train.classes)
    if trainer.clip_head_ is None:  # the window mean's file decisions, by group
        table = file_table(predict, test)
        fold["group_scores"] = group_scores(table, test, train.classes, groups)
        if keep_probabilities:  # for late-fusion studies (benchmarks/fusion.py)
            for key, part in (
                ("file_probabilities", test),
                ("validation_probabilities", validation),
            ):
                fold[key] = {
                    path: [float(f"{p:.7g}") for p in mean]
                    for path, mean, _ in (table if part is test else file_table(predict, part))
                }
    if trainer.clip_head_ is not None or trainer.statistics_head_ is not None:
        heads = trainer.clip_head_, trainer.statistics_head_
        trainer.clip_head_ = trainer.statistics_head_ = None
        fold["file_accuracy_window_mean"] = trainer.evaluate(test).file_accuracy
        trainer.clip_head_, trainer.statistics_head_ = heads
    return {
        "file_accuracy": report.file_accuracy,
        "window_accuracy": report.window_accuracy,
        # file level; rows are the true classes, columns the predicted ones (order: "classes")
        "confusion_matrix": report.confusion_matrix,
        "epochs_run": history.epochs,
        "best_epoch": history.params.get("best_epoch"),
        "plan": history.params.get("plan"),
        "train_seconds": seconds,
        **fold,
    }


def summarize(entry: dict[str, Any]) -> None:
    accuracies = [f["file_accuracy"] for f in entry["folds"]]
    windows = [f["window_accuracy"] for f in entry["folds"] if f["window_accuracy"] is not None]
    entry["file_accuracy_mean"] = statistics.fmean(accuracies)
    entry["file_accuracy_std"] = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    entry["window_accuracy_mean"] = statistics.fmean(windows) if windows else None
    entry["train_seconds_mean"] = statistics.fmean(f["train_seconds"] for f in entry["folds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", nargs="+", default=["all"], choices=[*DOMAINS, "all"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-folds", type=int, default=None, help="run the first N folds")
    parser.add_argument(
        "--fold-ids", type=int, nargs="+", default=None, help="run only these folds (0-based)"
    )
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument(
        "--keep-probabilities",
        action="store_true",
        help="record each test file's mean window probabilities (model's class order)",
    )
    parser.add_argument(
        "--tag", default="", help="suffix of the result file (for runs in parallel)"
    )
    args = parser.parse_args()
    domains = list(SUITE) if "all" in args.domain else args.domain
    for domain in domains:
        dataset, groups = load_dataset(domain)
        parts = folds(dataset, groups, args.folds)[: args.only_folds]
        wanted = set(range(len(parts)) if args.fold_ids is None else args.fold_ids)
        out = RESULTS / "cv" / f"{domain}-{args.folds}fold{args.tag}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        results = json.loads(out.read_text()) if out.exists() else {"candidates": {}}
        results.update(
            domain=domain,
            data=DOMAINS[domain][0],
            group_column=DOMAINS[domain][1],
            files=len(dataset),
            classes=list(dataset.classes),
            folds=args.folds,
            environment=environment(),
        )
        for name in args.candidates:
            entry = {"settings": CANDIDATES[name], "folds": []}
            old = results["candidates"].get(name)
            if old is not None and old["settings"] == json.loads(json.dumps(CANDIDATES[name])):
                entry["folds"] = old["folds"]  # same settings: keep the folds already run
            results["candidates"][name] = entry
            done = {f["fold"] for f in entry["folds"]}
            if entry["folds"]:
                summarize(entry)
            for number, fold in enumerate(parts):
                if number in done or number not in wanted:
                    continue
                row = run_fold(
                    name, fold, args.cache_dir, args.verbose, groups, args.keep_probabilities
                )
                window = row["window_accuracy"]
                entry["folds"].append({"fold": number, **row})
                summarize(entry)
                tmp = out.with_suffix(".tmp")
                tmp.write_text(json.dumps(results, indent=2) + "\n")
                tmp.replace(out)
                print(
                    f"{domain:>11} {name:>16} fold {number}: file {row['file_accuracy']:.1%} "
                    f"window {'-' if window is None else f'{window:.1%}'} "
                    f"epochs {row['epochs_run']} "
                    f"({row['train_seconds']:.0f} s)",
                    flush=True,
                )
            print(
                f"{domain:>11} {name:>16}: file {entry['file_accuracy_mean']:.1%} "
                f"+- {entry['file_accuracy_std']:.1%} over {len(entry['folds'])} folds",
                flush=True,
            )


if __name__ == "__main__":
    main()
