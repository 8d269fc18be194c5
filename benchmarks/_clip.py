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
