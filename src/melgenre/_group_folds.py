"""Stratified grouped k-fold that shuffles alike on every scikit-learn version.

``StratifiedGroupKFold(shuffle=True)`` before scikit-learn 1.8 shuffled its table of
groups without the map from files to groups (scikit-learn#32478, fixed by #32540), so
its test folds were groups drawn at random, not stratified by class: on Python 3.10,
whose newest scikit-learn is 1.7, a fold could test six files of one class and two of
another where four of each were possible. :func:`stratified_group_folds` relabels the
groups in the order the fixed version shuffles them to and calls the splitter without
shuffling (whose code the fix left alone), which gives scikit-learn 1.8's folds, for
the same seed, on any version.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from melgenre._typing import IntArray

__all__ = ["stratified_group_folds"]


def stratified_group_folds(
    labels: Any, groups: Any, n_splits: int, *, seed: int | None
) -> list[tuple[IntArray, IntArray]]:
    """``(train, test)`` row indices of ``StratifiedGroupKFold(n_splits, shuffle=True)``.

    As scikit-learn 1.8 and later draw them for ``random_state=seed`` (``None``: NumPy's
    global random state): each group on one side, each class spread over the folds.
    """
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.utils import check_random_state

    _, group_index = np.unique(np.asarray(groups), return_inverse=True)
    order = np.arange(int(group_index.max()) + 1 if group_index.size else 0)
    check_random_state(seed).shuffle(order)  # the fixed shuffle: order[j] goes to place j
    place = np.empty_like(order)
    place[order] = np.arange(order.size)
    splitter = StratifiedGroupKFold(n_splits, shuffle=False)
    rows = np.zeros(len(group_index))
    return [
        (np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64))
        for train, test in splitter.split(rows, np.asarray(labels), place[group_index])
    ]
