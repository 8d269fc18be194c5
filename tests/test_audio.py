"""AudioLoader and Audio: every format, mono mixing, resampling, offsets, every kind of
source, and the config (bad input: ``test_audio_errors.py``)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import melgenre
from melgenre import Audio, AudioLoader
from melgenre.errors import AudioUnusableError, ConfigError
from signals import FORMATS, chirp, noise, peak_frequency, tone, write_audio

# ------------------------------------------------------------------ formats


@pytest.mark.parametrize(("fmt", "subtype", "ext"), FORMATS)
def test_every_format_decodes(tmp_path: Path, fmt: str, subtype: str, ext: str) -> None:
    x = tone(frequency=1000.0, duration=1.0, sample_rate=22050)
    path = write_audio(tmp_path / f"a.{ext}", x, 22050, format=fmt, subtype=subtype)
    audio = AudioLoader().load(path)
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert audio.sample_rate == 22050
    assert audio.source == str(path)
    # Lossy codecs add or drop a little padding; lossless ones are exact in length.
    assert audio.duration == pytest.approx(1.0, abs=0.06)
    assert np.abs(audio.samples).max() == pytest.approx(0.5, abs=0.06)
    assert peak_frequency(audio.samples, 22050) == pytest.approx(1000.0, abs=5.0)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_lossless_samples_match_what_was_written(tmp_path: Path, subtype: str) -> None:
    x = noise(duration=0.5, sample_rate=22050, seed=1)
    path = write_audio(tmp_path / "n.wav", x, 22050, subtype=subtype)
    audio = AudioLoader().load(path)
    tolerance = {"PCM_16": 1 / 2**15, "PCM_24": 1 / 2**23, "PCM_32": 1e-7, "FLOAT": 0.0}[subtype]
    np.testing.assert_allclose(audio.samples, x, atol=tolerance + 1e-7)


def test_stereo_is_averaged_to_mono(tmp_path: Path) -> None:
    left = tone(frequency=440.0, duration=1.0, sample_rate=22050, amplitude=0.4)
    right = np.zeros_like(left)
    path = write_audio(tmp_path / "st.flac", np.stack([left, right]), 22050, format="FLAC")
    audio = AudioLoader().load(path)
    assert audio.samples.shape == (22050,)
    np.testing.assert_allclose(audio.samples, left / 2, atol=2e-4)


def test_many_channels_and_mono_false(tmp_path: Path) -> None:
    x = np.stack(
        [tone(frequency=200.0 * (c + 1), duration=0.5, sample_rate=16000) for c in range(6)]
    )
    path = write_audio(tmp_path / "six.wav", x, 16000, subtype="FLOAT")
    keep = AudioLoader(sample_rate=16000, mono=False).load(path)
    assert keep.samples.shape == (6, 8000)
    assert keep.channels == 6
    np.testing.assert_allclose(keep.samples, x, atol=1e-7)
    mixed = AudioLoader(sample_rate=16000).load(path)
    np.testing.assert_allclose(mixed.samples, x.mean(axis=0), atol=1e-6)


def test_mono_false_keeps_a_mono_file_one_dimensional(wav_file: Path) -> None:
    assert AudioLoader(mono=False).load(wav_file).samples.ndim == 1


# --------------------------------------------------------------- resampling


@pytest.mark.parametrize(
    ("source_rate", "target_rate"), [(44100, 22050), (16000, 22050), (48000, 16000)]
)
def test_resampling_keeps_a_1khz_tone_at_1khz(
    tmp_path: Path, source_rate: int, target_rate: int
) -> None:
    x = tone(frequency=1000.0, duration=1.0, sample_rate=source_rate)
    path = write_audio(tmp_path / "k.wav", x, source_rate, subtype="FLOAT")
    audio = AudioLoader(sample_rate=target_rate).load(path)
    assert audio.sample_rate == target_rate
    assert audio.n_samples == target_rate
    assert peak_frequency(audio.samples, target_rate) == pytest.approx(1000.0, abs=2.0)
    # A high-quality resampler keeps the level (within 0.1 dB away from the fades).
    middle = audio.samples[target_rate // 4 : 3 * target_rate // 4]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.012)


def test_sample_rate_none_keeps_the_native_rate(tmp_path: Path) -> None:
    path = write_audio(
        tmp_path / "n.wav", tone(frequency=300.0, duration=0.5, sample_rate=8000), 8000
    )
    assert AudioLoader(sample_rate=None).load(path).sample_rate == 8000


def test_resampling_removes_content_above_the_new_nyquist(tmp_path: Path) -> None:
    x = tone(frequency=15000.0, duration=1.0, sample_rate=44100)
    audio = AudioLoader(sample_rate=16000).load((x, 44100))
    assert np.abs(audio.samples).max() < 0.01


# ---------------------------------------------------------- offset/duration


def test_offset_and_duration_select_a_stretch(tmp_path: Path) -> None:
    # A ramp makes each sample's position visible in its value.
    x = np.linspace(-1.0, 1.0, 4 * 8000, endpoint=False, dtype=np.float32)
    path = write_audio(tmp_path / "ramp.wav", x, 8000, subtype="FLOAT")
    audio = AudioLoader(sample_rate=None, offset=1.5, duration=2.0).load(path)
    assert audio.n_samples == 16000
    np.testing.assert_array_equal(audio.samples, x[12000:28000])


@pytest.mark.parametrize("ext", ["flac", "mp3", "ogg"])
def test_offset_seeks_in_compressed_files(tmp_path: Path, ext: str) -> None:
    first = tone(frequency=500.0, duration=1.0, sample_rate=22050)
    second = tone(frequency=2000.0, duration=1.0, sample_rate=22050)
    fmt, subtype = {
        "flac": ("FLAC", "PCM_16"),
        "mp3": ("MP3", "MPEG_LAYER_III"),
        "ogg": ("OGG", "VORBIS"),
    }[ext]
    path = write_audio(
        tmp_path / f"two.{ext}", np.concatenate([first, second]), 22050, format=fmt, subtype=subtype
    )
    tail = AudioLoader(offset=1.1, duration=0.8).load(path)
    assert tail.duration == pytest.approx(0.8, abs=1e-3)
    assert peak_frequency(tail.samples, 22050) == pytest.approx(2000.0, abs=10.0)


def test_duration_past_the_end_reads_to_the_end(wav_file: Path) -> None:
    assert AudioLoader(offset=1.5, duration=10.0).load(wav_file).duration == pytest.approx(0.5)


def test_offset_past_the_end_is_unusable(wav_file: Path) -> None:
    with pytest.raises(AudioUnusableError, match=r"tone\.wav.*offset=5\.0 s is at or past the end"):
        AudioLoader(offset=5.0).load(wav_file)
    with pytest.raises(AudioUnusableError, match=r"offset=5\.0 s"):
        AudioLoader(offset=5.0).load((np.zeros(100, np.float32), 8000))


# ------------------------------------------------------------------ sources


def test_path_kinds_file_objects_and_bytes_agree(wav_file: Path) -> None:
    loader = AudioLoader(sample_rate=16000)
    reference = loader.load(wav_file)
    data = wav_file.read_bytes()

    class Unseekable(io.RawIOBase):
        def __init__(self, payload: bytes) -> None:
            self._inner = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    with open(wav_file, "rb") as handle:
        from_handle = loader.load(handle)
    sources: list[Any] = [
        str(wav_file),
        data,
        bytearray(data),
        memoryview(data),
        io.BytesIO(data),
        Unseekable(data),
    ]
    for source in sources:
        np.testing.assert_array_equal(loader.load(source).samples, reference.samples)
    np.testing.assert_array_equal(from_handle.samples, reference.samples)
    assert from_handle.source == str(wav_file)
    assert loader.load(data).source == "<bytes>"
    assert loader.load(io.BytesIO(data)).source == "<file object>"


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [(np.int8, 2**7), (np.int16, 2**15), (np.int32, 2**31), (np.float64, 1.0), (np.float32, 1.0)],
)
def test_array_sources_of_any_pcm_dtype(dtype: Any, scale: float) -> None:
    x = tone(frequency=440.0, duration=0.25, sample_rate=8000)
    array = (x * (scale - 1)).astype(dtype) if scale != 1.0 else x.astype(dtype)
    audio = AudioLoader(sample_rate=None).load((array, 8000))
    assert audio.samples.dtype == np.float32
    np.testing.assert_allclose(audio.samples, x, atol=2.0 / scale + 1e-6)


def test_unsigned_8bit_arrays_are_centred() -> None:
    audio = AudioLoader(sample_rate=None).load(
        (np.array([0, 128, 255] * 400, dtype=np.uint8), 8000)
    )
    np.testing.assert_allclose(audio.samples[:3], [-1.0, 0.0, 127 / 128])


def test_channels_first_arrays_and_audio_sources() -> None:
    stereo = np.stack([np.ones(1000, np.float32), -np.ones(1000, np.float32) * 0.5])
    audio = AudioLoader(sample_rate=None, mono=False).load((stereo, 8000))
    assert audio.samples.shape == (2, 1000)
    again = AudioLoader(sample_rate=16000).load(audio)
    assert again.samples.shape == (2000,)
    np.testing.assert_allclose(again.samples[200:1800], 0.25, atol=1e-3)


def test_loading_does_not_touch_the_callers_array() -> None:
    x = np.zeros(1000, dtype=np.float32)
    audio = AudioLoader(sample_rate=None).load((x, 8000))
    assert x.flags.writeable
    assert not audio.samples.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        audio.samples[0] = 1.0


# ------------------------------------------------------------------- config


def test_defaults_match_the_documented_signature() -> None:
    assert AudioLoader().get_config() == {
        "sample_rate": 22050,
        "mono": True,
        "offset": 0.0,
        "duration": None,
        "min_duration": 0.0,
        "resample_quality": "HQ",
    }


def test_config_round_trip() -> None:
    loader = AudioLoader(
        sample_rate=np.int64(16000), mono=False, offset=1, duration=2.5, resample_quality="VHQ"
    )
    config = loader.get_config()
    assert type(config["sample_rate"]) is int
    rebuilt = AudioLoader.from_config(config)
    assert rebuilt == loader
    assert hash(rebuilt) == hash(loader)
    assert AudioLoader.from_config(AudioLoader().get_config()) == AudioLoader()
    assert AudioLoader(sample_rate=8000) != AudioLoader()


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        AudioLoader(16000)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"sample_rate": 0},
            r"The 'sample_rate' parameter of AudioLoader must be an int in the range \[1000, 1536000\] or None. Got 0 instead.",
        ),
        ({"sample_rate": 22050.0}, "'sample_rate'"),
        ({"mono": "yes"}, "'mono' parameter of AudioLoader must be a bool"),
        ({"offset": -1.0}, "'offset'"),
        (
            {"duration": 0.0},
            r"'duration' parameter of AudioLoader must be a finite number in the range \(0, inf\)",
        ),
        ({"min_duration": float("nan")}, "'min_duration'"),
        (
            {"resample_quality": "best"},
            "'resample_quality' parameter of AudioLoader must be one of 'HQ', 'VHQ'",
        ),
    ],
)
def test_bad_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        AudioLoader(**kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.parameter == next(iter(kwargs))


def test_from_config_errors_name_the_class_and_config() -> None:
    with pytest.raises(
        ConfigError, match=r"deserializing class 'AudioLoader'.*unknown parameter\(s\) \['sr'\]"
    ):
        AudioLoader.from_config({"sr": 22050})
    with pytest.raises(
        ConfigError, match=r"deserializing class 'AudioLoader' using config=.*'offset' parameter"
    ):
        AudioLoader.from_config({"offset": -2})
    with pytest.raises(ConfigError, match="expected a dict config"):
        AudioLoader.from_config([("offset", 1)])  # type: ignore[arg-type]


# -------------------------------------------------------------------- Audio


def test_audio_value_checks() -> None:
    with pytest.raises(AudioUnusableError, match="sample_rate=0"):
        Audio(np.zeros(10, np.float32), 0)
    with pytest.raises(AudioUnusableError, match=r"shape \(1, 2, 3\)"):
        Audio(np.zeros((1, 2, 3), np.float32), 8000)
    audio = Audio(np.zeros((2, 8000), np.int16), 8000, "x.wav")
    assert audio.samples.dtype == np.float32
    assert (audio.channels, audio.n_samples, audio.duration) == (2, 8000, 1.0)
    assert repr(audio) == "Audio(source='x.wav', sample_rate=8000, channels=2, duration=1.000)"


def test_chirp_energy_moves_up(tmp_path: Path) -> None:
    """The sweep's first half peaks lower than its second half: samples come out in order."""
    x = chirp(fmin=100.0, fmax=5000.0, duration=2.0, sample_rate=22050)
    audio = melgenre.AudioLoader().load(
        write_audio(tmp_path / "c.ogg", x, 22050, format="OGG", subtype="VORBIS")
    )
    half = audio.n_samples // 2
    assert peak_frequency(audio.samples[:half], 22050) < peak_frequency(audio.samples[half:], 22050)
