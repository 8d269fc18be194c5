"""Published splits: FolderDataset.from_split_lists, the GTZAN preset on a fake tree, --split."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melgenre import ConfigError, DatasetError, FolderDataset, MelgenreTypeError, demo
from melgenre.cli import main
from melgenre.data import SPLIT_PRESETS

GENRES = SPLIT_PRESETS["gtzan-fault-filtered"][0]


@pytest.fixture(scope="module")
def gtzan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake GTZAN copy laid out like the original archive: gtzan/genres/<genre>/<genre>.000NN.au."""
    root = tmp_path_factory.mktemp("gtzan")
    silence = np.zeros(64, np.float32)
    for genre in GENRES:
        folder = root / "genres" / genre
        folder.mkdir(parents=True)
        for number in range(100):
            sf.write(folder / f"{genre}.{number:05d}.au", silence, 22050, format="AU")
    return root


def test_gtzan_preset_has_the_published_sizes_and_labels(gtzan: Path) -> None:
    split = FolderDataset.from_split_preset(gtzan, "gtzan-fault-filtered")
    assert split.validation is not None
    sizes = [len(split.train), len(split.validation), len(split.test)]
    assert sizes == [443, 197, 290]
    assert split.train.classes == list(GENRES)
    parts = (split.train, split.validation, split.test)
    names = [{p.name for p in part.paths} for part in parts]
    assert not names[0] & names[1]
    assert not names[0] & names[2]
    assert not names[1] & names[2]
    for part in parts:  # each label is the genre that prefixes the file name
        assert all(
            p.name.split(".")[0] == item.label
            for p, item in zip(part.paths, part.items, strict=True)
        )
    # 70 faulty excerpts are in no list; the test side has every genre
    assert sum(len(n) for n in names) == 930
    assert all(count > 0 for count in split.test.class_counts().values())


def test_preset_finds_the_class_folders_at_any_of_the_usual_depths(gtzan: Path) -> None:
    direct = FolderDataset.from_split_preset(gtzan / "genres", "gtzan-fault-filtered")
    nested = FolderDataset.from_split_preset(gtzan, "gtzan-fault-filtered")
    assert direct.test.paths == nested.test.paths


def test_preset_errors_name_what_is_wrong(gtzan: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"Unknown split preset 'gtzan'.*gtzan-fault-filtered"):
        FolderDataset.from_split_preset(gtzan, "gtzan")
    (tmp_path / "blues").mkdir()
    with pytest.raises(DatasetError, match=r"No folder under .* holds the class folders"):
        FolderDataset.from_split_preset(tmp_path, "gtzan-fault-filtered")


