"""ExportedModel checks its input as the Predictor checks audio: clear errors, not NumPy's."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest

from melgenre import (
    Audio,
    ExportedModel,
    FailedFile,
    FolderDataset,
    Prediction,
    Predictor,
    Preprocessing,
)
from melgenre.errors import (
    AudioDecodeError,
    AudioFileNotFoundError,
    AudioUnusableError,
    BundleError,
    ConfigError,
    MelgenreTypeError,
)
from serving import FEAT, SR, run_cli, tiny_model
from signals import chirp, tone, write_audio


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExportedModel, Predictor]:
    predictor = Predictor(
        preprocessing=Preprocessing(FEAT), model=tiny_model(), labels=["a", "b", "c"]
    )
    out = predictor.export(tmp_path_factory.mktemp("export") / "model")
    return ExportedModel.load(out), predictor


def test_mono_samples_pcm_and_audio_are_read_as_the_predictor_reads_them(
    exported: tuple[ExportedModel, Predictor],
) -> None:
    model, predictor = exported
    x = tone(frequency=440.0, duration=2.0, sample_rate=SR)
    expected = list(predictor.predict((x, SR)).probabilities.values())
    pcm = np.round(x * 32767).astype(np.int16)  # scaled to [-1, 1], as Audio scales it
    for given in (x, x[None, :], Audio(x, SR), pcm, x.astype(np.float64).tolist()):
        np.testing.assert_allclose(model(given)["probabilities"], expected, atol=1e-3)


@pytest.mark.parametrize(
    ("given", "error", "words"),
    [
        ("song.wav", MelgenreTypeError, "takes samples, not str 'song.wav': decode it first"),
        (Path("song.wav"), MelgenreTypeError, "AudioLoader(sample_rate=8000).load(path)"),
        (b"RIFF....", MelgenreTypeError, "takes samples, not bytes"),
        (np.zeros(0, np.float32), AudioUnusableError, "has no samples"),
        (
            np.zeros((2, SR), np.float32),
            AudioUnusableError,
            "shape (2, 8000); this export takes mono",
        ),
        (np.zeros((SR, 2), np.float32), AudioUnusableError, "shape (8000, 2)"),
        (np.full(SR, np.nan, np.float32), AudioUnusableError, "NaN"),
        (
            Audio(np.zeros(SR, np.float32), 16000),
            AudioUnusableError,
            "16000 Hz; this export takes 8000",
        ),
        (np.array(["a", "b"]), AudioUnusableError, "dtype <U1"),
    ],
)
def test_what_is_not_mono_samples_is_a_clear_error(
    exported: tuple[ExportedModel, Predictor], given: object, error: type, words: str
) -> None:
    model, _ = exported
    with pytest.raises(error, match=None) as caught:
        model(given)  # type: ignore[arg-type]
    assert words in str(caught.value)


def test_predict_decodes_a_file_and_answers_as_the_predictor(
    exported: tuple[ExportedModel, Predictor], tmp_path: Path
) -> None:
    model, predictor = exported
    x = chirp(fmin=300.0, fmax=3000.0, duration=2.3, sample_rate=2 * SR)  # resampled on load
    path = write_audio(tmp_path / "clip.flac", x, 2 * SR, format="FLAC")
    for source in (path, str(path), path.read_bytes()):
        got, expected = model.predict(source), predictor.predict(source)
        assert got.source == expected.source
        assert got.label == expected.label
        assert list(got.probabilities) == model.labels
        np.testing.assert_allclose(
            list(got.probabilities.values()), list(expected.probabilities.values()), atol=1e-4
        )
        np.testing.assert_allclose(
            [(w.start, w.end) for w in got.windows],
            [(w.start, w.end) for w in expected.windows],
            atol=1e-4,
        )
        assert [w.label for w in got.windows] == [w.label for w in expected.windows]
    with pytest.raises(AudioFileNotFoundError, match=r"missing\.wav"):
        model.predict(tmp_path / "missing.wav")
    with pytest.raises(MelgenreTypeError, match=r"or call model\.predict\(path\), which does"):
        model(str(path))  # type: ignore[arg-type]


def test_predict_many_keeps_a_bad_file_in_its_place(
    exported: tuple[ExportedModel, Predictor], tmp_path: Path
) -> None:
    model, predictor = exported
    good = write_audio(tmp_path / "a.wav", tone(frequency=440.0, duration=1.0, sample_rate=SR), SR)
    bad = tmp_path / "b.wav"
    bad.write_text("not audio\n" * 20)
    first, failed, again = model.predict_many([good, bad, good])
    assert isinstance(first, Prediction)
    assert first == again
    assert first.label == predictor.predict(good).label
    assert isinstance(failed, FailedFile)
    assert (failed.path, failed.error_type) == (str(bad), "AudioDecodeError")
    with pytest.raises(AudioDecodeError, match=r"b\.wav"):
        model.predict_many([good, bad], on_error="raise")
    one_file = io.BytesIO(good.read_bytes())  # iterable by lines, but one source
    for one in (good, str(good), one_file, Audio(np.zeros(SR, np.float32), SR)):
        with pytest.raises(MelgenreTypeError, match=r"takes an iterable of sources; got one"):
            model.predict_many(one)  # type: ignore[arg-type]
    with pytest.raises(MelgenreTypeError, match=r"got one tuple"):
        predictor.predict_many((tone(frequency=440.0, duration=1.0, sample_rate=SR), SR))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'batch_size' parameter of Predictor\.predict_many"):
        predictor.predict_many([good], batch_size=0)


def test_a_bundle_and_an_export_each_name_the_other_loader(
    exported: tuple[ExportedModel, Predictor], tmp_path: Path
) -> None:
    model, _ = exported
    bundle = tmp_path / "bundle"  # what a bundle holds, as far as the message goes
    bundle.mkdir()
    (bundle / "melgenre.json").write_text("{}")
    with pytest.raises(BundleError, match=r"it is a saved model: Predictor\.load\(\) reads it"):
        ExportedModel.load(bundle)
    with pytest.raises(BundleError, match=r"not a melgenre bundle but an export: ExportedModel"):
        Predictor.load(model.path)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"labels": None}, "'labels' should be a list of labels, got nothing"),
        ({"sample_rate": "8000"}, "'sample_rate' should be a sample rate in Hz, got '8000'"),
        ({"artifact": "onnx"}, """'artifact' should be "saved_model" or "tflite", got 'onnx'"""),
        ({"preprocessing": []}, "'preprocessing' should be the preprocessing's config"),
        ({"format": "other"}, "does not describe a melgenre export"),
    ],
)
def test_a_damaged_export_config_is_named_by_load_and_info(
    exported: tuple[ExportedModel, Predictor],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, object],
    words: str,
) -> None:
    model, _ = exported
    config = {**model.config, **change}
    config = {key: value for key, value in config.items() if value is not None}
    damaged = tmp_path / "export"
    damaged.mkdir()
    (damaged / "melgenre-export.json").write_text(json.dumps(config))
    with pytest.raises(BundleError, match=re.escape(words)):
        ExportedModel.load(damaged)
    code, _, err = run_cli(capsys, "info", str(damaged))
    assert code == 1
    assert words in err


def test_a_silent_recording_is_answered_with_a_warning(
    exported: tuple[ExportedModel, Predictor], caplog: pytest.LogCaptureFixture
) -> None:
    model, _ = exported
    with caplog.at_level(logging.WARNING, logger="melgenre.prediction"):
        silent = model.predict((np.zeros(SR, np.float32), SR))
        quiet = model.predict((tone(frequency=440.0, duration=1.0, sample_rate=SR) * 1e-3, SR))
    assert (silent.silent, quiet.silent) == (True, False)
    said = [r.getMessage() for r in caplog.records if "is silent" in r.getMessage()]
    assert said == [
        "<array> is silent (no sample above -90 dBFS): unless the model learned a class of "
        "silence, its answer is arbitrary."
    ]


def test_evaluate_reports_the_exports_own_answers(
    exported: tuple[ExportedModel, Predictor],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    model, _ = exported
    root = tmp_path / "data"
    for c, label in enumerate(("b", "a")):  # two of its three labels, in another order
        (root / label).mkdir(parents=True)
        for i in range(3):
            x = tone(frequency=300.0 * (c + 1) + 50 * i, duration=1.0 + i, sample_rate=SR)
            write_audio(root / label / f"{i}.wav", x, SR)
    (root / "a" / "bad.wav").write_bytes(b"not audio")
    data = FolderDataset(root)
    with caplog.at_level(logging.WARNING, logger="melgenre.artifact"):
        report = model.evaluate(data)
    assert "bad.wav" in caplog.text  # skipped, said
    good = [(p, data.class_names[int(y)]) for p, y in zip(data.paths, data.labels, strict=True)]
    answers = [(model.predict(p), truth) for p, truth in good if p.name != "bad.wav"]
    assert report.classes == ["a", "b", "c"]
    assert report.n_files == 6
    assert report.n_windows == sum(len(p.windows) for p, _ in answers)
    assert report.file_accuracy == pytest.approx(np.mean([p.label == t for p, t in answers]))
    code, out, _ = run_cli(capsys, "evaluate", str(model.path), str(root), "--json")
    assert code == 0
    assert json.loads(out)["file_accuracy"] == pytest.approx(report.file_accuracy)
    with pytest.raises(MelgenreTypeError, match="takes a FolderDataset"):
        model.evaluate(data.features(FEAT, workers=1, progress=False))  # type: ignore[arg-type]
    (root / "d").mkdir()
    write_audio(root / "d" / "0.wav", tone(frequency=500.0, duration=1.0, sample_rate=SR), SR)
    with pytest.raises(ConfigError, match=r"classes \['d'\] that the model does not know"):
        model.evaluate(FolderDataset(root))
