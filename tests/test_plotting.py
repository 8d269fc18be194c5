from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from melgenre import Audio, History, MelFeaturizer, plotting
from melgenre.errors import MelgenreError, SaveError
from melgenre.evaluation import evaluate_probabilities
from signals import chirp

PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 2000


def test_history_curves_from_a_history_and_from_its_file(tmp_path: Path) -> None:
    history = History(
        {
            "loss": [1.0, 0.6, 0.4],
            "accuracy": [0.4, 0.7, 0.8],
            "val_loss": [1.1, 0.8, 0.7],
            "val_accuracy": [0.3, 0.6, 0.65],
        }
    )
    assert is_png(plotting.plot_history(history, tmp_path / "curves.png"))
    saved = history.save(tmp_path / "training_hist.json")
    assert is_png(plotting.plot_history(saved, tmp_path / "from-file" / "curves.png"))
    assert sorted(p.name for p in (tmp_path / "from-file").iterdir()) == ["curves.png"]
    with pytest.raises(SaveError, match=r"'.*training_hist\.json' is a file"):
        plotting.plot_history(history, saved / "curves.png")  # a folder that is a file


def test_confusion_matrix(tmp_path: Path) -> None:
    report = evaluate_probabilities(
        np.eye(3)[[0, 1, 2, 2]], [0, 1, 2, 1], [0, 1, 2, 3], ["a", "b", "c"]
    )
    assert is_png(plotting.plot_confusion_matrix(report, tmp_path / "cm.png"))
    assert is_png(
        plotting.plot_confusion_matrix(
            report, tmp_path / "cm-w.png", level="window", normalize=False
        )
    )
    with pytest.raises(MelgenreError, match="level must be"):
        plotting.plot_confusion_matrix(report, tmp_path / "x.png", level="clip")


def test_spectrogram_with_window_boundaries(tmp_path: Path) -> None:
    audio = Audio(
        chirp(fmin=100.0, fmax=4000.0, duration=7.0, sample_rate=22050), 22050, "sweep.wav"
    )
    assert is_png(plotting.plot_spectrogram(audio, MelFeaturizer(), tmp_path / "spec.png"))


def test_timeline_of_window_probabilities(tmp_path: Path) -> None:
    from melgenre import Prediction, WindowPrediction

    windows = [
        WindowPrediction(2.0 * i, 2.0 * i + 3.0, label, 0.8, {"a": pa, "b": 1 - pa})
        for i, (label, pa) in enumerate([("a", 0.9), ("a", 0.7), ("b", 0.2), ("b", 0.1)])
    ]
    prediction = Prediction("long.wav", "a", 0.48, {"a": 0.48, "b": 0.52}, tuple(windows))
    assert is_png(plotting.plot_timeline(prediction, tmp_path / "timeline.png"))
    empty = Prediction("x.wav", "a", 1.0, {"a": 1.0}, ())
    with pytest.raises(MelgenreError, match="no windows"):
        plotting.plot_timeline(empty, tmp_path / "none.png")


def test_missing_matplotlib_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MelgenreError, match=r'pip install "melgenre\[plot\]"'):
        plotting.plot_history(History({"loss": [1.0]}), tmp_path / "c.png")
