"""AudioLoader on bad input: missing, empty, truncated and non-audio files, unusable arrays and
sample rates, each a typed error naming the source; and the audioread fallback, for what
libsndfile cannot decode, and its failures."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from melgenre import AudioLoader
from melgenre.errors import (
    AudioDecodeError,
    AudioFileNotFoundError,
    AudioUnusableError,
    MelgenreError,
    MelgenreTypeError,
)
from signals import peak_frequency, tone, write_audio

# --------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "rock" / "01.mp3"
    with pytest.raises(AudioFileNotFoundError, match=r"rock/01\.mp3.*no such file") as info:
        AudioLoader().load(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, MelgenreError)
    assert info.value.source == str(missing)


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "blues.wav"
    folder.mkdir()
    with pytest.raises(AudioDecodeError, match=r"blues\.wav.*is a directory"):
        AudioLoader().load(folder)


def test_zero_length_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match=r"empty\.flac.*empty \(0 bytes\)"):
        AudioLoader().load(empty)


@pytest.mark.parametrize("source", [b"", io.BytesIO(b"")])
def test_zero_length_bytes_and_file_objects(source: Any) -> None:
    with pytest.raises(AudioDecodeError, match="0 bytes"):
        AudioLoader().load(source)


def test_header_only_file(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "h.wav", np.zeros(0, np.float32), 22050)
    assert path.stat().st_size == 44
    with pytest.raises(AudioDecodeError, match=r"h\.wav.*header only"):
        AudioLoader().load(path)


@pytest.mark.parametrize("ext", ["wav", "mp3", "flac", "ogg"])
def test_non_audio_file_with_an_audio_extension(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"notes.{ext}"
    path.write_text("These are my notes, not a song.\n" * 20)
    with pytest.raises(AudioDecodeError, match=rf"notes\.{ext}.*not an audio file") as caught:
        AudioLoader().load(path)
    # libsndfile says "File does not exist" of a .mp3 that is not MPEG: it exists
    assert "does not exist" not in str(caught.value)
    assert "Format not recognised" in str(caught.value)


@pytest.mark.parametrize("ext", ["wav", "flac", "mp3", "ogg"])
def test_truncated_files(tmp_path: Path, encoded_files: dict[str, bytes], ext: str) -> None:
    data = encoded_files[ext]
    path = tmp_path / f"cut.{ext}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match=rf"cut\.{ext}.*(truncated|corrupt|not an audio)"):
        AudioLoader().load(path)


def test_truncated_wav_message_says_how_much_is_missing(
    tmp_path: Path, encoded_files: dict[str, bytes]
) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(encoded_files["wav"][:10_044])
    with pytest.raises(
        AudioDecodeError, match=r"declares 44100 bytes of audio data, only 10000 are present"
    ):
        AudioLoader().load(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_in_a_float_wav(tmp_path: Path, bad: float) -> None:
    x = tone(frequency=440.0, duration=0.5, sample_rate=8000)
    x[1234] = bad
    path = write_audio(tmp_path / "nan.wav", x, 8000, subtype="FLOAT")
    with pytest.raises(
        AudioUnusableError,
        match=r"nan\.wav.*contains 1 non-finite sample \(NaN.*sample 1234 \(0\.154 s\)",
    ):
        AudioLoader().load(path)
    x[2000:2002] = bad
    write_audio(path, x, 8000, subtype="FLOAT")
    with pytest.raises(AudioUnusableError, match=r"contains 3 non-finite samples \(NaN"):
        AudioLoader().load(path)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3, 100), np.float32), r"shape \(2, 3, 100\)"),
        (np.zeros((1000, 2), np.float32), "channels-last; pass samples.T"),
        (np.float32(0.5), r"shape \(\)"),
        (np.array([True, False] * 100), "dtype bool"),
        (np.zeros(100, np.complex64), "dtype complex64"),
        (np.array(["a", "b"] * 100), "dtype <U1"),
        (np.zeros(0, np.float32), "contains no samples"),
    ],
)
def test_unusable_arrays(array: Any, message: str) -> None:
    with pytest.raises(AudioUnusableError, match=message):
        AudioLoader().load((array, 22050))


@pytest.mark.parametrize("rate", [0, -8000, 8000.5, "8000", None, 10**9, True])
def test_implausible_sample_rates(rate: Any) -> None:
    with pytest.raises(AudioUnusableError, match="sample rate"):
        AudioLoader().load((np.zeros(100, np.float32), rate))


@pytest.mark.parametrize("source", [42, ["a.wav"], None, (np.zeros(10),), b"x".decode()])
def test_unsupported_source_types(source: Any, tmp_path: Path) -> None:
    with pytest.raises((MelgenreTypeError, AudioFileNotFoundError)):
        AudioLoader().load(source)


def test_a_bare_array_and_an_odd_type_are_told_what_to_pass() -> None:
    with pytest.raises(MelgenreTypeError, match=r"bare NumPy array.*\(samples, sample_rate\)"):
        AudioLoader().load(np.zeros(22050, np.float32))  # type: ignore[arg-type]
    with pytest.raises(MelgenreTypeError, match="from an object of type dict: expected a path"):
        AudioLoader().load({"array": np.zeros(10), "sampling_rate": 8000})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "what"),
    [
        (["a.wav", "b.wav"], "a list of 2 paths"),
        ([Path("a.wav")], "a list of 1 path:"),
        (("a.wav", "b.wav"), "a tuple of 2 paths"),  # not taken for (samples, sample_rate)
    ],
)
def test_several_paths_are_pointed_to_predict_many(source: Any, what: str) -> None:
    with pytest.raises(MelgenreTypeError, match=rf"{what}.*Predictor\.predict_many\(paths\)"):
        AudioLoader().load(source)


def test_text_mode_file_object(wav_file: Path) -> None:
    with (
        open(wav_file, encoding="latin-1") as handle,
        pytest.raises(MelgenreTypeError, match=r"binary mode \('rb'\)"),
    ):
        AudioLoader().load(handle)


def test_min_duration(wav_file: Path) -> None:
    assert AudioLoader(min_duration=1.5).load(wav_file).duration == pytest.approx(2.0)
    with pytest.raises(
        AudioUnusableError, match=r"tone\.wav.*2\.000 s long, shorter than min_duration=3\.0 s"
    ):
        AudioLoader(min_duration=3.0).load(wav_file)


def test_a_file_too_short_to_resample_is_unusable() -> None:
    with pytest.raises(AudioUnusableError, match="leave nothing at 1000 Hz"):
        AudioLoader(sample_rate=1000).load((np.zeros(1, np.float32), 48000))


# ------------------------------------------------------------ audioread path


def test_audioread_fallback_decodes_what_libsndfile_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formats libsndfile cannot read go to audioread; fake its backend (FFmpeg is not installed here)."""
    import audioread

    x = (tone(frequency=1000.0, duration=0.5, sample_rate=16000) * 32767).astype("<i2")
    stereo = np.stack([x, x], axis=1).tobytes()

    class FakeDecoder:
        samplerate, channels = 16000, 2

        def __enter__(self) -> FakeDecoder:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def __iter__(self) -> Any:
            return iter([stereo[:1001], stereo[1001:]])

    opened: list[str] = []
    monkeypatch.setattr(audioread, "audio_open", lambda path: opened.append(path) or FakeDecoder())
    path = tmp_path / "song.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(200))
    audio = AudioLoader(sample_rate=8000, offset=0.1).load(path)
    assert opened == [str(path)]
    assert audio.n_samples == 3200
    assert peak_frequency(audio.samples, 8000) == pytest.approx(1000.0, abs=5.0)
    # bytes go through a temporary file, which is removed afterwards
    audio = AudioLoader(sample_rate=None).load(path.read_bytes())
    assert audio.n_samples == 8000
    assert not Path(opened[-1]).exists()


