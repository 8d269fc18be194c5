"""FolderDataset: scanning a folder per class, and splits that keep files, groups and
duplicates on one side (extraction and the cache: ``test_extraction.py``)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from class_tree import FEAT, LOADER, SR, class_tree, write
from melgenre import AudioLoader, FolderDataset
from melgenre.errors import ConfigError, DatasetError, MelgenreDeprecationWarning, MelgenreTypeError
from signals import noise


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """:func:`class_tree` in a fresh folder."""
    return class_tree(tmp_path)


# ------------------------------------------------------------------ scanning


def test_scan_classes_files_and_counts(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tree / "hum" / ".hidden.wav").write_bytes(b"x")
    (tree / "hum" / ".cache").mkdir()
    (tree / "hum" / ".cache" / "a.wav").write_bytes(b"x")
    (tree / "hum" / "notes.txt").write_text("not audio")
    (tree / ".git").mkdir()
    with caplog.at_level(logging.INFO, logger="melgenre"):
        ds = FolderDataset(tree)
    assert "Found 18 files belonging to 3 classes." in caplog.messages
    assert ds.classes == ["hum", "noise", "whistle"]
    assert len(ds) == 18
    assert ds.class_counts() == {"hum": 6, "noise": 6, "whistle": 6}
    first = ds[0]
    assert (first.path, first.label, first.label_index) == (tree / "hum" / "hum0.wav", "hum", 0)
    path, label, index = list(ds)[5]
    assert (path, label, index) == (tree / "hum" / "live" / "hum5.wav", "hum", 0)
    assert ds.labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert FolderDataset(tree).paths == ds.paths  # deterministic
    assert repr(ds) == f"FolderDataset({str(tree)!r}, 18 files, 3 classes)"


def test_class_names_choose_and_order_classes(tree: Path) -> None:
    ds = FolderDataset(tree, class_names=["whistle", "hum"])
    assert ds.classes == ["whistle", "hum"]
    assert ds.labels.tolist() == [0] * 6 + [1] * 6
    with pytest.raises(DatasetError, match=r"names \['rock'\], which are not folders"):
        FolderDataset(tree, class_names=["hum", "rock"])


def test_stray_root_files_are_ignored_with_a_warning(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tree / "loose.wav", np.zeros(100, np.float32))
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        assert len(FolderDataset(tree)) == 18
    assert "files belong in a folder per class" in caplog.text


def test_scan_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"'.*nowhere' does not exist"):
        FolderDataset(tmp_path / "nowhere")
    file = write(tmp_path / "a.wav", np.zeros(10, np.float32))
    with pytest.raises(DatasetError, match="is not a folder"):
        FolderDataset(file)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="has no class folders"):
        FolderDataset(empty)
    single = tmp_path / "single"
    write(single / "rock" / "a.wav", np.zeros(10, np.float32))
    with pytest.raises(
        DatasetError, match=r"single class folder \('rock'\).*at least 2 classes\.$"
    ):
        FolderDataset(single)
    nested = tmp_path / "archive"  # the classes one level down, as in GTZAN's archive
    for label in ("blues", "jazz"):
        write(nested / "genres" / label / "a.wav", np.zeros(10, np.float32))
    with pytest.raises(
        DatasetError, match=r"It holds folders \(blues, jazz\): is '.*genres' the dataset root\?"
    ):
        FolderDataset(nested)
    (single / "jazz").mkdir()
    (single / "jazz" / "readme.txt").write_text("no audio here")
    with pytest.raises(DatasetError, match=r"'.*jazz' contains no audio files"):
        FolderDataset(single)
    with pytest.raises(
        ConfigError, match="'on_error' parameter of FolderDataset must be one of 'skip', 'raise'"
    ):
        FolderDataset(single, on_error="ignore")  # type: ignore[arg-type]


def test_from_split_folders(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for split in ("train", "test"):
        for label in ("a", "b"):
            for i in range(2):
                write(
                    tmp_path / split / label / f"{split}{i}.wav",
                    noise(duration=0.2, sample_rate=SR, seed=hash((split, label, i)) % 1000),
                )
    leaked = (tmp_path / "train" / "a" / "train0.wav").read_bytes()
    (tmp_path / "test" / "a" / "copy.wav").write_bytes(leaked)
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        train, test = FolderDataset.from_split_folders(tmp_path)
    assert train.classes == test.classes == ["a", "b"]
    assert (len(train), len(test)) == (4, 5)
    assert "The official split leaks" in caplog.text
    (tmp_path / "test" / "c").mkdir()
    write(tmp_path / "test" / "c" / "x.wav", np.zeros(100, np.float32))
    with pytest.raises(DatasetError, match=r"Split 'train' .* lacks class folders \['c'\]"):
        FolderDataset.from_split_folders(tmp_path)
    with pytest.raises(DatasetError, match=r"Split folders \['validation'\] are missing"):
        FolderDataset.from_split_folders(tmp_path, splits=("train", "validation", "test"))


def test_many_leaks_are_named_three_then_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(6):  # six files of the training split copied into the test split
        clip = noise(duration=0.1, sample_rate=SR, seed=100 + i)
        for split in ("train", "test"):
            for label in ("a", "b"):
                write(tmp_path / split / label / f"{i}.wav", clip if label == "a" else -clip)
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        FolderDataset.from_split_folders(tmp_path)
    lines = [r.getMessage() for r in caplog.records]
    assert sum(line.startswith("Identical files in several splits") for line in lines) == 3
    assert "... and 9 more groups of identical files across splits (12 in all)." in lines


def test_a_tree_of_split_folders_is_not_taken_for_classes(tmp_path: Path) -> None:
    for split in ("train", "val", "test"):
        for label in ("a", "b"):
            write(tmp_path / split / label / "0.wav", noise(duration=0.2, sample_rate=SR, seed=1))
    with pytest.raises(
        DatasetError,
        match=r"holds split folders \(train, val, test\) of class folders, not class folders: "
        r"a model trained on it would learn to tell 'train' from 'test'\. Read it with "
        r"FolderDataset\.from_split_folders\('.*', splits=\('train', 'val', 'test'\)\)",
    ):
        FolderDataset(tmp_path)
    write(tmp_path / "extra" / "0.wav", noise(duration=0.2, sample_rate=SR, seed=1))
    with pytest.raises(DatasetError, match=r"holds split folders \(train, val, test\)"):
        FolderDataset(tmp_path)  # a folder beside the splits does not hide them
    (tmp_path / "extra" / "0.wav").unlink()
    (tmp_path / "extra").rmdir()
    named = FolderDataset(tmp_path, class_names=["test", "train", "val"])  # taken as classes
    assert named.class_counts() == {"test": 2, "train": 2, "val": 2}
    vehicles = tmp_path / "vehicles"  # a class of trains beside other classes is a class
    for label in ("train", "car"):
        write(vehicles / label / "0.wav", noise(duration=0.2, sample_rate=SR, seed=2))
    assert FolderDataset(vehicles).classes == ["car", "train"]
    flat = tmp_path / "flat"  # split names whose folders hold files, not class folders
    for label in ("train", "test"):
        write(flat / label / "0.wav", noise(duration=0.2, sample_rate=SR, seed=3))
    assert FolderDataset(flat).classes == ["test", "train"]


# --------------------------------------------------------------------- split


def test_split_sizes_stratified_and_reproducible(tree: Path) -> None:
    ds = FolderDataset(tree)
    split = ds.split(test_size=0.5, seed=42)
    train, test = split.train, split.test
    assert split.validation is None
    assert split == (train, None, test)
    assert train.class_counts() == test.class_counts() == {"hum": 3, "noise": 3, "whistle": 3}
    assert ds.split(test_size=0.5, seed=42).test.paths == test.paths
    assert train.classes == ds.classes
    others = {tuple(ds.split(test_size=0.5, seed=s).test.paths) for s in range(8)}
    assert len(others) > 1
    train, val, test = ds.split(test_size=1 / 3, validation_size=1 / 3, seed=0)
    for part in (train, val, test):
        assert part.class_counts() == {"hum": 2, "noise": 2, "whistle": 2}


def test_unpacking_a_two_way_split_into_two_names_is_deprecated(tree: Path) -> None:
    ds = FolderDataset(tree)
    with pytest.warns(MelgenreDeprecationWarning, match=r"split\.train and split\.test"):
        train, test = ds.split(test_size=0.5, seed=42)
    assert (train, test) == ds.split(test_size=0.5, seed=42)[::2]
    assert len(list(ds.split(test_size=0.3, validation_size=0.3))) == 3  # no warning


def test_groups_stay_together(tree: Path) -> None:
    ds = FolderDataset(tree)

    def album(p: Path) -> tuple[str, int]:
        """'Albums': files 0-2 and 3-5 of each class."""
        label = p.parent.name if p.parent.name != "live" else p.parent.parent.name
        return label, int(p.stem[-1]) // 3

    for seed in range(10):
        train, _, test = ds.split(test_size=0.5, validation_size=None, seed=seed, groups=album)[:]
        train_albums = {album(p) for p in train.paths}
        assert not train_albums & {album(p) for p in test.paths}
        assert train.class_counts() == test.class_counts() == {"hum": 3, "noise": 3, "whistle": 3}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"test_size": 0.0},
            r"'test_size' parameter of FolderDataset.split must be a float in the range \(0, 1\)",
        ),
        ({"test_size": 1.5}, "'test_size'"),
        ({"test_size": "0.2"}, "'test_size'"),
        ({"validation_size": 1.0}, "'validation_size'"),
        ({"test_size": 0.6, "validation_size": 0.5}, "must be below 1"),
    ],
)
def test_split_parameter_errors(tree: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FolderDataset(tree).split(**kwargs)


def test_groups_callable_errors_name_the_file(tree: Path) -> None:
    def bad(path: Path) -> str:
        raise KeyError(path.name)

    with pytest.raises(DatasetError, match=r"groups callable failed on '.*hum0\.wav': KeyError"):
        FolderDataset(tree).split(groups=bad)
    ds = FolderDataset(tree)
    with pytest.raises(DatasetError, match=r"returned None for '.*hum0\.wav'"):
        ds.split(groups=lambda path: None)  # all files in one group: nothing to test on
    with pytest.raises(DatasetError, match=r"returned a list for '.*hum0\.wav'"):
        ds.split(groups=lambda path: [path.stem])
    with pytest.raises(MelgenreTypeError, match="groups must be a callable"):
        ds.split(groups={p: p.stem for p in ds.paths})  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match=r"the test set would hold none of them, as they form 1 group"):  # fmt: skip
        ds.split(groups=lambda path: "one album")
    with pytest.raises(ConfigError, match=r"'seed' parameter of FolderDataset\.split"):
        ds.split(seed="42")  # type: ignore[arg-type]


def test_too_few_files_a_class_for_every_set_is_said_as_such(tmp_path: Path) -> None:
    for c, label in enumerate(("a", "b")):
        for i in range(2):
            write(
                tmp_path / label / f"{i}.wav", noise(duration=0.5, sample_rate=SR, seed=2 * c + i)
            )
    ds = FolderDataset(tmp_path)
    with pytest.raises(DatasetError) as caught:
        ds.split(validation_size=0.1)
    assert str(caught.value) == (
        "Cannot split 4 files: the test set would hold none of them, as each class has at "
        "most 2 files and needs 3 to put one in each of the train, validation and test sets. "
        "Add files to every class, or split without a validation set."
    )
    assert len(ds.split().test) == 2  # two files a class: one for training, one for the test


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    layout=st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=12), min_size=2, max_size=4),
    duplicates=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), max_size=4),
    seed=st.integers(0, 2**32 - 1),
    validation=st.booleans(),
    test_size=st.floats(0.1, 0.45),
)
def test_split_never_leaks(
    tmp_path_factory: pytest.TempPathFactory,
    layout: list[list[int]],
    duplicates: list[tuple[int, int]],
    seed: int,
    validation: bool,
    test_size: float,
) -> None:
    """Random folder layouts: each class is a list of files, each file's group id; some files duplicated."""
    root = tmp_path_factory.mktemp("layout")
    files: list[Path] = []
    for c, groups in enumerate(layout):
        for i, _ in enumerate(groups):
            path = root / f"class{c}" / f"f{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"{c}-{i}-unique".encode())
            files.append(path)
    for a, b in duplicates:
        files[b % len(files)].write_bytes(files[a % len(files)].read_bytes())
    group_of = {
        root / f"class{c}" / f"f{i}.wav": g
        for c, groups in enumerate(layout)
        for i, g in enumerate(groups)
    }
    ds = FolderDataset(root)

    def split() -> list[FolderDataset]:
        parts = ds.split(
            test_size=test_size,
            validation_size=0.2 if validation else None,
            seed=seed,
            groups=lambda p: group_of[p],
        )
        return [p for p in parts[:] if p is not None]

    try:
        parts, error = split(), ""
    except DatasetError as exc:  # too few groups for a test set: said, not split silently
        parts, error = [], str(exc)
    if error:
        assert "the test set would hold none of them" in error
        # only when no class has groups enough of its own (a group counts for its main class)
        component = {p: (group_of[p],) for p in ds.paths}
        merged = True
        while merged:  # join groups that share a file's bytes
            merged = False
            for a in ds.paths:
                for b in ds.paths:
                    if a.read_bytes() == b.read_bytes() and component[a] != component[b]:
                        old, new = component[b], component[a]
                        component = {q: new if c == old else c for q, c in component.items()}
                        merged = True
        assert len(set(component.values())) <= (2 if validation else 1) * len(ds.classes)
        return
    assert sum(len(p) for p in parts) == len(ds)
    sides = [set(p.paths) for p in parts]
    assert set().union(*sides) == set(ds.paths)
    for i, a in enumerate(sides):
        for b in sides[i + 1 :]:
            assert not a & b
            assert not {group_of[p] for p in a} & {group_of[p] for p in b}
            assert not {p.read_bytes() for p in a} & {p.read_bytes() for p in b}
    assert [p.paths for p in split()] == [p.paths for p in parts]


