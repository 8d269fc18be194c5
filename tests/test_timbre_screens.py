"""The vibrato screen's pure functions (``benchmarks/_timbre_screens.py``): its YIN and numbers."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark_modules import benchmark_module

SR = 22050


@pytest.mark.parametrize("frequency", [60.0, 110.0, 261.6, 1000.0, 1700.0])
def test_yin_reads_the_fundamental_of_a_square_wave(frequency: float) -> None:
    t = np.arange(2 * SR) / SR
    y = 0.3 * np.sign(np.sin(2 * np.pi * frequency * t))
    with benchmark_module("_timbre_screens") as screens:
        f0, rms = screens._yin(y, SR, 256)
    assert np.median(f0) == pytest.approx(frequency, rel=5e-3)
    assert np.median(rms) == pytest.approx(0.3, rel=1e-2)


def test_vibrato_numbers_tell_a_wavering_tone_from_a_steady_one() -> None:
    t = np.arange(3 * SR) / SR
    cents = 30 * np.sin(2 * np.pi * 6 * t)  # a 6 Hz vibrato of 30 cents
    phase = 2 * np.pi * np.cumsum(440 * 2 ** (cents / 1200)) / SR
    with benchmark_module("_timbre_screens") as screens:
        wavering = screens.vibrato_numbers(0.3 * np.sin(phase), SR)
        steady = screens.vibrato_numbers(0.3 * np.sin(2 * np.pi * 440 * t), SR)
    assert wavering.shape == steady.shape == (9,)
    # its RMS in cents (the median over 0.25 s, 1.5 periods, leaves a little of the swing)
    assert np.expm1(wavering[0]) == pytest.approx(30 / np.sqrt(2), rel=0.25)
    assert wavering[2] > 0.9  # the share of the wavering at 3.5-8.5 Hz
    assert steady[2] < 0.1
    assert wavering[3] == pytest.approx(6.0, abs=0.5)
    assert np.expm1(steady[0]) < 1.0
