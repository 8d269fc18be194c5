"""A third expert for ``fusion.py --chroma-network``: a small network on each file's chroma.

A screen, not in the library. The window network hears 3 s of mel bands, which blur pitch
below 1 kHz; the statistics head reads 40 fixed summaries of the clip's constant-Q chroma.
Neither reads how the harmony moves over the whole clip: cadences, how often the chord
changes, modal against functional progressions. This expert learns that from the chroma
the cache already stores (:attr:`melgenre.FeatureSet.chroma`, 12 pitch classes every
93 ms), and it is transposition-invariant by construction: its first convolution reads
every frame relative to each of the 12 pitch classes in turn (the pitch axis padded
circularly, a kernel spanning the whole octave), the later layers run on the 12 readings
with shared weights, and a maximum over the 12 ends it, so a piece in any key gives the
same answer. Trained on random crops of each training file's chroma (``crop`` frames),
it answers on the whole clip (a mean over time).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _frames(chroma: Any) -> Any:
    """Each frame a distribution over the 12 pitch classes, times 12 (mean 1)."""
    c = np.asarray(chroma, np.float32)
    return 12 * c / np.maximum(c.sum(axis=1, keepdims=True), 1e-6)


def file_chromas(features: Any) -> list[Any]:
    """Each file's ``(frames, 12)`` chroma, scaled by :func:`_frames`, files sorted."""
    return [_frames(features.file_chroma(int(f))) for f in np.unique(features.groups)]


def build(n_classes: int, width: int = 32, dropout: float = 0.3) -> Any:
    """The transposition-invariant chroma network (any number of frames)."""
    import keras
    from keras import layers, ops

    inputs = keras.Input((None, 12))
    x = layers.Lambda(lambda c: ops.concatenate([c, c[:, :, :11]], axis=2)[..., None])(inputs)
    x = layers.ZeroPadding2D(((2, 2), (0, 0)))(x)
    x = layers.Conv2D(width, (5, 12), use_bias=False)(x)  # (time, 12 roots, width)
    for filters, pool in ((width * 2, True), (width * 2, True), (width * 4, False)):
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D((2, 1))(x)
        x = layers.Conv2D(filters, (5, 1), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Lambda(lambda t: ops.max(ops.mean(t, axis=1), axis=1))(x)  # time, then roots
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def fit_predict(
    train: Any,
    test: Any,
    classes: list[str],
    *,
    seed: int = 0,
    epochs: int = 120,
    crop: int = 128,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
) -> Any:
    """Fit on ``train``'s files, return ``test``'s ``(n_files, n_classes)`` probabilities."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    chromas = file_chromas(train)
    _, labels = train.file_labels()
    y = np.array([classes.index(train.classes[t]) for t in labels])
    crop = min(crop, *(len(c) for c in chromas))
    model = build(len(classes))
    steps = max(1, len(chromas) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, epochs * steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")
    for _ in range(epochs):
        order = rng.permutation(len(chromas))[: steps * batch_size]
        starts = [rng.integers(0, len(chromas[i]) - crop + 1) for i in order]
        x = np.stack([chromas[i][s : s + crop] for i, s in zip(order, starts, strict=True)])
        model.fit(x, y[order], batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    return np.concatenate([model.predict_on_batch(c[None]) for c in file_chromas(test)])
