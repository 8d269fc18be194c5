"""The statistics head (:class:`~melgenre.StatisticsHead`) and its fusion with the windows:
fitting, balance and weights, and its path through Trainer(statistics=True), the Predictor,
the bundle and export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from clip_signals import FEAT, SMALL, SR, clicks, write_tempi
from melgenre import (
    Audio,
    AudioLoader,
    ClipStatistics,
    FeatureSet,
    FolderDataset,
    GenreCNN,
    Prediction,
    Predictor,
    Preprocessing,
    StatisticsHead,
    Trainer,
)
from melgenre.bundle import STATISTICS_HEAD_FILE
from melgenre.errors import ConfigError, DatasetError, ExportError, MelgenreWarning
from melgenre.fusion import (
    BALANCED_C_GRID,
    C_GRID,
    FUSION_WEIGHT,
    WEIGHT_GRID,
    fit_statistics_head,
    fuse,
)


@pytest.fixture(scope="module")
def tempi(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureSet, FeatureSet]:
    split = FolderDataset(write_tempi(tmp_path_factory.mktemp("tempi"))).split(
        test_size=0.3, seed=0
    )
    return split.train.features(FEAT, workers=1, progress=False), split.test.features(
        FEAT, workers=1, progress=False
    )


def test_the_head_tells_tempi_apart_where_windows_are_alike(tempi: Any) -> None:
    train, test = tempi
    head = StatisticsHead(SMALL).fit(train)
    assert head.C_ in BALANCED_C_GRID
    files, x = head.statistics.transform(test)
    assert x.shape == (test.n_files, SMALL.dim)
    p = head.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    _, labels = test.file_labels()
    assert np.mean(p.argmax(axis=1) == labels) == 1.0
    # one file from its windows gives the same row
    first = test.x[test.groups == files[0]]
    np.testing.assert_allclose(head.predict_windows(first), p[0], atol=1e-6)


def test_the_head_round_trips_and_checks_its_weights(tempi: Any) -> None:
    head = StatisticsHead(SMALL, C=0.5).fit(tempi[0])
    assert head.C_ == 0.5
    clone = StatisticsHead.from_config(json.loads(json.dumps(head.get_config())))
    clone.set_weights(json.loads(json.dumps(head.get_weights())))
    _, x = head.statistics.transform(tempi[1])
    np.testing.assert_allclose(clone.predict_proba(x), head.predict_proba(x), atol=1e-6)
    assert clone.C_ == 0.5
    weights = head.get_weights()
    weights["coef"] = weights["coef"][:1]
    with pytest.raises(ConfigError, match="do not fit"):
        clone.set_weights(weights)
    with pytest.raises(ConfigError, match="not fitted"):
        StatisticsHead().predict_proba(np.zeros((1, ClipStatistics().dim)))
    with pytest.raises(ConfigError, match="C"):
        StatisticsHead(C=0.0)


def test_a_balanced_head_gives_every_block_the_same_say(tempi: Any) -> None:
    assert sum(SMALL.blocks.values()) == SMALL.dim
    assert list(SMALL.blocks)[:3] == ["cepstra_mean", "cepstra_std", "tempogram"]
    train, test = tempi
    plain = StatisticsHead(SMALL, C=1.0, balance=False).fit(train)
    balanced = StatisticsHead(SMALL, C=1.0).fit(train)  # balanced by default
    assert plain.weights_ is not None
    assert balanced.weights_ is not None
    factor = balanced.weights_["scale"] / plain.weights_["scale"]
    sizes = [n for n in SMALL.blocks.values() if n]
    np.testing.assert_allclose(factor, np.repeat(np.sqrt(sizes), sizes))
    _, x = balanced.statistics.transform(test)
    _, labels = test.file_labels()
    assert np.mean(balanced.predict_proba(x).argmax(axis=1) == labels) == 1.0
    clone = StatisticsHead.from_config(json.loads(json.dumps(balanced.get_config())))
    assert clone.balance
    assert "balance=True" in repr(clone)
    assert StatisticsHead.from_config({"statistics": SMALL.get_config(), "C": 1.0}).balance is False
    assert StatisticsHead(SMALL, balance=False).fit(train).C_ in C_GRID
    with pytest.raises(ConfigError, match="balance"):
        StatisticsHead(balance=1)  # type: ignore[arg-type]


def test_c_is_1_when_a_class_has_one_training_file_with_or_without_its_copies() -> None:
    """Too few files for two folds in a class: no cross-validation (it used to crash in
    scikit-learn's splitter, built before the check)."""
    from melgenre._regression import choose_c

    x = np.random.default_rng(0).normal(size=(9, 4))
    labels = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1])
    assert choose_c(x, labels, BALANCED_C_GRID) == 1.0
    # a file and its varispeed copies are one group: class 0 still has one file
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1])
    groups = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3])
    assert choose_c(x, labels, BALANCED_C_GRID, groups) == 1.0
    assert choose_c(x, np.array([0, 0, 1, 1, 0, 1, 0, 1, 0]), (0.1, 1.0)) in (0.1, 1.0)


