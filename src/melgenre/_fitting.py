"""Pieces of :class:`Trainer`, as functions and small classes.

The epoch log, class weights, early stopping's set-up, the run's record,
placement and sharding under a distribution strategy, batched prediction.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._checkpoint import ResumableEarlyStopping
from melgenre._tf import keras
from melgenre._typing import FloatArray
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError
from melgenre.history import History, lower_is_better

if TYPE_CHECKING:
    from melgenre.plan import TrainingPlan
    from melgenre.training import Trainer

__all__ = [
    "EpochLog",
    "SmoothedMetric",
    "class_weights",
    "early_stopper",
    "files_hash",
    "final_history",
    "place_in_scope",
    "predict_in_batches",
    "run_params",
    "shard_by_data",
    "stopping",
]

logger = logging.getLogger(__name__)


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


class SmoothedMetric(keras.callbacks.Callback):
    """Adds ``<monitor>_smoothed``, an exponential moving average of ``monitor``, to the logs.

    Each epoch's value weighs ``1 - smoothing``. The average so far is read back from
    the run's :class:`EpochLog` (which records it), so a resumed run continues it.
    Placed before the log and early stopping, which then see the smoothed value.
    """

    def __init__(self, monitor: str, smoothing: float, log: EpochLog) -> None:
        super().__init__()
        self.monitor, self.smoothing, self.log = monitor, smoothing, log
        self.name = f"{monitor}_smoothed"

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None or self.monitor not in logs:
            return
        value = float(logs[self.monitor])
        earlier = self.log.metrics.get(self.name)
        if earlier and math.isfinite(earlier[-1]):
            value = self.smoothing * earlier[-1] + (1 - self.smoothing) * value
        logs[self.name] = value


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


def place_in_scope(model: keras.Model, strategy: Any) -> keras.Model:
    """``model``, or its copy rebuilt inside ``strategy``'s scope when built outside it."""
    if strategy is None or model.distribute_strategy is strategy:
        return model
    try:
        config = model.get_config()
        with strategy.scope():
            clone = type(model).from_config(config)
        clone.set_weights(model.get_weights())
    except Exception as exc:
        raise ConfigError(
            f"Cannot rebuild the {type(model).__name__} inside the distribution "
            f"strategy's scope ({exc}). Build it there yourself: "
            "`with strategy.scope(): model = ...`.",
            parameter="strategy",
        ) from exc
    logger.info("Rebuilt the model inside %s's scope.", type(strategy).__name__)
    return clone


def predict_in_batches(model: keras.Model, x: Any, step: int, strategy: Any) -> FloatArray:
    """Probabilities of windows ``x`` (an array or memory map), ``step`` windows per call."""
    if strategy is not None:
        # predict_on_batch would hand every replica the whole batch; predict splits it
        from melgenre._tf import tf

        batches = tf.data.Dataset.from_generator(
            lambda: (np.asarray(x[i : i + step]) for i in range(0, len(x), step)),
            output_signature=tf.TensorSpec(shape=(None, *x.shape[1:]), dtype=tf.float32),
        )
        return np.asarray(model.predict(shard_by_data(batches), verbose=0), dtype=np.float32)
    if len(x) == 0:
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    if len(x) <= step:  # one call: nothing to pad for
        return np.asarray(model.predict_on_batch(np.asarray(x)), dtype=np.float32)
    return np.concatenate(
        [_predict_padded(model, np.asarray(x[i : i + step]), step) for i in range(0, len(x), step)]
    )


def _predict_padded(model: keras.Model, batch: FloatArray, step: int) -> FloatArray:
    """``model``'s answer for ``batch``, a short last batch padded to ``step`` windows.

    Every call then has one shape, so Keras traces its predict function once a
    model rather than twice (and TensorFlow does not warn of retracing in a loop
    over many models, as cross-validation is).
    """
    n = len(batch)
    if n < step:
        batch = np.concatenate([batch, np.zeros((step - n, *batch.shape[1:]), batch.dtype)])
    return np.asarray(model.predict_on_batch(batch), dtype=np.float32)[:n]


