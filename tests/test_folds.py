"""FolderDataset.folds: k-fold cross-validation that tests every file once, without leaks."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from class_tree import class_tree
from melgenre import FolderDataset
from melgenre.data.scan import Example
from melgenre.errors import ConfigError, DatasetError

CLASSES = ["a", "b", "c"]


def synthetic(n_per_class: int = 20, per_group: int = 2) -> FolderDataset:
    """Files named ``<class>/g<group>-<i>.wav`` (never read: duplicates are not checked)."""
    items = [
        Example(Path(f"/data/{c}/g{i // per_group}-{i}.wav"), c, k)
        for k, c in enumerate(CLASSES)
        for i in range(n_per_class)
    ]
    return FolderDataset("/data", class_names=CLASSES, items=items)


def group(path: Path) -> str:
    return f"{path.parent.name}/{path.stem.split('-')[0]}"


@pytest.mark.parametrize("validation_size", [None, 0.25])
def test_every_file_is_tested_once_and_groups_stay_on_one_side(
    validation_size: float | None,
) -> None:
    ds = synthetic()
    folds = ds.folds(5, validation_size, groups=group, check_duplicates=False)
    assert len(folds) == 5
    tested = Counter(p for fold in folds for p in fold.test.paths)
    assert set(tested) == set(ds.paths)
    assert set(tested.values()) == {1}  # once each
    for fold in folds:
        sides = [fold.train, fold.test] + ([fold.validation] if validation_size else [])
        assert (fold.validation is None) == (validation_size is None)
        assert sum(len(s) for s in sides) == len(ds)  # nothing lost, nothing twice
        groups_by_side = [{group(p) for p in side.paths} for side in sides]
        for i, mine in enumerate(groups_by_side):
            for theirs in groups_by_side[i + 1 :]:
                assert not mine & theirs
        # stratified: every class in every test fold, a fifth of it
        assert fold.test.class_counts() == {c: 4 for c in CLASSES}
        if validation_size:  # a quarter of the 16 training files a class, whole groups
            assert fold.validation is not None
            assert fold.validation.class_counts() == {c: 4 for c in CLASSES}
        assert fold.train.classes == CLASSES


def test_a_seed_gives_the_same_folds_and_another_seed_others() -> None:
    ds = synthetic()

    def tests(seed: int) -> list[tuple[Path, ...]]:
        return [fold.test.paths for fold in ds.folds(4, seed=seed, check_duplicates=False)]

    assert tests(3) == tests(3)
    assert tests(3) != tests(4)


def test_identical_files_are_one_group(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = class_tree(tmp_path)
    source = root / "noise" / "noise0.wav"
    copies = [root / "noise" / "copy.wav", root / "hum" / "stray.wav"]
    for copy in copies:
        copy.write_bytes(source.read_bytes())
    with caplog.at_level(logging.WARNING, logger="melgenre.data"):
        folds = FolderDataset(root).folds(3)
    trio = {source, *copies}
    assert sum(trio <= set(fold.test.paths) for fold in folds) == 1  # tested together, once
    assert "Found 1 group of byte-identical files (3 files)" in caplog.text


def test_arguments_and_too_few_groups_are_refused() -> None:
    ds = synthetic(n_per_class=4, per_group=4)  # one group a class: three in all
    with pytest.raises(DatasetError, match="Cannot make 4 folds of 12 files: they form 3 groups"):
        ds.folds(4, groups=group, check_duplicates=False)
    with pytest.raises(DatasetError, match="each fold needs a file of its own"):
        synthetic(n_per_class=1).folds(5, check_duplicates=False)
    for bad in (1, 2.0, True):
        with pytest.raises(ConfigError, match="'n_splits'"):
            ds.folds(bad, check_duplicates=False)  # type: ignore[arg-type]
    for fraction in (0, 1, 1.5, -0.1):
        with pytest.raises(ConfigError, match="'validation_size'"):
            ds.folds(2, fraction, check_duplicates=False)


def test_a_class_with_fewer_groups_than_folds_is_named(caplog: pytest.LogCaptureFixture) -> None:
    ds = synthetic(n_per_class=6, per_group=2)  # three groups a class
    with caplog.at_level(logging.WARNING, logger="melgenre.data"):
        folds = ds.folds(4, groups=group, check_duplicates=False)
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        f"Class {c!r} has 3 groups, fewer than the 4 folds: some folds test none of it."
        for c in CLASSES
    ]
    assert sum(len(fold.test) for fold in folds) == len(ds)


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_the_folds_are_scikit_learns_fixed_shuffle_on_every_version(seed: int) -> None:
    """scikit-learn < 1.8 shuffled StratifiedGroupKFold's groups unstratified (#32478)."""
    import sklearn
    from sklearn.model_selection import StratifiedGroupKFold

    from melgenre._group_folds import stratified_group_folds

    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 40, size=300)
    labels = rng.integers(0, 4, size=40)[groups]  # a group's files share a class, mostly
    labels[rng.random(300) < 0.1] = 3
    folds = stratified_group_folds(labels, groups, 5, seed=seed)
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested.tolist()) == list(range(300))  # each row tested once
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
    if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (1, 8):
        theirs = StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(
            np.zeros(300), labels, groups
        )
        for (train, test), (their_train, their_test) in zip(folds, theirs, strict=True):
            np.testing.assert_array_equal(test, their_test)
            np.testing.assert_array_equal(train, their_train)