def test_fuse_is_a_weighted_normalised_product() -> None:
    p = fuse([[0.5, 0.5], [0.9, 0.1]], [[0.2, 0.8], [0.5, 0.5]])
    np.testing.assert_allclose(p, [[0.2, 0.8], [0.9, 0.1]], atol=1e-6)
    np.testing.assert_allclose(fuse([[0.6, 0.4]], [[0.01, 0.99]], 0.0), [[0.6, 0.4]], atol=1e-6)
    half = fuse([[0.5, 0.5]], [[0.2, 0.8]], 0.5)[0]
    np.testing.assert_allclose(half, np.sqrt([0.2, 0.8]) / np.sqrt([0.2, 0.8]).sum(), atol=1e-6)


def test_the_weight_follows_the_head_on_held_out_files(tempi: Any) -> None:
    train, test = tempi
    head = StatisticsHead(SMALL).fit(train)
    _, x = head.statistics.transform(test)
    _, labels = test.file_labels()
    n = len(labels)
    sure = np.full((n, 2), 0.05)
    sure[np.arange(n), labels] = 0.95
    assert head.weight == FUSION_WEIGHT  # until chosen
    scores = head.choose_weight(np.full((n, 2), 0.5), x, labels)  # windows know nothing
    assert head.weight == 1.0
    assert scores == head.weight_scores(np.full((n, 2), 0.5), x, labels)
    assert set(scores) == {str(w) for w in WEIGHT_GRID}
    lying = head.predict_proba(x)[:, ::-1]  # a head that is always wrong ...
    head.predict_proba = lambda _: lying  # type: ignore[method-assign]
    head.choose_weight(sure, x, labels)
    assert head.weight == 0.0  # ... gets no say


def tiny_model() -> GenreCNN:
    return GenreCNN(
        num_classes=2,
        input_shape=FEAT.output_shape,
        filters=(8, 16),
        dense_units=16,
        dropout=0.1,
        first_stride=1,
        seed=3,
    )


@pytest.fixture(scope="module")
def trained(tempi: Any) -> Trainer:
    trainer = Trainer(tiny_model(), epochs=3, batch_size=16, seed=1, verbose=0, statistics=True)
    history = trainer.fit(tempi[0])
    summary = history.params["statistics_head"]
    assert summary["C_"] in BALANCED_C_GRID
    assert summary["weight"] == FUSION_WEIGHT == 1.0
    return trainer


def test_trainer_scores_the_weights_on_the_validation_files(tempi: Any) -> None:
    trainer = Trainer(tiny_model(), epochs=2, batch_size=16, seed=1, verbose=0, statistics=True)
    history = trainer.fit(tempi[0], validation=tempi[1])
    summary = history.params["statistics_head"]
    assert set(summary["validation_log_likelihood"]) == {str(w) for w in WEIGHT_GRID}
    assert summary["weight"] == trainer.statistics_head_.weight == FUSION_WEIGHT  # type: ignore[union-attr]
    assert summary["weight_rule"] == "fixed"
    # the Trainer's rule before 2026-12-05: the weight chosen on the validation files
    head, chosen = fit_statistics_head(
        tempi[0], tempi[1], trainer._file_probabilities, choose_weight=True
    )
    assert chosen["weight_rule"] == "validation"
    assert chosen["validation_log_likelihood"] == pytest.approx(
        summary["validation_log_likelihood"]
    )
    best = max(chosen["validation_log_likelihood"].values())
    assert chosen["validation_log_likelihood"][str(head.weight)] == best
    _, alone = fit_statistics_head(tempi[0], choose_weight=True)  # nothing to choose on
    assert (alone["weight_rule"], alone["weight"]) == ("fixed", FUSION_WEIGHT)


def test_the_head_is_on_by_default_and_travels_to_the_predictor(
    trained: Trainer, tempi: Any
) -> None:
    assert Trainer(tiny_model()).statistics is True
    with pytest.raises(ConfigError, match="fit first"):
        Trainer(tiny_model()).to_predictor(Preprocessing(FEAT))
    predictor = trained.to_predictor(Preprocessing(FEAT), metadata={"run": 1})
    assert predictor.statistics_head is trained.statistics_head_
    assert predictor.labels == list(tempi[0].classes)
    assert predictor.metadata == {"run": 1}
    assert predictor.evaluate(tempi[1]).file_accuracy == trained.evaluate(tempi[1]).file_accuracy


