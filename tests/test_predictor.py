"""Predicting with a Predictor: fields, sources, aggregation, batches, threads, errors.

Its bundle, saved and loaded: test_bundle_saving.py (the same trained predictor, conftest.py).
"""

from __future__ import annotations

import io
import json
import logging
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
    Prediction,
    Predictor,
    Preprocessing,
)
from melgenre.errors import (
    AudioDecodeError,
    ConfigError,
    MelgenreDeprecationWarning,
    NotTrainedError,
)
from signals import chirp, noise, tone
from trained_predictor import FEAT, LABELS, SR

# ---------------------------------------------------------------- predictions


def test_prediction_fields_and_timeline(trained_predictor: tuple[Predictor, Path, Any]) -> None:
    predictor, _, _ = trained_predictor
    x = tone(frequency=900.0, duration=5.0, sample_rate=SR)
    p = predictor.predict((x, SR))
    assert isinstance(p, Prediction)
    assert p.label == "tone"
    assert list(p.probabilities) == LABELS
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert p.confidence == p.probabilities["tone"] == max(p.probabilities.values())
    assert p.top_k(2)[0] == {"label": "tone", "score": p.confidence}
    assert len(p.top_k(10)) == 3
    for k in (0, -1, 2.5):  # -1 gave all but the last class; 2.5 failed in slicing
        with pytest.raises(melgenre.ConfigError, match=r"'k' parameter of Prediction\.top_k"):
            p.top_k(k)  # type: ignore[arg-type]
    assert len(p.windows) == len(FEAT.transform(melgenre.Audio(x, SR)))
    assert p.windows[0].start == 0.0
    assert p.windows[-1].end == pytest.approx(5.0)
    mean = np.mean([[w.probabilities[k] for k in LABELS] for w in p.windows], axis=0)
    np.testing.assert_allclose(list(p.probabilities.values()), mean, rtol=1e-5)
    assert json.loads(json.dumps(p.to_dict()))["label"] == "tone"


def test_every_source_kind_and_resampling(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained_predictor
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
def test_aggregations(trained_predictor: tuple[Predictor, Path, Any], aggregation: str) -> None:
    base, _, _ = trained_predictor
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
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained_predictor
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


def test_a_silent_recording_is_answered_with_a_warning(
    trained_predictor: tuple[Predictor, Path, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    predictor, _, _ = trained_predictor
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(2 * SR, np.float32), SR)  # 16-bit, every sample 0
    late = tmp_path / "late.wav"  # 35 s of silence, then a tone: heard in its second block
    tail = tone(frequency=500.0, duration=1.0, sample_rate=SR)
    sf.write(late, np.concatenate([np.zeros(35 * SR, np.float32), tail]), SR)
    quiet = 10 ** (-70 / 20) * tone(frequency=500.0, duration=2.0, sample_rate=SR)
    dither = np.where(np.arange(SR) % 2, 0.5, -0.5).astype(np.float32) / 32768
    with caplog.at_level(logging.WARNING, logger="melgenre.prediction"):
        results = predictor.predict_many([silent, late, (quiet, SR), (dither, SR)])
        single = predictor.predict(silent)
    assert all(isinstance(r, Prediction) for r in results)  # answered all the same
    assert single.probabilities == pytest.approx(results[0].probabilities)
    said = [r.getMessage() for r in caplog.records if "is silent" in r.getMessage()]
    note = (
        "is silent (no sample above -90 dBFS): unless the model learned a class of silence, "
        "its answer is arbitrary."
    )
    assert said == [f"{silent} {note}", f"<array> {note}", f"{silent} {note}"]
    # and the answers say so themselves, for a program that reads no logs
    assert [r.silent for r in results] == [True, False, False, True]  # type: ignore[union-attr]
    assert (single.silent, single.peak, single.to_dict()["silent"]) == (True, 0.0, True)
    # printed in a line, however many windows (the timeline is in .windows)
    n, end = len(single.windows), single.windows[-1].end
    assert repr(single) == f"Prediction(source={str(silent)!r}, label={single.label!r}, " + (
        f"confidence={single.confidence:.3f}, {n} windows over {end:.1f} s, silent)"
    )
    assert repr(results[1]).endswith(" s)")  # heard: no mention of silence
    assert results[1].peak == pytest.approx(np.abs(tail).max(), abs=1e-4)  # type: ignore[union-attr]


def test_evaluate_on_a_folder_dataset(trained_predictor: tuple[Predictor, Path, Any]) -> None:
    predictor, _, test = trained_predictor
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
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictor = trained_predictor[0]
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
    trained_predictor: tuple[Predictor, Path, Any],
) -> None:
    predictor, bundle, _ = trained_predictor
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


# --------------------------------------------------------------------- errors


def test_old_loader_and_featurizer_keywords_still_work_with_a_warning(
    trained_predictor: tuple[Predictor, Path, Any],
) -> None:
    base, _, _ = trained_predictor
    with pytest.warns(MelgenreDeprecationWarning, match=r"Predictor\(loader=..., featurizer=...\)"):
        old = Predictor(
            loader=base.loader, featurizer=base.featurizer, model=base.model, labels=base.labels
        )
    assert old.preprocessing == base.preprocessing
    x = tone(frequency=900.0, duration=2.0, sample_rate=SR)
    windows = base.preprocessing((x, SR))
    with pytest.warns(MelgenreDeprecationWarning, match="predict_windows is deprecated"):
        np.testing.assert_array_equal(old.predict_windows(windows), base.predict_proba(windows))


def test_construction_errors(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    base, _, _ = trained_predictor
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
