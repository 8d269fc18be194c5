"""Groups read from a CSV table (``read_groups``, ``melgenre train --groups``)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

import melgenre
from melgenre import demo
from melgenre.cli import main
from melgenre.data import read_groups


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("groups") / "data"
    return demo.make_dataset(root, clips_per_class=8, duration=0.5)


def write_table(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def pieces(data: Path, table: Path) -> Path:
    """A manifest-like table: every two clips of a class are one piece; other columns too."""
    rows = [
        {"path": os.path.relpath(p, table.parent), "tempo": "120", "piece": piece(p)}
        for p in sorted(data.rglob("*.wav"))
    ]
    return write_table(table, rows)


def piece(path: Path) -> str:
    """``drums_005.wav`` -> ``drums_2``: clips 4 and 5 of a class are one piece."""
    label, number = path.stem.rsplit("_", 1)
    return f"{label}_{int(number) // 2}"


def test_a_group_never_spans_two_sides_and_without_groups_it_would(data: Path) -> None:
    groups = read_groups(pieces(data, data / "manifest.csv"), "piece")
    dataset = melgenre.FolderDataset(data)
    assert [groups(p) for p in dataset.paths[:3]] == ["arpeggio_0", "arpeggio_0", "arpeggio_1"]
    spans = {True: 0, False: 0}
    for seed in range(6):
        for grouped in (True, False):
            split = dataset.split(
                0.25, 0.25, seed=seed, groups=groups if grouped else None, check_duplicates=False
            )
            sides: dict[str, set[str]] = {}
            for name, part in (
                ("train", split.train),
                ("val", split.validation),
                ("test", split.test),
            ):
                assert part is not None
                assert len(part)  # every side holds pieces (one piece a class once left none)
                for p in part.paths:
                    sides.setdefault(groups(p), set()).add(name)
            spans[grouped] += sum(len(s) > 1 for s in sides.values())
    assert spans[True] == 0
    assert spans[False] > 0  # the check can fail: random splits do cut these pieces


def test_paths_relative_to_another_root_or_absolute(data: Path, tmp_path: Path) -> None:
    files = sorted(data.rglob("*.wav"))
    relative = write_table(
        tmp_path / "relative.csv",
        [{"path": p.relative_to(data).as_posix(), "group": "a"} for p in files],
    )
    absolute = write_table(
        tmp_path / "absolute.csv", [{"path": str(p), "group": "b"} for p in files]
    )
    assert read_groups(relative, root=data)(files[3]) == "a"
    assert read_groups(absolute)(files[3]) == "b"


def test_errors_name_the_file_the_table_and_what_is_wrong(data: Path, tmp_path: Path) -> None:
    files = sorted(data.rglob("*.wav"))
    table = write_table(tmp_path / "some.csv", [{"path": str(p), "group": "g"} for p in files[:-1]])
    with pytest.raises(melgenre.DatasetError, match=f"{files[-1].name}' is not in the groups"):
        melgenre.FolderDataset(data).split(groups=read_groups(table), check_duplicates=False)
    with pytest.raises(
        melgenre.ConfigError, match="has no column 'speaker'; its columns: path, group"
    ):
        read_groups(table, "speaker")
    blank = write_table(tmp_path / "blank.csv", [{"path": str(files[0]), "group": " "}])
    with pytest.raises(melgenre.DatasetError, match=r"blank\.csv., line 2: every row needs"):
        read_groups(blank)
    with pytest.raises(melgenre.DatasetError, match="Cannot read the groups table"):
        read_groups(tmp_path / "missing.csv")


def test_cli_train_with_groups_records_them(data: Path, tmp_path: Path) -> None:
    table = pieces(data, data / "pieces.csv")
    out = tmp_path / "model"
    argv = ["train", str(data), "--out", str(out), "--groups", str(table)]
    argv += ["--group-column", "piece", "--epochs", "1", "--workers", "1", "--json"]
    assert main(argv) == 0
    split = json.loads((out / "melgenre.json").read_text())["metadata"]["training"]["split"]
    assert (split["groups"], split["group_column"]) == (str(table), "piece")
    assert split["train_files"] + split["validation_files"] + split["test_files"] == 40


def test_cli_groups_and_a_named_split_exclude_each_other(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", str(data), "--out", str(tmp_path / "m"), "--split", "gtzan-fault-filtered"]
    assert main([*argv, "--groups", str(pieces(data, tmp_path / "p.csv"))]) != 0
    assert "--groups only groups a random split" in capsys.readouterr().err
