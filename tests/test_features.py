"""MelFeaturizer: windows of one log-mel spectrogram equal to librosa's, their counts and
times, the contract's guards, the config, the classic preset and subclasses (the extra
channels: ``test_feature_channels.py``)."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import librosa
import numpy as np
import pytest

from melgenre import Audio, AudioLoader, Featurizer, MelFeaturizer
from melgenre._dsp import resize_time, window_starts
from melgenre.errors import (
    AudioUnusableError,
    ConfigError,
    MelgenreTypeError,
    SampleRateMismatchError,
)
from signals import chirp, noise, noise_audio, tone

SR = 22050


# ------------------------------------------------------------------- output


def test_transform_returns_float32_windows_of_the_output_shape() -> None:
    feat = MelFeaturizer()
    x = feat.transform(noise_audio(10.0))
    assert feat.output_shape == (128, 128, 1)
    assert x.dtype == np.float32
    assert x.shape[1:] == feat.output_shape
    assert x.flags.c_contiguous
    # dB relative to the recording's peak, clipped at top_db
    assert x.max() <= 0.0
    assert x.min() >= -80.0


def expected_windows(n_samples: int, hop_length: int, frames: int, hop: int) -> int:
    """Regular windows every `hop` frames, plus one aligned to the end if the tail is uncovered."""
    n_frames = 1 + n_samples // hop_length
    if n_frames <= frames:
        return 1
    regular = 1 + (n_frames - frames) // hop
    return regular + (1 if (regular - 1) * hop + frames < n_frames else 0)


@pytest.mark.parametrize("seconds", [0.05, 1.0, 2.97, 2.98, 3.0, 4.46, 4.5, 10.0, 30.0, 61.3])
def test_window_counts_for_several_durations(seconds: float) -> None:
    feat = MelFeaturizer()
    audio = noise_audio(seconds)
    x = feat.transform(audio)
    assert len(x) == expected_windows(audio.n_samples, 512, 128, 64)
    assert len(x) == len(feat.window_times(audio))


@pytest.mark.parametrize(("frames", "window_hop"), [(128, None), (128, 128), (64, 16), (100, 33)])
def test_windows_are_slices_of_one_spectrogram(frames: int, window_hop: int | None) -> None:
    feat = MelFeaturizer(frames=frames, window_hop=window_hop)
    audio = noise_audio(7.3)
    spec = feat.spectrogram(audio)
    x = feat.transform(audio)
    starts = feat.window_starts(spec.shape[1])
    assert len(x) == len(starts)
    for window, start in zip(x, starts, strict=True):
        np.testing.assert_array_equal(window[..., 0], spec[:, start : start + frames])
    # The windows cover the whole spectrogram, the last one ending at its end.
    assert starts[0] == 0
    assert starts[-1] + frames == spec.shape[1]
    assert np.all(np.diff(starts) <= feat.hop_frames)


@pytest.mark.parametrize(
    ("n_fft", "hop_length", "win_length"), [(2048, 512, None), (1024, 256, 700), (512, 160, None)]
)
def test_spectrogram_matches_librosa(n_fft: int, hop_length: int, win_length: int | None) -> None:
    audio = Audio(chirp(fmin=100.0, fmax=8000.0, duration=3.0, sample_rate=SR), SR)
    feat = MelFeaturizer(
        fmin=30.0,
        fmax=10000.0,
        n_mels=64,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
    )
    mel = librosa.feature.melspectrogram(
        y=audio.samples,
        sr=SR,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        n_mels=64,
        fmin=30.0,
        fmax=10000.0,
    )
    expected = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
    np.testing.assert_allclose(feat.spectrogram(audio), expected, atol=2e-3)
    assert feat.spectrogram(audio).shape == (64, 1 + audio.n_samples // hop_length)


def test_a_tone_lights_up_the_right_mel_band() -> None:
    feat = MelFeaturizer()
    spec = feat.spectrogram(Audio(tone(frequency=1000.0, duration=2.0, sample_rate=SR), SR))
    band = int(np.argmax(spec[:, spec.shape[1] // 2]))
    centres = librosa.mel_frequencies(n_mels=128 + 2, fmin=0.0, fmax=SR / 2)[1:-1]
    assert centres[band] == pytest.approx(1000.0, rel=0.05)


def test_short_audio_is_padded_with_silence_to_one_window() -> None:
    feat = MelFeaturizer()
    audio = Audio(tone(frequency=440.0, duration=0.5, sample_rate=SR), SR)
    spec = feat.spectrogram(audio)
    x = feat.transform(audio)
    assert x.shape == (1, 128, 128, 1)
    used = spec.shape[1]
    np.testing.assert_array_equal(x[0, :, :used, 0], spec)
    assert np.all(x[0, :, used:, 0] == spec.min())


def test_loudness_does_not_change_default_features() -> None:
    quiet = Audio(chirp(fmin=100.0, fmax=4000.0, duration=3.0, sample_rate=SR, amplitude=0.05), SR)
    loud = Audio(quiet.samples * 10, SR)
    feat = MelFeaturizer()
    np.testing.assert_allclose(feat.transform(quiet), feat.transform(loud), atol=1e-3)
    absolute = MelFeaturizer(ref=1.0, top_db=None)
    # with a fixed reference, 10x the amplitude is +20 dB where there is signal
    assert absolute.transform(loud).max() - absolute.transform(quiet).max() == pytest.approx(
        20.0, abs=0.01
    )


def test_window_times() -> None:
    feat = MelFeaturizer()
    audio = noise_audio(5.0)
    times = feat.window_times(audio)
    assert times.shape == (3, 2)
    np.testing.assert_allclose(times[:, 0], [0.0, 64 * 512 / SR, (216 - 128) * 512 / SR], rtol=1e-6)
    np.testing.assert_allclose(times[:2, 1] - times[:2, 0], feat.window_seconds, rtol=1e-6)
    assert times[-1, 1] == pytest.approx(5.0)
    assert feat.window_seconds == pytest.approx(2.972, abs=1e-3)


# ---------------------------------------------------------- contract guards


def test_refuses_audio_at_another_sample_rate() -> None:
    feat = MelFeaturizer()
    audio = Audio(np.zeros(44100, np.float32), 44100, "song.wav")
    with pytest.raises(
        SampleRateMismatchError,
        match=r"configured for 22050 Hz but received audio at 44100 Hz from 'song\.wav'; "
        r"load it with AudioLoader\(sample_rate=22050\)",
    ) as info:
        feat.transform(audio)
    assert (info.value.expected, info.value.received, info.value.source) == (
        22050,
        44100,
        "song.wav",
    )
    with pytest.raises(SampleRateMismatchError):
        feat.spectrogram(audio)


def test_refuses_multichannel_audio() -> None:
    stereo = AudioLoader(mono=False).load((np.zeros((2, 22050), np.float32), 22050))
    with pytest.raises(
        AudioUnusableError, match=r"mono audio but received 2 channels.*AudioLoader\(mono=True\)"
    ):
        MelFeaturizer().transform(stereo)


@pytest.mark.parametrize("value", [np.zeros(22050, np.float32), "song.wav", None])
def test_refuses_what_is_not_audio(value: Any) -> None:
    with pytest.raises(
        MelgenreTypeError, match=r"expects melgenre\.Audio.*AudioLoader\(sample_rate=22050\)"
    ):
        MelFeaturizer().transform(value)


def test_audio_shorter_than_n_fft_is_padded_quietly(recwarn: pytest.WarningsRecorder) -> None:
    feat = MelFeaturizer()
    audio = Audio(tone(frequency=440.0, duration=0.05, sample_rate=SR), SR)
    assert audio.n_samples < feat.n_fft
    assert feat.spectrogram(audio).shape == (128, 1 + feat.n_fft // feat.hop_length)
    assert feat.transform(audio).shape == (1, 128, 128, 1)
    assert not recwarn.list


def test_silence_gives_finite_features() -> None:
    x = MelFeaturizer().transform(Audio(np.zeros(3 * SR, np.float32), SR))
    assert np.all(np.isfinite(x))


# ------------------------------------------------------------------- config


def test_config_round_trip_gives_an_equal_featurizer() -> None:
    feat = MelFeaturizer(
        sample_rate=16000,
        n_fft=1024,
        hop_length=256,
        win_length=800,
        n_mels=96,
        fmin=20.0,
        fmax=7600.0,
        ref=1.0,
        top_db=None,
        frames=96,
        window_hop=24,
        resize_frames=64,
    )
    config = feat.get_config()
    rebuilt = MelFeaturizer.from_config(config)
    assert rebuilt == feat
    assert hash(rebuilt) == hash(feat)
    assert rebuilt.get_config() == config
    assert MelFeaturizer.from_config(MelFeaturizer().get_config()) == MelFeaturizer()
    assert MelFeaturizer(n_mels=64) != MelFeaturizer()
    assert feat.to_json().startswith('{"chroma": false, "deltas": 0, "fmax": 7600.0')


def test_round_trip_features_are_identical() -> None:
    feat = MelFeaturizer(n_mels=64, frames=64)
    audio = noise_audio(4.0)
    np.testing.assert_array_equal(
        MelFeaturizer.from_config(feat.get_config()).transform(audio), feat.transform(audio)
    )


def test_pickles_without_its_cached_filter_bank() -> None:
    feat = MelFeaturizer()
    _ = feat.mel_basis
    data = pickle.dumps(feat)
    assert len(data) < 2000
    clone = pickle.loads(data)
    assert clone == feat
    audio = noise_audio(3.0)
    np.testing.assert_array_equal(clone.transform(audio), feat.transform(audio))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"hop_length": 0},
            r"The 'hop_length' parameter of MelFeaturizer must be an int in the range \[1, inf\). Got 0 instead.",
        ),
        ({"n_fft": 8}, "'n_fft'"),
        ({"n_mels": 2.5}, "'n_mels'"),
        ({"win_length": 4096}, r"'win_length'.*\[1, 2048\]"),
        ({"fmin": 20000.0}, r"'fmin'.*\[0, 11025\]"),
        ({"fmax": 30000.0}, "'fmax'"),
        (
            {"fmin": 500.0, "fmax": 400.0},
            "'fmax' parameter of MelFeaturizer must be greater than 'fmin'",
        ),
        ({"ref": "min"}, "'ref'"),
        ({"ref": 0.0}, "'ref'"),
        ({"top_db": -10.0}, "'top_db'"),
        ({"frames": 0}, "'frames'"),
        ({"window_hop": 0}, "'window_hop'"),
        ({"resize_frames": -1}, "'resize_frames'"),
        ({"deltas": 3}, "'deltas'"),
        ({"tempogram": 1}, "'tempogram' parameter of MelFeaturizer must be a bool"),
        ({"frequency_scale": "bark"}, "'frequency_scale'"),
        ({"frequency_scale": "log", "fmax": 50.0}, r"frequency_scale='log'.*55 Hz"),
        ({"sample_rate": 100}, "'sample_rate'"),
    ],
)
def test_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MelFeaturizer(**kwargs)


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        MelFeaturizer(22050)  # type: ignore[misc]


def test_parameters_are_stored_unchanged_and_frozen() -> None:
    feat = MelFeaturizer(window_hop=None)
    assert feat.window_hop is None
    assert feat.hop_frames == 64
    with pytest.raises(dataclasses.FrozenInstanceError):
        feat.n_mels = 64  # type: ignore[misc]


# ------------------------------------------------------------------ classic


def test_classic_preset() -> None:
    feat = MelFeaturizer.classic()
    assert (feat.sample_rate, feat.frames, feat.window_hop, feat.resize_frames) == (
        44100,
        345,
        172,
        128,
    )
    assert feat.output_shape == (128, 128, 1)
    assert feat.window_seconds == pytest.approx(4.0, abs=0.01)
    audio = AudioLoader(sample_rate=44100).load(
        (noise(duration=30.0, sample_rate=22050, seed=3), 22050)
    )
    x = feat.transform(audio)
    # 30 s gives 2584 frames: 14 chunks every 172 frames (1.997 s) end at frame 2581,
    # so one more chunk, aligned to the end, covers the last 3 frames.
    assert feat.window_starts(2584).tolist()[-3:] == [2064, 2236, 2239]
    assert x.shape == (15, 128, 128, 1)
    assert MelFeaturizer.classic(n_mels=64).output_shape == (64, 128, 1)
    assert MelFeaturizer.from_config(feat.get_config()) == feat


def test_resize_time_matches_tf_image_resize_bilinear() -> None:
    """The classic notebook resizes with tf.image.resize; resize_time must agree."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((2, 128, 345)).astype(np.float32)
    ours = resize_time(windows, 128)
    theirs = tf.image.resize(windows[..., None], (128, 128), method="bilinear").numpy()[..., 0]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_window_starts_cover_the_tail() -> None:
    assert window_starts(128, 128, 64).tolist() == [0]
    assert window_starts(129, 128, 64).tolist() == [0, 1]
    assert window_starts(192, 128, 64).tolist() == [0, 64]
    assert window_starts(193, 128, 64).tolist() == [0, 64, 65]


