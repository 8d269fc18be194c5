"""melgenre._filters against librosa, which defines the features: equal to the bit."""

from __future__ import annotations

import subprocess
import sys

import librosa
import numpy as np
import pytest

from melgenre import _filters


@pytest.mark.parametrize(
    ("sample_rate", "n_fft", "n_mels", "fmin", "fmax"),
    [
        (22050, 2048, 128, 0.0, None),
        (44100, 2048, 128, 0.0, None),
        (16000, 512, 64, 20.0, 7600.0),
        (8000, 256, 40, 0.0, 4000.0),
        (48000, 4096, 256, 30.0, 16000.0),
        (22050, 4000, 24, 0.0, 999.0),  # all bands below 1 kHz: the linear part only
    ],
)
def test_mel_filters_equal_librosa(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> None:
    ours = _filters.mel_filters(
        sample_rate=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax
    )
    theirs = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_empty_mel_bands_are_warned_about() -> None:
    with pytest.warns(UserWarning, match="empty"):
        _filters.mel_filters(sample_rate=22050, n_fft=256, n_mels=128)


def test_mel_scale_equals_librosa_both_sides_of_1_khz() -> None:
    hz = np.array([0.0, 20.0, 440.0, 999.9, 1000.0, 1000.1, 4000.0, 11025.0])
    np.testing.assert_array_equal(_filters.hz_to_mel(hz), librosa.hz_to_mel(hz))
    mels = np.linspace(0, 60, 13)
    np.testing.assert_array_equal(_filters.mel_to_hz(mels), librosa.mel_to_hz(mels))


@pytest.mark.parametrize(("n_fft", "win_length"), [(2048, None), (2048, 1024), (512, 401), (7, 4)])
def test_analysis_window_equals_librosa(n_fft: int, win_length: int | None) -> None:
    length = n_fft if win_length is None else win_length
    theirs = librosa.util.pad_center(
        librosa.filters.get_window("hann", length, fftbins=True), size=n_fft
    )
    np.testing.assert_array_equal(
        _filters.analysis_window(n_fft, win_length), theirs.astype(np.float32)
    )


@pytest.mark.parametrize("top_db", [None, 80.0, 0.0])
@pytest.mark.parametrize("ref", [1.0, np.float32(3.5), 1e-12])
def test_power_to_db_equals_librosa(top_db: float | None, ref: float) -> None:
    power = np.random.default_rng(0).exponential(size=(16, 50)).astype(np.float32) ** 4
    power[0, :5] = 0.0
    ours = _filters.power_to_db(power, ref=ref, top_db=top_db)
    theirs = librosa.power_to_db(power, ref=ref, amin=1e-10, top_db=top_db)
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_featurizing_does_not_import_librosa() -> None:
    """Extraction workers never pay librosa's import (two seconds, 200 MB)."""
    code = (
        "import sys, numpy as np, melgenre\n"
        "f = melgenre.MelFeaturizer()\n"
        "f.transform(melgenre.Audio(np.zeros(30000, np.float32), 22050))\n"
        "print('librosa' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