def test_to_predictor_carries_the_training_preprocessing(trained: Trainer, tempi: Any) -> None:
    assert trained.preprocessing_ == tempi[0].preprocessing == Preprocessing(FEAT)
    assert trained.to_predictor().preprocessing == Preprocessing(FEAT)  # stated once
    other = dataclasses.replace(FEAT, fmax=2000.0)  # the same shape, other features
    with pytest.raises(ConfigError, match=r"training windows were made with MelFeaturizer\("):
        trained.to_predictor(Preprocessing(other))
    cropped = Preprocessing(FEAT, loader=AudioLoader(sample_rate=FEAT.sample_rate, duration=5.0))
    with pytest.warns(MelgenreWarning, match="will load audio with AudioLoader"):
        assert trained.to_predictor(cropped).preprocessing == cropped
    by_hand = dataclasses.replace(tempi[0], preprocessing=None)
    trainer = Trainer(tiny_model(), epochs=1, batch_size=16, seed=1, verbose=0, statistics=False)
    trainer.fit(by_hand)
    with pytest.raises(ConfigError, match="pass it"):
        trainer.to_predictor()
    assert trainer.to_predictor(Preprocessing(other)).preprocessing == Preprocessing(other)


def test_trainer_fits_the_head_and_evaluates_with_it(trained: Trainer, tempi: Any) -> None:
    head = trained.statistics_head_
    assert isinstance(head, StatisticsHead)
    assert head.num_classes == 2
    report = trained.evaluate(tempi[1])
    plain = Trainer(trained.model, verbose=0).evaluate(tempi[1])
    assert report.window_accuracy == plain.window_accuracy  # the windows' figures are theirs
    assert report.file_accuracy == 1.0  # tempo is the clip statistics' to tell
    with pytest.raises(ConfigError, match="statistics"):
        Trainer(trained.model, statistics="yes")  # type: ignore[arg-type]


def test_the_head_hears_the_harmony_when_the_features_carry_chroma(
    trained: Trainer, tempi: Any
) -> None:
    head = trained.statistics_head_
    assert head is not None
    assert head.statistics == ClipStatistics()
    assert head.statistics.harmony
    assert list(head.statistics.blocks)[-2:] == ["intervals", "chords"]
    # a FeatureSet built by hand, without chroma: the head goes without the harmony
    bare = dataclasses.replace(tempi[0], chroma=None, chroma_groups=None)
    plain, _ = fit_statistics_head(bare)
    assert plain.statistics == ClipStatistics(harmony=False)
    with pytest.raises(DatasetError, match="no chroma"):
        head.statistics.transform(bare)
    # a config written before the harmony reads as without it
    config = head.statistics.get_config()
    del config["harmony"]
    assert ClipStatistics.from_config(config) == ClipStatistics(harmony=False)


def half_weight_predictor(trained: Trainer) -> tuple[Predictor, StatisticsHead]:
    """A Predictor with a copy of the trained statistics head, its fusion weight set to 1/2."""
    fitted = trained.statistics_head_
    assert fitted is not None
    head = StatisticsHead.from_config(fitted.get_config())
    head.set_weights({**fitted.get_weights(), "weight": 0.5})
    predictor = Predictor(
        preprocessing=Preprocessing(FEAT),
        model=trained.model,
        labels=["fast", "slow"],
        statistics_head=head,
    )
    return predictor, head


def test_predictor_fuses_saves_and_loads(trained: Trainer, tmp_path: Path) -> None:
    labels = ["fast", "slow"]
    predictor, head = half_weight_predictor(trained)
    y = clicks(0.5, seed=7)
    p = predictor.predict((y, SR))
    assert p.label == "slow"
    windows = FEAT.transform(Audio(y, SR))
    window_probs = predictor.predict_proba(windows)
    chroma = Preprocessing(FEAT).chroma(Audio(y, SR))
    clip = head.predict_windows(windows, chroma=chroma)
    expected = fuse(window_probs.mean(axis=0)[None], clip[None], 0.5)[0]
    np.testing.assert_allclose(list(p.probabilities.values()), expected, atol=1e-5)
    timeline = np.array([[w.probabilities[k] for k in labels] for w in p.windows])
    np.testing.assert_allclose(timeline, window_probs, atol=1e-6)  # the timeline is per window
    many = predictor.predict_many([(clicks(0.3, seed=8), SR), b"not audio", (y, SR)])
    assert many[1].__class__.__name__ == "FailedFile"
    np.testing.assert_allclose(
        list(many[2].probabilities.values()), list(p.probabilities.values()), atol=1e-5
    )

    bundle = predictor.save(tmp_path / "model")
    manifest = json.loads((bundle / "melgenre.json").read_text())
    assert STATISTICS_HEAD_FILE in manifest["files"]
    loaded = Predictor.load(bundle)
    assert isinstance(loaded.statistics_head, StatisticsHead)
    assert loaded.statistics_head.weight == 0.5
    np.testing.assert_allclose(
        list(loaded.predict((y, SR)).probabilities.values()),
        list(p.probabilities.values()),
        atol=1e-5,
    )
    with pytest.raises(ConfigError, match="not fitted"):
        Predictor(
            preprocessing=Preprocessing(FEAT),
            model=trained.model,
            labels=labels,
            statistics_head=StatisticsHead(),
        )


