"""Evaluation at file and window level: :class:`EvaluationReport`.

A window-level accuracy alone misleads: long files weigh more, and a model
that is right on most windows of a file can still be wrong about the file.
melgenre reports both, side by side. The file-level decision averages the
window probabilities of each file (the ``groups`` of a :class:`FeatureSet`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from melgenre._typing import FloatArray, IntArray
from melgenre._validation import counted
from melgenre.data import FeatureSet, FolderDataset
from melgenre.errors import ConfigError, MelgenreError, MelgenreTypeError

if TYPE_CHECKING:
    from melgenre._typing import PathLike
    from melgenre.preprocessing import Preprocessing

__all__ = [
    "EvaluationReport",
    "check_known",
    "evaluate_features",
    "evaluate_probabilities",
    "features_to_evaluate",
    "file_probabilities",
]


def file_probabilities(
    probabilities: npt.NDArray[np.floating[Any]], groups: IntArray
) -> tuple[IntArray, npt.NDArray[np.float64]]:
    """Average window probabilities per file.

    Returns
    -------
    files : np.ndarray [shape=(n_files,)]
        The file indices, sorted.
    mean : np.ndarray [shape=(n_files, n_classes)]
        The mean probability of each class over each file's windows.
    """
    files, inverse = np.unique(groups, return_inverse=True)
    sums = np.zeros((len(files), probabilities.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, probabilities)
    counts = np.bincount(inverse, minlength=len(files)).astype(np.float64)
    return files, sums / counts[:, None]


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """File-level and window-level accuracy, per-class scores and confusion matrix.

    Attributes
    ----------
    classes : list of str
    file_accuracy, window_accuracy : float
        Fraction of files (window probabilities averaged) and of windows
        classified correctly.
    n_files, n_windows : int
    confusion_matrix : list of list of int
        File level; rows are true classes, columns predicted ones.
    window_confusion_matrix : list of list of int
    per_class : dict
        File-level ``precision``, ``recall``, ``f1`` and ``support`` per class.
    """

    classes: list[str]
    file_accuracy: float
    window_accuracy: float
    n_files: int
    n_windows: int
    confusion_matrix: list[list[int]]
    window_confusion_matrix: list[list[int]]
    per_class: dict[str, dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        width = max(len(c) for c in self.classes)
        lines = [
            f"file-level accuracy   {self.file_accuracy:7.2%}  ({counted(self.n_files, 'file')})",
            f"window-level accuracy {self.window_accuracy:7.2%}  "
            f"({counted(self.n_windows, 'window')})",
            "",
            f"{'class':<{width}}  precision  recall     f1  support",
        ]
        for label in self.classes:
            s = self.per_class[label]
            lines.append(
                f"{label:<{width}}  {s['precision']:9.3f} {s['recall']:7.3f} {s['f1']:6.3f} "
                f"{int(s['support']):8d}"
            )
        return "\n".join(lines)


def evaluate_probabilities(
    probabilities: npt.ArrayLike,
    labels: npt.ArrayLike,
    groups: npt.ArrayLike,
    classes: Sequence[str],
    *,
    file_probs: npt.ArrayLike | None = None,
) -> EvaluationReport:
    """Build an :class:`EvaluationReport` from window probabilities.

    Parameters
    ----------
    probabilities : array [shape=(n_windows, n_classes)]
        The model's output for each window.
    labels : array of int [shape=(n_windows,)]
        True label index of each window.
    groups : array of int [shape=(n_windows,)]
        The file each window belongs to (``FeatureSet.groups``).
    classes : sequence of str
        Class names by label index.
    file_probs : array [shape=(n_files, n_classes)], optional
        Each file's probabilities, in the order of the sorted file indices;
        default the mean of its windows' (:func:`file_probabilities`).

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.45, 0.55], [0.2, 0.8]])
    >>> report = evaluate_probabilities(probs, labels=[0, 0, 0, 1], groups=[0, 0, 0, 1],
    ...                                 classes=["a", "b"])
    >>> report.window_accuracy, report.file_accuracy
    (0.5, 1.0)
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    probs = np.asarray(probabilities, dtype=np.float64)
    labels_ = np.asarray(labels, dtype=np.int64)
    groups_ = np.asarray(groups, dtype=np.int64)
    n_classes = len(classes)
    if probs.ndim != 2 or probs.shape[1] != n_classes:
        raise MelgenreError(
            f"Expected probabilities of shape (n_windows, {n_classes}); got {probs.shape}."
        )
    if not len(probs) == len(labels_) == len(groups_) or len(probs) == 0:
        raise MelgenreError(
            "probabilities, labels and groups must have the same, non-zero length; got "
            f"{len(probs)}, {len(labels_)} and {len(groups_)}."
        )
    index = list(range(n_classes))
    window_pred = probs.argmax(axis=1)
    files, mean = file_probabilities(probs, groups_)
    if file_probs is not None:
        mean = np.asarray(file_probs, dtype=np.float64)
        if mean.shape != (len(files), n_classes):
            raise MelgenreError(
                f"Expected file probabilities of shape ({len(files)}, {n_classes}); "
                f"got {mean.shape}."
            )
    _, first = np.unique(groups_, return_index=True)
    file_true = labels_[first]
    file_pred = mean.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        file_true, file_pred, labels=index, zero_division=0
    )
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(classes)
    }
    return EvaluationReport(
        classes=list(classes),
        file_accuracy=float(np.mean(file_pred == file_true)),
        window_accuracy=float(np.mean(window_pred == labels_)),
        n_files=len(files),
        n_windows=len(probs),
        confusion_matrix=confusion_matrix(file_true, file_pred, labels=index).tolist(),
        window_confusion_matrix=confusion_matrix(labels_, window_pred, labels=index).tolist(),
        per_class=per_class,
    )


