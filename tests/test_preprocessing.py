"""Preprocessing: the one preprocessing contract, and long files block by block."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import melgenre.features
from melgenre import Audio, AudioLoader, MelFeaturizer, Preprocessing
from melgenre.errors import AudioDecodeError, AudioUnusableError, ConfigError, MelgenreTypeError
from signals import chirp, noise, tone

SR = 8000
SMALL = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)


def music(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A chirp over noise with a level that changes: every frame differs."""
    x = chirp(fmin=100.0, fmax=3000.0, duration=seconds, sample_rate=sample_rate)
    x = x + noise(duration=seconds, sample_rate=sample_rate, seed=seed, amplitude=0.05)
    envelope = 0.5 + 0.4 * np.sin(np.linspace(0, 20, len(x)))
    return (x * envelope).astype(np.float32)


@pytest.fixture(scope="module")
def long_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("long")
    mono = music(61.3, SR)
    stereo = np.stack([music(47.9, 11025, seed=1), music(47.9, 11025, seed=2)], axis=1)
    sf.write(root / "mono.flac", mono, SR)
    sf.write(root / "stereo.wav", stereo, 11025)  # resampled to 8 kHz while streaming
    return {"mono": root / "mono.flac", "stereo": root / "stereo.wav"}


# ------------------------------------------------------------------ contract


def test_the_featurizer_states_the_rate_once() -> None:
    prep = Preprocessing(SMALL)
    assert prep.sample_rate == prep.loader.sample_rate == SR
    assert prep.output_shape == SMALL.output_shape
    # a loader without a rate takes the featurizer's; its other options are kept
    clipped = Preprocessing(SMALL, loader=AudioLoader(sample_rate=None, duration=2.0))
    assert clipped.loader == AudioLoader(sample_rate=SR, duration=2.0)
    assert Preprocessing().featurizer == MelFeaturizer()
    with pytest.raises(ConfigError, match=r"resamples to 22050 Hz but the featurizer expects 8000"):
        Preprocessing(SMALL, loader=AudioLoader())
    with pytest.raises(MelgenreTypeError, match="expects a melgenre Featurizer"):
        Preprocessing("mel")  # type: ignore[arg-type]
    with pytest.raises(MelgenreTypeError, match="AudioLoader"):
        Preprocessing(SMALL, loader=SMALL)  # type: ignore[arg-type]


def test_config_round_trip_and_cache_key() -> None:
    prep = Preprocessing(SMALL, loader=AudioLoader(sample_rate=None, offset=0.5))
    config = json.loads(json.dumps(prep.get_config()))
    assert Preprocessing.from_config(config) == prep
    assert Preprocessing.from_config(config).cache_key == prep.cache_key
    assert Preprocessing(SMALL).cache_key != prep.cache_key
    other = Preprocessing(dataclasses.replace(SMALL, top_db=60.0))
    assert other.cache_key != Preprocessing(SMALL).cache_key
    with pytest.raises(ConfigError, match="'loader' and 'featurizer'"):
        Preprocessing.from_config({"featurizer": config["featurizer"]})
    with pytest.raises(ConfigError, match="must name an AudioLoader"):
        Preprocessing.from_config({"loader": config["featurizer"], "featurizer": config["loader"]})
    assert Preprocessing.classic().sample_rate == 44100


def test_call_loads_and_transforms(tmp_path: Path) -> None:
    path = tmp_path / "t.wav"
    sf.write(path, tone(frequency=440.0, duration=3.0, sample_rate=22050), 22050)
    prep = Preprocessing(SMALL)
    expected = SMALL.transform(AudioLoader(sample_rate=SR).load(path))
    np.testing.assert_array_equal(prep(path), expected)
    np.testing.assert_array_equal(prep.transform(prep.load(path)), expected)


# ----------------------------------------------------------------- streaming


FEATURIZERS = {
    "default": SMALL,
    "fixed-ref": dataclasses.replace(SMALL, ref=1.0),
    "no-top-db": dataclasses.replace(SMALL, top_db=None),
    "overlap-and-resize": dataclasses.replace(SMALL, window_hop=7, resize_frames=16),
    "odd-fft": dataclasses.replace(SMALL, n_fft=501, win_length=400),
    "deltas": dataclasses.replace(SMALL, deltas=2),
    "resize-and-delta": dataclasses.replace(SMALL, window_hop=7, resize_frames=16, deltas=1),
    "tempogram": dataclasses.replace(SMALL, deltas=1, tempogram=True),
    "chroma": dataclasses.replace(SMALL, chroma=True),
}


