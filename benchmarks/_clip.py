"""A clip-level model for the CV suite: attention pooling over the windows of a file.

The screening experiment behind issue 15's "clip-level model" question, before anything moves
into the library: the default ``GenreCNN`` up to its embedding is applied to every window of a
file (``TimeDistributed``); a small attention layer weighs the window embeddings, their weighted
mean goes to the softmax. Trained on bags of ``k`` windows drawn at random from each file (a new
draw every epoch: random crops in time), scored on bags of all of a file's windows, so the file
label comes from the model instead of the mean of window probabilities.

Used by ``cv.py`` for candidates whose settings say ``"clip": {...}``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np


def _files(features: Any) -> tuple[list[np.ndarray], np.ndarray]:
    """Window indices of each file and each file's label."""
    files, first = np.unique(features.groups, return_index=True)
    index = [np.flatnonzero(features.groups == f) for f in files]
    return index, features.labels[first]


def build(shape: tuple[int, ...], n_classes: int, seed: int, model_options: dict[str, Any]) -> Any:
    """The bag model: (batch, windows, *shape) -> (batch, n_classes)."""
    import keras

    import melgenre

    window_model = melgenre.GenreCNN(n_classes, shape, seed=seed, **model_options)
    encoder = keras.Model(window_model.input, window_model.get_layer("dropout").output)
    bags = keras.Input((None, *shape))
    embedded = keras.layers.TimeDistributed(encoder)(bags)
    hidden = keras.layers.Dense(64, activation="tanh")(embedded)
    weights = keras.layers.Softmax(axis=1)(keras.layers.Dense(1)(hidden))
    pooled = keras.ops.sum(weights * embedded, axis=1)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(pooled)
    return keras.Model(bags, outputs)


def _score(model: Any, features: Any) -> tuple[float, float]:
    """File-level accuracy and mean log loss, one bag of all windows per file."""
    index, labels = _files(features)
    probabilities = np.stack(
        [np.asarray(model.predict_on_batch(np.asarray(features.x[i])[None]))[0] for i in index]
    )
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
    loss = float(-np.mean(np.log(probabilities[np.arange(len(labels)), labels] + 1e-7)))
    return accuracy, loss


def run(
    train: Any,
    validation: Any,
    test: Any,
    *,
    options: dict[str, Any],
    model_options: dict[str, Any],
    seed: int = 42,
) -> dict[str, Any]:
    """Train the bag model on ``train`` (early stopping on ``validation``); score ``test``."""
    import keras

    keras.utils.set_random_seed(seed)
    index, labels = _files(train)
    k = int(options.get("k") or np.median([len(i) for i in index]))
    batch = int(options.get("batch_size", 8))
    epochs = int(options.get("epochs", 30))
    patience = int(options.get("patience", 8))
    steps = epochs * math.ceil(len(index) / batch)
    schedule = keras.optimizers.schedules.CosineDecay(
        1e-4, steps - steps // 20, warmup_target=1e-3, warmup_steps=steps // 20
    )
    model = build(tuple(train.x.shape[1:]), len(train.classes), seed, model_options)
    model.compile(keras.optimizers.Adam(schedule), "categorical_crossentropy")
    onehot = np.eye(len(train.classes), dtype=np.float32)[labels]
    rng = np.random.default_rng(seed)
    best, best_weights, best_epoch, smoothed, wait = math.inf, None, 0, None, 0
    start = time.perf_counter()
    epoch = 0
    for epoch in range(1, epochs + 1):
        draws = [rng.choice(i, size=k, replace=len(i) < k) for i in index]
        x = np.stack([np.asarray(train.x[np.sort(d)]) for d in draws])
        model.fit(x, onehot, batch_size=batch, epochs=1, shuffle=True, verbose=0)
        _, loss = _score(model, validation)
        smoothed = loss if smoothed is None else 0.6 * smoothed + 0.4 * loss
        if smoothed <= best:
            best, best_weights, best_epoch, wait = smoothed, model.get_weights(), epoch, 0
        else:
            wait += 1
            if wait >= patience:
                break
    seconds = time.perf_counter() - start
    if best_weights is not None:
        model.set_weights(best_weights)
    accuracy, _ = _score(model, test)
    return {
        "file_accuracy": accuracy,
        "window_accuracy": None,
        "epochs_run": epoch,
        "best_epoch": best_epoch,
        "bag_windows": k,
        "train_seconds": seconds,
    }


