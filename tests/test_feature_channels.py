"""MelFeaturizer's extra channels: the deltas and the tempogram as librosa computes them, the
chroma channel naming the pitch classes that sound, the log-frequency scale, and the checks
and old configs of each."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import librosa
import numpy as np
import pytest

from melgenre import Audio, MelFeaturizer, Preprocessing, _filters
from melgenre.errors import ConfigError
from signals import noise_audio

SR = 22050


def with_channels(**extra: Any) -> tuple[np.ndarray, np.ndarray]:
    """A small featurizer's dB windows of 5 s of noise, and its windows with ``extra`` channels.

    Checks what every extra channel must keep: float32 windows of the output shape, the
    dB channel first and unchanged, and the config round trip.
    """
    plain = MelFeaturizer(n_mels=32, frames=48)
    feat = dataclasses.replace(plain, **extra)
    audio = noise_audio(5.0)
    x = feat.transform(audio)
    assert x.dtype == np.float32
    assert x.shape[1:] == feat.output_shape
    base = plain.transform(audio)[..., 0]
    np.testing.assert_array_equal(x[..., 0], base)
    assert MelFeaturizer.from_config(feat.get_config()) == feat
    return base, x


@pytest.mark.parametrize("deltas", [1, 2])
def test_delta_channels_are_librosa_deltas_of_each_window(deltas: int) -> None:
    assert MelFeaturizer(n_mels=32, frames=48, deltas=deltas).output_shape == (32, 48, 1 + deltas)
    base, x = with_channels(deltas=deltas)
    for k in range(1, deltas + 1):
        expected = librosa.feature.delta(base, width=9, order=k, axis=-1)
        np.testing.assert_allclose(x[..., k], expected, atol=1e-4)
    # a window shorter than librosa's default width still gets deltas
    short = MelFeaturizer(n_mels=8, frames=5, deltas=1).transform(noise_audio(0.05))
    assert short.shape == (1, 8, 5, 2)
    assert np.isfinite(short).all()


def test_tempogram_channel_is_librosas_tempogram_of_each_windows_onsets() -> None:
    feat = MelFeaturizer(n_mels=32, frames=48, deltas=1, tempogram=True)
    assert feat.output_shape == (32, 48, 3)  # dB, delta, tempogram
    base, x = with_channels(deltas=1, tempogram=True)
    for window, got in zip(base, x[..., 2], strict=True):
        onsets = librosa.onset.onset_strength(S=window, lag=1, max_size=1, center=False)
        expected = librosa.feature.tempogram(
            onset_envelope=onsets, win_length=32, center=True, window="hann", norm=np.inf
        )
        np.testing.assert_allclose(got, expected, atol=1e-5)
    # an older config (no 'tempogram') means no rhythm channel
    config = feat.get_config()
    del config["tempogram"]
    assert MelFeaturizer.from_config(config) == dataclasses.replace(feat, tempogram=False)
    # silence has no onsets: its tempogram is 0, not NaN
    quiet = feat.transform(Audio(np.zeros(SR, np.float32), SR, "silence"))
    assert np.isfinite(quiet).all()
    assert not quiet[..., 2].any()


def test_tempogram_shows_the_period_of_a_click_track() -> None:
    clicks = np.zeros(4 * SR, np.float32)
    period = 16 * 512  # a click every 16 frames (0.37 s)
    for start in range(0, len(clicks), period):
        clicks[start : start + 64] = 1.0
    feat = MelFeaturizer(n_mels=64, frames=128, tempogram=True)
    rhythm = feat.transform(Audio(clicks, SR, "clicks"))[0, :, :, 1]
    middle = rhythm[:, 40:88].mean(axis=1)  # columns whose span lies inside the window
    assert int(np.argmax(middle[4:])) + 4 == 16


def chord(*semitones_from_c4: int, seconds: float = 3.0) -> Audio:
    """Equal-loudness sine tones (with their octave) at these semitones above middle C."""
    t = np.arange(int(seconds * SR)) / SR
    c4 = 440.0 * 2.0 ** (-9 / 12)
    hz = [c4 * 2.0 ** (k / 12) for k in semitones_from_c4]
    tones = sum(np.sin(2 * np.pi * f * t) + 0.5 * np.sin(4 * np.pi * f * t) for f in hz)
    return Audio((0.2 * tones).astype(np.float32), SR, "chord")


def pitch_classes(feat: MelFeaturizer, audio: Audio) -> np.ndarray:
    """Mean over the first window's frames of each pitch class's rows of the chroma channel."""
    harmony = feat.transform(audio)[0, :, :, -1]
    rows = np.arange(feat.n_bins) * 12 // feat.n_bins
    return np.array([harmony[rows == c].mean() for c in range(12)])


def test_chroma_channel_names_the_pitch_classes_that_sound() -> None:
    feat = MelFeaturizer(frames=64, chroma=True)
    assert feat.output_shape == (128, 64, 2)  # dB, chroma
    # a C major triad (C5 E5 G5 with octaves): C, E and G lead
    assert sorted(np.argsort(pitch_classes(feat, chord(12, 16, 19)))[-3:].tolist()) == [0, 4, 7]
    # A minor (A4 C5 E5) is another set; each of the twelve tones alone is its own class
    assert sorted(np.argsort(pitch_classes(feat, chord(9, 12, 16)))[-3:].tolist()) == [0, 4, 9]
    for k in range(12):
        assert int(np.argmax(pitch_classes(feat, chord(12 + k, seconds=1.0)))) == k
    # every frame is scaled to a peak of 1; rows of one class are equal
    harmony = feat.transform(chord(12, 16, 19))[..., 1]
    np.testing.assert_allclose(harmony.max(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(harmony[:, 0], harmony[:, 10], rtol=1e-5)


def test_log_frequency_scale_is_a_setting_of_the_contract() -> None:
    feat = MelFeaturizer(n_mels=64, frames=32, frequency_scale="log")
    np.testing.assert_array_equal(
        feat.mel_basis, _filters.log_filters(sample_rate=22050, n_fft=2048, n_bands=64)
    )
    config = feat.get_config()
    assert config["frequency_scale"] == "log"
    assert MelFeaturizer.from_config(config) == feat
    assert (
        Preprocessing(feat).cache_key
        != Preprocessing(dataclasses.replace(feat, frequency_scale="mel")).cache_key
    )
    del config["frequency_scale"]  # an older config means the mel scale
    assert MelFeaturizer.from_config(config).frequency_scale == "mel"
    # a tone's energy lands in the band around its frequency
    t = np.arange(22050) / 22050
    audio = Audio(np.sin(2 * np.pi * 440.0 * t).astype(np.float32), 22050)
    window = feat.transform(audio)[0, :, :, 0]
    edges = np.geomspace(55.0, 11025.0, 66)
    band = int(np.argmax(window.mean(axis=1)))
    assert edges[band] <= 440.0 <= edges[band + 2]
    # the harmony channel reads the log bands too
    with_chroma = dataclasses.replace(feat, n_mels=128, chroma=True)
    assert with_chroma.output_shape == (128, 32, 2)


def test_chroma_channel_keeps_the_channel_contract_and_old_configs() -> None:
    feat = MelFeaturizer(n_mels=32, frames=48, deltas=1, tempogram=True, chroma=True)
    assert feat.output_shape == (32, 48, 4)  # dB, delta, tempogram, chroma: harmony last
    _, x = with_channels(deltas=1, tempogram=True, chroma=True)
    assert x[..., 3].min() >= 0.0
    assert x[..., 3].max() <= 1.0 + 1e-6
    config = feat.get_config()
    del config["chroma"]  # an older config means no harmony channel
    assert MelFeaturizer.from_config(config) == dataclasses.replace(feat, chroma=False)
    quiet = feat.transform(Audio(np.zeros(SR, np.float32), SR, "silence"))
    assert np.isfinite(quiet).all()
    # pickles (worker processes) leave the matrix out and compute it again
    again = pickle.loads(pickle.dumps(feat))
    np.testing.assert_array_equal(
        again.transform(noise_audio(1.0)), feat.transform(noise_audio(1.0))
    )


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"n_mels": 8}, "'n_mels' parameter of MelFeaturizer must be an int in the range"),
        ({"n_mels": 12, "n_fft": 256, "fmax": 1000.0}, "cannot tell pitch classes apart"),
    ],
)
def test_chroma_channel_refuses_bands_too_coarse_for_pitch_classes(
    settings: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        MelFeaturizer(chroma=True, **settings)
