from __future__ import annotations

import json
from pathlib import Path

import pytest

from melgenre import History
from melgenre.errors import MelgenreError


def test_save_load_round_trip(tmp_path: Path) -> None:
    history = History(
        {"loss": [1.0, 0.5, 0.7], "val_accuracy": [0.3, 0.6, 0.5]}, {"epochs": 3, "seed": 1}
    )
    path = history.save(tmp_path / "run" / "training_hist.json")
    loaded = History.load(path)
    assert loaded == history
    assert (
        loaded.epochs,
        loaded.best("loss"),
        loaded.best("val_accuracy"),
        loaded.last("loss"),
    ) == (3, 0.5, 0.6, 0.7)
    assert json.loads(path.read_text())["format"] == "melgenre.history"
    assert not list(path.parent.glob("*.tmp"))


def test_loads_the_classic_notebooks_plain_dict(tmp_path: Path) -> None:
    path = tmp_path / "training_hist.json"
    path.write_text(
        json.dumps(
            {
                "loss": [2, 1],
                "accuracy": [0.1, 0.5],
                "val_loss": [2.1, 1.5],
                "val_accuracy": [0.1, 0.4],
            }
        )
    )
    history = History.load(path)
    assert history.metrics["accuracy"] == [0.1, 0.5]
    assert history.params == {}


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(MelgenreError, match="No training history at"):
        History.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MelgenreError, match="Cannot read training history"):
        History.load(bad)
    bad.write_text(json.dumps({"loss": "low"}))
    with pytest.raises(MelgenreError, match="is not a training history"):
        History.load(bad)
    bad.write_text(json.dumps({"format": "melgenre.history", "version": 99, "metrics": {}}))
    with pytest.raises(MelgenreError, match="newer melgenre"):
        History.load(bad)
    with pytest.raises(MelgenreError, match="one value per epoch"):
        History({"loss": [1.0], "accuracy": [0.1, 0.2]})
    with pytest.raises(KeyError, match="No metric 'val_loss'"):
        History({"loss": [1.0]}).best("val_loss")