def evaluate_features(
    predict_proba: Callable[[FloatArray], FloatArray],
    features: FeatureSet,
    classes: Sequence[str],
    *,
    batch_size: int = 256,
    clip_head: Any = None,
    statistics_head: Any = None,
) -> EvaluationReport:
    """Evaluate a classifier over ``features`` batch by batch (memory-mapped sets stay on disk).

    Parameters
    ----------
    predict_proba : callable
        Window probabilities ``(n, len(classes))`` for a batch of windows;
        with ``clip_head``, each row continues with the window's embedding.
    features : FeatureSet
        Its classes must be among ``classes`` (they may be fewer, or ordered
        differently: labels are mapped by name).
    classes : sequence of str
        The classifier's labels, by output index.
    batch_size : int > 0, default=256
    clip_head : melgenre.pooling.ClipHead, optional
        Gives each file's probabilities from its windows' embeddings instead
        of the mean of their probabilities.
    statistics_head : melgenre.fusion.StatisticsHead, optional
        Its probabilities from each file's clip statistics, raised to its
        ``weight``, multiply the file's (:func:`melgenre.fusion.fuse`).

    Raises
    ------
    ConfigError
        ``features`` has classes the classifier does not know.
    """
    classes = list(classes)
    check_known(features.classes, classes)
    to_ours = np.array([classes.index(c) for c in features.classes], dtype=np.int64)
    parts = [predict_proba(batch) for batch in features.batches(batch_size)]
    outputs = np.concatenate(parts) if parts else np.zeros((0, len(classes)), np.float32)
    probabilities, file_probs = outputs[:, : len(classes)], None
    if clip_head is not None and len(outputs):
        file_probs = clip_head.predict_files(outputs[:, len(classes) :], features.groups)
    if statistics_head is not None and len(outputs):
        from melgenre.fusion import fuse

        if file_probs is None:
            _, file_probs = file_probabilities(probabilities, features.groups)
        _, statistics = statistics_head.statistics.transform(features)
        file_probs = fuse(
            file_probs, statistics_head.predict_proba(statistics), statistics_head.weight
        )
    return evaluate_probabilities(
        probabilities, to_ours[features.labels], features.groups, classes, file_probs=file_probs
    )


def check_known(data_classes: Sequence[str], classes: Sequence[str]) -> None:
    """Raise a :class:`ConfigError` naming the data's classes the model does not know."""
    unknown = [c for c in data_classes if c not in classes]
    if unknown:
        raise ConfigError(
            f"The data has classes {unknown} that the model does not know "
            f"(its labels: {list(classes)}).",
            parameter="classes",
        )


def features_to_evaluate(
    data: Any,
    preprocessing: Preprocessing,
    cache_dir: PathLike | None,
    workers: int | None,
    progress: bool,
    labels: Sequence[str] | None = None,
) -> FeatureSet:
    """``data`` as a :class:`FeatureSet` of ``preprocessing``'s windows (Trainer and Predictor).

    A dataset is extracted, once its classes are known to be among ``labels`` (when
    given: a class the model does not know is reported before hours of extraction); a
    feature set is checked against the window shape.
    """
    if isinstance(data, FolderDataset):
        if labels is not None:
            check_known(data.classes, labels)
        return data.features(preprocessing, cache_dir=cache_dir, workers=workers, progress=progress)
    if not isinstance(data, FeatureSet):
        raise MelgenreTypeError(
            f"evaluate expects a FolderDataset or a FeatureSet, got {type(data).__name__}."
        )
    if tuple(data.x.shape[1:]) != tuple(preprocessing.output_shape):
        raise ConfigError(
            f"The feature set's windows have shape {tuple(data.x.shape[1:])} but this model "
            f"takes {tuple(preprocessing.output_shape)}; extract them with its preprocessing.",
            parameter="data",
        )
    return data