def _bags(embeddings: np.ndarray, features: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each file's window embeddings padded to the longest file, a mask, and the labels."""
    index, labels = _files(features)
    longest = max(len(i) for i in index)
    bags = np.zeros((len(index), longest, embeddings.shape[1]), np.float32)
    mask = np.zeros((len(index), longest), np.float32)
    for row, windows in enumerate(index):
        bags[row, : len(windows)] = embeddings[windows]
        mask[row, : len(windows)] = 1.0
    return bags, mask, labels


def run_two_stage(
    train: Any,
    validation: Any,
    test: Any,
    *,
    model_options: dict[str, Any],
    trainer_options: dict[str, Any],
    seed: int = 42,
) -> dict[str, Any]:
    """The window model as the library trains it, then attention pooling on its frozen embeddings.

    Both file-level scores come from the same trained encoder, so their difference is the
    pooling's alone: the mean of window probabilities (the library's way) against a learned
    attention-weighted mean of window embeddings with its own softmax layer.
    """
    import keras

    import melgenre

    start = time.perf_counter()
    shape = tuple(train.x.shape[1:])
    window_model = melgenre.GenreCNN(len(train.classes), shape, seed=seed, **model_options)
    trainer = melgenre.Trainer(window_model, seed=seed, verbose=0, **trainer_options)
    history = trainer.fit(train, validation=validation)
    averaged = trainer.evaluate(test)
    encoder = keras.Model(window_model.input, window_model.get_layer("dropout").output)

    def embed(features: Any) -> np.ndarray:
        return np.concatenate([np.asarray(encoder.predict_on_batch(b)) for b in features.batches()])

    parts = [_bags(embed(fs), fs) for fs in (train, validation, test)]
    keras.utils.set_random_seed(seed)
    bags = keras.Input(parts[0][0].shape[1:])
    mask = keras.Input(parts[0][1].shape[1:])
    hidden = keras.layers.Dense(64, activation="tanh")(bags)
    scores = keras.ops.squeeze(keras.layers.Dense(1)(hidden), -1) + (mask - 1.0) * 1e9
    weights = keras.ops.expand_dims(keras.ops.softmax(scores, axis=1), -1)
    pooled = keras.layers.Dropout(0.3)(keras.ops.sum(weights * bags, axis=1))
    outputs = keras.layers.Dense(len(train.classes), activation="softmax")(pooled)
    head = keras.Model([bags, mask], outputs)
    head.compile(keras.optimizers.Adam(1e-3), "categorical_crossentropy", metrics=["accuracy"])
    eye = np.eye(len(train.classes), dtype=np.float32)
    stop = keras.callbacks.EarlyStopping(patience=20, restore_best_weights=True)

    def inputs(part: tuple[np.ndarray, np.ndarray, np.ndarray]) -> list[np.ndarray]:
        # every test bag is padded to the training bags' length (cut if longer)
        width = parts[0][0].shape[1]
        pad = max(0, width - part[0].shape[1])
        return [
            np.pad(part[0], ((0, 0), (0, pad), (0, 0)))[:, :width],
            np.pad(part[1], ((0, 0), (0, pad)))[:, :width],
        ]

    head.fit(
        inputs(parts[0]),
        eye[parts[0][2]],
        validation_data=(inputs(parts[1]), eye[parts[1][2]]),
        epochs=200,
        batch_size=16,
        callbacks=[stop],
        verbose=0,
    )
    probabilities = head.predict(inputs(parts[2]), verbose=0)
    pooled_accuracy = float(np.mean(probabilities.argmax(axis=1) == parts[2][2]))
    return {
        "file_accuracy": pooled_accuracy,
        "file_accuracy_window_mean": averaged.file_accuracy,
        "window_accuracy": averaged.window_accuracy,
        "epochs_run": history.epochs,
        "best_epoch": history.params.get("best_epoch"),
        "train_seconds": time.perf_counter() - start,
    }
