"""A learned arbiter between the windows and the head, against their product, on cv.py's folds.

Run (after ``cv.py ... --keep-probabilities`` recorded the network's test and validation
probabilities, as for ``fusion.py``):

    .venv/bin/python benchmarks/stacking.py --domain genres \
        --cv benchmarks/results/cv/genres-5fold-stats.json --candidate full-stats

The product of the two experts (:func:`melgenre.fusion.fuse`) has no free parameter. Would
an arbiter learned from data do better? It must learn from files neither expert was fitted
on, and the only such files with a network's probabilities are each fold's validation
files (about 50, too few alone). So, for test fold ``i``, the arbiter learns from the
validation files of the *other* folds, minus any of fold ``i``'s test files (a fold's
validation files lie in its training part, which holds the other folds' test files): the
network of fold ``j`` on its validation files and the head fitted on fold ``j``'s training
part, about 160 files for genres. This assumes that networks and heads trained by the same
recipe on other folds err alike; the library could only learn such an arbiter by
cross-fitting inside one training run, so a gain here is an upper sketch, not a default.

Two arbiters, fixed beforehand: ``weights`` (the product with one exponent per expert,
``p_net ** a * p_head ** b``, fitted by the log-likelihood of the true labels) and
``logistic`` (a multinomial logistic regression on both experts' log-probabilities, its
L2 strength by 5-fold log loss). Writes benchmarks/results/cv/stacking.json.

``--pool test`` learns instead from the other folds' *test* files (their own network and
head, both fitted without them): about 510 genre files, what a cross-fitted arbiter inside
one training run (out-of-fold network probabilities on every training file) would learn
from, and more than three times the validation pool. The test folds are disjoint, so no
file of fold ``i`` is in its pool; fold ``j``'s network and head did train on fold ``i``'s
files, which the arbiter's few parameters see only through how fold ``j``'s experts err on
other files. Records go under ``DOMAIN/CANDIDATE-test-pool``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import cv
import numpy as np
from _common import earlier_results, write_result
from fusion import recorded


def main() -> None:
    from melgenre.fusion import StatisticsHead, fuse
    from melgenre.statistics import ClipStatistics

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="genres", choices=list(cv.DOMAINS))
    parser.add_argument("--cv", type=Path, required=True, help="cv.py JSON with probabilities")
    parser.add_argument("--candidate", default="full-stats")
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument(
        "--pool",
        default="validation",
        choices=["validation", "test"],
        help="whose files the arbiter learns from: the other folds' validation or test files",
    )
    args = parser.parse_args()
    record = json.loads(args.cv.read_text())
    runs = {f["fold"]: f for f in record["candidates"][args.candidate]["folds"]}
    dataset, groups = cv.load_dataset(args.domain)
    classes = list(dataset.classes)
    parts: dict[int, dict[str, Any]] = {}
    for number, split in enumerate(cv.folds(dataset, groups, record["folds"])):
        train, validation, test, _ = cv.fold_features(args.candidate, split, args.cache_dir)
        head = StatisticsHead(ClipStatistics()).fit(train)
        parts[number] = {
            name: experts(head, runs[number], key, part, classes)
            for name, key, part in (
                ("validation", "validation_probabilities", validation),
                ("test", "file_probabilities", test),
            )
        }
        print(f"fold {number}: experts read", flush=True)
    rows = []
    for number, fold in parts.items():
        test_paths = set(fold["test"]["paths"])
        pool = [
            (p, q, y)
            for other, data in parts.items()
            if other != number
            for p, q, y, path in zip(
                data[args.pool]["network"],
                data[args.pool]["head"],
                data[args.pool]["truth"],
                data[args.pool]["paths"],
                strict=True,
            )
            if path not in test_paths
        ]
        net, head, truth = (np.array(c) for c in zip(*pool, strict=True))
        t = fold["test"]

        def right(p: Any, truth: Any = t["truth"]) -> float:
            return float(np.mean(np.asarray(p).argmax(1) == truth))

        a, b = fit_exponents(net, head, truth)
        logs = np.split(features(t["network"], t["head"]), 2, axis=1)
        logistic = fit_logistic(net, head, truth)
        row = {
            "fold": number,
            "files": len(t["truth"]),
            "arbiter_files": len(truth),
            "network": right(t["network"]),
            "head": right(t["head"]),
            "product": right(fuse(t["network"], t["head"])),
            "weights": right(a * logs[0] + b * logs[1]),
            "exponents": [a, b],
            "logistic": right(logistic.predict_proba(features(t["network"], t["head"]))),
        }
        rows.append(row)
        print(
            f"fold {number}: product {row['product']:.1%}, weights {row['weights']:.1%} "
            f"(a={a:.2f}, b={b:.2f}), logistic {row['logistic']:.1%} "
            f"from {len(truth)} files",
            flush=True,
        )
    mean = {
        k: statistics.fmean(r[k] for r in rows)
        for k in ("network", "head", "product", "weights", "logistic")
    }
    print(", ".join(f"{k} {v:.1%}" for k, v in mean.items()))
    results = earlier_results("cv/stacking")
    suffix = "" if args.pool == "validation" else "-test-pool"
    results[f"{args.domain}/{args.candidate}{suffix}"] = {
        "classes": classes,
        "folds": rows,
        "mean": mean,
    }
    write_result("cv/stacking", results)


def experts(head: Any, run: dict[str, Any], key: str, part: Any, classes: list[str]) -> Any:
    """A part's files: the network's recorded and the head's probabilities, the truth."""
    files, stats = head.statistics.transform(part)
    _, labels = part.file_labels()
    return {
        "network": recorded(run, key, part, files),
        "head": head.predict_proba(stats),
        "truth": np.array([classes.index(part.classes[t]) for t in labels]),
        "paths": [str(Path(part.paths[f]).resolve()) for f in files],
    }


def features(network: Any, head: Any) -> Any:
    """Both experts' log-probabilities side by side, ``(files, 2 x classes)``."""
    return np.concatenate(
        [np.log(np.clip(network, 1e-7, 1.0)), np.log(np.clip(head, 1e-7, 1.0))], axis=1
    )


def fit_exponents(network: Any, head: Any, truth: Any) -> tuple[float, float]:
    """``a, b >= 0`` maximising the log-likelihood of ``softmax(a log p + b log q)``."""
    from scipy.optimize import minimize

    logs = np.split(features(network, head), 2, axis=1)

    def loss(w: Any) -> float:
        z = w[0] * logs[0] + w[1] * logs[1]
        z = z - z.max(1, keepdims=True)
        return float(-np.mean(z[np.arange(len(truth)), truth] - np.log(np.exp(z).sum(1))))

    best = minimize(loss, np.ones(2), bounds=[(0, 10), (0, 10)], method="L-BFGS-B")
    return float(best.x[0]), float(best.x[1])


def fit_logistic(network: Any, head: Any, truth: Any) -> Any:
    from sklearn.linear_model import LogisticRegressionCV

    return LogisticRegressionCV(Cs=10, cv=5, scoring="neg_log_loss", max_iter=2000).fit(
        features(network, head), truth
    )


if __name__ == "__main__":
    main()
