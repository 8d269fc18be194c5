"""The clip-level path: ClipHead, Trainer(pooling="attention"), the bundle and the Predictor."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from melgenre import (
    Audio,
    FeatureSet,
    FolderDataset,
    GenreCNN,
    MelFeaturizer,
    Predictor,
    Preprocessing,
    Trainer,
)
from melgenre.bundle import CLIP_HEAD_FILE
from melgenre.errors import ConfigError
from melgenre.pooling import ClipHead, embedding_model, pool_files
from signals import tone, write_separable

SR = 8000
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=16)


def tiny_model(seed: int = 3) -> GenreCNN:
    return GenreCNN(
        num_classes=3,
        input_shape=FEAT.output_shape,
        filters=(8, 16),
        dense_units=16,
        dropout=0.1,
        first_stride=1,
        seed=seed,
    )


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureSet, FeatureSet, FeatureSet]:
    ds = FolderDataset(write_separable(tmp_path_factory.mktemp("sep"), sample_rate=SR))
    split = ds.split(test_size=0.25, validation_size=0.2, seed=0)
    return tuple(  # type: ignore[return-value]
        p.features(FEAT, workers=1, progress=False)
        for p in (split.train, split.validation, split.test)
    )


def fit(parts: Any, seed: int = 1) -> tuple[Trainer, Any]:
    trainer = Trainer(
        tiny_model(),
        epochs=12,
        batch_size=16,
        learning_rate=3e-3,
        seed=seed,
        verbose=0,
        pooling="attention",
    )
    history = trainer.fit(parts[0], validation=parts[1])
    return trainer, history


@pytest.fixture(scope="module")
def trained(parts: Any) -> tuple[Trainer, Any]:
    return fit(parts)


def test_the_head_ignores_padding_and_round_trips_its_config() -> None:
    head = ClipHead(num_classes=3, embedding_dim=4, units=8, seed=0)
    rng = np.random.default_rng(0)
    bag = rng.normal(size=(5, 4)).astype(np.float32)
    alone = head.predict_file(bag)
    padded = np.concatenate([bag, rng.normal(size=(3, 4)).astype(np.float32)])[None]
    mask = np.array([[1, 1, 1, 1, 1, 0, 0, 0]], np.float32)
    np.testing.assert_allclose(np.asarray(head([padded, mask]))[0], alone, atol=1e-6)
    clone = ClipHead.from_config(head.get_config())
    assert clone.get_config() == head.get_config()
    clone.set_weights(head.get_weights())
    np.testing.assert_allclose(clone.predict_file(bag), alone, atol=1e-6)
    # many files at once, in batches padded to their own longest file, equal one file at a time
    groups = np.array([4, 1, 4, 9, 1, 4, 9, 9, 9])
    many = rng.normal(size=(len(groups), 4)).astype(np.float32)
    one_by_one = [head.predict_file(many[groups == g]) for g in (1, 4, 9)]
    for size in (1, 2, 64):
        np.testing.assert_allclose(
            head.predict_files(many, groups, batch_size=size), one_by_one, atol=1e-6
        )
    with pytest.raises(ConfigError, match="embeddings of one file"):
        head.predict_file(np.zeros((0, 4), np.float32))
    with pytest.raises(ConfigError, match="dropout"):
        ClipHead(num_classes=3, embedding_dim=4, dropout=1.5)


def test_pool_files_groups_windows_by_file() -> None:
    embeddings = np.arange(10, dtype=np.float32).reshape(5, 2)
    bags, mask, files = pool_files(embeddings, [7, 3, 7, 3, 7])
    assert files.tolist() == [3, 7]
    np.testing.assert_array_equal(mask, [[1, 1, 0], [1, 1, 1]])
    np.testing.assert_array_equal(bags[0, :2], embeddings[[1, 3]])
    np.testing.assert_array_equal(bags[1], embeddings[[0, 2, 4]])


def test_attention_pooling_trains_and_evaluates_per_file(
    trained: tuple[Trainer, Any], parts: Any
) -> None:
    trainer, history = trained
    assert isinstance(trainer.clip_head_, ClipHead)
    summary = history.params["clip_head"]
    assert summary["train_files"] == parts[0].n_files
    assert 1 <= summary["best_epoch"] <= summary["epochs_run"]
    report = trainer.evaluate(parts[2])
    assert report.n_files == parts[2].n_files
    assert report.file_accuracy >= 0.9
    # the window-level figures are the window model's, as without the head
    plain = Trainer(trainer.model, verbose=0).evaluate(parts[2])
    assert report.window_accuracy == plain.window_accuracy


def test_evaluating_again_traces_nothing_again(
    trained: tuple[Trainer, Any], parts: Any, caplog: pytest.LogCaptureFixture
) -> None:
    trainer, _ = trained
    assert embedding_model(trainer.model) is embedding_model(trainer.model)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        reports = [trainer.evaluate(parts[2]) for _ in range(6)]
    assert len({r.file_accuracy for r in reports}) == 1
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_a_seed_gives_the_same_head(parts: Any, trained: tuple[Trainer, Any]) -> None:
    again, _ = fit(parts)
    for a, b in zip(
        again.clip_head_.get_weights(), trained[0].clip_head_.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_predictor_pools_through_the_head_and_keeps_the_window_timeline(
    trained: tuple[Trainer, Any], tmp_path: Path
) -> None:
    trainer, history = trained
    labels = ["chirp", "noise", "tone"]
    predictor = Predictor(
        preprocessing=Preprocessing(FEAT),
        model=trainer.model,
        labels=labels,
        clip_head=trainer.clip_head_,
    )
    assert predictor.aggregation == "attention"
    x = tone(frequency=700.0, duration=3.0, sample_rate=SR)
    p = predictor.predict((x, SR))
    assert p.label == "tone"
    windows = FEAT.transform(Audio(x, SR))
    assert len(p.windows) == len(windows)
    timeline = np.array([[w.probabilities[k] for k in labels] for w in p.windows])
    np.testing.assert_allclose(timeline, predictor.predict_proba(windows), atol=1e-6)
    embeddings = np.asarray(embedding_model(trainer.model).predict_on_batch(windows)[1])
    expected = trainer.clip_head_.predict_file(embeddings)
    np.testing.assert_allclose(list(p.probabilities.values()), expected, atol=1e-5)
    (many,) = predictor.predict_many([(x, SR)])
    np.testing.assert_allclose(
        list(many.probabilities.values()), list(p.probabilities.values()), atol=1e-5
    )

    bundle = predictor.save(tmp_path / "model", history=history)
    manifest = json.loads((bundle / "melgenre.json").read_text())
    assert manifest["aggregation"] == "attention"
    assert CLIP_HEAD_FILE in manifest["files"]
    loaded = Predictor.load(bundle)
    assert isinstance(loaded.clip_head, ClipHead)
    again = loaded.predict((x, SR))
    np.testing.assert_allclose(
        list(again.probabilities.values()), list(p.probabilities.values()), atol=1e-5
    )
    np.testing.assert_allclose(
        [list(w.probabilities.values()) for w in again.windows], timeline, atol=1e-5
    )


def test_a_head_must_fit_the_model(trained: tuple[Trainer, Any]) -> None:
    trainer, _ = trained
    prep = Preprocessing(FEAT)
    labels = ["chirp", "noise", "tone"]
    with pytest.raises(ConfigError, match="needs clip_head"):
        Predictor(preprocessing=prep, model=trainer.model, labels=labels, aggregation="attention")
    wrong = ClipHead(num_classes=3, embedding_dim=5)
    with pytest.raises(ConfigError, match="trained for another model"):
        Predictor(preprocessing=prep, model=trainer.model, labels=labels, clip_head=wrong)
    with pytest.raises(ConfigError, match="pooling"):
        Trainer(trainer.model, pooling="max")
