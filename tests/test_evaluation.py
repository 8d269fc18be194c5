from __future__ import annotations

import json

import numpy as np
import pytest

from melgenre.errors import MelgenreError
from melgenre.evaluation import evaluate_probabilities, file_probabilities


def test_hand_made_case_where_file_and_window_level_differ() -> None:
    # file 0 (class a): 3 windows, 2 wrong by a little, 1 right by a lot -> file right
    # file 1 (class b): 2 windows, both right
    # file 2 (class b): 1 window, wrong
    probabilities = np.array(
        [
            [0.45, 0.55],
            [0.40, 0.60],
            [0.99, 0.01],
            [0.10, 0.90],
            [0.30, 0.70],
            [0.80, 0.20],
        ]
    )
    labels = [0, 0, 0, 1, 1, 1]
    groups = [0, 0, 0, 1, 1, 2]
    report = evaluate_probabilities(probabilities, labels, groups, ["a", "b"])
    assert report.window_accuracy == pytest.approx(3 / 6)
    assert report.file_accuracy == pytest.approx(2 / 3)
    assert (report.n_files, report.n_windows) == (3, 6)
    assert report.confusion_matrix == [[1, 0], [1, 1]]
    assert report.window_confusion_matrix == [[1, 2], [1, 2]]
    assert report.per_class["a"] == {
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
    }
    assert report.per_class["b"]["recall"] == 0.5
    data = json.loads(json.dumps(report.to_dict()))
    assert data["file_accuracy"] == pytest.approx(2 / 3)
    text = str(report)
    assert "file-level accuracy    66.67%  (3 files)" in text
    assert "window-level accuracy  50.00%  (6 windows)" in text
    one = evaluate_probabilities(probabilities[:1], labels[:1], [0], ["a", "b"])
    assert "(1 file)\n" in str(one)
    assert "(1 window)\n" in str(one)


def test_file_probabilities_average_per_file() -> None:
    files, mean = file_probabilities(
        np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), np.array([4, 4, 9])
    )
    assert files.tolist() == [4, 9]
    np.testing.assert_allclose(mean, [[0.5, 0.5], [0.5, 0.5]])


def test_input_errors() -> None:
    with pytest.raises(MelgenreError, match=r"shape \(n_windows, 3\)"):
        evaluate_probabilities(np.zeros((2, 2)), [0, 1], [0, 1], ["a", "b", "c"])
    with pytest.raises(MelgenreError, match="same, non-zero length"):
        evaluate_probabilities(np.zeros((2, 2)), [0], [0, 1], ["a", "b"])
