"""Synthesized signals on which an export's parity is checked: :func:`parity_signals`."""

from __future__ import annotations

from typing import Any

import numpy as np

from melgenre._typing import FloatArray

__all__ = ["parity_signals"]


def parity_signals(sample_rate: int, *, seed: int = 0) -> list[tuple[str, FloatArray, int]]:
    """Synthesized test signals ``(name, samples, rate)``, most at ``sample_rate``.

    Tones, a chirp, white noise, silence, a clipped tone, an impulse, inputs shorter
    than an FFT frame and than a window, a long mixture, and tones at three other
    sample rates (which the loader resamples).
    """
    rng = np.random.default_rng(seed)
    sr = sample_rate

    def t(seconds: float, rate: int = sr) -> Any:  # float64 times
        return np.arange(int(seconds * rate), dtype=np.float64) / rate

    def f32(x: Any) -> FloatArray:
        return np.asarray(x, dtype=np.float32)

    nyquist = sr / 2
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * t(3.0))
    chirp_t = t(5.0)
    chirp = 0.5 * np.sin(2 * np.pi * (50.0 * chirp_t + (0.9 * nyquist - 50.0) * chirp_t**2 / 10))
    impulse = np.zeros(sr)
    impulse[sr // 2] = 1.0
    long_t = t(45.0)
    long = 0.3 * np.sin(2 * np.pi * 220.0 * long_t) * (1 + np.sin(2 * np.pi * 0.1 * long_t)) / 2
    long = long + 0.05 * rng.standard_normal(len(long_t))
    signals = [
        ("silence", f32(np.zeros(sr)), sr),
        ("tone-440Hz", f32(tone), sr),
        (
            "two-tones",
            f32(0.3 * np.sin(2 * np.pi * 330 * t(3.0)) + 0.2 * np.sin(2 * np.pi * 1500 * t(3.0))),
            sr,
        ),
        ("chirp", f32(chirp), sr),
        ("white-noise", f32(0.2 * rng.standard_normal(2 * sr)), sr),
        ("clipped-tone", f32(np.clip(3.0 * np.sin(2 * np.pi * 200 * t(2.0)), -1.0, 1.0)), sr),
        ("impulse", f32(impulse), sr),
        ("64-samples", f32(0.1 * rng.standard_normal(64)), sr),
        ("half-second", f32(tone[: sr // 2]), sr),
        ("45-seconds", f32(long), sr),
    ]
    for rate in (8000, 44100, 48000):
        if rate != sr:
            mixed = 0.4 * np.sin(2 * np.pi * 300 * t(3.0, rate)) + 0.05 * rng.standard_normal(
                3 * rate
            )
            signals.append((f"tone-at-{rate}Hz", f32(mixed), rate))
    return signals