# -------------------------------------------------------------- subclasses


@dataclasses.dataclass(frozen=True, kw_only=True)
class PCENFeaturizer(MelFeaturizer):
    """Per-channel energy normalisation instead of decibels: one step replaced."""

    gain: float = 0.98

    def scale(self, power: np.ndarray) -> np.ndarray:  # type: ignore[override]
        magnitude = np.sqrt(power) * 2**31
        return librosa.pcen(
            magnitude, sr=self.sample_rate, hop_length=self.hop_length, gain=self.gain
        ).astype(np.float32)


@dataclasses.dataclass(frozen=True, kw_only=True)
class MFCCFeaturizer(MelFeaturizer):
    """MFCCs of the log-mel spectrogram: changes the number of rows too."""

    n_mfcc: int = 20

    @property
    def n_bins(self) -> int:
        return self.n_mfcc

    def scale(self, power: np.ndarray) -> np.ndarray:  # type: ignore[override]
        db = super().scale(power)
        return librosa.feature.mfcc(S=db, n_mfcc=self.n_mfcc).astype(np.float32)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape"),
    [
        (PCENFeaturizer, {"gain": 0.8}, (128, 128, 1)),
        (MFCCFeaturizer, {"n_mfcc": 13}, (13, 128, 1)),
    ],
)
def test_subclass_replacing_one_step_works_like_a_mel_featurizer(
    cls: type[MelFeaturizer], kwargs: dict[str, Any], shape: tuple[int, int, int]
) -> None:
    feat = cls(**kwargs)
    assert isinstance(feat, Featurizer)
    audio = noise_audio(6.0)
    x = feat.transform(audio)
    base = MelFeaturizer().transform(audio)
    assert feat.output_shape == shape
    assert x.shape == (len(base), *shape)
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x))
    assert not np.allclose(x[..., :1, :, :], base[..., :1, :, :])
    config = feat.get_config()
    assert config[next(iter(kwargs))] == next(iter(kwargs.values()))
    assert cls.from_config(config) == feat
    with pytest.raises(SampleRateMismatchError):
        feat.transform(noise_audio(1.0, sample_rate=16000))
    assert feat != MelFeaturizer()


def test_featurizer_base_requires_its_steps() -> None:
    with pytest.raises(NotImplementedError, match="spectrogram"):
        Featurizer().transform(noise_audio(1.0))
