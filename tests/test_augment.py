"""Augmentation of spectrogram windows in the input pipeline (issue 8, item 4)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from melgenre import Augmentation, FeatureSet, Trainer
from melgenre.errors import ConfigError
from test_training import features, separable, tiny_model  # noqa: F401  (the module's fixtures)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 32, 40, 1)).astype(np.float32)
Y = np.eye(4, dtype=np.float32)[np.arange(8) % 4]


def _run(augment: Augmentation, seed: tuple[int, int] = (1, 2)) -> tuple[np.ndarray, np.ndarray]:
    x, y = augment(X, Y, seed)
    return x.numpy(), y.numpy()


def test_the_same_seed_gives_the_same_batch_and_another_seed_another() -> None:
    augment = Augmentation(gain_db=3.0, mixup_alpha=0.4)
    a, b, c = _run(augment), _run(augment), _run(augment, (1, 3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_masks_set_whole_bands_and_frames_to_the_window_mean() -> None:
    augment = Augmentation(time_masks=2, max_time_mask=6, freq_masks=1, max_freq_mask=5)
    x, y = _run(augment)
    np.testing.assert_array_equal(y, Y)
    changed = x != X
    means = X.mean(axis=(1, 2, 3))
    for i in range(len(X)):
        np.testing.assert_allclose(x[i][changed[i]], means[i], rtol=1e-6)
        rows = changed[i, :, :, 0].all(axis=1)  # mel bands masked over all frames
        cols = changed[i, :, :, 0].all(axis=0)  # frames masked over all bands
        # a cell changes only inside a masked band or frame
        assert (changed[i, :, :, 0] <= (rows[:, None] | cols[None, :])).all()
        assert rows.sum() <= 5
        assert cols.sum() <= 2 * 6
    assert changed.any()


def test_gain_shifts_each_window_by_one_offset_within_range() -> None:
    x, _ = _run(Augmentation(time_masks=0, freq_masks=0, gain_db=4.0))
    offsets = (x - X).reshape(len(X), -1)
    np.testing.assert_allclose(offsets, offsets[:, :1] * np.ones_like(offsets), atol=1e-5)
    assert (np.abs(offsets[:, 0]) <= 4.0).all()
    assert np.abs(offsets[:, 0]).max() > 0.1


def test_mixup_mixes_windows_and_labels_with_the_same_weight() -> None:
    x, y = _run(Augmentation(time_masks=0, freq_masks=0, mixup_alpha=0.4))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    assert (y < 1).any()
    for i in range(len(X)):
        fits = []
        for j in range(len(X)):
            if j == i:
                fits.append(np.allclose(x[i], X[i], atol=1e-5) and np.allclose(y[i], Y[i]))
                continue
            d = X[i] - X[j]  # x[i] = lam * X[i] + (1 - lam) * X[j]  =>  x[i] - X[j] = lam * d
            lam = float(np.sum((x[i] - X[j]) * d) / np.sum(d * d))
            fits.append(
                0.0 <= lam <= 1.0
                and np.allclose(x[i], lam * X[i] + (1 - lam) * X[j], atol=1e-4)
                and np.allclose(y[i], lam * Y[i] + (1 - lam) * Y[j], atol=1e-4)
            )
        assert any(fits), i


def test_pitch_shift_moves_each_window_along_the_bands_by_a_whole_number() -> None:
    x, y = _run(Augmentation(time_masks=0, freq_masks=0, pitch_shift_bins=3))
    np.testing.assert_array_equal(y, Y)
    shifts = []
    for i in range(len(X)):
        fits = [
            k for k in range(-3, 4) if np.array_equal(x[i], X[i, np.clip(np.arange(32) - k, 0, 31)])
        ]
        assert fits, i
        shifts.append(fits[0])
    assert len(set(shifts)) > 1  # a draw per window


def test_a_noise_floor_is_added_as_power_below_the_peak() -> None:
    db = -80.0 * RNG.random(size=(8, 32, 40, 1)).astype(np.float32)  # dB below a 0 dB peak
    db[:, 0, 0, 0] = 0.0
    deltas = RNG.normal(size=db.shape).astype(np.float32)
    windows = np.concatenate([db, deltas], axis=-1)
    x, _ = Augmentation(time_masks=0, freq_masks=0, noise_snr_db=20.0)(windows, Y, (1, 2))
    x = x.numpy()
    np.testing.assert_array_equal(x[..., 1], deltas[..., 0])  # deltas untouched
    # the added noise power, where float32 keeps it apart from the signal's (quiet cells)
    quiet = db[..., 0] < -50.0
    power = 10.0 ** (x[..., 0].astype(np.float64) / 10) - 10.0 ** (db[..., 0] / 10)
    floors = np.array([10 * np.log10(power[i][quiet[i]].mean()) for i in range(8)])
    for i in range(8):
        np.testing.assert_allclose(power[i][quiet[i]], 10 ** (floors[i] / 10), rtol=1e-2)
    assert (floors <= -20.0 + 1e-3).all()
    assert (floors >= -60.0 - 1e-3).all()
    assert (x[..., 0] >= db[..., 0]).all()


def test_an_equaliser_adds_one_smooth_curve_per_window_over_the_bands() -> None:
    deltas = RNG.normal(size=X.shape).astype(np.float32)
    windows = np.concatenate([X, deltas], axis=-1)
    x, y = Augmentation(time_masks=0, freq_masks=0, eq_db=9.0)(windows, Y, (1, 2))
    x, y = x.numpy(), y.numpy()
    np.testing.assert_array_equal(y, Y)
    np.testing.assert_array_equal(x[..., 1], deltas[..., 0])  # constant in time: deltas stay
    curves = x[..., 0] - X[..., 0]  # (batch, bands, frames)
    np.testing.assert_allclose(curves, curves[:, :, :1] * np.ones_like(curves), atol=1e-5)
    curves = curves[:, :, 0]
    peaks = np.abs(curves).max(axis=1)
    assert (peaks <= 9.0 + 1e-4).all()
    assert peaks.max() > 1.0
    assert len(np.unique(peaks.round(3))) == len(X)  # a draw per window
    # smooth: the curve lies in the span of the first four cosines over the bands
    centres = (np.arange(32) + 0.5) / 32
    basis = np.cos(np.pi * np.arange(1, 5)[:, None] * centres[None, :])
    weights, *_ = np.linalg.lstsq(basis.T, curves.T, rcond=None)
    np.testing.assert_allclose(basis.T @ weights, curves.T, atol=1e-4)


def test_all_off_is_the_identity() -> None:
    augment = Augmentation(time_masks=0, freq_masks=0)
    assert augment.is_identity
    x, y = _run(augment)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_masks": -1}, "'time_masks' parameter of Augmentation"),
        ({"max_freq_mask": 1.5}, "'max_freq_mask'"),
        ({"mixup_alpha": -0.1}, "'mixup_alpha'"),
        ({"gain_db": "loud"}, "'gain_db'"),
        ({"pitch_shift_bins": -1}, "'pitch_shift_bins'"),
        ({"noise_snr_db": 0.0}, "'noise_snr_db'"),
        ({"eq_db": -1.0}, "'eq_db'"),
    ],
)
def test_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Augmentation(**kwargs)


def test_the_training_pipeline_is_augmented_and_validation_is_not(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
) -> None:
    train = features[0]
    augment = Augmentation(mixup_alpha=0.3)
    plain = next(iter(train.to_tf_dataset(16, shuffle=True, seed=3)))
    mixed = next(iter(train.to_tf_dataset(16, shuffle=True, seed=3, augmentation=augment)))
    assert len(mixed) == 2  # the per-batch seed does not reach Keras
    assert not np.array_equal(plain[0].numpy(), mixed[0].numpy())
    assert (mixed[1].numpy() < 1).any()
    assert not (plain[1].numpy() % 1).any()
    # a second pass (epoch) draws anew; the same epoch of another dataset draws the same
    again = train.to_tf_dataset(16, shuffle=True, seed=3, augmentation=augment)
    first, second = (next(iter(again)) for _ in range(2))
    np.testing.assert_array_equal(first[0].numpy(), mixed[0].numpy())
    assert not np.array_equal(first[0].numpy(), second[0].numpy())


def test_trainer_records_the_augmentation_and_still_learns(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
) -> None:
    augment = Augmentation(time_masks=1, max_time_mask=4, freq_masks=1, max_freq_mask=4)
    trainer = Trainer(
        tiny_model(),
        epochs=8,
        batch_size=16,
        learning_rate=1e-3,
        schedule="constant",
        seed=1,
        verbose=0,
        augmentation=augment,
    )
    history = trainer.fit(features[0], validation=features[1])
    record = history.params["augmentation"]
    assert record.pop("class_name") == "Augmentation"
    assert Augmentation.from_config(record) == augment
    assert trainer.evaluate(features[1]).window_accuracy >= 0.85  # chance: 0.33


def test_trainer_rejects_what_is_not_an_augmentation() -> None:
    with pytest.raises(TypeError, match=r"melgenre\.Augmentation"):
        Trainer(tiny_model(), augmentation={"mixup_alpha": 0.2})  # type: ignore[arg-type]