def test_old_spellings_keep_working_with_a_warning(tree: Path) -> None:
    with pytest.warns(MelgenreDeprecationWarning, match="'loader' parameter of FolderDataset"):
        old = FolderDataset(tree, loader=AudioLoader(sample_rate=SR, duration=0.5))
    assert old.paths == FolderDataset(tree).paths
    fs = old.features(FEAT, workers=1, progress=False)  # the old loader still decodes
    assert fs.x.shape[0] == len(old)  # half a second: one window per file
    with pytest.warns(MelgenreDeprecationWarning, match="melgenre.dataset.FolderDataset"):
        from melgenre.dataset import FolderDataset as Moved
    assert Moved is FolderDataset
    with pytest.warns(MelgenreDeprecationWarning, match="check_loader"):
        FEAT.check_loader(LOADER)
    subset = dataclasses.replace(FolderDataset(tree), items=FolderDataset(tree).items[:4])
    assert len(subset) == 4
    assert subset.classes == FolderDataset(tree).classes


def test_a_string_where_names_are_listed_is_not_read_letter_by_letter(tree: Path) -> None:
    everything = FolderDataset(tree)
    assert FolderDataset(tree, extensions=".wav").paths == everything.paths  # one extension
    assert FolderDataset(tree, extensions=["WAV"]).paths == everything.paths  # dot optional
    with pytest.raises(MelgenreTypeError, match="class_names must be a list of folder names"):
        FolderDataset(tree, class_names=everything.classes[0])
    with pytest.raises(MelgenreTypeError, match="splits must be a list of folder names"):
        FolderDataset.from_split_folders(tree, splits="train")  # type: ignore[arg-type]
