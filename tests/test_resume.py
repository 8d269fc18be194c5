"""Checkpoints and resuming a training run (issue 8, item 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from melgenre import Augmentation, FeatureSet, Trainer
from melgenre.errors import ConfigError
from test_training import features, separable, tiny_model  # noqa: F401  (the module's fixtures)

EPOCHS = 10


class _CrashError(Exception):
    pass


class _CrashAfter(keras.callbacks.Callback):
    """Simulates an interruption: raises at the end of epoch ``epoch`` (1-based)."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch + 1 == self.epoch:
            raise _CrashError


def _trainer(run_dir: Path, **kwargs: Any) -> Trainer:
    options: dict[str, Any] = dict(
        epochs=EPOCHS,
        batch_size=16,
        learning_rate=1e-2,  # fast enough to overshoot: early stopping ends the run
        schedule="constant",
        smoothing=0.0,  # the raw loss overshoots at once: early stopping ends the run
        seed=5,
        verbose=0,
        run_dir=run_dir,
        early_stopping=True,
        patience=1,
        monitor="val_loss",
        augmentation=Augmentation(time_masks=1, max_time_mask=4, freq_masks=1, max_freq_mask=4),
    )
    options.update(kwargs)
    return Trainer(tiny_model(seed=7), **options)


def _weights(trainer: Trainer) -> list[np.ndarray]:
    return [np.asarray(w) for w in trainer.model.get_weights()]


@pytest.fixture(scope="module")
def uninterrupted(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Trainer, Any]:
    trainer = _trainer(tmp_path_factory.mktemp("whole"))
    return trainer, trainer.fit(features[0], validation=features[1])


def test_the_reference_run_stops_early(uninterrupted: tuple[Trainer, Any]) -> None:
    _, history = uninterrupted
    assert 2 < history.epochs < EPOCHS
    assert history.params["best_epoch"] < history.epochs


@pytest.mark.parametrize("when", ["early", "in_the_stopping_epoch"])
def test_a_resumed_run_equals_an_uninterrupted_one(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
    uninterrupted: tuple[Trainer, Any],
    tmp_path: Path,
    when: str,
) -> None:
    whole, whole_history = uninterrupted
    # crashing in the epoch early stopping ends the run checks that its counters carry over
    crash_after = 2 if when == "early" else whole_history.epochs
    with pytest.raises(_CrashError):
        _trainer(tmp_path, callbacks=[_CrashAfter(crash_after)]).fit(
            features[0], validation=features[1]
        )
    state = json.loads((tmp_path / "checkpoints" / "checkpoint.json").read_text())
    assert state["epoch"] == crash_after - 1  # the crashing epoch's checkpoint was not written
    resumed = _trainer(tmp_path)
    history = resumed.fit(features[0], validation=features[1], resume=True)
    assert history.metrics == whole_history.metrics
    assert history.params.get("best_epoch") == whole_history.params.get("best_epoch")
    for a, b in zip(_weights(resumed), _weights(whole), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_resumed_run_continues_the_smoothed_metric_and_the_schedule(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The default run (warm-up + cosine, smoothed early stopping) resumes exactly too."""
    options = dict(epochs=5, learning_rate=1e-3, schedule="cosine", smoothing=0.6)
    whole = _trainer(tmp_path / "whole", **options)
    whole_history = whole.fit(features[0], validation=features[1])
    with pytest.raises(_CrashError):
        _trainer(tmp_path / "cut", callbacks=[_CrashAfter(3)], **options).fit(
            features[0], validation=features[1]
        )
    resumed = _trainer(tmp_path / "cut", **options)
    history = resumed.fit(features[0], validation=features[1], resume=True)
    assert "val_loss_smoothed" in history.metrics
    assert history.metrics == whole_history.metrics
    for a, b in zip(_weights(resumed), _weights(whole), strict=True):
        np.testing.assert_array_equal(a, b)


def test_checkpoints_keep_the_latest_and_the_best(uninterrupted: tuple[Trainer, Any]) -> None:
    trainer, history = uninterrupted
    assert trainer.run_dir is not None
    folder = trainer.run_dir / "checkpoints"
    state = json.loads((folder / "checkpoint.json").read_text())
    files = sorted(p.name for p in folder.iterdir())
    assert not [name for name in files if name.startswith(".")]  # no temporary leftovers
    best = int(np.argmin(history.metrics["val_loss"])) + 1
    assert state["best"] == f"epoch-{best:04d}.keras"
    assert state["latest"] == f"epoch-{history.epochs:04d}.keras"
    assert set(files) == {"checkpoint.json", state["best"], state["latest"]}
    assert state["finished"] is True
    # the best checkpoint is a complete Keras model: it predicts as the restored weights do
    model = keras.saving.load_model(folder / state["best"])
    x = np.random.default_rng(0).normal(size=(4, *trainer.model.input_shape[1:]))
    np.testing.assert_allclose(model.predict(x, verbose=0), trainer.model.predict(x, verbose=0))


def test_resuming_a_finished_run_restores_it_without_training(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
    uninterrupted: tuple[Trainer, Any],
) -> None:
    whole, whole_history = uninterrupted
    assert whole.run_dir is not None
    again = _trainer(whole.run_dir, callbacks=[_CrashAfter(1)])  # would crash if it trained
    history = again.fit(features[0], validation=features[1], resume=True)
    assert history.metrics == whole_history.metrics
    for a, b in zip(_weights(again), _weights(whole), strict=True):
        np.testing.assert_array_equal(a, b)


def test_resume_without_a_checkpoint_starts_afresh(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
    tmp_path: Path,
) -> None:
    history = _trainer(tmp_path, epochs=2, early_stopping=False).fit(features[0], resume=True)
    assert history.epochs == 2


def test_resume_refuses_another_run(
    features: tuple[FeatureSet, FeatureSet],  # noqa: F811
    uninterrupted: tuple[Trainer, Any],
) -> None:
    whole, _ = uninterrupted
    with pytest.raises(ConfigError, match="batch_size"):
        _trainer(whole.run_dir, batch_size=8).fit(features[0], features[1], resume=True)
    with pytest.raises(ConfigError, match="train_files_hash"):
        _trainer(whole.run_dir).fit(features[1], features[1], resume=True)
    with pytest.raises(ConfigError, match="run_dir"):
        _trainer(None).fit(features[0], resume=True)
