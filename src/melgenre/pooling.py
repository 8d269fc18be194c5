"""Clip-level pooling: :class:`ClipHead`, attention over the window embeddings of a file.

A window model answers for a few seconds at a time; a file's answer is usually
the mean of its windows' probabilities (``aggregation="mean"``). A
:class:`ClipHead` learns that step instead: it scores every window's embedding
(the window model's features before its softmax layer), takes the
attention-weighted mean of the embeddings and classifies it, so informative
windows (a chorus, the word rather than the silence around it) count for more
than the others.

It is trained in a second stage, on the frozen embeddings of the trained window
model (:func:`fit_clip_head`; ``Trainer(pooling="attention")`` does it after
the window model's training). Measured by 5-fold grouped cross-validation
against the window mean of the same window model: see ``docs/defaults.rst``.

Importing this module imports Keras (and TensorFlow).
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from melgenre._tf import keras
from melgenre._typing import FloatArray
from melgenre._validation import check_int, check_real
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError
from melgenre.model import _SeedSequence

__all__ = [
    "ClipHead",
    "check_clip_head",
    "embedding_model",
    "fit_clip_head",
    "pool_files",
    "window_embeddings",
    "with_embeddings",
]

logger = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="melgenre")
class ClipHead(keras.Model):
    """Attention pooling over window embeddings, then a softmax: a file's probabilities.

    Inputs are ``[embeddings, mask]``: ``embeddings`` of shape
    ``(files, windows, embedding_dim)`` and ``mask`` of shape ``(files,
    windows)``, 1 for a real window and 0 for padding (files in a batch may
    have different numbers of windows). Each window gets the score
    ``v . tanh(W e + b)``; the softmax of the scores over a file's windows
    weighs the mean of its embeddings, which a dense softmax layer classifies.

    Parameters
    ----------
    num_classes : int >= 2
    embedding_dim : int > 0
        Size of a window embedding (the input of the window model's last layer).
    units : int > 0, default=64
        Size of the attention scorer's hidden layer.
    dropout : float in [0, 1), default=0.3
        Dropout on the pooled embedding while training.
    seed : int or None, default=None
        Seeds the initializers and dropout.
    name : str, default="clip_head"
    **kwargs
        Passed to :class:`keras.Model`.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre.pooling import ClipHead
    >>> head = ClipHead(num_classes=3, embedding_dim=8, seed=0)
    >>> probabilities = head.predict_file(np.ones((5, 8), np.float32))
    >>> probabilities.shape, round(float(probabilities.sum()), 4)
    ((3,), 1.0)
    """

    def __init__(
        self,
        num_classes: int,
        embedding_dim: int,
        *,
        units: int = 64,
        dropout: float = 0.3,
        seed: int | None = None,
        name: str = "clip_head",
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        check_int(owner, "num_classes", num_classes, low=2)
        check_int(owner, "embedding_dim", embedding_dim, low=1)
        check_int(owner, "units", units, low=1)
        check_real(owner, "dropout", dropout, low=0.0, high=0.99)
        seeds = _SeedSequence(seed)
        embeddings = keras.Input((None, embedding_dim), name="embeddings")
        mask = keras.Input((None,), name="mask")
        hidden = keras.layers.Dense(
            units,
            activation="tanh",
            kernel_initializer=keras.initializers.GlorotUniform(seeds.next()),
            name="attention_hidden",
        )(embeddings)
        scores = keras.layers.Dense(
            1, kernel_initializer=keras.initializers.GlorotUniform(seeds.next()), name="attention"
        )(hidden)
        # padding gets a score of -1e9: no weight after the softmax
        scores = keras.ops.squeeze(scores, -1) + (mask - 1.0) * 1e9
        weights = keras.ops.expand_dims(keras.ops.softmax(scores, axis=1), -1)
        pooled = keras.ops.sum(weights * embeddings, axis=1)
        pooled = keras.layers.Dropout(float(dropout), seed=seeds.next(), name="dropout")(pooled)
        outputs = keras.layers.Dense(
            num_classes,
            activation="softmax",
            kernel_initializer=keras.initializers.GlorotUniform(seeds.next()),
            dtype="float32",  # under a mixed-precision policy too
            name="probabilities",
        )(pooled)
        super().__init__(inputs=[embeddings, mask], outputs=outputs, name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.embedding_dim = int(embedding_dim)
        self.units = int(units)
        self.dropout = float(dropout)
        self.seed = seed

    def predict_file(self, embeddings: FloatArray) -> FloatArray:
        """One file's probabilities from its window embeddings ``(n_windows, embedding_dim)``."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != self.embedding_dim:
            raise ConfigError(
                f"Expected the embeddings of one file, shape (n_windows > 0, "
                f"{self.embedding_dim}); got {x.shape}."
            )
        probabilities: FloatArray = self.predict_files(x, np.zeros(len(x), np.int64))[0]
        return probabilities

    def predict_files(
        self, embeddings: FloatArray, groups: Any, *, batch_size: int = 64
    ) -> FloatArray:
        """Many files' probabilities from their windows' embeddings, ``batch_size`` files a call.

        Parameters
        ----------
        embeddings : np.ndarray [shape=(n_windows, embedding_dim)]
        groups : array of int [shape=(n_windows,)]
            The file of each window (``FeatureSet.groups``).
        batch_size : int > 0, default=64
            Files per call; each batch is padded to its own longest file.

        Returns
        -------
        probabilities : np.ndarray [shape=(n_files, num_classes)]
            In the order of the sorted file indices.
        """
        x = np.asarray(embeddings, dtype=np.float32)
        _, inverse = np.unique(np.asarray(groups), return_inverse=True)
        n_files = int(inverse.max()) + 1 if len(inverse) else 0
        out = []
        for start in range(0, n_files, batch_size):
            chosen = (inverse >= start) & (inverse < start + batch_size)
            bags, mask, _ = pool_files(x[chosen], inverse[chosen])
            out.append(
                keras.ops.convert_to_numpy(self([bags, mask], training=False)).astype(np.float32)
            )
        return np.concatenate(out) if out else np.zeros((0, self.num_classes), np.float32)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-safe)."""
        return {
            "num_classes": self.num_classes,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "dropout": self.dropout,
            "seed": self.seed,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> ClipHead:
        """Rebuild a head from :meth:`get_config` (weights are not included)."""
        return cls(**config)


def embedding_model(model: keras.Model) -> keras.Model:
    """A model with the window model's inputs and two outputs: probabilities and embeddings.

    The embedding of a window is the input of the model's last layer (for
    :class:`~melgenre.GenreCNN`, the features after the dense layer and dropout).

    One per model (it shares the model's layers, so it follows training): Keras traces
    its predict function once, not at every evaluation (TensorFlow's retracing warning).

    Raises
    ------
    ConfigError
        The model has no single-input last layer to take the embedding from.
    """
    known = _EMBEDDERS.get(model)
    if known is not None:
        return known
    try:
        features = model.layers[-1].input
        embedder = keras.Model(model.inputs, [model.outputs[0], features])
    except (AttributeError, IndexError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"Cannot take window embeddings from {type(model).__name__} {model.name!r}: "
            f"pooling='attention' needs a functional model whose last layer is its classifier "
            f"({exc})."
        ) from exc
    _EMBEDDERS[model] = embedder
    return embedder


#: model -> its embedding model (a weak key: the entry goes with the model)
_EMBEDDERS: weakref.WeakKeyDictionary[keras.Model, keras.Model] = weakref.WeakKeyDictionary()


def with_embeddings(model: keras.Model) -> Callable[[FloatArray], FloatArray]:
    """``x -> [probabilities | embeddings]``: ``(n, n_classes + dim)`` float32, one call a batch.

    The layout :func:`melgenre.evaluation.evaluate_features` reads with a clip head.
    """
    embedder = embedding_model(model)

    def predict(x: FloatArray) -> FloatArray:
        outputs = embedder.predict_on_batch(x)
        return np.concatenate([np.asarray(y, np.float32) for y in outputs], axis=1)

    return predict


def window_embeddings(embedder: keras.Model, features: FeatureSet, batch_size: int) -> FloatArray:
    """Every window's embedding ``(n_windows, dim)``, in batches, by an :func:`embedding_model`."""
    parts = [
        np.asarray(embedder.predict_on_batch(batch)[1], dtype=np.float32)
        for batch in features.batches(batch_size)
    ]
    return np.concatenate(parts)


def pool_files(
    embeddings: FloatArray, groups: Any, *, length: int | None = None
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Window embeddings as padded bags, one per file.

    Parameters
    ----------
    embeddings : np.ndarray [shape=(n_windows, dim)]
    groups : array of int [shape=(n_windows,)]
        The file of each window (``FeatureSet.groups``).
    length : int, optional
        Windows per bag; default the longest file's.

    Returns
    -------
    bags : np.ndarray [shape=(n_files, length, dim)]
    mask : np.ndarray [shape=(n_files, length)]
        1 for a window, 0 for padding.
    files : np.ndarray [shape=(n_files,)]
        The file index of each bag, sorted.
    """
    groups = np.asarray(groups)
    files, inverse = np.unique(groups, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(files))
    width = int(length or counts.max())
    bags = np.zeros((len(files), width, embeddings.shape[1]), np.float32)
    mask = np.zeros((len(files), width), np.float32)
    position = np.zeros(len(files), np.int64)
    for row, file in enumerate(inverse):
        if position[file] < width:
            bags[file, position[file]] = embeddings[row]
            mask[file, position[file]] = 1.0
        position[file] += 1
    return bags, mask, files


def _bags(
    embedder: keras.Model, features: FeatureSet, batch_size: int
) -> tuple[list[FloatArray], FloatArray]:
    bags, mask, _ = pool_files(window_embeddings(embedder, features, batch_size), features.groups)
    _, first = np.unique(features.groups, return_index=True)
    onehot = np.eye(len(features.classes), dtype=np.float32)[features.labels[first]]
    return [bags, mask], onehot


def _start_from_the_window_classifier(head: ClipHead, model: keras.Model) -> None:
    """Start the head where the window mean of logits is: uniform attention, the model's classifier.

    The scorer's output weights start at zero (every window weighs the same) and the head's
    softmax layer starts as a copy of the window model's, so before training the head
    answers with the softmax of the mean window logit, close to the window mean it refines;
    training moves it away only as far as the validation loss says it helps.
    """
    scorer = head.get_layer("attention")
    scorer.set_weights([np.zeros_like(w) for w in scorer.get_weights()])
    last = model.layers[-1].get_weights()
    classifier = head.get_layer("probabilities")
    if [w.shape for w in last] == [w.shape for w in classifier.get_weights()]:
        classifier.set_weights(last)


def fit_clip_head(
    model: keras.Model,
    train: FeatureSet,
    validation: FeatureSet | None = None,
    *,
    epochs: int = 200,
    patience: int = 20,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    seed: int | None = None,
    verbose: int = 0,
) -> tuple[ClipHead, dict[str, Any]]:
    """Train a :class:`ClipHead` on the frozen window embeddings of a trained ``model``.

    Parameters
    ----------
    model : keras.Model
        The trained window model (it is not changed).
    train, validation : FeatureSet
        One bag per file. With ``validation``, training stops when its loss
        has not improved for ``patience`` epochs and the best epoch's weights
        are kept; without it, the head trains for ``min(epochs, 50)`` epochs.
    epochs, patience, batch_size : int > 0
        Epochs at most, early stopping's patience, files per batch.
    learning_rate : float > 0, default=1e-3
        Adam's learning rate.
    seed : int or None
        Seeds the head's weights, dropout and shuffling.
    verbose : int, default=0
        Keras' progress output.

    Returns
    -------
    head : ClipHead
    summary : dict
        ``epochs_run``, ``best_epoch`` (with validation), ``embedding_dim``.
    """
    for name, value in (("epochs", epochs), ("patience", patience), ("batch_size", batch_size)):
        check_int("fit_clip_head", name, value, low=1)
    embedder = embedding_model(model)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    x, y = _bags(embedder, train, 256)
    head = ClipHead(len(train.classes), int(x[0].shape[-1]), seed=seed)
    _start_from_the_window_classifier(head, model)
    head.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    callbacks: list[Any] = []
    validation_data = None
    if validation is not None:
        validation_data = tuple(_bags(embedder, validation, 256))
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
        )
    else:
        epochs = min(epochs, 50)
    result = head.fit(
        x,
        y,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        verbose=verbose,
    )
    losses = result.history.get("val_loss")
    summary: dict[str, Any] = {
        "epochs_run": len(result.history["loss"]),
        "embedding_dim": head.embedding_dim,
        "train_files": len(y),
    }
    if losses:
        finite = [v if math.isfinite(v) else math.inf for v in losses]
        summary["best_epoch"] = int(np.argmin(finite)) + 1
    logger.info("Clip head trained: %s.", summary)
    return head, summary


def check_clip_head(head: Any, model: Any, labels: list[str]) -> None:
    """Raise a ConfigError unless ``head`` pools this model's embeddings into ``labels``."""
    if not isinstance(head, ClipHead):
        raise ConfigError(
            "aggregation='attention' needs clip_head=ClipHead(...) trained on this model's "
            f"window embeddings (Trainer(pooling='attention') makes one); got {head!r}.",
            parameter="clip_head",
        )
    dim = int(embedding_model(model).outputs[1].shape[-1])
    if head.num_classes != len(labels) or head.embedding_dim != dim:
        raise ConfigError(
            f"The clip head takes {head.embedding_dim}-dim embeddings into {head.num_classes} "
            f"classes, but the model's embeddings have {dim} dims and there are {len(labels)} "
            "labels: it was trained for another model.",
            parameter="clip_head",
        )
