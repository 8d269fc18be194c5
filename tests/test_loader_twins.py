"""A loader subclass's own ``load`` reaches every path: streaming, prediction and export.

Its in-graph twin is :meth:`AudioLoader.tf_load`: an export refuses a loader that
overrides ``load`` without it, and the parity check compares the two.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import melgenre
from melgenre import Audio, AudioLoader, ExportedModel, Predictor, Preprocessing
from melgenre.errors import ExportError
from serving import FEAT, SR, tiny_model
from signals import chirp, noise, tone


@melgenre.register_component(package="tests_loader")
@dataclasses.dataclass(frozen=True, kw_only=True)
class EmphasisLoader(AudioLoader):
    """Pre-emphasis after decoding, without an in-graph twin."""

    coefficient: float = 0.9

    def load(self, source: Any) -> Audio:
        audio = super().load(source)
        y = audio.samples
        out = np.concatenate([y[:1], y[1:] - self.coefficient * y[:-1]]).astype(np.float32)
        return Audio(out, audio.sample_rate, audio.source)


@melgenre.register_component(package="tests_loader")
@dataclasses.dataclass(frozen=True, kw_only=True)
class EmphasisTwinLoader(EmphasisLoader):
    """The same with its twin: exports, and passes parity."""

    def tf_load(self, samples: Any) -> Any:
        import tensorflow as tf

        y = super().tf_load(samples)
        return tf.concat([y[:1], y[1:] - self.coefficient * y[:-1]], axis=0)


@melgenre.register_component(package="tests_loader")
@dataclasses.dataclass(frozen=True, kw_only=True)
class WrongTwinLoader(EmphasisLoader):
    """A twin that forgets the emphasis: the parity check must catch it."""

    def tf_load(self, samples: Any) -> Any:
        return AudioLoader.tf_load(self, samples)


@melgenre.register_component(package="tests_loader")
@dataclasses.dataclass(frozen=True, kw_only=True)
class DecoderLoader(AudioLoader):
    """Only a decoder of its own (here soundfile's, by another route): no twin needed."""

    def decode(self, file: Any, name: str) -> tuple[np.ndarray, int]:
        samples, rate = sf.read(file, dtype="float32", always_2d=True)
        return np.ascontiguousarray(samples.T), rate


def predictor(loader: AudioLoader) -> Predictor:
    return Predictor(
        preprocessing=Preprocessing(FEAT, loader=loader), model=tiny_model(), labels=["a", "b", "c"]
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = np.concatenate(
        [
            tone(frequency=500.0, duration=2.0, sample_rate=SR),
            chirp(fmin=200.0, fmax=3000.0, duration=3.0, sample_rate=SR),
            noise(duration=2.0, sample_rate=SR, seed=1, amplitude=0.1),
        ]
    )
    path = tmp_path_factory.mktemp("loader") / "clip.wav"
    sf.write(path, x, SR)
    return path


def test_a_loader_that_overrides_load_is_streamed_through_it(recording: Path) -> None:
    loader = EmphasisLoader(sample_rate=SR, offset=0.5)
    prep = Preprocessing(FEAT, loader=loader)
    windows = np.concatenate([w for w, _ in prep.stream(recording, block_seconds=1.0)])
    np.testing.assert_array_equal(windows, prep(recording))
    pieces = list(loader.stream(recording, block_seconds=1.0))
    assert len(pieces) == 1  # read whole, as load reads it
    np.testing.assert_array_equal(pieces[0].samples, loader.load(recording).samples)
    # the Predictor streams paths: it must see the emphasis as training did
    p = predictor(loader)
    decoded = AudioLoader(sample_rate=SR).load(recording)  # load's work still to do
    np.testing.assert_allclose(
        list(p.predict(recording).probabilities.values()),
        list(p.predict(decoded).probabilities.values()),
        atol=1e-6,
    )


def test_export_refuses_a_load_without_its_twin(tmp_path: Path) -> None:
    p = predictor(EmphasisLoader(sample_rate=SR))
    with pytest.raises(
        ExportError, match=r"^EmphasisLoader overrides load.*Implement EmphasisLoader\.tf_load "
    ):
        p.export(tmp_path / "no-twin")
    assert not (tmp_path / "no-twin").exists()


def test_a_wrong_twin_fails_the_parity_check(tmp_path: Path) -> None:
    p = predictor(WrongTwinLoader(sample_rate=SR))
    with pytest.raises(ExportError, match="disagrees"):
        p.export(tmp_path / "wrong")
    assert not (tmp_path / "wrong").exists()


@pytest.mark.parametrize("crop", [{}, {"offset": 0.7, "duration": 4.0}])
def test_a_twin_travels_into_the_graph(
    recording: Path, tmp_path: Path, crop: dict[str, float]
) -> None:
    p = predictor(EmphasisTwinLoader(sample_rate=SR, **crop))
    exported = ExportedModel.load(p.export(tmp_path / "twin", files=[recording]))
    report = exported.parity()
    assert report is not None
    assert report.passed
    assert str(recording) in {s["name"] for s in report.signals}
    decoded = AudioLoader(sample_rate=SR).load(recording)  # what an application gives it
    outputs = exported(decoded.samples)
    expected = p.predict(recording)
    np.testing.assert_allclose(
        outputs["probabilities"], list(expected.probabilities.values()), atol=1e-5
    )
    assert len(outputs["window_times"]) == len(expected.windows)


def test_a_decoder_of_its_own_needs_no_twin(recording: Path, tmp_path: Path) -> None:
    p = predictor(DecoderLoader(sample_rate=SR))
    report = ExportedModel.load(p.export(tmp_path / "decoder", files=[recording])).parity()
    assert report is not None
    assert report.passed
