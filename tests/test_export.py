"""Export with the preprocessing in the graph, and the parity check (issue 16).

Every path is checked against the Predictor: each artifact (SavedModel and the TFLite
interpreter, float32 and quantized) against ``Predictor.predict``, and the CLI's
``export``/``check-parity``. The in-graph features against the NumPy featurizer, and a
featurizer's own twins: test_featurizer_twins.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import melgenre
from melgenre import (
    Audio,
    ExportedModel,
    FolderDataset,
    Predictor,
    Preprocessing,
    Trainer,
)
from melgenre.cli import main
from melgenre.errors import BundleError, ConfigError, ExportError
from melgenre.export import EXPORT_CONFIG, LABELS_FILE, PARITY_FILE, TFLITE_FILE
from serving import FEAT, SR, run_fresh, tiny_model
from signals import chirp, tone, write_separable


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_separable(tmp_path_factory.mktemp("sep"), sample_rate=SR)


@pytest.fixture(scope="module")
def trained(data_dir: Path) -> tuple[Predictor, Trainer]:
    ds = FolderDataset(data_dir)
    split = ds.split(test_size=0.25, validation_size=0.2, seed=0)
    parts = [p.features(FEAT, workers=1, progress=False) for p in (split.train, split.validation)]
    trainer = Trainer(
        tiny_model(),
        epochs=10,
        batch_size=16,
        learning_rate=3e-3,
        schedule="constant",
        seed=1,
        verbose=0,
        pooling="attention",
    )
    trainer.fit(parts[0], validation=parts[1])
    predictor = Predictor(preprocessing=Preprocessing(FEAT), model=trainer.model, labels=ds.classes)
    return predictor, trainer


@pytest.fixture(scope="module")
def bundle(trained: tuple[Predictor, Trainer], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained[0].save(tmp_path_factory.mktemp("bundles") / "model")


def like(predictor: Predictor, **changes: Any) -> Predictor:
    """A Predictor with the same model and labels, and ``changes``."""
    settings = {
        "preprocessing": predictor.preprocessing,
        "model": predictor.model,
        "labels": predictor.labels,
    }
    return Predictor(**{**settings, **changes})


def probabilities(prediction: Any) -> np.ndarray:
    return np.array(list(prediction.probabilities.values()), dtype=np.float32)


# ------------------------------------------------------------------ artifacts


def test_saved_model_export_round_trip(
    trained: tuple[Predictor, Trainer],
    tmp_path: Path,
    data_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    predictor, _ = trained
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        out = predictor.export(tmp_path / "sm", files=[str(data_dir / "tone" / "0.wav")])
    assert "is silent" not in caplog.text  # the check's silent signal is its own, not a fault
    for name in ("saved_model.pb", EXPORT_CONFIG, LABELS_FILE, PARITY_FILE):
        assert (out / name).exists(), name
    config = json.loads((out / EXPORT_CONFIG).read_text())
    assert config["labels"] == predictor.labels == (out / LABELS_FILE).read_text().split()
    assert config["sample_rate"] == SR
    assert Preprocessing.from_config(config["preprocessing"]) == predictor.preprocessing
    report = ExportedModel.load(out).parity()
    assert report is not None
    assert report.passed
    assert report.artifacts["saved_model"]["probabilities_max_diff"] <= 1e-4
    assert report.signals[-1]["name"].endswith("0.wav")

    artifact = ExportedModel.load(out)
    x = chirp(fmin=300.0, fmax=1800.0, duration=5.3, sample_rate=SR)  # not a whole window
    outputs = artifact(x)
    expected = predictor.predict((x, SR))
    np.testing.assert_allclose(outputs["probabilities"], probabilities(expected), atol=1e-5)
    assert outputs["window_probabilities"].shape == (len(expected.windows), 3)
    times = np.array([[w.start, w.end] for w in expected.windows])
    np.testing.assert_allclose(outputs["window_times"], times, atol=1e-4)


def test_the_saved_model_serves_without_melgenre(
    trained: tuple[Predictor, Trainer], tmp_path: Path
) -> None:
    """What the deployment guide shows: tf.saved_model.load and the 'serve' signature."""
    import tensorflow as tf

    predictor, _ = trained
    out = predictor.export(tmp_path / "plain")
    serve = tf.saved_model.load(str(out)).signatures["serve"]
    x = tone(frequency=900.0, duration=2.5, sample_rate=SR)
    outputs = serve(samples=tf.constant(x, tf.float32))
    labels = (out / LABELS_FILE).read_text().split()
    label = labels[int(np.argmax(outputs["probabilities"].numpy()))]
    assert label == predictor.predict((x, SR)).label


@pytest.mark.parametrize("quantize", [None, "float16", "int8"])
def test_tflite_export_round_trip(
    trained: tuple[Predictor, Trainer], tmp_path: Path, data_dir: Path, quantize: str | None
) -> None:
    predictor, _ = trained
    out = predictor.export(tmp_path / "lite", format="tflite", quantize=quantize, data=data_dir)
    assert (out / TFLITE_FILE).stat().st_size > 0
    assert not (out / "saved_model.pb").exists()
    report = ExportedModel.load(out).parity()
    assert report is not None
    assert report.passed, report.summary()
    # both the SavedModel it was converted from and the TFLite file were checked
    assert set(report.artifacts) == {"saved_model", "tflite"}
    row = report.artifacts["tflite"]
    assert row["quantize"] == quantize
    assert row["accuracy"]["files"] == len(FolderDataset(data_dir))
    assert abs(row["accuracy"]["change"]) <= 0.05
    if quantize is None:
        assert row["probabilities_max_diff"] <= 1e-3

    artifact = ExportedModel.load(out)
    for x in (
        tone(frequency=1200.0, duration=3.0, sample_rate=SR),
        np.zeros(SR // 2, np.float32),  # silence stays finite (float16 stores constants as float16)
        np.zeros(100, np.float32),  # shorter than one FFT frame
    ):
        outputs = artifact(x)
        assert np.all(np.isfinite(outputs["probabilities"]))
        expected = predictor.predict((x, SR))
        assert outputs["window_probabilities"].shape == (len(expected.windows), 3)
        if quantize is None:
            np.testing.assert_allclose(outputs["probabilities"], probabilities(expected), atol=1e-3)


def test_tflite_smaller_when_quantized(trained: tuple[Predictor, Trainer], tmp_path: Path) -> None:
    predictor, _ = trained
    sizes = {
        q: (predictor.export(tmp_path / str(q), format="tflite", quantize=q) / TFLITE_FILE)
        .stat()
        .st_size
        for q in (None, "int8")
    }
    assert sizes["int8"] < sizes[None]


def test_clip_head_and_other_aggregations_are_exported(
    trained: tuple[Predictor, Trainer], tmp_path: Path
) -> None:
    predictor, trainer = trained
    x = chirp(fmin=200.0, fmax=2500.0, duration=6.0, sample_rate=SR)
    with_head = like(predictor, clip_head=trainer.clip_head_)
    for name, p in [
        ("head", with_head),
        ("max", like(predictor, aggregation="max")),
        ("vote", like(predictor, aggregation="vote")),
    ]:
        out = p.export(tmp_path / name)
        got = ExportedModel.load(out)(x)["probabilities"]
        np.testing.assert_allclose(got, probabilities(p.predict((x, SR))), atol=1e-5)
        assert json.loads((out / EXPORT_CONFIG).read_text())["aggregation"] == p.aggregation


def test_loader_crop_travels_into_the_graph(
    trained: tuple[Predictor, Trainer], tmp_path: Path
) -> None:
    predictor, _ = trained
    loader = dataclasses.replace(predictor.preprocessing.loader, offset=0.5, duration=2.0)
    cropped = Predictor(
        preprocessing=Preprocessing(FEAT, loader=loader),
        model=predictor.model,
        labels=predictor.labels,
    )
    out = cropped.export(tmp_path / "cropped")
    x = np.concatenate(
        [
            tone(frequency=600.0, duration=1.5, sample_rate=SR),
            chirp(fmin=300.0, fmax=2000.0, duration=3.0, sample_rate=SR),
        ]
    )
    outputs = ExportedModel.load(out)(x)
    expected = cropped.predict((x, SR))
    np.testing.assert_allclose(outputs["probabilities"], probabilities(expected), atol=1e-5)
    assert outputs["window_times"][-1, 1] == pytest.approx(2.0, abs=1e-3)
    answer = ExportedModel.load(out).predict((x, SR))  # decoded uncropped: the graph crops
    np.testing.assert_allclose(probabilities(answer), probabilities(expected), atol=1e-5)
    assert answer.windows[-1].end == pytest.approx(2.0, abs=1e-3)


# --------------------------------------------------------------------- errors


def test_export_errors(trained: tuple[Predictor, Trainer], tmp_path: Path) -> None:
    predictor, _ = trained
    with pytest.raises(ConfigError, match="tflite"):
        predictor.export(tmp_path / "a", quantize="int8")
    with pytest.raises(ConfigError, match="format"):
        predictor.export(tmp_path / "a", format="onnx")  # type: ignore[arg-type]
    odd = Predictor(
        preprocessing=Preprocessing(dataclasses.replace(FEAT, n_fft=400)),
        model=predictor.model,
        labels=predictor.labels,
    )
    with pytest.raises(ExportError, match=r"power-of-two.*n_fft=400.*512"):
        odd.export(tmp_path / "b", format="tflite")
    assert (odd.export(tmp_path / "b") / "saved_model.pb").exists()  # a SavedModel can
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not a melgenre export"):
        predictor.export(occupied)
    assert (occupied / "notes.txt").read_text() == "mine"
    with pytest.raises(BundleError, match="not a melgenre export"):
        ExportedModel.load(occupied)
    with pytest.raises(melgenre.DatasetError):  # a bad labelled folder fails before exporting
        predictor.export(tmp_path / "c", data=tmp_path / "missing")
    assert not (tmp_path / "c").exists()


# ------------------------------------------------------------------------ CLI


def test_cli_export_and_check_parity(
    bundle: Path, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli-lite"
    argv = ["export", str(bundle), str(out), "--format", "tflite", "--quantize", "int8"]
    assert main([*argv, "--data", str(data_dir)]) == 0
    text = capsys.readouterr().out
    assert "Parity passed" in text
    assert "int8" in text
    assert "accuracy on 36 labelled files" in text
    assert (out / TFLITE_FILE).is_file()

    report_file = tmp_path / "parity.json"
    wav = data_dir / "noise" / "1.wav"
    assert main(["check-parity", str(bundle), str(wav), "--out", str(report_file)]) == 0
    text = capsys.readouterr().out
    assert "saved_model:" in text
    assert "tflite:" in text
    saved = json.loads(report_file.read_text())
    assert saved["passed"]
    assert saved["signals"][-1]["name"].endswith("1.wav")

    assert main(["check-parity", str(bundle), "--export", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["artifacts"]) == ["cli-lite"]

    assert main(["info", str(out)]) == 0  # `info` describes an export too, from its JSON
    text = capsys.readouterr().out
    assert text.startswith(f"Export: {out}\n  labels: chirp, noise, tone\n  format: tflite, int8")
    assert "  parity check: passed (parity.json)\n" in text

    # `melgenre predict` runs an export as it runs a bundle; a bad file is reported once
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio\n" * 20)
    assert main(["predict", str(out), str(wav), str(bad), "--json"]) == 1
    captured = capsys.readouterr()
    answer, failure = (json.loads(line) for line in captured.out.splitlines())
    assert answer["file"] == str(wav)
    assert answer["label"] == ExportedModel.load(out).predict(wav).label
    assert failure["file"] == str(bad)
    assert "not an audio file" in failure["error"]
    assert captured.err == ""

    assert main(["export", str(bundle), str(tmp_path / "x"), "--quantize", "int8"]) == 1
    assert "applies to format='tflite' only" in capsys.readouterr().err

    # the export runs in a fresh process without TensorFlow's start-up lines or the TFLite
    # interpreter's notice of its XNNPACK delegate on standard error
    code = (
        "import sys, numpy as np; from melgenre import ExportedModel; "
        "print(ExportedModel.load(sys.argv[1])(np.zeros(4000, np.float32))['probabilities'])"
    )
    run = run_fresh("-c", code, str(out))
    assert run.stderr == ""
    assert run.stdout.strip()


def test_window_features_of_an_export_match_a_file(
    trained: tuple[Predictor, Trainer], data_dir: Path
) -> None:
    """The in-graph twin on a real file, as the Predictor loads it."""
    import tensorflow as tf

    audio = Preprocessing(FEAT).loader.load(str(data_dir / "chirp" / "2.wav"))
    assert isinstance(audio, Audio)
    expected = FEAT.transform(audio)
    got = np.asarray(FEAT.tf_transform(tf.constant(audio.samples)))
    np.testing.assert_allclose(got, expected, atol=1e-3)
