"""Training history: per-epoch metrics, saved as ``training_hist.json``."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from melgenre._files import atomic_write
from melgenre._typing import PathLike
from melgenre.errors import MelgenreError

__all__ = ["HISTORY_FILE", "History", "lower_is_better"]

#: The file name :class:`melgenre.Trainer` writes a history to in its run directory.
HISTORY_FILE = "training_hist.json"

_FORMAT = "melgenre.history"
_VERSION = 1


def lower_is_better(metric: str) -> bool:
    """Keras' "auto" rule: losses and errors go down, every other metric up."""
    return "loss" in metric or "error" in metric


@dataclasses.dataclass(frozen=True)
class History:
    """Per-epoch metrics of a training run.

    Attributes
    ----------
    metrics : dict of str to list of float
        One list per metric, one value per epoch, as Keras names them
        (``"loss"``, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``, ...).
    params : dict
        What the run was: epochs, batch size, steps, seed, ...

    Examples
    --------
    >>> h = History({"loss": [1.2, 0.8], "accuracy": [0.4, 0.7]})
    >>> h.epochs, h.last("accuracy"), h.best("loss")
    (2, 0.7, 0.8)
    """

    metrics: dict[str, list[float]]
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        lengths = {len(v) for v in self.metrics.values()}
        if len(lengths) > 1:
            raise MelgenreError(
                f"History metrics must have one value per epoch; got lengths "
                f"{ {k: len(v) for k, v in self.metrics.items()} }."
            )

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(next(iter(self.metrics.values()), []))

    def last(self, metric: str) -> float:
        """The metric's value after the last epoch."""
        return self._values(metric)[-1]

    def best(self, metric: str) -> float:
        """The metric's best value: lowest for losses, highest otherwise."""
        values = [v for v in self._values(metric) if not math.isnan(v)]
        return min(values) if lower_is_better(metric) else max(values)

    def _values(self, metric: str) -> list[float]:
        if metric not in self.metrics or not self.metrics[metric]:
            raise KeyError(f"No metric {metric!r} in this history (has {sorted(self.metrics)}).")
        return self.metrics[metric]

    @classmethod
    def from_keras(cls, history: Any, params: dict[str, Any] | None = None) -> History:
        """From a ``keras.callbacks.History`` (what ``model.fit`` returns)."""
        metrics = {k: [float(v) for v in values] for k, values in history.history.items()}
        return cls(metrics, dict(params or {}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, as written by :meth:`save`."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "epochs": self.epochs,
            "metrics": self.metrics,
            "params": self.params,
        }

    def save(self, path: PathLike) -> Path:
        """Write the history as JSON, atomically; return the path."""
        return atomic_write(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: PathLike) -> History:
        """Read a history written by :meth:`save`.

        Also reads the plain ``{"loss": [...], "accuracy": [...]}`` dict that
        ``json.dump(model.fit(...).history, f)`` writes, as the classic
        notebook does.

        Raises
        ------
        MelgenreError
            The file is missing, not JSON, or not a history.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise MelgenreError(f"No training history at {str(path)!r}.") from None
        except (OSError, ValueError) as exc:
            raise MelgenreError(f"Cannot read training history {str(path)!r}: {exc}") from exc
        if isinstance(data, dict) and data.get("format") == _FORMAT:
            if int(data.get("version", 0)) > _VERSION:
                raise MelgenreError(
                    f"{str(path)!r} was written by a newer melgenre (history format "
                    f"{data['version']}, this version reads {_VERSION}); upgrade melgenre."
                )
            metrics, params = data.get("metrics"), data.get("params", {})
        else:
            metrics, params = data, {}
        if not isinstance(metrics, dict) or not isinstance(params, dict):
            raise MelgenreError(
                f"{str(path)!r} is not a training history: expected metric names mapped to "
                "lists of numbers."
            )
        valid = all(
            isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)
            for v in metrics.values()
        )
        if not valid:
            raise MelgenreError(
                f"{str(path)!r} is not a training history: expected metric names mapped to "
                "lists of numbers."
            )
        return cls({str(k): [float(x) for x in v] for k, v in metrics.items()}, dict(params))
