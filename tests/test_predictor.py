from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pytest
import soundfile as sf

import melgenre
from melgenre import (
    AudioLoader,
    FailedFile,
    FolderDataset,
    GenreCNN,
    MelFeaturizer,
    MelgenreWarning,
    Prediction,
    Predictor,
    Preprocessing,
    Trainer,
)
from melgenre.errors import (
    AudioDecodeError,
    BundleError,
    ConfigError,
    MelgenreDeprecationWarning,
    NotTrainedError,
)
from signals import chirp, noise, tone, write_separable

SR = 8000
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)
LABELS = ["chirp", "noise", "tone"]


def make_data(root: Path) -> None:
    write_separable(root, sample_rate=SR)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    make_data(root)
    return root


def train_predictor(data_dir: Path, featurizer: MelFeaturizer = FEAT) -> tuple[Predictor, Any]:
    ds = FolderDataset(data_dir)
    train, _, test = ds.split(test_size=0.25, seed=0)[:]
    model = GenreCNN(
        num_classes=3,
        input_shape=featurizer.output_shape,
        filters=(8, 16),
        dense_units=16,
        dropout=0.1,
        first_stride=1,  # 32x32 test windows are small enough already
        seed=3,
    )
    trainer = Trainer(  # the window path alone: tests/test_fusion.py covers the head
        model,
        epochs=8,
        batch_size=16,
        learning_rate=1e-3,
        schedule="constant",
        seed=1,
        verbose=0,
        statistics=False,
    )
    history = trainer.fit(train.features(featurizer, workers=1, progress=False))
    predictor = Predictor(preprocessing=Preprocessing(featurizer), model=model, labels=ds.classes)
    predictor.trainer = trainer  # type: ignore[attr-defined]
    return predictor, (history, test)


@pytest.fixture(scope="module")
def trained(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Predictor, Path, Any]:
    predictor, (history, test) = train_predictor(data_dir)
    bundle = tmp_path_factory.mktemp("bundles") / "model"
    predictor.save(bundle, history=history, report=predictor.evaluate(test, workers=1))
    return predictor, bundle, test


# ---------------------------------------------------------------- predictions


def test_prediction_fields_and_timeline(trained: tuple[Predictor, Path, Any]) -> None:
    predictor, _, _ = trained
    x = tone(frequency=900.0, duration=5.0, sample_rate=SR)
    p = predictor.predict((x, SR))
    assert isinstance(p, Prediction)
    assert p.label == "tone"
    assert list(p.probabilities) == LABELS
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert p.confidence == p.probabilities["tone"] == max(p.probabilities.values())
    assert p.top_k(2)[0] == {"label": "tone", "score": p.confidence}
    assert len(p.top_k(10)) == 3
    assert len(p.windows) == len(FEAT.transform(melgenre.Audio(x, SR)))
    assert p.windows[0].start == 0.0
    assert p.windows[-1].end == pytest.approx(5.0)
    mean = np.mean([[w.probabilities[k] for k in LABELS] for w in p.windows], axis=0)
    np.testing.assert_allclose(list(p.probabilities.values()), mean, rtol=1e-5)
    assert json.loads(json.dumps(p.to_dict()))["label"] == "tone"


