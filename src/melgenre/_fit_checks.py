"""The :class:`~melgenre.Trainer`'s checks: its settings, and the sets it is given.

Each raises a melgenre error naming what is wrong before any work starts.
Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from melgenre._files import writable_folder
from melgenre._tf import keras
from melgenre._validation import check_choice, check_int, check_real, checked_rows
from melgenre.augment import Augmentation
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError, MelgenreTypeError

__all__ = ["check_features", "check_fit", "check_settings", "checked_windows"]

logger = logging.getLogger(__name__)


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
    checked_windows(f"The {role} set", model, features)
    outputs = int(model.output_shape[-1])
    if len(features.classes) != outputs:
        raise ConfigError(
            f"The {role} set has {len(features.classes)} classes but the model has "
            f"{outputs} outputs. Build the model with num_classes=len(dataset.classes).",
            parameter="num_classes",
            value=outputs,
        )


def checked_windows(owner: str, model: keras.Model, features: FeatureSet | Any) -> Any:
    """The windows of ``features`` (a FeatureSet or an array), checked for ``model``.

    Shape ``(n, *model.input_shape[1:])``, numeric and finite (:func:`checked_rows`; a
    FeatureSet's bad window is named by its file); a memory map stays on disk.
    """
    shape = tuple(model.input_shape[1:])
    if not isinstance(features, FeatureSet):
        return checked_rows(owner, "windows", features, shape)
    groups, paths = features.groups, features.paths
    return checked_rows(
        owner, "windows", features.x, shape, source=lambda i: f" (from {paths[groups[i]]!r})"
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
    counts = np.bincount(np.asarray(train.labels), minlength=len(train.classes))
    unseen = [name for name, n in zip(train.classes, counts.tolist(), strict=True) if not n]
    if unseen:  # a model can be fitted, but it will never answer these
        logger.warning(
            "The training set holds no windows of %s (%s): the model cannot learn %s. Their "
            "files failed to load or were all put in other sets.",
            "class" if len(unseen) == 1 else "classes",
            ", ".join(unseen),
            "it" if len(unseen) == 1 else "them",
        )
    if run_dir is not None and (why := writable_folder(run_dir)) is not None:
        raise ConfigError(  # now, not at the end of the first epoch
            f"Trainer cannot write its run directory {str(run_dir)!r} ({why}); choose "
            "another run_dir.",
            parameter="run_dir",
            value=str(run_dir),
        )
