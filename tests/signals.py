"""Synthesized test signals and a soundfile writer (no audio is committed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from melgenre import Audio

FloatArray = npt.NDArray[np.float32]

#: (format, subtype, extension) for every container/codec the loader must read.
FORMATS: list[tuple[str, str, str]] = [
    ("WAV", "PCM_U8", "wav"),
    ("WAV", "PCM_16", "wav"),
    ("WAV", "PCM_24", "wav"),
    ("WAV", "PCM_32", "wav"),
    ("WAV", "FLOAT", "wav"),
    ("WAV", "DOUBLE", "wav"),
    ("FLAC", "PCM_S8", "flac"),
    ("FLAC", "PCM_16", "flac"),
    ("FLAC", "PCM_24", "flac"),
    ("OGG", "VORBIS", "ogg"),
    ("MP3", "MPEG_LAYER_III", "mp3"),
]


def _fade(x: FloatArray, sample_rate: int) -> FloatArray:
    """Fade 5 ms in and out, so tones have no click at their edges."""
    n = min(len(x) // 2, int(0.005 * sample_rate))
    if n:
        ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
        x[:n] *= ramp
        x[-n:] *= ramp[::-1]
    return x


def tone(
    *, frequency: float, duration: float, sample_rate: int, amplitude: float = 0.5
) -> FloatArray:
    """A faded sine tone."""
    t = np.arange(round(duration * sample_rate)) / sample_rate
    x = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return _fade(x, sample_rate)


def chirp(
    *, fmin: float, fmax: float, duration: float, sample_rate: int, amplitude: float = 0.5
) -> FloatArray:
    """A faded exponential sweep from ``fmin`` to ``fmax``."""
    n = round(duration * sample_rate)
    t = np.arange(n) / sample_rate
    k = np.log(fmax / fmin) / duration
    phase = 2 * np.pi * fmin * (np.exp(k * t) - 1) / k
    return _fade((amplitude * np.sin(phase)).astype(np.float32), sample_rate)


def noise(*, duration: float, sample_rate: int, seed: int, amplitude: float = 0.1) -> FloatArray:
    """Seeded white noise."""
    rng = np.random.default_rng(seed)
    n = round(duration * sample_rate)
    return (amplitude * rng.standard_normal(n)).astype(np.float32).clip(-1, 1)


def noise_audio(seconds: float, *, sample_rate: int = 22050, seed: int = 0) -> Audio:
    """:func:`noise` as melgenre's :class:`~melgenre.Audio`, named "noise"."""
    return Audio(noise(duration=seconds, sample_rate=sample_rate, seed=seed), sample_rate, "noise")


def peak_frequency(samples: npt.NDArray[np.floating[Any]], sample_rate: int) -> float:
    """The frequency of the strongest bin of ``samples``' Hann-windowed spectrum, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / sample_rate)[np.argmax(spectrum)])


def write_audio(
    path: Path,
    samples: npt.NDArray[Any],
    sample_rate: int,
    *,
    format: str = "WAV",
    subtype: str = "PCM_16",
) -> Path:
    """Write ``(n,)`` or ``(channels, n)`` samples with soundfile; return the path."""
    data = samples.T if samples.ndim == 2 else samples
    sf.write(path, data, sample_rate, format=format, subtype=subtype)
    return path


def write_separable(root: Path, *, per_class: int = 12, sample_rate: int = 8000) -> Path:
    """Tones vs noise vs chirps (2 s each) with random pitch and loudness: easy for a spectrogram CNN."""
    rng = np.random.default_rng(0)
    for label in ("chirp", "noise", "tone"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            if label == "tone":
                x = tone(
                    frequency=float(rng.uniform(200, 2000)), duration=2.0, sample_rate=sample_rate
                )
            elif label == "noise":
                x = noise(duration=2.0, sample_rate=sample_rate, seed=i)
            else:
                low = float(rng.uniform(100, 500))
                x = chirp(fmin=low, fmax=low * 6, duration=2.0, sample_rate=sample_rate)
            sf.write(root / label / f"{i}.wav", x * rng.uniform(0.2, 1.0), sample_rate)
    return root


def damaged_mp3(path: Path) -> Path:
    """A 5 s MP3 with eight bytes overwritten mid-stream: it decodes, with decoder notes."""
    import random

    t = np.arange(5 * 22050) / 22050
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), 22050, format="MP3")
    data = bytearray(path.read_bytes())
    rng = random.Random(0)
    at = rng.randrange(2000, len(data) - 100)
    data[at : at + 8] = bytes(rng.randrange(256) for _ in range(8))
    path.write_bytes(bytes(data))
    return path
