"""A featurizer's in-graph twins: the exported features equal the NumPy featurizer's.

The parity check of the features alone over the settings a featurizer takes, and a
subclass's own step: refused without a twin, caught with a wrong one, exported with a
right one (the loader's twins: test_loader_twins.py; whole artifacts: test_export.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import melgenre
from melgenre import ExportedModel, GenreCNN, MelFeaturizer, ParityReport, Predictor, Preprocessing
from melgenre.errors import ExportError
from melgenre.parity import check_parity, max_difference, parity_signals
from serving import FEAT, SR, tiny_model
from signals import tone


def probabilities(prediction: Any) -> np.ndarray:
    return np.array(list(prediction.probabilities.values()), dtype=np.float32)


def untrained(featurizer: MelFeaturizer) -> Predictor:
    """A Predictor of an untrained model of the right shape (what parity compares is alike)."""
    return Predictor(
        preprocessing=Preprocessing(featurizer),
        model=tiny_model(featurizer),
        labels=["a", "b", "c"],
    )


def features_only(featurizer: MelFeaturizer) -> ParityReport:
    """The parity check of the in-graph features alone (an untrained model of the right shape)."""
    return check_parity(untrained(featurizer), {})


# ------------------------------------------------------------ in-graph features


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"ref": 1.0, "top_db": None},  # fixed reference, no clipping
        {"win_length": 400, "fmin": 50.0, "fmax": 3000.0},  # window shorter than n_fft
        {"window_hop": 7, "frames": 20},  # odd hops leave a tail window
        {"resize_frames": 24},  # the classic preset's time resize
        {"deltas": 2},  # delta and delta-delta channels
        {"tempogram": True, "resize_frames": 24},  # the rhythm channel, on resized windows
        {"chroma": True, "deltas": 1},  # the harmony channel, after a delta channel
        {"frequency_scale": "log", "fmin": 60.0},  # bands a constant ratio apart
        {"n_fft": 400},  # not a power of two: fine in-graph, refused by TFLite only
    ],
)
def test_in_graph_features_equal_the_numpy_featurizer(settings: dict[str, Any]) -> None:
    featurizer = dataclasses.replace(FEAT, **settings)
    report = features_only(featurizer)
    assert report.passed, report.summary()
    assert report.features_max_db <= 1e-3
    names = {s["name"] for s in report.signals}
    assert {"silence", "clipped-tone", "64-samples", "45-seconds", "tone-at-44100Hz"} <= names
    assert all(s["windows"] >= 1 for s in report.signals)


def test_parity_signals_cover_the_issue_list() -> None:
    signals = parity_signals(22050)
    rates = {rate for _, _, rate in signals}
    assert {8000, 22050, 44100, 48000} <= rates
    lengths = [len(x) for _, x, _ in signals]
    assert min(lengths) < 2048 < max(lengths)
    assert all(x.dtype == np.float32 and np.all(np.isfinite(x)) for _, x, _ in signals)


def test_a_nan_or_a_shape_change_is_an_infinite_difference() -> None:
    assert max_difference([0.1, 0.2], [0.1, 0.25]) == pytest.approx(0.05)
    assert max_difference([np.nan, 0.2], [0.1, 0.2]) == np.inf
    assert max_difference([0.1], [0.1, 0.2]) == np.inf
    assert max_difference(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0


# ---------------------------------------------------------------- a step's twin


@melgenre.register_component(package="tests_export")
@dataclasses.dataclass(frozen=True, kw_only=True)
class RootFeaturizer(MelFeaturizer):
    """Cube-root compression instead of decibels (docs/extending.rst): no twin yet."""

    def scale(self, power: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return np.cbrt(power).astype(np.float32)


@melgenre.register_component(package="tests_export")
@dataclasses.dataclass(frozen=True, kw_only=True)
class OffByOneFeaturizer(MelFeaturizer):
    """A twin that is a little wrong: the parity check must catch it."""

    def tf_transform(self, samples: Any) -> Any:
        return super().tf_transform(samples) + 0.5


def test_a_step_without_a_twin_names_the_method_to_implement(tmp_path: Path) -> None:
    featurizer = RootFeaturizer(**FEAT.get_config())
    p = untrained(featurizer)
    with pytest.raises(
        ExportError, match=r"^RootFeaturizer overrides scale.*implement RootFeaturizer\.tf_scale "
    ):
        p.export(tmp_path / "root")
    assert not (tmp_path / "root").exists()


def test_a_wrong_twin_fails_parity_and_writes_nothing_unless_allowed(tmp_path: Path) -> None:
    featurizer = OffByOneFeaturizer(**FEAT.get_config())
    p = untrained(featurizer)
    with pytest.raises(ExportError, match=r"disagrees.*features max \|dB\| difference 0\.5"):
        p.export(tmp_path / "wrong")
    assert not (tmp_path / "wrong").exists()
    assert not list(tmp_path.glob(".wrong*"))  # no staging left behind
    out = p.export(tmp_path / "wrong", allow_mismatch=True)
    report = ExportedModel.load(out).parity()
    assert report is not None
    assert not report.passed
    assert report.features_max_db == pytest.approx(0.5, abs=1e-3)


@melgenre.register_component(package="tests_export")
@dataclasses.dataclass(frozen=True, kw_only=True)
class RootTwinFeaturizer(RootFeaturizer):
    """RootFeaturizer with the twin of its step: exports, and passes parity."""

    def tf_scale(self, power: Any) -> Any:
        import tensorflow as tf

        return tf.pow(power, 1.0 / 3.0)


def test_a_twin_of_a_replaced_step_exports_and_passes_parity(tmp_path: Path) -> None:
    p = untrained(RootTwinFeaturizer(**FEAT.get_config()))
    out = p.export(tmp_path / "twin")
    report = ExportedModel.load(out).parity()
    assert report is not None
    assert report.passed
    x = tone(frequency=500.0, duration=2.0, sample_rate=SR)
    np.testing.assert_allclose(
        ExportedModel.load(out)(x)["probabilities"], probabilities(p.predict((x, SR))), atol=1e-5
    )


def test_a_frequency_position_channel_exports_and_passes_parity(tmp_path: Path) -> None:
    model = GenreCNN(
        num_classes=3,
        input_shape=FEAT.output_shape,
        filters=(8, 16),
        dense_units=16,
        frequency_position=True,
        seed=3,
    )
    p = Predictor(preprocessing=Preprocessing(FEAT), model=model, labels=["a", "b", "c"])
    out = p.export(tmp_path / "position", format="tflite")
    report = ExportedModel.load(out).parity()
    assert report is not None
    assert report.passed, report.summary()
    x = tone(frequency=900.0, duration=2.0, sample_rate=SR)
    np.testing.assert_allclose(
        ExportedModel.load(out)(x)["probabilities"], probabilities(p.predict((x, SR))), atol=1e-4
    )
