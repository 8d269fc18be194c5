"""Pieces of one :meth:`Trainer.fit` run: the epoch log, class weights, data sharding.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from melgenre._tf import keras
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError
from melgenre.history import History

__all__ = ["EpochLog", "class_weights", "files_hash", "shard_by_data"]


def shard_by_data(dataset: Any) -> Any:
    """Let a multi-worker strategy shard a generator-fed dataset by batch (it has no files)."""
    if dataset is None:
        return None
    from melgenre._tf import tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def files_hash(features: FeatureSet) -> str:
    """BLAKE2b of the sorted paths of the files that gave ``features`` windows."""
    used = sorted(features.paths[i] for i in np.unique(features.groups))
    return hashlib.blake2b("\n".join(used).encode(), digest_size=16).hexdigest()


class EpochLog(keras.callbacks.Callback):
    """Times epochs and writes the history so far after each one (nothing is lost on a crash)."""

    def __init__(self, path: Path | None, params: dict[str, Any]) -> None:
        super().__init__()
        self.path = path
        self.run_params = params
        self.metrics: dict[str, list[float]] = {}
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)
        for name, value in (logs or {}).items():
            self.metrics.setdefault(name, []).append(float(value))
        if self.path is not None:
            self.history().save(self.path)

    def history(self) -> History:
        params = dict(self.run_params, epoch_seconds=list(self.seconds))
        return History({k: list(v) for k, v in self.metrics.items()}, params)


def class_weights(
    class_weight: str | Mapping[str | int, float] | None, train: FeatureSet
) -> dict[int, float] | None:
    """``Trainer(class_weight=...)`` as Keras wants it: label index -> weight."""
    if class_weight is None:
        return None
    n_classes = len(train.classes)
    if isinstance(class_weight, str):  # "balanced", checked in __init__
        counts = np.bincount(train.labels, minlength=n_classes)
        return {
            i: float(len(train) / (n_classes * c)) if c else 1.0
            for i, c in enumerate(counts.tolist())
        }
    weights = {i: 1.0 for i in range(n_classes)}
    for key, value in class_weight.items():
        index = train.classes.index(key) if isinstance(key, str) and key in train.classes else key
        if not isinstance(index, int) or not 0 <= index < n_classes:
            raise ConfigError(
                f"class_weight names {key!r}, which is not one of the classes "
                f"{list(train.classes)}.",
                parameter="class_weight",
                value=key,
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(
                f"class_weight[{key!r}] must be a positive number. Got {value!r} instead.",
                parameter="class_weight",
                value=value,
            )
        weights[index] = float(value)
    return weights
