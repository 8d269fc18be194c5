"""What a :class:`~melgenre.Predictor` answers: :class:`Prediction`, :class:`WindowPrediction`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from melgenre._typing import FloatArray

__all__ = ["AGGREGATIONS", "Prediction", "WindowPrediction", "build_prediction"]


def _mean(p: FloatArray) -> FloatArray:
    return np.asarray(p.mean(axis=0), dtype=np.float32)


def _max(p: FloatArray) -> FloatArray:
    peak = p.max(axis=0)
    return np.asarray(peak / peak.sum(), dtype=np.float32)


def _vote(p: FloatArray) -> FloatArray:
    votes = np.bincount(p.argmax(axis=1), minlength=p.shape[1]).astype(np.float32)
    return np.asarray(votes / votes.sum(), dtype=np.float32)


#: How window probabilities become a file's probabilities: the mean of the
#: windows' probabilities (default), the per-class maximum (renormalised), or
#: the fraction of windows voting for each class.
AGGREGATIONS: dict[str, Callable[[FloatArray], FloatArray]] = {
    "mean": _mean,
    "max": _max,
    "vote": _vote,
}


@dataclasses.dataclass(frozen=True)
class WindowPrediction:
    """The model's answer for one window of a recording."""

    start: float
    end: float
    label: str
    confidence: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """The answer for one recording.

    Attributes
    ----------
    source : str
        The file (or ``"<bytes>"``, ``"<array>"``, ...).
    label : str
        The most probable class.
    confidence : float
        Its aggregated probability.
    probabilities : dict of str to float
        Every class's aggregated probability, in label order.
    windows : tuple of WindowPrediction
        The timeline: each window's start and end (seconds) and probabilities.
    """

    source: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    windows: tuple[WindowPrediction, ...]

    def top_k(self, k: int = 3) -> list[dict[str, Any]]:
        """The ``k`` most probable classes: ``[{"label": ..., "score": ...}, ...]``."""
        ranked = sorted(self.probabilities.items(), key=lambda item: -item[1])
        return [{"label": label, "score": score} for label, score in ranked[:k]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return dataclasses.asdict(self)


def build_prediction(
    source: str,
    probabilities: FloatArray,
    times: FloatArray,
    labels: Sequence[str],
    aggregation: str,
) -> Prediction:
    """A :class:`Prediction` from window probabilities ``(n, n_labels)`` and times ``(n, 2)``."""
    aggregated = AGGREGATIONS[aggregation](probabilities)
    best = int(np.argmax(aggregated))
    timeline = []
    for (start, end), row in zip(times.tolist(), probabilities, strict=True):
        k = int(np.argmax(row))
        timeline.append(
            WindowPrediction(
                start=float(start),
                end=float(end),
                label=labels[k],
                confidence=float(row[k]),
                probabilities=dict(zip(labels, map(float, row), strict=True)),
            )
        )
    return Prediction(
        source=source,
        label=labels[best],
        confidence=float(aggregated[best]),
        probabilities=dict(zip(labels, map(float, aggregated), strict=True)),
        windows=tuple(timeline),
    )
