"""Pieces of :class:`Trainer`, as functions and small classes.

Set checks, the epoch log, class weights, early stopping's set-up, the run's record,
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
from melgenre._validation import check_choice, check_int, check_real
from melgenre.augment import Augmentation
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError, MelgenreTypeError
from melgenre.history import History, lower_is_better

if TYPE_CHECKING:
    from melgenre.plan import TrainingPlan
    from melgenre.training import Trainer

__all__ = [
    "EpochLog",
    "SmoothedMetric",
    "check_features",
    "check_fit",
    "check_settings",
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


def check_features(model: keras.Model, features: FeatureSet, role: str) -> None:
    """Raise unless ``features`` is a :class:`FeatureSet` whose windows and classes fit."""
    if not isinstance(features, FeatureSet):
        raise MelgenreTypeError(
            f"Trainer expects {role} as a melgenre FeatureSet (from "
            f"FolderDataset.features(...)), got {type(features).__name__}."
        )
    expected = tuple(model.input_shape[1:])
    if tuple(features.x.shape[1:]) != expected:
        raise ConfigError(
            f"The {role} windows have shape {tuple(features.x.shape[1:])} but the model "
            f"expects {expected}. Build the model with input_shape=featurizer.output_shape.",
            parameter="input_shape",
            value=tuple(features.x.shape[1:]),
        )
    outputs = int(model.output_shape[-1])
    if len(features.classes) != outputs:
        raise ConfigError(
            f"The {role} set has {len(features.classes)} classes but the model has "
            f"{outputs} outputs. Build the model with num_classes=len(dataset.classes).",
            parameter="num_classes",
            value=outputs,
        )


def check_fit(
    model: keras.Model,
    train: FeatureSet,
    validation: FeatureSet | None,
    *,
    resume: bool,
    run_dir: Path | None,
) -> None:
    """Raise a ConfigError unless ``Trainer.fit``'s sets fit the model and each other."""
    check_features(model, train, "training")
    if validation is not None:
        check_features(model, validation, "validation")
        if tuple(validation.classes) != tuple(train.classes):
            raise ConfigError(
                "The validation set's classes differ from the training set's: "
                f"{list(validation.classes)} vs {list(train.classes)}.",
                parameter="validation",
            )
    if resume and run_dir is None:
        raise ConfigError(
            "fit(resume=True) needs the run directory the checkpoints are in: "
            "Trainer(run_dir=...).",
            parameter="resume",
        )


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
    outputs = [
        np.asarray(model.predict_on_batch(np.asarray(x[i : i + step])), dtype=np.float32)
        for i in range(0, len(x), step)
    ]
    n_classes = int(model.output_shape[-1])
    return np.concatenate(outputs) if outputs else np.zeros((0, n_classes), np.float32)


def check_settings(
    *,
    model: Any,
    epochs: Any,
    batch_size: Any,
    learning_rate: Any,
    patience: Any,
    class_weight: Any,
    verbose: Any,
    augmentation: Any,
    strategy: Any,
    schedule: Any,
    smoothing: Any,
    target_updates: Any,
) -> None:
    """Raise a melgenre error naming the first of :class:`Trainer`'s settings that is wrong."""
    if not isinstance(model, keras.Model):
        raise MelgenreTypeError(f"Trainer expects a keras.Model, got {type(model).__name__}.")
    check_int("Trainer", "epochs", epochs, low=1, allow_none=True)
    check_int("Trainer", "batch_size", batch_size, low=1)
    check_real("Trainer", "learning_rate", learning_rate, low=0.0, closed_low=False)
    check_int("Trainer", "patience", patience, low=0, allow_none=True)
    check_choice("Trainer", "schedule", schedule, ("cosine", "constant"))
    check_int("Trainer", "target_updates", target_updates, low=1)
    check_real("Trainer", "smoothing", smoothing, low=0.0, high=0.99)
    if (
        class_weight is not None
        and class_weight != "balanced"
        and not isinstance(class_weight, Mapping)
    ):
        raise ConfigError(
            "The 'class_weight' parameter of Trainer must be 'balanced', a dict of class "
            f"(name or index) to weight, or None. Got {class_weight!r} instead.",
            parameter="class_weight",
            value=class_weight,
        )
    check_choice("Trainer", "verbose", verbose, ("auto", 0, 1, 2))
    if augmentation is not None and not isinstance(augmentation, Augmentation):
        raise MelgenreTypeError(
            "The 'augmentation' parameter of Trainer must be a melgenre.Augmentation or "
            f"None, got {type(augmentation).__name__}."
        )
    if strategy is not None:
        from melgenre._tf import tf

        if not isinstance(strategy, tf.distribute.Strategy):
            raise MelgenreTypeError(
                "The 'strategy' parameter of Trainer must be a tf.distribute.Strategy or "
                f"None, got {type(strategy).__name__}."
            )


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
