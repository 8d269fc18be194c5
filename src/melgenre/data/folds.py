"""Cross-validation folds of a dataset: what :class:`~melgenre.FolderDataset` inherits.

One split's test set is a few dozen files, whose accuracy moves by several points
with the luck of the draw; choosing settings on it picks noise. K folds test every
file once: each fold's test set is a k-th of the files, grouped and stratified as a
:meth:`~melgenre.FolderDataset.split` is (a group, a file's windows and its
byte-identical copies stay on one side), and the mean over the folds is the figure
to compare settings by.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from melgenre._validation import check_int, check_real, counted
from melgenre.data.split import Split, assign_sides
from melgenre.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from melgenre.data.folders import FolderDataset

__all__ = ["CrossValidation"]

logger = logging.getLogger(__name__)


class CrossValidation:
    """:meth:`folds`, the k-fold cross-validation of :class:`~melgenre.FolderDataset` (a mixin)."""

    def folds(
        self,
        n_splits: int = 5,
        validation_size: float | None = None,
        *,
        seed: int | None = 42,
        groups: Callable[[Path], Hashable] | None = None,
        check_duplicates: bool = True,
    ) -> list[Split]:
        """Split into ``n_splits`` folds for cross-validation, each file tested once.

        Each fold is a :class:`~melgenre.Split` whose test set is one k-th of
        the files and whose training set is the rest, stratified by class (scikit-learn's
        ``StratifiedGroupKFold``) and grouped as :meth:`split` groups: a file's windows,
        the files of a group (``groups``) and byte-identical files are never on two
        sides. With ``validation_size``, a fraction of each fold's training files
        becomes its validation set, grouped likewise.

        Parameters
        ----------
        n_splits : int >= 2, default=5
            The number of folds.
        validation_size : float in (0, 1) or None, default=None
            Fraction of each fold's training files kept apart for validation.
        seed : int or None, default=42
            Seeds the folds' shuffle; ``None`` draws new folds each call.
        groups : callable, optional
            ``groups(path) -> key``, as for :meth:`split` (the piece, speaker or album).
        check_duplicates : bool, default=True
            Keep byte-identical files together (a warning names them once).

        Returns
        -------
        list of Split
            One ``(train, validation, test)`` per fold; ``validation`` is None
            without ``validation_size``. The test sets are disjoint and together
            hold every file.

        Raises
        ------
        DatasetError
            Fewer groups than folds.

        Examples
        --------
        >>> for fold in FolderDataset("data/").folds(5, seed=0):  # doctest: +SKIP
        ...     trainer = Trainer(GenreCNN(num_classes=..., input_shape=...), seed=0)
        ...     trainer.fit(fold.train.features(prep))
        ...     scores.append(trainer.evaluate(fold.test.features(prep)).file_accuracy)
        """
        from melgenre._group_folds import stratified_group_folds

        dataset = cast("FolderDataset", self)
        owner = f"{type(self).__name__}.folds"
        check_int(owner, "n_splits", n_splits, low=2)
        check_int(owner, "seed", seed, low=0, allow_none=True)
        check_real(owner, "validation_size", validation_size, low=0, high=1, allow_none=True)
        if validation_size in (0, 1):
            raise ConfigError(
                f"The 'validation_size' parameter of {owner} must be in the range (0, 1): a "
                f"fraction of each fold's training files. Got {validation_size!r} instead.",
                parameter="validation_size",
                value=validation_size,
            )
        ids = dataset._group_ids(groups, check_duplicates)
        n_groups = len(np.unique(ids))
        if n_groups < n_splits:
            why = (
                f"they form {counted(n_groups, 'group')} kept together (by groups and "
                "identical bytes)"
                if n_groups < len(dataset)
                else "each fold needs a file of its own"
            )
            raise DatasetError(
                f"Cannot make {n_splits} folds of {counted(len(dataset), 'file')}: {why}. "
                "Use fewer folds, or check the groups."
            )
        labels = np.asarray(dataset.labels)
        for k, name in enumerate(dataset.class_names):
            held = len(np.unique(ids[labels == k]))
            if 0 < held < n_splits:
                logger.warning(
                    "Class %r has %s, fewer than the %d folds: some folds test none of it%s.",
                    name,
                    counted(held, "group"),
                    n_splits,
                    ", and the fold that tests it trains without it" if held == 1 else "",
                )
        out = []
        for train_index, test_index in stratified_group_folds(labels, ids, n_splits, seed=seed):
            validation = None
            if validation_size is not None:
                side = assign_sides(
                    ids[train_index],
                    labels[train_index],
                    [validation_size],
                    n_classes=len(dataset.class_names),
                    seed=seed,
                    class_names=dataset.class_names,
                    side_names=["validation"],
                )
                validation = dataset._subset(train_index[side == 1].tolist())
                train_index = train_index[side == 0]
            train = dataset._subset(train_index.tolist())
            out.append(Split(train, validation, dataset._subset(test_index.tolist())))
        return out
