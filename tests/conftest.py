"""Shared fixtures: synthesized signals and audio files written with soundfile.

Nothing is downloaded and no audio is committed: every test builds its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from signals import chirp, tone, write_audio


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(seed=440)


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    """Two seconds of a 440 Hz tone, 16-bit WAV at 22050 Hz."""
    x = tone(frequency=440.0, duration=2.0, sample_rate=22050)
    return write_audio(tmp_path / "tone.wav", x, 22050)


@pytest.fixture(scope="session")
def encoded_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One short valid file per format (as bytes), for corruption tests."""
    root = tmp_path_factory.mktemp("encoded")
    x = chirp(fmin=200.0, fmax=4000.0, duration=1.0, sample_rate=22050)
    out = {}
    for fmt, subtype, ext in [
        ("WAV", "PCM_16", "wav"),
        ("FLAC", "PCM_16", "flac"),
        ("MP3", "MPEG_LAYER_III", "mp3"),
        ("OGG", "VORBIS", "ogg"),
    ]:
        path = write_audio(root / f"x.{ext}", x, 22050, format=fmt, subtype=subtype)
        out[ext] = path.read_bytes()
    return out


@pytest.fixture(scope="session")
def serve_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small trained bundle (3 classes, 8 kHz) shared by the service tests."""
    from serving import train_bundle

    return train_bundle(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="session")
def separable_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tones, noise and chirps at 8 kHz, a folder per class (``trained_predictor``'s data)."""
    from trained_predictor import make_data

    return make_data(tmp_path_factory.mktemp("separable"))


@pytest.fixture(scope="session")
def trained_predictor(
    separable_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Path, Any]:
    """``(predictor, bundle, test split)``: a small Predictor, saved with its history and report."""
    from trained_predictor import train_predictor

    predictor, (history, test) = train_predictor(separable_dir)
    bundle = tmp_path_factory.mktemp("bundles") / "model"
    predictor.save(bundle, history=history, report=predictor.evaluate(test, workers=1))
    return predictor, bundle, test
