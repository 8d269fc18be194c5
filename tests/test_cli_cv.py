"""``melgenre cv``: the defaults cross-validated on a folder, each file tested once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from melgenre import demo
from serving import run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cv") / "data"
    return demo.make_dataset(root, clips_per_class=6, duration=1.5)


def test_cv_fits_a_model_a_fold_and_reports_the_mean(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = ["--folds", "3", "--epochs", "2", "--workers", "1", "--cache-dir", str(tmp_path)]
    code, out, _ = run_cli(capsys, "cv", str(data), *options, "--json")
    assert code == 0
    summary = json.loads(out)
    assert [f["fold"] for f in summary["folds"]] == [1, 2, 3]
    assert sum(f["test_files"] for f in summary["folds"]) == summary["files"] == 30
    assert all(f["train_files"] == 20 for f in summary["folds"])
    accuracies = [f["file_accuracy"] for f in summary["folds"]]
    assert summary["file_accuracy"]["mean"] == pytest.approx(sum(accuracies) / 3)
    assert 0 <= min(accuracies) <= max(accuracies) <= 1
    # the text: the window, a line a fold, the mean; without --cache-dir, a temporary cache
    code, out, _ = run_cli(capsys, "cv", str(data), *options[:-2], "-q")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("Windows: ")
    assert [line.split(":")[0] for line in lines[1:4]] == ["Fold 1/3", "Fold 2/3", "Fold 3/3"]
    number = r"[\d.]+%"
    assert re.fullmatch(
        rf"Cross-validated file-level accuracy {number} \+- {number} \(window-level {number} "
        rf"\+- {number}\) over 3 folds of 30 files, in [\d.]+ s\.",
        lines[4],
    ), lines[4]


def test_cv_refuses_a_single_fold(capsys: pytest.CaptureFixture[str], data: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_cli(capsys, "cv", str(data), "--folds", "1")
    assert exit_.value.code == 2
    assert "argument --folds: must be a whole number >= 2; got '1'" in capsys.readouterr().err
