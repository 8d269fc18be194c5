"""benchmarks/_folds.py: folds taken from a record, for replays on a regenerated data set."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark_modules import benchmark_module
from melgenre import FolderDataset
from signals import tone, write_audio


@pytest.fixture(scope="module")
def folds():  # type: ignore[no-untyped-def]
    with benchmark_module("_folds") as module:
        yield module


def test_recorded_folds_keep_the_records_files_and_leave_out_new_ones(
    folds,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    x = tone(frequency=440.0, duration=0.2, sample_rate=8000)
    for name in ("a/1", "a/2", "a/3", "b/1", "b/2", "b/3", "b/new"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        write_audio(tmp_path / f"{name}.wav", x, 8000)
    dataset = FolderDataset(tmp_path)

    def probabilities(*names: str) -> dict[str, list[float]]:
        return {str(tmp_path / f"{n}.wav"): [0.5, 0.5] for n in names}

    run = {  # fold 1 recorded "a/gone", which the regenerated set no longer has
        "folds": [
            {"fold": 1, "file_probabilities": probabilities("a/2", "b/2", "a/gone"),
             "validation_probabilities": probabilities("a/3")},
            {"fold": 0, "file_probabilities": probabilities("a/1", "b/1"),
             "validation_probabilities": probabilities("b/3")},
        ]
    }  # fmt: skip
    recorded = folds.recorded_folds(dataset, run)

    def names(part: FolderDataset) -> list[str]:
        return sorted(f"{Path(p).parent.name}/{Path(p).stem}" for p in part.paths)

    assert [[names(p) for p in fold] for fold in recorded] == [
        [["a/2", "a/3", "b/2"], ["b/3"], ["a/1", "b/1"]],  # fold 0; b/new is in no part
        [["a/1", "b/1", "b/3"], ["a/3"], ["a/2", "b/2"]],
    ]


def test_a_share_keeps_a_fraction_of_each_class_and_is_drawn_alike_each_time(
    folds,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    x = tone(frequency=440.0, duration=0.2, sample_rate=8000)
    for label, count in (("a", 8), ("b", 4), ("c", 1)):
        (tmp_path / label).mkdir()
        for i in range(count):
            write_audio(tmp_path / label / f"{i}.wav", x, 8000)
    dataset = FolderDataset(tmp_path)
    half = folds.share(dataset, 0.5)
    assert [sum(item.label == c for item in half.items) for c in "abc"] == [4, 2, 1]
    assert list(half.items) == [item for item in dataset.items if item in half.items]  # order
    assert folds.share(dataset, 0.5).items == half.items  # the same files every run
    assert folds.share(dataset, 0.5, seed=1).items != half.items
    assert folds.share(dataset, 1.0).items == dataset.items
