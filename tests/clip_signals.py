"""Signals and settings shared by the clip statistics' tests (``test_statistics.py``,
``test_statistics_rhythm.py``) and the head's (``test_fusion.py``): a small featurizer and
descriptor at 8 kHz, beats at a tempo, and a vector's blocks by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from melgenre import ClipStatistics, MelFeaturizer

SR = 8000
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)
SMALL = ClipStatistics(
    harmony=False,
    n_mfcc=8,
    tempo_window=128,
    tempo_lags=64,
    similarity_lags=64,
    band_from=8,
    band_shifts=12,
)
FPS = SR / 128  # spectrogram frames per second


def clicks(period: float, *, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """Tone bursts every ``period`` seconds (random pitch, phase and level): a beat."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = 0.01 * rng.standard_normal(n)
    burst_t = np.arange(int(0.04 * SR)) / SR
    burst = np.sin(2 * np.pi * rng.uniform(300, 1500) * burst_t) * np.exp(-burst_t / 0.01)
    for start in np.arange(rng.uniform(0, period), seconds - 0.05, period):
        i = int(start * SR)
        y[i : i + len(burst)] += rng.uniform(0.3, 0.8) * burst
    return (y / np.abs(y).max() * 0.8).astype(np.float32)


def write_tempi(root: Path, per_class: int = 10) -> Path:
    """Two classes that differ only in tempo (0.5 s against 0.3 s between beats)."""
    for label, period in (("fast", 0.3), ("slow", 0.5)):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            seed = 100 * int(period * 10) + i
            sf.write(root / label / f"{i}.wav", clicks(period, seed=seed), SR)
    return root


def block(statistics: ClipStatistics, vector: np.ndarray, name: str) -> np.ndarray:
    """The part ``name`` of ``statistics``' vector (:attr:`ClipStatistics.blocks`)."""
    start = 0
    for key, size in statistics.blocks.items():
        if key == name:
            return vector[start : start + size]
        start += size
    raise KeyError(name)


def without(statistics: ClipStatistics, vector: np.ndarray, *names: str) -> np.ndarray:
    """``vector`` less the parts ``names``."""
    kept = [block(statistics, vector, key) for key in statistics.blocks if key not in names]
    return np.concatenate(kept)
