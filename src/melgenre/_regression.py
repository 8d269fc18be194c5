"""The statistics head's regression: its L2 strength by cross-validation, its weights."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt

from melgenre._typing import IntArray

logger = logging.getLogger(__name__)


def choose_c(
    x: npt.NDArray[np.floating[Any]],
    labels: IntArray,
    grid: tuple[float, ...],
    groups: npt.ArrayLike | None = None,
) -> float:
    """The grid's C with the best cross-validated log loss of a logistic regression.

    Five stratified folds (shuffled, seed 0; fewer when a class has fewer rows, or fewer
    groups); with ``groups`` (one per row), folds that keep a group on one side. 1.0 when a
    class has a single row (or group).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from melgenre._group_folds import stratified_group_folds

    if groups is None:
        folds = min(5, int(np.bincount(labels)[np.unique(labels)].min()))
    else:
        groups = np.asarray(groups)
        folds = min(5, min(len(set(groups[labels == c])) for c in np.unique(labels)))
    if folds < 2:  # before the splitters, which refuse fewer than 2 folds
        logger.info("A class has one training file: StatisticsHead uses C=1.0.")
        return 1.0
    splitter: Any = (
        StratifiedKFold(folds, shuffle=True, random_state=0)
        if groups is None
        else stratified_group_folds(labels, groups, folds, seed=0)
    )
    search = GridSearchCV(
        LogisticRegression(max_iter=5000),
        {"C": list(grid)},
        scoring="neg_log_loss",
        cv=splitter,
        refit=False,
    )
    search.fit(x, labels, groups=groups)
    chosen = float(search.best_params_["C"])
    logger.info("StatisticsHead: C=%g chosen by %d-fold cross-validation.", chosen, folds)
    return chosen


def logistic_weights(
    x: npt.NDArray[np.floating[Any]],
    labels: IntArray,
    inverse_l2: float,
    n_classes: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(coef (n_classes, dim), intercept (n_classes,))`` of a multinomial regression.

    A class without training rows gets an intercept of -1e4, so it never wins; two classes
    present get scikit-learn's one row for class 1 split evenly between them.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=inverse_l2, max_iter=5000)
    model.fit(x, labels)
    coef = np.zeros((n_classes, x.shape[1]))
    intercept = np.full(n_classes, -1e4)
    present = model.classes_.astype(np.int64)
    if len(present) == 2:
        coef[present] = [-model.coef_[0] / 2, model.coef_[0] / 2]
        intercept[present] = [-model.intercept_[0] / 2, model.intercept_[0] / 2]
    else:
        coef[present], intercept[present] = model.coef_, model.intercept_
    return coef, intercept
