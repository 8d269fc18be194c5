"""Leakage-safe splits: groups of files that must stay together, assigned to sides.

:meth:`FolderDataset.split` joins files into groups (the user's group key, such
as the artist or piece, and byte-identical copies), then gives whole groups to
train, test and validation, class by class. The result is a :class:`Split`.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from melgenre._typing import IntArray
from melgenre.errors import (
    ConfigError,
    DatasetError,
    MelgenreDeprecationWarning,
    MelgenreError,
    MelgenreTypeError,
)

if TYPE_CHECKING:
    from melgenre.data.folders import FolderDataset

__all__ = ["Split", "assign_sides", "check_sizes", "group_ids", "group_keys"]

logger = logging.getLogger(__name__)


class Split(NamedTuple):
    """The parts of a :meth:`FolderDataset.split`: ``train``, ``validation`` (or None), ``test``.

    Read the parts by name (``split.train``, ``split.test``) or unpack all
    three: ``train, validation, test = ds.split(...)``.

    .. deprecated:: 0.2
        Unpacking a split made without ``validation_size`` into two names
        (``train, test = ds.split(...)``) still works, with a warning; it
        will unpack into three names from 0.3 on, like every split.
    """

    train: FolderDataset
    validation: FolderDataset | None
    test: FolderDataset

    def __iter__(self) -> Iterator[Any]:
        if self.validation is None:
            warnings.warn(
                "Unpacking a split without a validation set into (train, test) is deprecated "
                "since melgenre 0.2 and will unpack into (train, validation, test) in 0.3; "
                "use split.train and split.test.",
                MelgenreDeprecationWarning,
                stacklevel=2,
            )
            return iter((self.train, self.test))
        return iter((self.train, self.validation, self.test))


def group_ids(
    n_files: int, keys: Sequence[Hashable] | None, identical: Sequence[Sequence[int]]
) -> IntArray:
    """Connected components of files joined by an equal group key or by identical bytes.

    Parameters
    ----------
    n_files : int
        Files are ``0 .. n_files - 1``.
    keys : sequence of hashable, optional
        One group key per file (files with equal keys are joined).
    identical : sequence of sequences of int
        Groups of files with identical bytes (each group is joined).

    Returns
    -------
    ids : np.ndarray [shape=(n_files,), dtype=int64]
        A component label per file.
    """
    import scipy.sparse
    from scipy.sparse.csgraph import connected_components

    rows: list[int] = []
    cols: list[int] = []
    if keys is not None:
        first: dict[Hashable, int] = {}
        for i, key in enumerate(keys):
            rows.append(i)
            cols.append(first.setdefault(key, i))
    for group in identical:
        rows.extend(group[1:])
        cols.extend([group[0]] * (len(group) - 1))
    graph = scipy.sparse.coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_files, n_files)
    )
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def check_sizes(owner: str, test_size: Any, validation_size: Any) -> list[tuple[str, float]]:
    """The requested side sizes as ``[("test", size), ("validation", size)]``, checked."""
    sizes = [("test", test_size)]
    if validation_size is not None:
        sizes.append(("validation", validation_size))
    for name, size in sizes:
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size < 1:
            raise ConfigError(
                f"The '{name}_size' parameter of {owner} must be a float in the range (0, 1). "
                f"Got {size!r} instead.",
                parameter=f"{name}_size",
                value=size,
            )
    if sum(size for _, size in sizes) >= 1:
        raise ConfigError(
            f"test_size + validation_size must be below 1 so that something is left to train "
            f"on. Got {test_size} + {validation_size}.",
            parameter="validation_size",
            value=validation_size,
        )
    return sizes


# scikit-learn has no splitter for this: StratifiedGroupKFold makes k equal folds
# (no 80/10/10), GroupShuffleSplit ignores classes, and neither keeps a class's
# groups on every side when it has few. So whole groups are dealt out class by
# class, greedily towards each side's share.
def assign_sides(
    group_of: IntArray,
    labels: IntArray,
    fractions: list[float],
    *,
    n_classes: int,
    seed: int | None,
    class_names: Sequence[str],
    side_names: Sequence[str],
) -> IntArray:
    """Side of every file: 0 = train, 1 = first fraction (test), 2 = second (validation)."""
    rng = np.random.default_rng(seed)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group_of.tolist()):
        members[g].append(i)
    by_class: dict[int, list[int]] = defaultdict(list)
    for g in sorted(members):
        counts = Counter(int(labels[i]) for i in members[g])
        majority = max(sorted(counts), key=lambda c: counts[c])
        by_class[majority].append(g)
    side_of_group: dict[int, int] = {}
    for c in range(n_classes):
        class_groups = by_class.get(c, [])
        order = [class_groups[k] for k in rng.permutation(len(class_groups))]
        total = sum(len(members[g]) for g in order)
        remaining = list(order)
        for side, fraction in enumerate(fractions, start=1):
            target = fraction * total
            taken = 0
            keep: list[int] = []
            # every set gets one group when the class has enough groups for all sets
            enough = len(order) >= len(fractions) + 1
            for g in remaining:
                size = len(members[g])
                closer = abs(taken + size - target) < abs(taken - target)
                if (taken == 0 and enough and len(remaining) - len(keep) > 1) or (
                    taken < target and closer
                ):
                    side_of_group[g] = side
                    taken += size
                else:
                    keep.append(g)
            remaining = keep
            if taken == 0 and class_groups:
                logger.warning(
                    "Class %r has too few groups (%d) to appear in the %s set.",
                    class_names[c],
                    len(class_groups),
                    side_names[side - 1],
                )
        for g in remaining:
            side_of_group[g] = 0
    return np.array([side_of_group[int(g)] for g in group_of], dtype=np.int64)


def group_keys(paths: Sequence[Path], groups: Callable[[Path], Hashable]) -> list[Hashable]:
    """``groups(path)`` for every path (a piece or speaker id), failures named by file.

    A key must be hashable and not ``None``: ``None`` for every file of a mistyped
    column would put them all in one group, and the split would test on nothing.
    """
    if not callable(groups):
        raise MelgenreTypeError(
            f"groups must be a callable, groups(path) -> key (e.g. lambda p: p.stem[:5], or "
            f"melgenre.data.read_groups('manifest.csv', column='piece')); got "
            f"{type(groups).__name__}."
        )
    keys = []
    for path in paths:
        try:
            key = groups(path)
        except MelgenreError:  # already names the file and what is wrong
            raise
        except Exception as exc:
            raise DatasetError(
                f"The groups callable failed on {str(path)!r}: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            hash(key)
        except TypeError:
            raise DatasetError(
                f"The groups callable returned a {type(key).__name__} for {str(path)!r}, which "
                "cannot be a group key: return a str, an int or a tuple."
            ) from None
        if key is None:
            raise DatasetError(
                f"The groups callable returned None for {str(path)!r}; every file needs a "
                "group key (return the path itself for a file that is a group of its own)."
            )
        keys.append(key)
    return keys
