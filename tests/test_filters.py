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


def test_log_filters_are_a_constant_ratio_apart_and_never_empty() -> None:
    bank = _filters.log_filters(sample_rate=22050, n_fft=2048, n_bands=128)
    assert bank.shape == (128, 1025)
    assert bank.dtype == np.float32
    np.testing.assert_allclose(bank.sum(axis=1), 1.0, rtol=1e-5)  # each band's mean power
    assert np.all(bank.max(axis=1) > 0)  # the low bands are widened to reach an FFT bin
    hz = np.fft.rfftfreq(2048, 1 / 22050)
    centres = np.exp(bank @ np.log(np.maximum(hz, 1.0)))  # each band's mean log frequency
    ratios = centres[64:] / centres[63:-1]  # above the widened low bands
    np.testing.assert_allclose(ratios, (22050 / 2 / 55.0) ** (1 / 129), rtol=0.02)
    assert centres[0] > 55.0
    assert centres[-1] < 11025.0
    # fmin sets the lowest edge; 0 means 55 Hz
    same = _filters.filter_bank("log", sample_rate=22050, n_fft=2048, n_bands=128, fmin=55.0)
    np.testing.assert_array_equal(same, bank)


def test_a_pitch_change_moves_a_harmonic_pattern_along_log_bands_unchanged() -> None:
    """The log scale's point: a tone an octave up is the same pattern, bands_per_octave higher."""
    sample_rate, n_fft, n_bands = 22050, 8192, 95
    bank = _filters.log_filters(
        sample_rate=sample_rate, n_fft=n_fft, n_bands=n_bands, fmin=110.0, fmax=7040.0
    )  # 97 edges 1/16 octave apart over 6 octaves: an octave is 16 bands
    mel = _filters.mel_filters(
        sample_rate=sample_rate, n_fft=n_fft, n_mels=n_bands, fmin=110.0, fmax=7040.0
    )
    t = np.arange(n_fft) / sample_rate
    window = np.hanning(n_fft)

    def pattern(basis: np.ndarray, f0: float) -> np.ndarray:
        tone = sum(np.cos(2 * np.pi * k * f0 * t) / k for k in range(1, 5)) * window
        power = basis @ np.square(np.abs(np.fft.rfft(tone)))
        return power / power.max()

    # (tones well above the FFT's resolution, where a band is many bins wide)
    low, high = pattern(bank, 440.0), pattern(bank, 880.0)
    assert np.abs(high[16:] - low[:-16]).max() < 0.05  # one octave = 16 bands
    # on the mel scale the same octave is no shift: the pattern changes its shape
    low, high = pattern(mel, 440.0), pattern(mel, 880.0)
    assert min(np.abs(np.roll(high, -k) - low).max() for k in range(40)) > 0.2


def test_filter_bank_refuses_a_log_range_that_is_empty() -> None:
    with pytest.raises(ValueError, match="fmin < fmax"):
        _filters.log_filters(sample_rate=22050, n_fft=2048, n_bands=8, fmax=50.0)


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
