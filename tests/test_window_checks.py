"""Windows and statistics handed to a model by hand: checked before the model sees them.

A model given windows of another shape, non-numeric input or a NaN used to answer
anyway (a 16-band window through a 32-band network gave probabilities; a NaN gave NaN)
or fail deep inside Keras. Each case is now a melgenre error naming the fix.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from melgenre import (
    ConfigError,
    FeatureSet,
    GenreCNN,
    MelFeaturizer,
    MelgenreTypeError,
    NotTrainedError,
    Predictor,
    Preprocessing,
    StatisticsHead,
    Trainer,
)
from melgenre._validation import checked_rows

FEAT = MelFeaturizer(sample_rate=8000, n_fft=512, hop_length=128, n_mels=32, frames=32)


def tiny_model() -> GenreCNN:
    return GenreCNN(3, FEAT.output_shape, filters=(4,), dense_units=8, seed=0)


def hand_built(x: np.ndarray) -> FeatureSet:
    """Two windows per file, three files of three classes."""
    n = len(x)
    return FeatureSet(
        x=x,
        labels=np.arange(n) // 2 % 3,
        groups=np.arange(n) // 2,
        paths=tuple(f"class{i % 3}/file{i}.wav" for i in range(n // 2)),
        classes=("a", "b", "c"),
    )


def windows(n: int = 6) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, *FEAT.output_shape)).astype(np.float32)


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    return Trainer(tiny_model(), verbose=0)


def test_windows_of_another_shape_are_refused_not_answered(trainer: Trainer) -> None:
    with pytest.raises(ConfigError, match=r"expects windows of shape \(n, 32, 32, 1\); got \(5, 16, 32, 1\)"):  # fmt: skip
        trainer.predict_proba(np.zeros((5, 16, 32, 1), np.float32))
    with pytest.raises(ConfigError, match=r"got \(5, 32, 32\)"):
        trainer.predict_proba(np.zeros((5, 32, 32), np.float32))
    with pytest.raises(MelgenreTypeError, match="as numbers of shape"):
        trainer.predict_proba(np.array([["a", "b"]]))
    assert trainer.predict_proba(windows()).shape == (6, 3)  # the right shape still answers


def test_a_non_finite_window_is_named_by_its_file(trainer: Trainer) -> None:
    x = windows()
    x[3, 5, 7, 0] = np.nan
    with pytest.raises(ConfigError, match=r"windows\[3\] \(from 'class1/file1.wav'\) holds NaN"):
        trainer.predict_proba(hand_built(x))
    x[3, 5, 7, 0] = np.inf
    with pytest.raises(ConfigError, match=r"windows\[3\] holds NaN or infinite"):
        trainer.predict_proba(x)


def test_fit_refuses_non_finite_windows_before_training(tmp_path: Path) -> None:
    x = windows()
    x[4] = -np.inf
    trainer = Trainer(tiny_model(), epochs=1, verbose=0, run_dir=tmp_path)
    with pytest.raises(
        ConfigError, match=r"training set: windows\[4\] \(from 'class2/file2.wav'\)"
    ):
        trainer.fit(hand_built(x))
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written
    with pytest.raises(ConfigError, match=r"test set: windows\[4\]"):
        trainer.evaluate(hand_built(x))


def test_predictor_windows_are_checked_alike() -> None:
    predictor = Predictor(
        preprocessing=Preprocessing(FEAT), model=tiny_model(), labels=["a", "b", "c"]
    )
    x = windows()
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(ConfigError, match=r"Predictor.predict_proba: windows\[0\] holds NaN"):
        predictor.predict_proba(x)
    with pytest.raises(ConfigError, match=r"expects windows of shape \(n, 32, 32, 1\)"):
        predictor.predict_proba(x[:, :16])


def test_statistics_head_checks_its_rows() -> None:
    head = StatisticsHead()
    dim = head.statistics.dim
    with pytest.raises(NotTrainedError, match="not fitted yet") as caught:
        head.predict_proba(np.zeros((1, dim)))
    assert isinstance(caught.value, ConfigError)  # what it raised until 0.2: still caught so
    rng = np.random.default_rng(1)
    head.fit_statistics(rng.normal(size=(12, dim)), np.arange(12) % 2, n_classes=2)
    with pytest.raises(ConfigError, match=rf"statistics of shape \(n, {dim}\); got \(2, 3\)"):
        head.predict_proba(np.zeros((2, 3)))
    x = rng.normal(size=(2, dim))
    x[1, 0] = np.nan
    with pytest.raises(ConfigError, match=r"statistics\[1\] holds NaN"):
        head.predict_proba(x)


def test_to_predictor_before_fit_is_not_trained(trainer: Trainer) -> None:
    with pytest.raises(NotTrainedError, match="call fit first") as caught:
        trainer.to_predictor(Preprocessing(FEAT))
    assert isinstance(caught.value, ConfigError)


def test_a_memory_map_is_scanned_in_place(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, windows(600))
    mapped = np.load(path, mmap_mode="r")
    assert checked_rows("t", "windows", mapped, FEAT.output_shape) is mapped
    assert checked_rows("t", "windows", [[1, 2]], (None,)).shape == (1, 2)


def test_a_hand_built_feature_set_must_hold_together() -> None:
    x = windows()
    parts = {"paths": ("a.wav", "b.wav", "c.wav"), "classes": ("a", "b", "c")}
    groups = np.arange(6) // 2
    with pytest.raises(ConfigError, match=r"labels must hold one index per row \(6\); got shape \(4,\)"):  # fmt: skip
        FeatureSet(x=x, labels=np.zeros(4, int), groups=groups, **parts)
    with pytest.raises(ConfigError, match="labels must index its 3 classes: found 5"):
        FeatureSet(x=x, labels=np.array([0, 0, 1, 1, 5, 5]), groups=groups, **parts)
    with pytest.raises(ConfigError, match="groups must index its 3 paths: found -1"):
        FeatureSet(x=x, labels=groups, groups=groups - 1, **parts)
    with pytest.raises(ConfigError, match="labels must be whole numbers"):
        FeatureSet(x=x, labels=groups + 0.5, groups=groups, **parts)
    with pytest.raises(ConfigError, match="chroma and chroma_groups together"):
        FeatureSet(x=x, labels=groups, groups=groups, chroma=np.zeros((4, 12)), **parts)
    with pytest.raises(MelgenreTypeError, match="x as an array of windows"):
        FeatureSet(x=[[0.0]], labels=[0], groups=[0], **parts)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"silent_files must be files of its paths; 'd\.wav'"):
        FeatureSet(x=x, labels=groups, groups=groups, silent_files=("a.wav", "d.wav"), **parts)
    named = FeatureSet(x=x, labels=groups, groups=groups, damaged_files=["b.wav"], **parts)  # type: ignore[arg-type]  # fmt: skip
    assert named.damaged_files == ("b.wav",)
    lists = FeatureSet(x=x.astype(np.float64), labels=[0, 0, 1, 1, 2, 2], groups=list(groups), **parts)  # type: ignore[arg-type]  # fmt: skip
    assert lists.labels.dtype == lists.groups.dtype == np.int64
    assert lists.x.dtype == np.float32
    assert lists.y.shape == (6, 3)
    assert (
        repr(lists)
        == "FeatureSet(6 windows of shape (32, 32, 1) from 3 files, 3 classes, 0 failed)"
    )
    one = FeatureSet(x=x[:1], labels=[0], groups=[0], paths=("a.wav",), classes=("a",))
    assert repr(one) == "FeatureSet(1 window of shape (32, 32, 1) from 1 file, 1 class, 0 failed)"


def test_statistics_head_fit_checks_rows_and_labels() -> None:
    head = StatisticsHead(C=1.0)
    dim = head.statistics.dim
    x = np.random.default_rng(2).normal(size=(12, dim))
    labels = np.arange(12) % 2
    with pytest.raises(ConfigError, match=rf"statistics of shape \(n, {dim}\); got \(12, 5\)"):
        head.fit_statistics(x[:, :5], labels, n_classes=2)  # it fitted 5 numbers before
    x[3, 4] = np.nan
    with pytest.raises(ConfigError, match=r"statistics\[3\] holds NaN"):
        head.fit_statistics(x, labels, n_classes=2)
    x[3, 4] = 0.0
    with pytest.raises(ConfigError, match=r"labels must hold one index per row \(12\)"):
        head.fit_statistics(x, labels[:10], n_classes=2)
    with pytest.raises(ConfigError, match="labels must index its 2 classes: found 5"):
        head.fit_statistics(x, labels + 4, n_classes=2)
    assert head.fit_statistics(x, labels, n_classes=2).predict_proba(x).shape == (12, 2)


def test_an_unwritable_run_dir_is_refused_before_training(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    trainer = Trainer(tiny_model(), epochs=1, verbose=0, run_dir=tmp_path / "a-file" / "run")
    with pytest.raises(ConfigError, match=r"cannot write its run directory .*a-file/run"):
        trainer.fit(hand_built(windows()))  # before the first epoch, not at its end
    assert trainer.history_ is None


def test_a_class_without_training_windows_is_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    x = windows(6)
    two_of_three = FeatureSet(
        x=x,
        labels=[0, 0, 1, 1, 0, 1],  # no window of "c": its files failed, say
        groups=[0, 0, 1, 1, 2, 2],
        paths=("a/0.wav", "b/1.wav", "a/2.wav"),
        classes=("a", "b", "c"),
    )
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        Trainer(tiny_model(), epochs=1, verbose=0).fit(two_of_three)
    assert "holds no windows of class (c): the model cannot learn it" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        Trainer(tiny_model(), epochs=1, verbose=0).fit(hand_built(x))  # all three: quiet
    assert "holds no windows" not in caplog.text


def test_a_single_item_where_a_list_is_due_is_a_type_error() -> None:
    import keras

    with pytest.raises(MelgenreTypeError, match=r"GenreCNN's filters must be a list .* got int 32"):
        GenreCNN(3, FEAT.output_shape, filters=32)  # type: ignore[arg-type]
    with pytest.raises(MelgenreTypeError, match="Trainer's callbacks must be a list"):
        Trainer(tiny_model(), callbacks=keras.callbacks.EarlyStopping())  # type: ignore[arg-type]
    with pytest.raises(MelgenreTypeError, match=r"Predictor's labels must be a list .* 'abc'"):
        Predictor(
            preprocessing=Preprocessing(FEAT), model=tiny_model(), labels="abc"
        )  # three letters, three outputs


def test_windows_in_several_batches_trace_the_model_once() -> None:
    """A short last batch is padded: one shape a model, so Keras traces it once."""
    model = tiny_model()
    trainer = Trainer(model, verbose=0)
    x = np.random.default_rng(0).random((10, *FEAT.output_shape), dtype=np.float32)
    batched = trainer.predict_proba(x, batch_size=4)  # 4 + 4 + 2 windows
    np.testing.assert_allclose(batched, np.asarray(model(x, training=False)), rtol=1e-5, atol=1e-6)
    assert model.predict_function.experimental_get_tracing_count() == 1