def test_missing_files_raise_or_are_skipped(
    gtzan: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "copy"
    for genre in GENRES:  # a copy without jazz.00054 (corrupt in some copies)
        (copy / genre).mkdir(parents=True)
        for path in (gtzan / "genres" / genre).iterdir():
            if path.name != "jazz.00054.au":
                (copy / genre / path.name).symlink_to(path)
    with pytest.raises(DatasetError, match=r"1 listed file is not under .*train: jazz\.00054"):
        FolderDataset.from_split_preset(copy, "gtzan-fault-filtered")
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        split = FolderDataset.from_split_preset(copy, "gtzan-fault-filtered", on_missing="skip")
    assert len(split.train) == 442
    assert "jazz.00054" in caplog.text


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    for label in ("hum", "hiss"):
        (tmp_path / label).mkdir()
        for i in range(3):
            sf.write(tmp_path / label / f"{label}.{i}.wav", np.zeros(80, np.float32), 8000)
    return tmp_path


def test_entries_by_relative_path_stem_or_name_and_from_text_files(tiny: Path) -> None:
    lists = tiny.parent / f"{tiny.name}-lists"
    lists.mkdir()
    (lists / "train.txt").write_text("# a comment\nhum/hum.0.wav\n\nhiss.0\nhum.1.wav\n")
    split = FolderDataset.from_split_lists(
        tiny, train=lists / "train.txt", validation=["hiss/hiss.1"], test=["hum.2", "hiss.2"]
    )
    assert [p.name for p in split.train.paths] == ["hiss.0.wav", "hum.0.wav", "hum.1.wav"]
    assert split.validation is not None
    assert len(split.validation) == 1
    assert split.test.labels.tolist() == [0, 1]  # hiss, hum: labels from the folders
    no_validation = FolderDataset.from_split_lists(tiny, train=["hum.0"], test=["hiss.0"])
    assert no_validation.validation is None


def test_list_errors(tiny: Path) -> None:
    with pytest.raises(
        DatasetError, match=r"hum/hum\.0\.wav is in both the train and the test list"
    ):
        FolderDataset.from_split_lists(tiny, train=["hum.0"], test=["hum/hum.0.wav"])
    (tiny / "hum" / "hum.0.flac").write_bytes((tiny / "hum" / "hum.0.wav").read_bytes())
    with pytest.raises(DatasetError, match=r"entry 'hum\.0' names 2 files"):
        FolderDataset.from_split_lists(tiny, train=["hum.0"], test=["hiss.0"])
    with pytest.raises(DatasetError, match=r"The test list '.*nowhere\.txt' is not a file"):
        FolderDataset.from_split_lists(tiny, train=["hum.1"], test=tiny / "nowhere.txt")
    with pytest.raises(MelgenreTypeError, match="train list must be a sequence of file names"):
        FolderDataset.from_split_lists(tiny, train=[1, 2], test=["hum.1"])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="on_missing"):
        FolderDataset.from_split_lists(
            tiny,
            train=["hum.1"],
            test=["hiss.1"],
            on_missing="ignore",  # type: ignore[arg-type]
        )


def test_cli_train_with_a_folder_of_lists(tmp_path: Path) -> None:
    data = demo.make_dataset(tmp_path / "data", clips_per_class=3, duration=2.0)
    lists = tmp_path / "lists"
    lists.mkdir()
    files = sorted(p.relative_to(data).as_posix() for p in data.rglob("*.wav"))
    (lists / "train.txt").write_text("\n".join(f for f in files if f.endswith(("0.wav", "1.wav"))))
    (lists / "test.txt").write_text("\n".join(f for f in files if f.endswith("2.wav")))
    out = tmp_path / "model"
    argv = ["train", str(data), "--out", str(out), "--split", str(lists)]
    assert main([*argv, "--epochs", "1", "--workers", "1", "--json"]) == 0
    split = json.loads((out / "melgenre.json").read_text())["metadata"]["training"]["split"]
    assert split["split"] == str(lists)
    assert (split["train_files"], split["validation_files"], split["test_files"]) == (10, 0, 5)


def test_cli_split_must_be_a_preset_or_a_folder_of_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = demo.make_dataset(tmp_path / "data", clips_per_class=2, duration=1.0)
    code = main(["train", str(data), "--out", str(tmp_path / "m"), "--split", "random-80-20"])
    assert code != 0
    err = capsys.readouterr().err
    assert "neither a preset (gtzan-fault-filtered), nor 'folders'" in err
    assert "nor a folder holding train.txt" in err
    code = main(["train", str(data), "--out", str(tmp_path / "m"), "--split", "folders"])
    assert code != 0
    assert "--split folders needs" in capsys.readouterr().err


def test_cli_train_with_split_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    for split, clips in (("train", 3), ("validation", 1), ("test", 2)):
        demo.make_dataset(data / split, clips_per_class=clips, duration=2.0)
    argv = ["train", str(data), "--out", str(tmp_path / "model"), "--epochs", "1"]
    assert main([*argv, "--workers", "1"]) == 1  # the tree is not taken for 3 classes
    assert "--split folders" in capsys.readouterr().err
    assert main([*argv, "--workers", "1", "--json", "--split", "folders"]) == 0
    manifest = json.loads((tmp_path / "model" / "melgenre.json").read_text())
    split = manifest["metadata"]["training"]["split"]
    assert (split["train_files"], split["validation_files"], split["test_files"]) == (15, 5, 10)
    assert manifest["labels"] == sorted(demo.CLASSES)