def test_audioread_without_a_backend_names_both_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audioread
    from audioread.rawread import RawAudioFile

    def no_backend(path: str) -> None:
        raise audioread.exceptions.NoBackendError()

    monkeypatch.setattr(audioread, "audio_open", no_backend)
    path = tmp_path / "song.m4a"
    path.write_bytes(bytes(300))
    # audioread raises NoBackendError when no decoder is installed (its reader of plain
    # WAV/AIFF is always there) ...
    monkeypatch.setattr(audioread, "available_backends", lambda: [RawAudioFile])
    with pytest.raises(
        AudioDecodeError,
        match=r"song\.m4a.*libsndfile: Format not recognised; no audioread backend.*FFmpeg",
    ):
        AudioLoader().load(path)

    # ... and when every installed decoder failed: then installing FFmpeg is no advice
    class FFmpegAudioFile:
        pass

    monkeypatch.setattr(audioread, "available_backends", lambda: [RawAudioFile, FFmpegAudioFile])
    with pytest.raises(AudioDecodeError) as failed:
        AudioLoader().load(path)
    message = str(failed.value)
    assert "audioread's FFmpegAudioFile could not decode it either" in message
    assert "install FFmpeg" not in message


def test_a_decoder_error_without_a_message_reads_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import audioread

    def ends_early(path: str) -> None:
        raise EOFError  # what the standard library's wave reader raises on a short text file

    monkeypatch.setattr(audioread, "audio_open", ends_early)
    path = tmp_path / "notes.wav"
    path.write_text("hello\n")
    with pytest.raises(AudioDecodeError, match=r"notes\.wav.*; audioread: EOFError\)\."):
        AudioLoader().load(path)


def test_missing_audioread_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "audioread", None)
    path = tmp_path / "song.m4a"
    path.write_bytes(bytes(300))
    with pytest.raises(AudioDecodeError, match="audioread is not installed"):
        AudioLoader().load(path)


def test_unexpected_decoder_exceptions_become_decode_errors(
    wav_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: Any, file: Any) -> None:
        raise IndexError("bad table")

    monkeypatch.setattr(sf.SoundFile, "__init__", boom)
    with pytest.raises(
        AudioDecodeError, match=r"tone\.wav.*decoder failed \(IndexError: bad table\)"
    ) as info:
        AudioLoader().load(wav_file)
    assert isinstance(info.value.__cause__, IndexError)
