"""The window network trained as the second expert of the fused product (a screen).

Today the window network and the statistics head are trained apart and their
probabilities multiplied at prediction (``melgenre.fusion.fuse``, weight 1). Here the
network is trained on the product instead: each training window's loss is the
cross-entropy of ``softmax(log p_network + log p_head)``, where ``p_head`` is its
file's head probabilities, out of fold (the head fitted on the other training files,
five folds grouped as ``cv.py`` groups, so that it is as unsure on a file as it will be
on a new one). The network then spends its capacity where the head is wrong or unsure
(product-of-experts training, boosting's idea); prediction is unchanged (the same
product with the head fitted on all training files).

Run on ``cv.py``'s folds and settings (``full-stats``: the same windows, seed, plan and
data order as the recorded network, so each fold is paired with it):

    .venv/bin/python benchmarks/residual.py --domain genres --fold-ids 0 1 2

Writes ``benchmarks/results/cv/residual.json``: per fold, the recorded network's test
accuracy alone and fused with today's head (``fusion.py``'s replay), and the residual
network's alone and fused.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import cv
import numpy as np
from _common import RESULTS, write_result
from fusion import recorded


def residual_loss(n_classes: int) -> Any:
    """Cross-entropy of the product: ``y_true`` holds the one-hot labels, then log p_head."""
    import keras

    @keras.saving.register_keras_serializable(package="melgenre_bench")
    class ProductCrossentropy(keras.losses.Loss):
        def call(self, y_true: Any, y_pred: Any) -> Any:
            ops = keras.ops
            onehot, offset = y_true[:, :n_classes], y_true[:, n_classes:]
            z = ops.log(ops.clip(y_pred, 1e-30, 1.0)) + offset
            return -ops.sum(onehot * ops.log_softmax(z, axis=-1), axis=-1)

    return ProductCrossentropy(name="product_crossentropy")


def out_of_fold(head_kind: Any, x: Any, labels: Any, ids: list[str], n_classes: int) -> Any:
    """Each training file's head probabilities from a head fitted on the other files."""
    from melgenre._group_folds import stratified_group_folds

    out = np.zeros((len(x), n_classes))
    for fit, held in stratified_group_folds(labels, ids, 5, seed=0):
        head = head_kind().fit_statistics(x[fit], labels[fit], n_classes=n_classes)
        out[held] = head.predict_proba(x[held])
    return out


def widen(features: Any, file_probabilities: Any, files: Any) -> None:
    """Append each window's file log-probabilities to ``features.y`` (its cached one-hot)."""
    row = {int(f): i for i, f in enumerate(files)}
    index = np.array([row[int(g)] for g in features.groups])
    offsets = np.log(np.clip(file_probabilities[index], 1e-7, 1.0)).astype(np.float32)
    features.__dict__["y"] = np.concatenate([features.y, offsets], axis=1)


def main() -> None:
    import keras

    import melgenre
    from melgenre.fusion import StatisticsHead, fuse
    from melgenre.statistics import ClipStatistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="genres", choices=list(cv.DOMAINS))
    parser.add_argument("--fold-ids", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument("--cv", type=Path, default=None, help="default: <domain>-5fold-stats")
    args = parser.parse_args()
    source = args.cv or RESULTS / "cv" / f"{args.domain}-5fold-stats.json"
    record = json.loads(source.read_text())
    runs = {f["fold"]: f for f in record["candidates"]["full-stats"]["folds"]}
    dataset, groups = cv.load_dataset(args.domain)
    parts = cv.folds(dataset, groups, record["folds"])
    out = RESULTS / "cv" / "residual.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results = {k: v for k, v in results.items() if k not in ("benchmark", "environment")}
    entry = results.setdefault(args.domain, {"folds": []})
    entry["folds"] = [f for f in entry["folds"] if f["fold"] not in args.fold_ids]

    def head_kind() -> Any:
        return StatisticsHead(ClipStatistics())

    for number in args.fold_ids:
        keras.backend.clear_session()
        train, validation, test, preprocessing = cv.fold_features(
            "full-stats", parts[number], args.cache_dir
        )
        n = len(train.classes)
        statistics = ClipStatistics()
        files, x = statistics.transform(train)
        _, labels = train.file_labels()
        ids = [str(groups(train.paths[f])) if groups else str(train.paths[f]) for f in files]
        start = time.perf_counter()
        head = head_kind().fit_statistics(x, labels, n_classes=n)
        widen(train, out_of_fold(head_kind, x, labels, ids, n), files)
        held, held_x = statistics.transform(validation)
        widen(validation, head.predict_proba(held_x), held)
        model = melgenre.GenreCNN(num_classes=n, input_shape=preprocessing.output_shape, seed=42)
        trainer = melgenre.Trainer(
            model, seed=42, verbose=0, loss=residual_loss(n), metrics=[], statistics=False
        )
        trainer.fit(train, validation=validation)
        seconds = time.perf_counter() - start
        table = cv.file_table(model.predict_on_batch, test)
        network = np.stack([mean for _, mean, _ in table])
        truth = np.array([label for _, _, label in table])
        test_files, test_x = statistics.transform(test)
        descriptor = head.predict_proba(test_x)
        before = recorded(runs[number], "file_probabilities", test, test_files)

        def right(p: Any, truth: Any = truth) -> float:
            return float(np.mean(np.asarray(p).argmax(1) == truth))

        row = {
            "fold": number,
            "files": len(truth),
            "statistics": right(descriptor),
            "recorded_network": right(before),
            "recorded_fused": right(fuse(before, descriptor)),
            "residual_network": right(network),
            "residual_fused": right(fuse(network, descriptor)),
            "residual_fused_by_weight": {
                str(w): right(fuse(network, descriptor, w)) for w in (0.5, 1.0, 1.5, 2.0)
            },
            "C": head.C_,
            "train_seconds": seconds,
            "cpu": cv.cpu(),
        }
        entry["folds"].append(row)
        entry["folds"].sort(key=lambda f: f["fold"])
        for key in ("recorded_network", "recorded_fused", "residual_network", "residual_fused"):
            entry[f"{key}_mean"] = float(np.mean([f[key] for f in entry["folds"]]))
        print(
            f"{args.domain} fold {number}: recorded {row['recorded_network']:.1%} -> fused "
            f"{row['recorded_fused']:.1%}; residual {row['residual_network']:.1%} -> fused "
            f"{row['residual_fused']:.1%} ({seconds:.0f} s)",
            flush=True,
        )
        write_result("cv/residual", results)


if __name__ == "__main__":
    main()
