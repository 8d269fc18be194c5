from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from melgenre import History
from melgenre.errors import MelgenreError, SaveError


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


def test_a_save_that_cannot_be_written_says_where_and_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    history = History({"loss": [1.0, 0.5]}, {"epochs": 2})
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SaveError, match=r"a-file/h\.json'.*'.*a-file' is a file") as caught:
        history.save(blocker / "h.json")
    assert isinstance(caught.value, OSError)  # still the error a caller caught before
    assert caught.value.path == str(blocker / "h.json")
    with pytest.raises(SaveError, match="it is a folder"):
        history.save(tmp_path)
    # a write that fails halfway (a full disk) leaves the earlier file and no temporary one
    saved = history.save(tmp_path / "h.json")
    before = saved.read_bytes()

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(SaveError, match="No space left on device; what was there before is"):
        History({"loss": [0.1]}, {}).save(saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "h.json"]
