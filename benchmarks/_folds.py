"""The development suite's folds (``cv.py``): drawn by grouped, stratified k-fold, or as recorded.

``cv.py`` draws its folds with :func:`folds` (``cv.folds``); ``fusion.py --recorded-folds``
replays on :func:`recorded_folds`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["folds", "recorded_folds", "share"]


def folds(dataset: Any, groups: Any, k: int) -> list[tuple[Any, Any, Any]]:
    """``(train, validation, test)`` FolderDatasets per fold: grouped, stratified, seed 42."""
    import dataclasses

    import numpy as np

    from melgenre._group_folds import stratified_group_folds

    paths = dataset.paths
    ids = [groups(p) if groups is not None else str(p) for p in paths]
    labels = np.asarray(dataset.labels)
    out = []  # scikit-learn 1.8's shuffled StratifiedGroupKFold, on any version
    for train_index, test_index in stratified_group_folds(labels, ids, k, seed=42):
        train = dataclasses.replace(dataset, items=tuple(dataset.items[i] for i in train_index))
        test = dataclasses.replace(dataset, items=tuple(dataset.items[i] for i in test_index))
        inner = train.split(test_size=0.1, seed=42, groups=groups, check_duplicates=False)
        out.append((inner.train, inner.test, test))
    return out


def recorded_folds(dataset: Any, run: dict[str, Any]) -> list[tuple[Any, Any, Any]]:
    """``(train, validation, test)`` per fold as a candidate's record of them (``run``) holds.

    Its test and validation files are those whose probabilities it recorded; the training
    files the rest of the record's files. Files of ``dataset`` that the record never saw (a
    regenerated set that differs by a piece) are left out, as are recorded files no longer
    there: the folds are the recorded ones, where :func:`folds` would draw new ones.
    """
    import dataclasses
    from pathlib import Path

    def key(path: Any) -> str:
        return str(Path(path).resolve())

    recorded = ("file_probabilities", "validation_probabilities")
    seen = {key(p) for f in run["folds"] for part in recorded for p in f[part]}
    out = []
    for fold in sorted(run["folds"], key=lambda f: f["fold"]):
        test = {key(p) for p in fold["file_probabilities"]}
        held = {key(p) for p in fold["validation_probabilities"]}

        def part(keep: Any) -> Any:
            items = tuple(i for i in dataset.items if keep(key(i[0])))
            return dataclasses.replace(dataset, items=items)

        out.append(
            (
                part(lambda k, t=test, h=held: k in seen and k not in t and k not in h),
                part(lambda k, h=held: k in h),
                part(lambda k, t=test: k in t),
            )
        )
    return out


def share(dataset: Any, fraction: float, seed: int = 0) -> Any:
    """A ``fraction`` of each class's files of ``dataset``, drawn with ``seed`` (a learning curve).

    At least one file a class; the files keep their order. The same for a dataset, fraction
    and seed, so ``cv.py``'s network and ``fusion.py``'s head learn from the same files.
    """
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(seed)
    by_class: dict[int, list[int]] = {}
    for index, item in enumerate(dataset.items):
        by_class.setdefault(item.label_index, []).append(index)
    kept = sorted(
        int(i)
        for _, indices in sorted(by_class.items())
        for i in rng.permutation(indices)[: max(1, round(fraction * len(indices)))]
    )
    return dataclasses.replace(dataset, items=tuple(dataset.items[i] for i in kept))