def test_a_long_file_streamed_gets_the_harmony_of_its_audio(
    trained: Trainer, tmp_path: Path
) -> None:
    """The predictor's chroma comes from the streamed blocks: as from the samples in one piece."""
    predictor, head = half_weight_predictor(trained)
    assert head.statistics.harmony
    y = np.concatenate([clicks(0.3, seconds=40.0, seed=3), clicks(0.5, seconds=31.0, seed=4)])
    path = tmp_path / "long.wav"
    sf.write(path, y, SR, subtype="FLOAT")  # the same samples as in one piece
    streamed = predictor.predict(path)  # three 30 s blocks, two passes of the featurizer
    whole = predictor.predict((y, SR))
    [many] = predictor.predict_many([path])
    for other in (whole, many):
        assert isinstance(other, Prediction)
        np.testing.assert_allclose(
            list(streamed.probabilities.values()), list(other.probabilities.values()), atol=1e-5
        )
    # and the harmony is in the answer: without it the fused probabilities differ
    windows = FEAT.transform(Audio(y, SR))
    chroma = Preprocessing(FEAT).chroma(Audio(y, SR))
    np.testing.assert_allclose(
        fuse(
            predictor.predict_proba(windows).mean(axis=0)[None],
            head.predict_windows(windows, chroma=chroma)[None],
            0.5,
        )[0],
        list(streamed.probabilities.values()),
        atol=1e-5,
    )


def test_an_export_fuses_in_its_graph(trained: Trainer, tmp_path: Path) -> None:
    from melgenre.artifact import ExportedModel

    labels = ["fast", "slow"]
    predictor, head = half_weight_predictor(trained)
    y = clicks(0.3, seed=9)
    expected = list(predictor.predict((y, SR)).probabilities.values())
    # a TFLite export is checked beside the SavedModel it is converted from: both must pass
    exported = predictor.export(tmp_path / "exported", format="tflite")
    parity = json.loads((exported / "parity.json").read_text())
    assert parity["passed"]
    assert set(parity["artifacts"]) == {"saved_model", "tflite"}
    config = json.loads((exported / "melgenre-export.json").read_text())
    assert config["statistics_head"]["weight"] == 0.5
    out = ExportedModel.load(exported)(y)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-3)
    plain = Predictor(preprocessing=Preprocessing(FEAT), model=trained.model, labels=labels)
    assert not np.allclose(plain.predict((y, SR)).probabilities["fast"], expected[0], atol=1e-3)

    class Other(ClipStatistics):
        pass

    odd = StatisticsHead(Other())
    odd.set_weights(head.get_weights())
    other = Predictor(
        preprocessing=Preprocessing(FEAT), model=trained.model, labels=labels, statistics_head=odd
    )
    with pytest.raises(ExportError, match="Other has no in-graph twin"):
        other.export(tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_the_service_answers_with_the_head_as_predict_does(trained: Trainer, tempi: Any) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from melgenre.serve import create_app

    predictor = trained.to_predictor(Preprocessing(FEAT))
    alone = Predictor(preprocessing=Preprocessing(FEAT), model=trained.model, labels=["a", "b"])
    paths = [Path(p) for p in tempi[1].paths[:4]]
    with TestClient(create_app(predictor)) as client:
        for path in paths:
            headers = {"content-type": "audio/wav"}
            body = client.post("/predict", content=path.read_bytes(), headers=headers).json()
            expected = predictor.predict(path)
            assert body["probabilities"] == pytest.approx(expected.probabilities, abs=1e-6)
        assert client.get("/info").json()["model"]["statistics_head"] is True

    # the head moves the answers, so a service that left it out would not pass
    def probabilities(model: Predictor, path: Path) -> Any:
        return np.array(list(model.predict(path).probabilities.values()))

    moved = [np.abs(probabilities(predictor, p) - probabilities(alone, p)).max() for p in paths]
    assert max(moved) > 0.01
