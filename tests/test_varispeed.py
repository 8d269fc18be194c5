"""Varispeed copies: the resampling, the statistics head learning from them, and what a set
without its preprocessing or a file gone since extraction does to the fit."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from melgenre import Audio, FeatureSet, FolderDataset, MelFeaturizer, Preprocessing, StatisticsHead
from melgenre._varispeed import speed_ratio, varispeed
from melgenre.errors import ConfigError
from melgenre.fusion import VARISPEED, VARISPEED_FILES, fit_statistics_head
from melgenre.statistics import ClipStatistics

SR = 8000
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)
SMALL = ClipStatistics(
    harmony=False, n_mfcc=8, tempo_window=128, tempo_lags=64, similarity_lags=64, band_from=8
)


def tone(hz: float, seconds: float = 1.0) -> Audio:
    return Audio(np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR), SR)


def peak_hz(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples * np.hanning(len(audio.samples))))
    return float(np.argmax(spectrum) * audio.sample_rate / len(audio.samples))


def test_a_copy_moves_pitch_and_length_together() -> None:
    up, down = varispeed(tone(440), 12), varispeed(tone(440), -12)
    assert up.sample_rate == down.sample_rate == SR
    assert len(up.samples) == SR // 2
    assert len(down.samples) == 2 * SR
    assert peak_hz(up) == pytest.approx(880, abs=3)
    assert peak_hz(down) == pytest.approx(220, abs=2)
    assert peak_hz(varispeed(tone(440), 2)) == pytest.approx(440 * 2 ** (2 / 12), abs=3)
    assert speed_ratio(1) == Fraction(89, 84)
    for semitones in np.arange(-12, 12.01, 0.25):  # cents off the interval
        cents = 1200 * np.log2(float(speed_ratio(semitones))) - 100 * semitones
        assert abs(cents) < (2 if semitones == round(semitones) else 9)
    stereo = Audio(np.stack([tone(440).samples, tone(660).samples]), SR)
    assert varispeed(stereo, 12).samples.shape == (2, SR // 2)


def write_classes(root: Path, per_class: int = 6) -> Path:
    """Two classes of noisy tones: low (200-300 Hz) and high (900-1200 Hz)."""
    rng = np.random.default_rng(0)
    for label, (low, high) in (("low", (200, 300)), ("high", (900, 1200))):
        (root / label).mkdir(parents=True)
        for i in range(per_class):
            y = tone(rng.uniform(low, high), 2.0).samples + 0.05 * rng.standard_normal(2 * SR)
            sf.write(root / label / f"{i}.wav", (0.5 * y).astype(np.float32), SR)
    return root


@pytest.fixture
def features(tmp_path: Path) -> FeatureSet:
    dataset = FolderDataset(write_classes(tmp_path / "data"))
    return dataset.features(FEAT, workers=1, progress=False)


def test_every_extraction_path_carries_its_preprocessing(tmp_path: Path) -> None:
    """extract_features itself (public), with and without a cache, and a reused cached set."""
    from melgenre.extraction import extract_features

    dataset = FolderDataset(write_classes(tmp_path / "data", per_class=2))
    prep = Preprocessing(FEAT)
    bare = extract_features(dataset, prep, workers=1)
    stored = extract_features(dataset, prep, cache_dir=tmp_path / "cache", workers=1)
    reused = extract_features(dataset, prep, cache_dir=tmp_path / "cache", workers=1)
    for made in (bare, stored, reused):
        assert made.preprocessing is prep
    assert StatisticsHead(SMALL).fit(reused).n_copies_ == len(VARISPEED) * 4


def test_the_head_learns_from_copies_of_every_file(features: FeatureSet) -> None:
    assert features.preprocessing == Preprocessing(FEAT)
    head = StatisticsHead(SMALL).fit(features)
    assert head.varispeed == VARISPEED == (-2.0, -1.0, 1.0, 2.0)
    assert head.n_copies_ == len(VARISPEED) * features.n_files
    again = StatisticsHead(SMALL).fit(features, workers=1)  # deterministic, whatever the threads
    assert head.weights_ is not None
    assert again.weights_ is not None
    for key, value in head.weights_.items():
        np.testing.assert_array_equal(value, again.weights_[key])
    _, x = head.statistics.transform(features)
    _, labels = features.file_labels()
    assert np.mean(head.predict_proba(x).argmax(axis=1) == labels) == 1.0
    plain = StatisticsHead(SMALL, varispeed=()).fit(features)
    assert plain.n_copies_ == 0
    assert plain.weights_ is not None
    assert not np.array_equal(plain.weights_["mean"], head.weights_["mean"])


def test_copies_come_back_in_order_whatever_the_threads(features: FeatureSet) -> None:
    from melgenre._varispeed import copy_statistics

    files = np.unique(features.groups)[::-1]  # any order of files
    serial = copy_statistics(SMALL, features, files, (-1, 2), workers=1)
    for workers in (2, 5):
        rows, owners = copy_statistics(SMALL, features, files, (-1, 2), workers=workers)
        np.testing.assert_array_equal(rows, serial[0])
        np.testing.assert_array_equal(owners, serial[1])
    n = len(files)
    np.testing.assert_array_equal(serial[1], np.tile(np.arange(n), 2))  # shift after shift
    for position in (0, n - 1):  # each row is its own file's copy at its own shift
        prep = features.preprocessing
        assert prep is not None
        copy = varispeed(prep.load(features.paths[files[position]]), 2)
        np.testing.assert_allclose(
            serial[0][n + position], SMALL.from_windows(prep.transform(copy)), rtol=1e-5
        )


def test_an_interrupt_leaves_the_files_not_started_yet(
    features: FeatureSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import tqdm.auto

    from melgenre import _varispeed

    started: list[float] = []

    def slow(audio: Audio, semitones: float) -> Audio:
        started.append(semitones)
        time.sleep(0.05)
        return varispeed(audio, semitones)

    class Interrupted(tqdm.auto.tqdm):  # type: ignore[misc]
        def update(self, n: float | None = 1) -> bool | None:
            raise KeyboardInterrupt

    monkeypatch.setattr(_varispeed, "varispeed", slow)
    monkeypatch.setattr(tqdm.auto, "tqdm", Interrupted)
    files = np.unique(features.groups)
    with pytest.raises(KeyboardInterrupt):
        _varispeed.copy_statistics(SMALL, features, files, (1,), workers=1)
    assert 1 <= len(started) < len(files) / 2


def test_a_thread_count_below_one_is_refused(features: FeatureSet) -> None:
    with pytest.raises(ConfigError, match="workers"):
        StatisticsHead(SMALL).fit(features, workers=0)


def test_a_bar_shows_the_copies_being_read_when_asked(
    features: FeatureSet, capsys: pytest.CaptureFixture[str]
) -> None:
    StatisticsHead(SMALL, varispeed=(1,), C=1.0).fit(features)
    assert "Varispeed copies" not in capsys.readouterr().err
    StatisticsHead(SMALL, varispeed=(1,), C=1.0).fit(features, progress=True)
    assert "Varispeed copies" in capsys.readouterr().err


def test_copies_stay_with_their_file_when_c_is_chosen(features: FeatureSet) -> None:
    seen: dict[str, Any] = {}

    class Spy(StatisticsHead):
        @staticmethod
        def _choose_c(x: Any, labels: Any, grid: Any = (), groups: Any = None) -> float:
            seen.update(rows=len(x), labels=np.asarray(labels), groups=np.asarray(groups))
            return StatisticsHead._choose_c(x, labels, grid, groups)

    head = Spy(SMALL, varispeed=(-1, 1)).fit(features)
    n = features.n_files
    assert seen["rows"] == 3 * n
    np.testing.assert_array_equal(seen["groups"], np.tile(np.arange(n), 3))
    np.testing.assert_array_equal(seen["labels"], np.tile(seen["labels"][:n], 3))
    assert head.C_ is not None
    Spy(SMALL, varispeed=()).fit(features)
    assert seen["groups"].shape == ()  # None: every row its own, as before copies


def test_past_the_cap_a_sample_of_the_files_gets_copies(features: FeatureSet) -> None:
    seen: dict[str, Any] = {}

    class Spy(StatisticsHead):
        @staticmethod
        def _choose_c(x: Any, labels: Any, grid: Any = (), groups: Any = None) -> float:
            seen.update(groups=np.asarray(groups))
            return 1.0

    n = features.n_files
    head = Spy(SMALL, varispeed=(1,), varispeed_files=5).fit(features)
    assert head.n_copies_ == 5
    copied = seen["groups"][n:]  # the copies' files: five distinct ones, in order
    assert len(set(copied.tolist())) == 5
    assert np.all(np.diff(copied) > 0)
    again = Spy(SMALL, varispeed=(1,), varispeed_files=5).fit(features)
    np.testing.assert_array_equal(seen["groups"][n:], copied)  # the same sample each time
    assert again.n_copies_ == 5
    assert StatisticsHead(SMALL).varispeed_files == VARISPEED_FILES == 2000
    assert Spy(SMALL, varispeed=(1,), varispeed_files=None).fit(features).n_copies_ == n
    with pytest.raises(ConfigError, match="varispeed_files"):
        StatisticsHead(SMALL, varispeed_files=0)


def test_a_set_without_its_preprocessing_fits_its_files_alone(
    features: FeatureSet, caplog: pytest.LogCaptureFixture
) -> None:
    bare = dataclasses.replace(features, preprocessing=None)
    with caplog.at_level(logging.INFO, logger="melgenre"):
        head = StatisticsHead(SMALL).fit(bare)
    assert head.n_copies_ == 0
    assert "carries no preprocessing" in caplog.text


def test_a_file_gone_since_extraction_is_reported_and_has_no_copies(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_classes(tmp_path / "data")
    features = FolderDataset(root).features(FEAT, workers=1, progress=False)
    gone = root / "low" / "3.wav"
    shutil.move(gone, tmp_path / "elsewhere.wav")
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        head, summary = fit_statistics_head(features)
    said = [r.getMessage() for r in caplog.records if "could not be read again" in r.getMessage()]
    assert len(said) == 1  # one warning, however many files moved
    assert said[0].startswith(f"No varispeed copies of 1 of {features.n_files} files: ")
    assert f"(the first, {gone}: " in said[0]
    assert head.n_copies_ == summary["copies"] == len(VARISPEED) * (features.n_files - 1)
    assert summary["varispeed"] == list(VARISPEED)


def test_the_setting_round_trips_and_is_checked() -> None:
    head = StatisticsHead(SMALL, varispeed=[-3, 0.5])
    assert head.varispeed == (-3.0, 0.5)
    assert "varispeed=(-3.0, 0.5)" in repr(head)
    clone = StatisticsHead.from_config(json.loads(json.dumps(head.get_config())))
    assert clone.varispeed == (-3.0, 0.5)
    assert clone.varispeed_files == VARISPEED_FILES
    older = {"statistics": SMALL.get_config(), "C": "auto", "balance": True}
    assert StatisticsHead.from_config(older).varispeed == ()  # fitted before copies
    for bad in ((0,), (13,), (float("nan"),), ("1",)):
        with pytest.raises(ConfigError, match="varispeed"):
            StatisticsHead(SMALL, varispeed=bad)  # type: ignore[arg-type]
