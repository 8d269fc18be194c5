"""benchmarks/device_cv.py: its batches match FeatureSet.to_tf_dataset's, its export is lossless
enough to stand in for the features, and its layer norm stand-in computes the same thing."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark_modules import benchmark_module
from melgenre import FeatureSet


@pytest.fixture(scope="module")
def device_cv():  # type: ignore[no-untyped-def]
    with benchmark_module("device_cv") as module:
        yield module


def _features(n: int = 23) -> FeatureSet:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, n).astype(np.int64)
    return FeatureSet(
        x=rng.normal(size=(n, 4, 5, 1)).astype(np.float32),
        labels=labels,
        groups=np.arange(n, dtype=np.int64),
        paths=tuple(f"f{i}.wav" for i in range(n)),
        classes=("a", "b", "c"),
    )


def test_batches_follow_the_tf_dataset_order(device_cv) -> None:  # type: ignore[no-untyped-def]
    features = _features()
    tf_data = features.to_tf_dataset(8, shuffle=True, seed=7, initial_epoch=2)
    stand_in = device_cv._batches(features, 8, shuffle=True, seed=7, initial_epoch=2)
    for _ in range(2):  # two epochs: the shuffle moves on with each
        expected = [(np.asarray(x), np.asarray(y)) for x, y in tf_data]
        got = [stand_in[i] for i in range(len(stand_in))]
        assert len(got) == len(expected) == 3
        for (x, y), (ex, ey) in zip(got, expected, strict=True):
            np.testing.assert_array_equal(x, ex)
            np.testing.assert_array_equal(y, ey)
        stand_in.on_epoch_end()


def test_batches_refuse_an_augmentation(device_cv) -> None:  # type: ignore[no-untyped-def]
    from melgenre import Augmentation

    with pytest.raises(RuntimeError, match="TensorFlow"):
        device_cv._batches(_features(), 8, augmentation=Augmentation(time_masks=1))


def test_layer_norm_stand_in_matches_keras(device_cv) -> None:  # type: ignore[no-untyped-def]
    import keras

    x = np.random.default_rng(1).normal(3.0, 2.0, size=(2, 6, 5, 2)).astype(np.float32)
    layer = keras.layers.LayerNormalization(axis=(1, 2), center=False, scale=False)
    expected = np.asarray(layer(x))
    original = keras.layers.LayerNormalization.call
    try:
        device_cv._plain_layer_norm(keras)
        got = np.asarray(layer(x))
    finally:
        keras.layers.LayerNormalization.call = original
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_export_round_trip_and_refusal(device_cv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Windows from the 8-bit export are within half a step of the featurizer's own, and a
    featurizer whose spectrogram differs from the exported one is refused."""
    import json

    from melgenre import MelFeaturizer, Preprocessing

    featurizer = MelFeaturizer(frames=32)
    rng = np.random.default_rng(2)
    specs = [featurizer.scale(rng.random((128, n)) + 1e-3) for n in (40, 75)]
    lows = [float(s.min()) for s in specs]
    highs = [float(s.max()) for s in specs]
    data = {
        "spec": np.concatenate(
            [
                np.round((s - lo) / (hi - lo) * device_cv.LEVELS).astype(np.uint8)
                for s, lo, hi in zip(specs, lows, highs, strict=True)
            ],
            axis=1,
        ),
        "lengths": np.array([40, 75]),
        "low": np.array(lows, np.float32),
        "high": np.array(highs, np.float32),
        "labels": np.array([0, 1]),
        "classes": np.array(["a", "b"]),
        "paths": np.array(["a/0.wav", "b/1.wav"]),
        "featurizer": np.array(json.dumps(featurizer.get_config())),
    }
    part = device_cv._Part(data, np.array([1, 0]))
    got = part.features(Preprocessing(MelFeaturizer(frames=32, deltas=1)))
    expected = np.concatenate(
        [MelFeaturizer(frames=32, deltas=1).windows(specs[i]) for i in (1, 0)]
    )
    assert got.x.shape == expected.shape
    step = max(hi - lo for lo, hi in zip(lows, highs, strict=True)) / device_cv.LEVELS
    np.testing.assert_allclose(got.x[..., 0], expected[..., 0], atol=step / 2 + 1e-4)
    assert got.paths == ("b/1.wav", "a/0.wav")
    np.testing.assert_array_equal(got.labels[got.groups == 0], 1)
    assert got.chroma is None  # an export from before the chroma: no harmony
    with pytest.raises(RuntimeError, match="n_mels"):
        part.features(Preprocessing(MelFeaturizer(n_mels=64)))
    # with each file's chroma exported, the set carries it for the head's harmony
    chromas = [rng.random((n, 12)).astype(np.float16) for n in (3, 5)]
    data["chroma"] = np.concatenate(chromas)
    data["chroma_lengths"] = np.array([3, 5])
    got = device_cv._Part(data, np.array([1, 0])).features(Preprocessing(featurizer))
    np.testing.assert_array_equal(got.file_chroma(0), chromas[1].astype(np.float32))
    np.testing.assert_array_equal(got.file_chroma(1), chromas[0].astype(np.float32))
