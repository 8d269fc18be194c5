"""Byte-identical files: found, kept on one side of a split, and named in warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from class_tree import class_tree
from melgenre import FolderDataset
from melgenre._files import file_digest
from melgenre.data.duplicates import identical_groups


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """:func:`class_tree` in a fresh folder."""
    return class_tree(tmp_path)


def test_identical_files_stay_together_and_are_reported(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tree / "noise" / "noise0.wav"
    (tree / "noise" / "dup.wav").write_bytes(source.read_bytes())
    (tree / "hum" / "mislabelled.wav").write_bytes(source.read_bytes())
    ds = FolderDataset(tree)
    assert ds.duplicates() == [
        sorted([source, tree / "noise" / "dup.wav", tree / "hum" / "mislabelled.wav"])
    ]
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        for seed in range(10):
            train, _, test = ds.split(test_size=0.3, seed=seed)[:]
            trio = {source, tree / "noise" / "dup.wav", tree / "hum" / "mislabelled.wav"}
            assert trio <= set(train.paths) or trio <= set(test.paths)
    assert "Found 1 group of byte-identical files (3 files)" in caplog.text
    assert "Identical files carry different labels" in caplog.text


def test_a_large_group_of_copies_is_named_in_a_few_files(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tree / "noise" / "noise0.wav"
    for i in range(8):  # a folder copied over and over, and one copy filed under "whistle"
        (tree / "noise" / f"copy{i}.wav").write_bytes(source.read_bytes())
    (tree / "whistle" / "zz-stray.wav").write_bytes(source.read_bytes())
    with caplog.at_level(logging.WARNING, logger="melgenre.data"):
        FolderDataset(tree).split(test_size=0.3, seed=0)
    found, conflict = (r.getMessage() for r in caplog.records[:2])
    assert found.startswith("Found 1 group of byte-identical files (10 files), e.g. ")
    assert found.count(".wav") == 5  # five named, the rest counted
    assert "(and 5 more); each group is kept on one side" in found
    assert conflict.startswith("Identical files carry different labels: ")
    assert f"{tree / 'whistle' / 'zz-stray.wav'} (whistle)" in conflict  # the conflict shows
    assert conflict.endswith("(and 5 more)")


def test_empty_files_are_not_copies_of_each_other(
    tree: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Empty files are not recordings: extraction reports them, the duplicate check does not."""
    for label in ("hum", "noise", "whistle"):
        (tree / label / "empty.wav").write_bytes(b"")
    (tree / "noise" / "copy.wav").write_bytes((tree / "noise" / "noise0.wav").read_bytes())
    with caplog.at_level(logging.WARNING, logger="melgenre.data"):
        FolderDataset(tree).split(test_size=0.3, seed=0)
    assert identical_groups(sorted(tree.rglob("*.wav"))) == [
        [tree / "noise" / "copy.wav", tree / "noise" / "noise0.wav"]
    ]
    assert "Found 1 group of byte-identical files (2 files)" in caplog.text
    assert "empty.wav" not in caplog.text
    assert "different labels" not in caplog.text


def test_same_size_files_are_told_apart_without_hashing_them_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal-length recordings (one size) are compared at a few places before whole hashes."""
    import melgenre.data.duplicates as duplicates

    size = 10 * duplicates.PROBE_BYTES
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"clip{i}.wav")
        paths[-1].write_bytes(rng.bytes(size))
    copy = tmp_path / "copy.wav"
    copy.write_bytes(paths[0].read_bytes())
    silent_ends = [tmp_path / "a.wav", tmp_path / "b.wav"]  # zeros but for the middle
    for path, value in zip(silent_ends, (1, 2), strict=True):
        data = bytearray(size)
        data[size // 2] = value
        path.write_bytes(bytes(data))
    unlike = tmp_path / "unlike.wav"  # clip1 but for one byte between the probes
    data = bytearray(paths[1].read_bytes())
    data[size // 4] ^= 0xFF
    unlike.write_bytes(bytes(data))
    hashed: list[Path] = []

    def counting(path: Path) -> str:
        hashed.append(path)
        return file_digest(path)

    monkeypatch.setattr(duplicates, "content_digest", counting)
    found = identical_groups([*paths, copy, *silent_ends, unlike])
    assert found == [sorted([paths[0], copy])]
    # only the files alike at the probes are read whole: the copy, and clip1 with its twin
    assert sorted(hashed) == sorted([paths[0], copy, paths[1], unlike])