def early_stopper(
    use: bool, monitor: str, patience: int, callbacks: list[Any]
) -> ResumableEarlyStopping | None:
    """The trainer's early stopping (best weights restored), unless off or the user has one."""
    if not use or any(isinstance(c, keras.callbacks.EarlyStopping) for c in callbacks):
        return None
    mode = "min" if lower_is_better(monitor) else "max"
    return ResumableEarlyStopping(
        monitor=monitor, mode=mode, patience=patience, restore_best_weights=True
    )


def stopping(
    trainer: Trainer, validation: FeatureSet | None, patience: int
) -> tuple[str, ResumableEarlyStopping | None, dict[str, Any] | None]:
    """The metric early stopping watches, the stopper (or None) and its record for the history.

    On by default when there is a validation set; the smoothed metric when
    ``trainer.smoothing`` is set.
    """
    use = trainer.early_stopping if trainer.early_stopping is not None else validation is not None
    if use and validation is None and trainer.monitor.startswith("val_"):
        raise ConfigError(
            f"Early stopping on {trainer.monitor!r} needs a validation set: pass "
            "fit(train, validation=...) or Trainer(early_stopping=False).",
            parameter="early_stopping",
        )
    watched = f"{trainer.monitor}_smoothed" if use and trainer.smoothing else trainer.monitor
    stopper = early_stopper(use, watched, patience, trainer.callbacks)
    record = (
        {"monitor": watched, "patience": patience, "smoothing": trainer.smoothing}
        if stopper is not None
        else None
    )
    return watched, stopper, record


def run_params(
    trainer: Trainer,
    train: FeatureSet,
    validation: FeatureSet | None,
    weights: dict[int, float] | None,
    train_hash: str,
    plan: TrainingPlan,
) -> dict[str, Any]:
    """The run's settings and data sizes, recorded in ``training_hist.json``."""
    augmentation, model, strategy = trainer.augmentation, trainer.model, trainer.strategy
    return {
        "epochs": plan.epochs,
        "plan": plan.to_dict(),
        "batch_size": trainer.batch_size,
        "learning_rate": trainer.learning_rate,
        "seed": trainer.seed,
        "model": model.name,
        "model_params": int(model.count_params()),
        "train_windows": len(train),
        "train_files": train.n_files,
        "validation_windows": len(validation) if validation is not None else 0,
        "validation_files": validation.n_files if validation is not None else 0,
        "classes": list(train.classes),
        "train_files_hash": train_hash,
        "class_weight": (
            {train.classes[i]: w for i, w in weights.items()} if weights is not None else None
        ),
        "augmentation": (
            {"class_name": type(augmentation).__name__, **augmentation.get_config()}
            if augmentation is not None
            else None
        ),
        "strategy": type(strategy).__name__ if strategy is not None else None,
        # distribute_strategy exists on the TensorFlow backend only
        "replicas": int(
            getattr(getattr(model, "distribute_strategy", None), "num_replicas_in_sync", 1)
        ),
    }


def final_history(
    log: EpochLog,
    stopper: keras.callbacks.EarlyStopping | None,
    state: dict[str, Any] | None,
    monitor: str,
    path: Path | None,
) -> History:
    """The run's :class:`History`, saved to ``path``, with the best epoch early stopping kept.

    ``state`` is the checkpoint of a finished run that was restored, not retrained.
    """
    if stopper is not None and stopper.best_weights is not None:
        log.run_params["best_epoch"] = int(stopper.best_epoch) + 1
        log.run_params["best_" + monitor] = float(stopper.best)
    elif state is not None and "best_epoch" in state["history"]["params"]:
        log.run_params["best_epoch"] = state["history"]["params"]["best_epoch"]
    history = log.history()
    if path is not None:
        history.save(path)
    return history