@pytest.mark.parametrize("name", sorted(FEATURIZERS))
@pytest.mark.parametrize("which", ["mono", "stereo"])
@pytest.mark.parametrize("read", ["once", "twice"])
def test_stream_equals_the_whole_file(
    long_files: dict[str, Path], name: str, which: str, read: str, monkeypatch: Any
) -> None:
    if read == "twice":  # longer than the featurizer keeps: the second pass reads it again
        monkeypatch.setattr(melgenre.features, "KEEP_FRAMES", 10)
    prep = Preprocessing(FEATURIZERS[name])
    path = long_files[which]
    blocks = list(prep.stream(path, block_seconds=4.1))
    assert len(blocks) > 5  # windows arrive block by block
    windows = np.concatenate([w for w, _ in blocks])
    times = np.concatenate([t for _, t in blocks])
    audio = prep.load(path)
    np.testing.assert_allclose(windows, prep.transform(audio), atol=1e-4)
    np.testing.assert_array_equal(times, prep.window_times(audio))
    assert times[-1, 1] == pytest.approx(audio.duration, abs=1e-3)  # the tail is covered


def test_stream_reads_a_recording_once_up_to_keep_frames(
    long_files: dict[str, Path], monkeypatch: Any
) -> None:
    prep = Preprocessing(SMALL)
    reads = []

    def blocks() -> Any:
        reads.append(1)
        return prep.loader.stream(long_files["mono"], block_seconds=4.1)

    n_frames = SMALL.spectrogram(prep.load(long_files["mono"])).shape[1]
    assert n_frames < melgenre.features.KEEP_FRAMES
    once = list(SMALL.stream(blocks))
    assert len(reads) == 1
    monkeypatch.setattr(melgenre.features, "KEEP_FRAMES", n_frames - 1)
    twice = list(SMALL.stream(blocks))
    assert len(reads) == 3
    for (a, ta), (b, tb) in zip(once, twice, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ta, tb)


def test_stream_of_short_audio_other_sources_and_subclasses(long_files: dict[str, Path]) -> None:
    prep = Preprocessing(SMALL)
    short = tone(frequency=300.0, duration=0.3, sample_rate=SR)  # shorter than one window
    for source in ((short, SR), Audio(short, SR), long_files["mono"].read_bytes()):
        (windows, times), *rest = list(prep.stream(source))
        assert not rest
        np.testing.assert_array_equal(windows, prep(source))
        assert len(times) == len(windows)

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Louder(MelFeaturizer):  # overrides a step: transformed in one piece, still equal
        def scale(self, power: np.ndarray) -> np.ndarray:
            return super().scale(power * 2.0)

    louder = Preprocessing(Louder(**SMALL.get_config()))
    blocks = list(louder.stream(long_files["mono"], block_seconds=2.0))
    assert len(blocks) == 1
    np.testing.assert_array_equal(blocks[0][0], louder(long_files["mono"]))

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Centred(MelFeaturizer):  # times of its own: the stream gives them too
        def window_times(self, audio: Audio) -> np.ndarray:
            times = super().window_times(audio)
            return (times - audio.duration / 2).astype(np.float32)

    centred = Preprocessing(Centred(**SMALL.get_config()))
    times = np.concatenate([t for _, t in centred.stream(long_files["mono"], block_seconds=2.0)])
    np.testing.assert_array_equal(times, centred.window_times(centred.load(long_files["mono"])))


def test_loader_stream_matches_load(long_files: dict[str, Path]) -> None:
    for loader in (
        AudioLoader(sample_rate=SR),
        AudioLoader(sample_rate=None, mono=False),
        AudioLoader(sample_rate=16000, offset=3.3, duration=20.0),
        AudioLoader(sample_rate=SR, mono=False),
    ):
        for path in long_files.values():
            whole = loader.load(path)
            pieces = list(loader.stream(path, block_seconds=3.7))
            assert all(p.sample_rate == whole.sample_rate for p in pieces)
            joined = np.concatenate([p.samples for p in pieces], axis=-1)
            np.testing.assert_allclose(joined, whole.samples, atol=1e-6)


def _write_ok(tmp_path: Path) -> Path:
    path = tmp_path / "cut.wav"
    sf.write(path, music(20.0, SR), SR)
    return path


def test_stream_errors_name_the_file(tmp_path: Path) -> None:
    prep = Preprocessing(SMALL)
    truncated = tmp_path / "cut.wav"
    sf.write(truncated, music(20.0, SR), SR, subtype="PCM_16")
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match=r"cut\.wav.*truncated"):
        list(prep.stream(truncated))
    bad = tmp_path / "nan.wav"
    x = music(20.0, SR)
    x[SR * 12] = np.nan
    sf.write(bad, x, SR, subtype="FLOAT")
    with pytest.raises(AudioUnusableError, match=r"nan.wav.*non-finite.*\(12\.000 s\)"):
        list(prep.stream(bad, block_seconds=5.0))
    strict = Preprocessing(SMALL, loader=AudioLoader(sample_rate=None, min_duration=30.0))
    with pytest.raises(AudioUnusableError, match=r"cut\.wav.*shorter than min_duration"):
        list(strict.stream(_write_ok(tmp_path)))
    with pytest.raises(ConfigError, match="'block_seconds'"):
        list(prep.stream(truncated, block_seconds=0))