def test_every_source_kind_and_resampling(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained
    x = noise(duration=3.0, sample_rate=SR, seed=99)
    path = tmp_path / "n.flac"
    sf.write(path, x, SR)
    reference = predictor.predict(path)
    assert reference.label == "noise"
    assert reference.source == str(path)
    for source in (str(path), path.read_bytes(), io.BytesIO(path.read_bytes()), (x, SR)):
        np.testing.assert_allclose(
            list(predictor.predict(source).probabilities.values()),
            list(reference.probabilities.values()),
            atol=1e-3,
        )
    # audio at another rate is resampled by the bundled loader, not misread
    fast = librosa.resample(x, orig_sr=SR, target_sr=44100)
    assert predictor.predict((fast, 44100)).label == "noise"


@pytest.mark.parametrize("aggregation", ["mean", "max", "vote"])
def test_aggregations(trained: tuple[Predictor, Path, Any], aggregation: str) -> None:
    base, _, _ = trained
    predictor = Predictor(
        preprocessing=base.preprocessing,
        model=base.model,
        labels=base.labels,
        aggregation=aggregation,  # type: ignore[arg-type]
    )
    p = predictor.predict((chirp(fmin=200.0, fmax=1500.0, duration=4.0, sample_rate=SR), SR))
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    if aggregation == "vote":
        assert all(
            v * len(p.windows) == pytest.approx(round(v * len(p.windows)))
            for v in p.probabilities.values()
        )


def test_predict_many_batches_and_goes_past_bad_files(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained
    good = []
    for i, x in enumerate(
        [
            tone(frequency=500.0, duration=3.0, sample_rate=SR),
            noise(duration=1.0, sample_rate=SR, seed=5),
            chirp(fmin=150.0, fmax=900.0, duration=6.0, sample_rate=SR),
        ]
    ):
        path = tmp_path / f"{i}.wav"
        sf.write(path, x, SR)
        good.append(path)
    broken = tmp_path / "broken.mp3"
    broken.write_text("no")
    results = predictor.predict_many([good[0], broken, str(good[1]), good[2]], batch_size=4)
    assert len(results) == 4
    assert isinstance(results[1], FailedFile)
    assert results[1].path == str(broken)
    assert results[1].error_type == "AudioDecodeError"
    for result, path in zip([results[0], results[2], results[3]], good, strict=True):
        assert isinstance(result, Prediction)
        single = predictor.predict(path)
        np.testing.assert_allclose(
            list(result.probabilities.values()), list(single.probabilities.values()), atol=1e-5
        )
        assert len(result.windows) == len(single.windows)
    with pytest.raises(AudioDecodeError):
        predictor.predict_many([broken], on_error="raise")


def test_evaluate_on_a_folder_dataset(trained: tuple[Predictor, Path, Any]) -> None:
    predictor, _, test = trained
    report = predictor.evaluate(test, workers=1)
    assert report.n_files == len(test)
    expected = predictor.trainer.evaluate(test.features(FEAT, workers=1, progress=False))  # type: ignore[attr-defined]
    assert report.file_accuracy == expected.file_accuracy >= 0.85
    assert report.window_accuracy == pytest.approx(expected.window_accuracy)
    assert report.confusion_matrix == expected.confusion_matrix
    # classes in another order are mapped onto the predictor's labels
    reordered = FolderDataset(test.root, class_names=["tone", "chirp", "noise"])
    assert predictor.evaluate(reordered, workers=1).classes == LABELS


def test_a_class_the_model_does_not_know_is_named_before_extraction(
    trained: tuple[Predictor, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictor = trained[0]
    for label in ("tone", "cat"):
        (tmp_path / label).mkdir()
        sf.write(
            tmp_path / label / "a.wav", tone(frequency=440.0, duration=1.0, sample_rate=SR), SR
        )

    def extract(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("extracted before the classes were checked")

    monkeypatch.setattr(FolderDataset, "features", extract)
    with pytest.raises(ConfigError, match=r"classes \['cat'\] that the model does not know"):
        predictor.evaluate(FolderDataset(tmp_path), workers=1)


def test_threads_sharing_one_predictor_agree_with_one_thread(
    trained: tuple[Predictor, Path, Any],
) -> None:
    predictor, bundle, _ = trained
    shared = Predictor.load(bundle)
    sources = [(noise(duration=2.0 + i / 4, sample_rate=SR, seed=i), SR) for i in range(8)]
    expected = [predictor.predict(s).probabilities for s in sources]
    got: dict[int, Any] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(3):
                got[i] = shared.predict(sources[i]).probabilities
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(8):
        np.testing.assert_allclose(list(got[i].values()), list(expected[i].values()), atol=1e-5)


# --------------------------------------------------------------------- bundle


def test_saved_bundle_holds_what_it_should(trained: tuple[Predictor, Path, Any]) -> None:
    _, bundle, _ = trained
    assert sorted(p.name for p in bundle.iterdir()) == [
        "melgenre.json",
        "model.keras",
        "training_hist.json",
    ]
    manifest = json.loads((bundle / "melgenre.json").read_text())
    assert manifest["format"] == "melgenre.bundle"
    assert manifest["format_version"] == 1
    assert manifest["melgenre_version"] == melgenre.__version__
    assert manifest["labels"] == LABELS
    assert manifest["loader"]["class_name"] == "melgenre>AudioLoader"
    assert manifest["featurizer"] == {
        "class_name": "melgenre>MelFeaturizer",
        "config": FEAT.get_config(),
    }
    assert manifest["model"]["input_shape"] == [32, 32, 1]
    assert manifest["metrics"]["file_accuracy"] >= 0.85
    training = manifest["training"]  # the reproducibility record
    assert training["seed"] == 1
    assert training["train_files"] == 27
    assert len(training["train_files_hash"]) == 32
    assert manifest["environment"]["tensorflow"] != "not installed"
    assert set(manifest["files"]) == {"model.keras", "training_hist.json"}
    assert not [p for p in bundle.parent.iterdir() if p.name.startswith(".")]


def test_load_in_a_fresh_process_gives_the_same_probabilities(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, bundle, _ = trained
    x = chirp(fmin=300.0, fmax=2000.0, duration=4.0, sample_rate=SR)
    path = tmp_path / "c.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    script = f"import json, melgenre; p = melgenre.Predictor.load({str(bundle)!r}).predict({str(path)!r}); print(json.dumps(p.probabilities))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=env,
    )
    # quiet start-up: no TensorFlow, absl or CUDA lines, just the answer
    assert out.stderr == ""
    theirs = json.loads(out.stdout)
    ours = predictor.predict(path).probabilities
    np.testing.assert_allclose(list(theirs.values()), list(ours.values()), atol=1e-6)


def test_a_long_file_is_predicted_block_by_block_as_in_one_piece(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained
    x = np.concatenate(
        [
            tone(frequency=700.0, duration=30.0, sample_rate=SR),
            noise(duration=25.0, sample_rate=SR, seed=5),
            chirp(fmin=200.0, fmax=2000.0, duration=20.3, sample_rate=SR),
        ]
    )
    path = tmp_path / "set.flac"
    sf.write(path, x, SR)
    streamed = predictor.predict(path)  # 75 s: read in three 30 s blocks
    whole = predictor.predict((sf.read(path, dtype="float32")[0], SR))
    assert len(streamed.windows) == len(whole.windows) == len(predictor.preprocessing(path))
    np.testing.assert_allclose(
        [list(w.probabilities.values()) for w in streamed.windows],
        [list(w.probabilities.values()) for w in whole.windows],
        atol=1e-5,
    )
    assert [(w.start, w.end) for w in streamed.windows] == [(w.start, w.end) for w in whole.windows]
    assert streamed.windows[-1].end == pytest.approx(75.3, abs=0.01)
    [many] = predictor.predict_many([path], batch_size=7)
    assert isinstance(many, Prediction)
    assert many.probabilities == pytest.approx(streamed.probabilities, abs=1e-5)


def copy_bundle(bundle: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


@pytest.mark.parametrize("name", ["melgenre.json", "model.keras", "training_hist.json"])
@pytest.mark.parametrize("damage", ["delete", "truncate", "tamper"])
def test_every_damaged_file_is_a_bundle_error(
    trained: tuple[Predictor, Path, Any], tmp_path: Path, name: str, damage: str
) -> None:
    _, bundle, _ = trained
    target = copy_bundle(bundle, tmp_path)
    path = target / name
    data = path.read_bytes()
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        # melgenre.json is the editable description (not checksummed, validated instead):
        # tamper with its structure; the other files are checksummed, so any byte will do
        flipped = bytearray(data)
        flipped[0 if name == "melgenre.json" else len(flipped) // 2] ^= 0x55
        path.write_bytes(bytes(flipped))
    with pytest.raises(
        BundleError,
        match=r"(missing|no melgenre\.json|checksum|not valid JSON|damaged|does not describe|not a melgenre bundle|inconsistent)",
    ):
        Predictor.load(target)


def edit_manifest(target: Path, **changes: Any) -> None:
    manifest = json.loads((target / "melgenre.json").read_text())
    manifest.update(changes)
    (target / "melgenre.json").write_text(json.dumps(manifest))


def test_wrong_labels_unknown_version_and_newer_melgenre(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    _, bundle, _ = trained
    target = copy_bundle(bundle, tmp_path)
    edit_manifest(target, labels=["a", "b"])
    with pytest.raises(BundleError, match="model has 3 outputs but 2 labels"):
        Predictor.load(target)
    edit_manifest(target, labels=LABELS, format_version=99)
    with pytest.raises(BundleError, match="bundle format 99, newer than the 1"):
        Predictor.load(target)
    edit_manifest(target, format_version=1, melgenre_version="99.0.0")
    with pytest.warns(MelgenreWarning, match="written by melgenre 99.0.0"):
        Predictor.load(target)
    edit_manifest(
        target,
        melgenre_version=melgenre.__version__,
        featurizer={
            "class_name": "melgenre>MelFeaturizer",
            "config": FEAT.get_config() | {"n_mels": 64},
        },
    )
    with pytest.raises(
        BundleError,
        match=r"expects windows of shape \(32, 32, 1\) but the featurizer makes \(64, 32, 1\)",
    ):
        Predictor.load(target)
    with pytest.raises(BundleError, match="No bundle at"):
        Predictor.load(tmp_path / "nowhere")


def test_a_kill_during_save_leaves_the_old_bundle_loadable(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, bundle, _ = trained
    target = copy_bundle(bundle, tmp_path)
    script = textwrap.dedent(
        f"""
        import sys, time
        import melgenre, melgenre.bundle as b
        predictor = melgenre.Predictor.load({str(target)!r})
        real = b.sha256
        def slow(path):
            print("WRITING", flush=True)
            time.sleep(60)
            return real(path)
        b.sha256 = slow
        predictor.save({str(target)!r})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "WRITING" in line:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    x = (tone(frequency=700.0, duration=2.0, sample_rate=SR), SR)
    reloaded = Predictor.load(target)
    np.testing.assert_allclose(
        list(reloaded.predict(x).probabilities.values()),
        list(predictor.predict(x).probabilities.values()),
        atol=1e-6,
    )
    # the interrupted save left only a hidden staging directory, which a later save does not mind
    predictor.save(target)
    assert Predictor.load(target).labels == LABELS


def test_saving_replaces_an_existing_bundle(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained
    target = tmp_path / "m"
    predictor.save(target)
    (target / "stale.txt").write_text("old")
    predictor.save(target)
    assert not (target / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_saving_never_replaces_what_is_not_a_bundle(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor = trained[0]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match=r"a directory of other files, not a melgenre bundle"):
        predictor.save(mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("mine")
    with pytest.raises(BundleError, match="it is a file"):
        predictor.save(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    assert (predictor.save(tmp_path / "empty") / "melgenre.json").is_file()  # an empty one may


# ------------------------------------------------------------------- registry


@melgenre.register_component(package="melgenre_tests")
@dataclasses.dataclass(frozen=True, kw_only=True)
class CompressedMel(MelFeaturizer):
    """log(1 + C * mel) instead of decibels."""

    compression: float = 100.0

    def scale(self, power: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return np.log1p(self.compression * power).astype(np.float32)


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnregisteredMel(MelFeaturizer):
    pass


def test_a_registered_custom_featurizer_survives_the_round_trip(
    data_dir: Path, tmp_path: Path
) -> None:
    featurizer = CompressedMel(**FEAT.get_config(), compression=10.0)
    predictor, _ = train_predictor(data_dir, featurizer)
    predictor.save(tmp_path / "custom")
    manifest = json.loads((tmp_path / "custom" / "melgenre.json").read_text())
    assert manifest["featurizer"]["class_name"] == "melgenre_tests>CompressedMel"
    loaded = Predictor.load(tmp_path / "custom")
    assert type(loaded.featurizer) is CompressedMel
    assert loaded.featurizer == featurizer
    x = (noise(duration=2.0, sample_rate=SR, seed=1), SR)
    np.testing.assert_allclose(
        list(loaded.predict(x).probabilities.values()),
        list(predictor.predict(x).probabilities.values()),
        atol=1e-6,
    )
    # a bundle naming a class nobody registered says which module to import
    manifest["featurizer"]["class_name"] = "my_pkg>PCENFeaturizer"
    (tmp_path / "custom" / "melgenre.json").write_text(json.dumps(manifest))
    with pytest.raises(
        BundleError,
        match=r"Unknown component 'my_pkg>PCENFeaturizer': import the module that defines it",
    ):
        Predictor.load(tmp_path / "custom")


def test_an_unregistered_subclass_cannot_be_saved(
    trained: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    base, _, _ = trained
    predictor = Predictor(
        preprocessing=Preprocessing(UnregisteredMel(**FEAT.get_config())),
        model=base.model,
        labels=base.labels,
    )
    with pytest.raises(BundleError, match=r"UnregisteredMel is not registered.*register_component"):
        predictor.save(tmp_path / "x")
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------- errors


def test_old_loader_and_featurizer_keywords_still_work_with_a_warning(
    trained: tuple[Predictor, Path, Any],
) -> None:
    base, _, _ = trained
    with pytest.warns(MelgenreDeprecationWarning, match=r"Predictor\(loader=..., featurizer=...\)"):
        old = Predictor(
            loader=base.loader, featurizer=base.featurizer, model=base.model, labels=base.labels
        )
    assert old.preprocessing == base.preprocessing
    x = tone(frequency=900.0, duration=2.0, sample_rate=SR)
    windows = base.preprocessing((x, SR))
    with pytest.warns(MelgenreDeprecationWarning, match="predict_windows is deprecated"):
        np.testing.assert_array_equal(old.predict_windows(windows), base.predict_proba(windows))


def test_construction_errors(trained: tuple[Predictor, Path, Any], tmp_path: Path) -> None:
    base, _, _ = trained
    kwargs: dict[str, Any] = {
        "preprocessing": base.preprocessing,
        "model": base.model,
        "labels": base.labels,
    }
    with pytest.raises(ConfigError, match="3 outputs but 2 labels"):
        Predictor(**kwargs | {"labels": ["a", "b"]})
    with pytest.raises(
        ConfigError, match="loader resamples to 22050 Hz but the featurizer expects 8000 Hz"
    ):
        Preprocessing(base.featurizer, loader=AudioLoader())
    with pytest.raises(TypeError, match=r"needs preprocessing=Preprocessing\(featurizer\)"):
        Predictor(**kwargs | {"preprocessing": base.featurizer})
    wider = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=64, frames=32)
    with pytest.raises(ConfigError, match=r"expects windows of shape \(32, 32, 1\)"):
        Predictor(**kwargs | {"preprocessing": Preprocessing(wider)})
    with pytest.raises(ConfigError, match="'aggregation'"):
        Predictor(**kwargs | {"aggregation": "median"})
    untrained = GenreCNN(num_classes=3, input_shape=FEAT.output_shape, filters=(4,))
    with pytest.raises(
        NotTrainedError, match=r"not trained yet. Call Trainer.fit\(...\) before Predictor.save\(\)"
    ):
        Predictor(**kwargs | {"model": untrained}).save(tmp_path / "never")
    assert not (tmp_path / "never").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "Predictor(labels=" in repr(base)
