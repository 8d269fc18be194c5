"""The clip statistics' rhythm blocks, each on a synthesized signal it is for: the tempogram
and the onset spectrum at a beat, the similarity by note period and the onset spectrum by note
rate at any tempo, the similarity by phrase."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from clip_signals import FEAT, FPS, SMALL, SR, block, clicks, without
from melgenre import Audio, ClipStatistics
from melgenre.errors import ConfigError
from melgenre.statistics import PHRASE_OVERLAP


def test_the_tempogram_peaks_at_the_beat_period() -> None:
    n = SMALL.n_mfcc
    for period in (0.3, 0.5):
        spec = FEAT.spectrogram(Audio(clicks(period), SR))
        vector = SMALL(spec)
        assert vector.shape == (SMALL.dim,)
        assert np.all(np.isfinite(vector))
        tempogram = vector[2 * n : 2 * n + SMALL.tempo_lags]  # lag k at index k - 1
        lag = 8 + int(np.argmax(tempogram[7:]))  # lags from 8: past the burst's own width
        assert abs(lag - period * FPS) <= 1.5, (period, lag)
    for n_frames in (2, 40, 200):  # shorter than the lags and the tempogram's window
        short = np.random.default_rng(n_frames).normal(size=(32, n_frames))
        assert ClipStatistics(harmony=False)(short).shape == (ClipStatistics(harmony=False).dim,)
    with pytest.raises(ConfigError, match="n_frames >= 2"):
        SMALL(np.zeros((32, 1)))
    with pytest.raises(ConfigError, match="tempo_lags"):
        ClipStatistics(harmony=False, tempo_window=16, tempo_lags=16)


def test_the_onset_spectrum_peaks_at_the_beat_rate() -> None:
    rates = SMALL.onset_rates * FPS  # in Hz
    assert len(rates) == 1 + 12 * 5  # 1 / 64 to 1 / 2 a frame: five octaves
    np.testing.assert_allclose(rates[[0, -1]], [FPS / 64, FPS / 2])
    for period in (0.3, 0.33, 0.5):  # 0.3 and 0.33 s: 18.75 and 20.6 frames, apart by 2
        curve = block(SMALL, SMALL(FEAT.spectrogram(Audio(clicks(period), SR))), "onset_spectrum")
        assert np.all(np.isfinite(curve))
        assert np.all(curve <= 0.0)
        near = np.abs(np.log2(rates * period)) <= 0.5  # half an octave round the beat rate
        peak = rates[near][np.argmax(curve[near])]
        assert abs(np.log2(peak * period)) <= 1 / 12, (period, peak)  # within a semitone
        between = np.interp(1.5 / period, rates, curve)  # between two harmonics
        assert curve[near].max() > between + 0.5, (period, curve[near].max(), between)  # 5 dB
    # the onset spectrum by note rate reads it: off together
    with pytest.raises(ConfigError, match=r"rate_ratios=\(\)"):
        dataclasses.replace(SMALL, onset_rates_per_octave=0)
    off = dataclasses.replace(SMALL, onset_rates_per_octave=0, rate_ratios=())
    by_rate = len(SMALL.rate_ratios)
    assert off.dim == SMALL.dim - len(rates) - by_rate
    assert len(off.onset_rates) == 0
    spec = FEAT.spectrogram(Audio(clicks(0.4), SR))
    both = without(SMALL, SMALL(spec), "onset_spectrum", "onset_by_note_rate")
    np.testing.assert_array_equal(both, off(spec))
    with pytest.raises(ConfigError, match="onset spectrum"):
        ClipStatistics(harmony=False, tempo_lags=1)
    assert (
        ClipStatistics(harmony=False, tempo_lags=1, onset_rates_per_octave=0, rate_ratios=()).dim
        == 459
    )
    # a config from before the onset spectrum (no such keys) is rebuilt without one
    newer = ("onset_rates_per_octave", "rate_ratios")
    earlier = {k: v for k, v in SMALL.get_config().items() if k not in newer}
    assert ClipStatistics.from_config(earlier) == off
    assert ClipStatistics.from_config(SMALL.get_config()) == SMALL


def figures(notes: int, period: int, *, frames: int = 600, seed: int = 0) -> np.ndarray:
    """A dB spectrogram: a figure of ``notes`` different notes, ``period`` frames each, repeated."""
    rng = np.random.default_rng(seed)
    bands = rng.choice(32, size=notes, replace=False)
    spec = rng.normal(size=(32, frames)) - 60.0
    for j, start in enumerate(range(0, frames, period)):
        spec[bands[j % notes], start : start + period] += 30.0
    return spec


def test_the_similarity_by_period_counts_the_notes_of_a_figure_at_any_tempo() -> None:
    statistics = ClipStatistics(harmony=False)
    assert statistics.blocks["similarity_by_period"] == len(statistics.period_multiples) == 11
    # appended: the earlier blocks' indices are unchanged
    assert list(statistics.blocks)[-6:-4] == ["similarity_by_period", "onset_by_note_rate"]
    grid = statistics.note_period_grid
    np.testing.assert_allclose(np.log2(grid) * 12, np.round(np.log2(grid) * 12))
    assert grid[0] >= 4.3
    assert grid[-1] <= 28.7
    assert len(grid) == 33
    at = {m: i for i, m in enumerate(statistics.period_multiples)}
    for period in (6, 7, 9, 11):  # 0.14 to 0.26 s a note at 22.05 kHz and a 512 hop
        threes = block(
            statistics, statistics(figures(3, period, seed=period)), "similarity_by_period"
        )
        fours = block(
            statistics, statistics(figures(4, period, seed=period)), "similarity_by_period"
        )
        assert threes[at[3.0]] > threes[at[4.0]] + 0.5, (period, threes)
        assert fours[at[4.0]] > fours[at[3.0]] + 0.5, (period, fours)
        assert threes[at[6.0]] > threes[at[8.0]]
        assert fours[at[8.0]] > fours[at[6.0]]
    off = ClipStatistics(harmony=False, period_multiples=())
    spec = figures(3, 7)
    np.testing.assert_array_equal(
        without(statistics, statistics(spec), "similarity_by_period"), off(spec)
    )
    assert off.dim == statistics.dim - 11
    assert "similarity_by_period" in off.blocks
    # JSON gives lists; the config round trip keeps tuples (the statistics are hashed)
    assert json.loads(json.dumps(statistics.get_config())) == statistics.get_config()
    again = ClipStatistics.from_config(json.loads(json.dumps(statistics.get_config())))
    assert again == statistics
    assert hash(again) == hash(statistics)
    # a config from before the block (no such key) is rebuilt without it
    earlier = {k: v for k, v in statistics.get_config().items() if k != "period_multiples"}
    assert ClipStatistics.from_config(earlier) == off
    for bad in (
        {"note_periods": (1.0, 20.0)},
        {"note_periods": (5.1, 5.2)},
        {"note_periods": (5,)},
    ):
        with pytest.raises(ConfigError, match="note_periods"):
            ClipStatistics(harmony=False, **bad)
    for bad_multiples in ((0.0,), (1.0, float("nan")), "12", 3):
        with pytest.raises(ConfigError, match="period_multiples"):
            ClipStatistics(harmony=False, period_multiples=bad_multiples)  # type: ignore[arg-type]


def accents(group: int, period: int, *, frames: int = 600, seed: int = 0) -> np.ndarray:
    """A dB spectrogram: an onset every ``period`` frames, every ``group``-th one stronger."""
    rng = np.random.default_rng(seed)
    spec = rng.normal(size=(32, frames)) - 60.0
    for j, start in enumerate(range(0, frames, period)):
        spec[:, start : start + 2] += 20.0 + (8.0 if j % group == 0 else 0.0)
    return spec


def test_the_onset_spectrum_by_note_rate_hears_twos_and_threes_at_any_tempo() -> None:
    statistics = ClipStatistics(harmony=False)
    assert statistics.blocks["onset_by_note_rate"] == len(statistics.rate_ratios) == 11
    at = {round(r, 3): i for i, r in enumerate(statistics.rate_ratios)}
    half, third = at[0.5], at[0.333]
    for period in (6, 7, 11):  # notes 0.14 to 0.26 s apart at 22.05 kHz and a 512 hop
        twos = block(statistics, statistics(accents(2, period, seed=period)), "onset_by_note_rate")
        threes = block(
            statistics, statistics(accents(3, period, seed=period)), "onset_by_note_rate"
        )
        assert np.all(np.isfinite(twos))
        assert twos[half] > twos[third] + 1.0, (period, twos)  # log10: 10 dB
        assert threes[third] > threes[half] + 1.0, (period, threes)
    off = ClipStatistics(harmony=False, rate_ratios=())
    spec = accents(3, 7)
    np.testing.assert_array_equal(
        without(statistics, statistics(spec), "onset_by_note_rate"), off(spec)
    )
    earlier = {k: v for k, v in statistics.get_config().items() if k != "rate_ratios"}
    assert ClipStatistics.from_config(earlier) == off
    with pytest.raises(ConfigError, match="rate_ratios"):
        ClipStatistics(harmony=False, rate_ratios=(0.5, -1.0))


def test_the_similarity_by_phrase_hears_four_and_eight_bars_of_threes_or_fours() -> None:
    statistics = ClipStatistics(harmony=False)
    assert list(statistics.blocks)[-3] == "similarity_by_phrase"
    assert statistics.blocks["similarity_by_phrase"] == len(statistics.phrase_multiples) == 4
    assert statistics.similarity_reach == statistics.phrase_lags == 1024
    at = {m: i for i, m in enumerate(statistics.phrase_multiples)}
    # four bars of six notes (a jig's) against four bars of eight, at periods on the grid
    # (2 ** (k / 12) frames): a period a few percent off the grid is read by its neighbours,
    # which the note-period block's 3 to 16 notes tolerate but which by the 48th note is
    # several frames (at 7 frames a note the readings at 48 and 64 notes fall to ~0)
    for period in (6, 8):
        sixes = block(
            statistics, statistics(figures(24, period, frames=1200)), "similarity_by_phrase"
        )
        eights = block(
            statistics, statistics(figures(32, period, frames=1200)), "similarity_by_phrase"
        )
        assert sixes[at[24.0]] > sixes[at[32.0]] + 0.5, (period, sixes)
        assert eights[at[32.0]] > eights[at[24.0]] + 0.5, (period, eights)
        assert sixes[at[48.0]] > sixes[at[64.0]] + 0.5, (period, sixes)
        assert eights[at[64.0]] > eights[at[48.0]] + 0.5, (period, eights)
    # lags that leave fewer than PHRASE_OVERLAP frames overlapping read 0: the shortest
    # reading (24 notes of 4.3 frames) needs 231 frames
    short = figures(24, 5, frames=PHRASE_OVERLAP + 102)
    assert not np.any(block(statistics, statistics(short), "similarity_by_phrase"))
    assert np.any(block(statistics, statistics(figures(24, 5, frames=400)), "similarity_by_phrase"))
    # readings past phrase_lags are 0; the other blocks never change with the phrases
    near = dataclasses.replace(statistics, phrase_lags=100)
    spec = figures(24, 6, frames=900)
    assert not np.any(block(near, near(spec), "similarity_by_phrase"))
    off = ClipStatistics(harmony=False, phrase_multiples=())
    np.testing.assert_array_equal(
        without(statistics, statistics(spec), "similarity_by_phrase"), off(spec)
    )
    assert off.dim == statistics.dim - 4
    assert off.similarity_reach == off.similarity_lags
    # a config from before the block (no such key) is rebuilt without it; bad values refused
    earlier = {k: v for k, v in statistics.get_config().items() if k != "phrase_multiples"}
    assert ClipStatistics.from_config(earlier) == off
    again = ClipStatistics.from_config(json.loads(json.dumps(statistics.get_config())))
    assert again == statistics
    for bad in ({"phrase_multiples": (0.0,)}, {"phrase_lags": 0}, {"phrase_lags": 2.5}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            ClipStatistics(harmony=False, **bad)  # type: ignore[arg-type]
