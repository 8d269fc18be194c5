"""Clip statistics: the spectrogram from windows, the descriptor, the head, and its path through
Trainer(statistics=True), the Predictor, the bundle and export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from melgenre import (
    Audio,
    ClipStatistics,
    FeatureSet,
    FolderDataset,
    GenreCNN,
    MelFeaturizer,
    Prediction,
    Predictor,
    Preprocessing,
    StatisticsHead,
    Trainer,
)
from melgenre.bundle import STATISTICS_HEAD_FILE
from melgenre.errors import ConfigError, DatasetError, ExportError
from melgenre.fusion import (
    BALANCED_C_GRID,
    C_GRID,
    FUSION_WEIGHT,
    WEIGHT_GRID,
    fit_statistics_head,
    fuse,
)
from melgenre.statistics import PHRASE_OVERLAP, spectrogram_from_windows, window_starts

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


@pytest.fixture(scope="module")
def tempi(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureSet, FeatureSet]:
    split = FolderDataset(write_tempi(tmp_path_factory.mktemp("tempi"))).split(
        test_size=0.3, seed=0
    )
    return split.train.features(FEAT, workers=1, progress=False), split.test.features(
        FEAT, workers=1, progress=False
    )


def test_the_spectrogram_comes_back_from_its_windows() -> None:
    rng = np.random.default_rng(0)
    for n_frames in (20, 32, 100, 129, 300):  # one padded window, exact fit, a tail window
        spec = rng.normal(size=(6, n_frames)).astype(np.float32)
        windows = FEAT.windows(spec)
        back = spectrogram_from_windows(windows)
        if n_frames < FEAT.frames:  # a short clip: its one window, padded
            np.testing.assert_array_equal(back[:, :n_frames], spec)
            assert back.shape[1] == FEAT.frames
        else:
            np.testing.assert_array_equal(back, spec)
    # a silent start (every overlap there matches any offset) does not fool the hop
    for silent in (120, 240):
        spec = rng.normal(size=(6, 300)).astype(np.float32)
        spec[:, :silent] = -80.0
        np.testing.assert_array_equal(spectrogram_from_windows(FEAT.windows(spec)), spec)
    # windows that do not overlap are joined end to end
    apart = rng.normal(size=(3, 4, 8)).astype(np.float32)
    assert spectrogram_from_windows(apart).shape == (4, 24)
    with pytest.raises(ConfigError, match="one file's windows"):
        spectrogram_from_windows(np.zeros((0, 4, 8), np.float32))


def test_windows_put_at_their_starts_need_no_matching() -> None:
    # a steady tone: every frame alike, so the overlaps match at any offset
    y = (0.5 * np.sin(2 * np.pi * 440 * np.arange(int(2.3 * SR)) / SR)).astype(np.float32)
    audio = Audio(y, SR)
    spec, windows = FEAT.spectrogram(audio), FEAT.transform(audio)
    starts = window_starts(FEAT, FEAT.window_times(audio))
    assert starts is not None
    np.testing.assert_array_equal(starts, FEAT.window_starts(spec.shape[1]))
    np.testing.assert_array_equal(spectrogram_from_windows(windows, starts), spec)
    assert (
        window_starts(dataclasses.replace(FEAT, resize_frames=16), FEAT.window_times(audio)) is None
    )
    with pytest.raises(ConfigError, match="first frame"):
        spectrogram_from_windows(windows, starts[::-1])


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


def partials(f0: float, numbers: range, *, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """A steady tone at 22.05 kHz: partials ``numbers`` of ``f0``, partial k at 1 / k."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 22050)) / 22050
    y = sum(
        np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi)) / k
        for k in numbers
        if k * f0 < 11025
    )
    y = y + 1e-3 * rng.standard_normal(len(t))
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def test_the_similarity_across_bands_hears_partials_whatever_the_pitch() -> None:
    statistics = ClipStatistics(harmony=False)
    assert list(statistics.blocks)[-4] == "band_similarity"
    assert statistics.blocks["band_similarity"] == statistics.band_shifts == 40
    featurizer = MelFeaturizer()  # 128 mel bands at 22.05 kHz: band 38 is 1 kHz
    series = {"full": range(1, 30), "odd": range(1, 30, 2)}  # a harmonic series, odd partials
    tones = [(kind, f0) for kind in series for f0 in (220.0, 262.0, 330.0, 392.0)]
    vectors = np.stack(
        [
            block(
                statistics,
                statistics(
                    featurizer.spectrogram(Audio(partials(f0, series[kind], seed=i), 22050))
                ),
                "band_similarity",
            )
            for i, (kind, f0) in enumerate(tones)
        ]
    )
    assert np.all(np.isfinite(vectors))
    distance = np.linalg.norm(vectors[:, None] - vectors[None], axis=-1)
    kinds = np.array([kind for kind, _ in tones])
    same = kinds[:, None] == kinds[None]
    between = distance[~same]
    np.fill_diagonal(distance, np.inf)
    for i, tone in enumerate(tones):  # every tone's nearest is a tone of its kind, at another pitch
        assert same[i, np.argmin(distance[i])], (tone, distance[i])
    np.fill_diagonal(same, False)
    assert distance[same].mean() < 0.8 * between.mean()
    # a config from before the block (no such key) is rebuilt without it; bad values refused
    off = ClipStatistics(harmony=False, band_shifts=0)
    earlier = {k: v for k, v in statistics.get_config().items() if k != "band_shifts"}
    assert ClipStatistics.from_config(earlier) == off
    spec = FEAT.spectrogram(Audio(clicks(0.4), SR))
    np.testing.assert_array_equal(
        without(SMALL, SMALL(spec), "band_similarity"),
        dataclasses.replace(SMALL, band_shifts=0)(spec),
    )
    beyond = ClipStatistics(harmony=False, band_from=32)
    assert not np.any(block(beyond, beyond(spec), "band_similarity"))  # 32 bands: nothing to read
    for bad in ({"band_shifts": -1}, {"band_from": -2}, {"band_shifts": 2.5}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            ClipStatistics(harmony=False, **bad)  # type: ignore[arg-type]


def test_power_weighted_cepstra_read_the_timbre_where_it_sounds() -> None:
    """With the frames weighted by their share of the power, a tone keeps its cepstra's mean
    and spread when silence surrounds it; weighted alike, the silence pulls them away."""
    rng = np.random.default_rng(5)
    t = np.arange(SR) / SR
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )
    quiet = (1e-4 * rng.standard_normal(SR)).astype(np.float32)
    alone = FEAT.spectrogram(Audio(tone, SR))
    padded = FEAT.spectrogram(Audio(np.concatenate([quiet, tone, quiet, quiet]), SR))
    padded = padded - padded.max() + alone.max()  # the same peak, as dB re the peak gives
    weighted, alike = SMALL, dataclasses.replace(SMALL, power_weighted=False)
    for name in ("cepstra_mean", "cepstra_std"):
        near = block(weighted, weighted(padded), name) - block(weighted, weighted(alone), name)
        far = block(alike, alike(padded), name) - block(alike, alike(alone), name)
        assert np.abs(near).max() < 0.1 * np.abs(far).max(), name
    # only the cepstra's blocks change; equal frames weigh alike
    np.testing.assert_allclose(
        without(weighted, weighted(padded), "cepstra_mean", "cepstra_std"),
        without(alike, alike(padded), "cepstra_mean", "cepstra_std"),
    )
    flat = np.tile(rng.normal(size=(32, 1)), (1, 50)).astype(np.float32)
    np.testing.assert_allclose(weighted(flat), alike(flat), atol=1e-5)
    # a config from before the weighting is rebuilt without it; bad values refused
    earlier = {k: v for k, v in SMALL.get_config().items() if k != "power_weighted"}
    assert ClipStatistics.from_config(earlier) == alike
    with pytest.raises(ConfigError, match="power_weighted"):
        ClipStatistics(harmony=False, power_weighted=1)  # type: ignore[arg-type]


def notes_with_attacks(burst: float, *, seed: int = 0) -> np.ndarray:
    """32 dB bands: a note every 20 frames held in bands 0-9, its first 2 frames ``burst`` dB
    louder in bands 20-31 (a bright attack), over a quiet floor."""
    rng = np.random.default_rng(seed)
    spec = rng.normal(size=(32, 400)) - 70.0
    for start in range(5, 400, 20):
        spec[:10, start : start + 14] += 40.0
        spec[20:, start : start + 2] += burst
    return spec


def test_the_attack_blocks_hear_how_notes_start() -> None:
    """Notes that hold alike but start with a bright burst differ in the attack blocks, in
    the bands of the burst; the rest of the vector barely moves."""
    from scipy.fft import idct

    statistics = ClipStatistics(n_mfcc=32, harmony=False)  # all 32 cepstra: invertible
    assert list(statistics.blocks)[-2:] == ["attack_rise", "attack_level"]
    assert statistics.dim - dataclasses.replace(statistics, attack=False).dim == 64
    bright, plain = notes_with_attacks(25.0), notes_with_attacks(0.0)

    def profile(spec: np.ndarray, name: str) -> np.ndarray:  # back from cepstra to bands
        return np.asarray(idct(block(statistics, statistics(spec), name), norm="ortho"))

    for name in ("attack_rise", "attack_level"):
        gap = profile(bright, name) - profile(plain, name)
        assert gap[20:].min() > 10.0, name  # the burst's bands rise and stand out at onsets
        assert np.abs(gap[:10]).max() < 3.0, name  # the held bands do not
    # the rise is read at the onsets: held notes rise by their 40 dB in bands 0-9 only
    rise = profile(plain, "attack_rise")
    assert rise[:10].min() > 30.0
    assert np.abs(rise[10:]).max() < 5.0
    # a spectrogram without onsets weighs its frames alike: finite, near zero
    flat = np.tile(np.random.default_rng(1).normal(size=(32, 1)), (1, 50)) - 40.0
    assert np.abs(block(statistics, statistics(flat), "attack_level")).max() < 1e-6
    # switched off, the blocks are gone and the rest is unchanged
    off = dataclasses.replace(statistics, attack=False)
    np.testing.assert_array_equal(
        without(statistics, statistics(bright), "attack_rise", "attack_level"), off(bright)
    )
    earlier = {k: v for k, v in statistics.get_config().items() if k != "attack"}
    assert ClipStatistics.from_config(earlier) == off
    with pytest.raises(ConfigError, match="attack"):
        ClipStatistics(harmony=False, attack=1)  # type: ignore[arg-type]


def test_the_head_tells_tempi_apart_where_windows_are_alike(tempi: Any) -> None:
    train, test = tempi
    head = StatisticsHead(SMALL).fit(train)
    assert head.C_ in BALANCED_C_GRID
    files, x = head.statistics.transform(test)
    assert x.shape == (test.n_files, SMALL.dim)
    p = head.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    _, labels = test.file_labels()
    assert np.mean(p.argmax(axis=1) == labels) == 1.0
    # one file from its windows gives the same row
    first = test.x[test.groups == files[0]]
    np.testing.assert_allclose(head.predict_windows(first), p[0], atol=1e-6)


def test_the_head_round_trips_and_checks_its_weights(tempi: Any) -> None:
    head = StatisticsHead(SMALL, C=0.5).fit(tempi[0])
    assert head.C_ == 0.5
    clone = StatisticsHead.from_config(json.loads(json.dumps(head.get_config())))
    clone.set_weights(json.loads(json.dumps(head.get_weights())))
    _, x = head.statistics.transform(tempi[1])
    np.testing.assert_allclose(clone.predict_proba(x), head.predict_proba(x), atol=1e-6)
    assert clone.C_ == 0.5
    weights = head.get_weights()
    weights["coef"] = weights["coef"][:1]
    with pytest.raises(ConfigError, match="do not fit"):
        clone.set_weights(weights)
    with pytest.raises(ConfigError, match="not fitted"):
        StatisticsHead().predict_proba(np.zeros((1, ClipStatistics().dim)))
    with pytest.raises(ConfigError, match="C"):
        StatisticsHead(C=0.0)


def test_a_balanced_head_gives_every_block_the_same_say(tempi: Any) -> None:
    assert sum(SMALL.blocks.values()) == SMALL.dim
    assert list(SMALL.blocks)[:3] == ["cepstra_mean", "cepstra_std", "tempogram"]
    train, test = tempi
    plain = StatisticsHead(SMALL, C=1.0, balance=False).fit(train)
    balanced = StatisticsHead(SMALL, C=1.0).fit(train)  # balanced by default
    assert plain.weights_ is not None
    assert balanced.weights_ is not None
    factor = balanced.weights_["scale"] / plain.weights_["scale"]
    sizes = [n for n in SMALL.blocks.values() if n]
    np.testing.assert_allclose(factor, np.repeat(np.sqrt(sizes), sizes))
    _, x = balanced.statistics.transform(test)
    _, labels = test.file_labels()
    assert np.mean(balanced.predict_proba(x).argmax(axis=1) == labels) == 1.0
    clone = StatisticsHead.from_config(json.loads(json.dumps(balanced.get_config())))
    assert clone.balance
    assert "balance=True" in repr(clone)
    assert StatisticsHead.from_config({"statistics": SMALL.get_config(), "C": 1.0}).balance is False
    assert StatisticsHead(SMALL, balance=False).fit(train).C_ in C_GRID
    with pytest.raises(ConfigError, match="balance"):
        StatisticsHead(balance=1)  # type: ignore[arg-type]


def test_fuse_is_a_weighted_normalised_product() -> None:
    p = fuse([[0.5, 0.5], [0.9, 0.1]], [[0.2, 0.8], [0.5, 0.5]])
    np.testing.assert_allclose(p, [[0.2, 0.8], [0.9, 0.1]], atol=1e-6)
    np.testing.assert_allclose(fuse([[0.6, 0.4]], [[0.01, 0.99]], 0.0), [[0.6, 0.4]], atol=1e-6)
    half = fuse([[0.5, 0.5]], [[0.2, 0.8]], 0.5)[0]
    np.testing.assert_allclose(half, np.sqrt([0.2, 0.8]) / np.sqrt([0.2, 0.8]).sum(), atol=1e-6)


def test_the_weight_follows_the_head_on_held_out_files(tempi: Any) -> None:
    train, test = tempi
    head = StatisticsHead(SMALL).fit(train)
    _, x = head.statistics.transform(test)
    _, labels = test.file_labels()
    n = len(labels)
    sure = np.full((n, 2), 0.05)
    sure[np.arange(n), labels] = 0.95
    assert head.weight == FUSION_WEIGHT  # until chosen
    scores = head.choose_weight(np.full((n, 2), 0.5), x, labels)  # windows know nothing
    assert head.weight == 1.0
    assert scores == head.weight_scores(np.full((n, 2), 0.5), x, labels)
    assert set(scores) == {str(w) for w in WEIGHT_GRID}
    lying = head.predict_proba(x)[:, ::-1]  # a head that is always wrong ...
    head.predict_proba = lambda _: lying  # type: ignore[method-assign]
    head.choose_weight(sure, x, labels)
    assert head.weight == 0.0  # ... gets no say


def tiny_model() -> GenreCNN:
    return GenreCNN(
        num_classes=2,
        input_shape=FEAT.output_shape,
        filters=(8, 16),
        dense_units=16,
        dropout=0.1,
        first_stride=1,
        seed=3,
    )


@pytest.fixture(scope="module")
def trained(tempi: Any) -> Trainer:
    trainer = Trainer(tiny_model(), epochs=3, batch_size=16, seed=1, verbose=0, statistics=True)
    history = trainer.fit(tempi[0])
    summary = history.params["statistics_head"]
    assert summary["C_"] in BALANCED_C_GRID
    assert summary["weight"] == FUSION_WEIGHT == 1.0
    return trainer


def test_trainer_scores_the_weights_on_the_validation_files(tempi: Any) -> None:
    trainer = Trainer(tiny_model(), epochs=2, batch_size=16, seed=1, verbose=0, statistics=True)
    history = trainer.fit(tempi[0], validation=tempi[1])
    summary = history.params["statistics_head"]
    assert set(summary["validation_log_likelihood"]) == {str(w) for w in WEIGHT_GRID}
    assert summary["weight"] == trainer.statistics_head_.weight == FUSION_WEIGHT  # type: ignore[union-attr]
    assert summary["weight_rule"] == "fixed"
    # the Trainer's rule before 2026-12-05: the weight chosen on the validation files
    head, chosen = fit_statistics_head(
        tempi[0], tempi[1], trainer._file_probabilities, choose_weight=True
    )
    assert chosen["weight_rule"] == "validation"
    assert chosen["validation_log_likelihood"] == pytest.approx(
        summary["validation_log_likelihood"]
    )
    best = max(chosen["validation_log_likelihood"].values())
    assert chosen["validation_log_likelihood"][str(head.weight)] == best
    _, alone = fit_statistics_head(tempi[0], choose_weight=True)  # nothing to choose on
    assert (alone["weight_rule"], alone["weight"]) == ("fixed", FUSION_WEIGHT)


def test_the_head_is_on_by_default_and_travels_to_the_predictor(
    trained: Trainer, tempi: Any
) -> None:
    assert Trainer(tiny_model()).statistics is True
    with pytest.raises(ConfigError, match="fit first"):
        Trainer(tiny_model()).to_predictor(Preprocessing(FEAT))
    predictor = trained.to_predictor(Preprocessing(FEAT), metadata={"run": 1})
    assert predictor.statistics_head is trained.statistics_head_
    assert predictor.labels == list(tempi[0].classes)
    assert predictor.metadata == {"run": 1}
    assert predictor.evaluate(tempi[1]).file_accuracy == trained.evaluate(tempi[1]).file_accuracy


def test_trainer_fits_the_head_and_evaluates_with_it(trained: Trainer, tempi: Any) -> None:
    head = trained.statistics_head_
    assert isinstance(head, StatisticsHead)
    assert head.num_classes == 2
    report = trained.evaluate(tempi[1])
    plain = Trainer(trained.model, verbose=0).evaluate(tempi[1])
    assert report.window_accuracy == plain.window_accuracy  # the windows' figures are theirs
    assert report.file_accuracy == 1.0  # tempo is the clip statistics' to tell
    with pytest.raises(ConfigError, match="statistics"):
        Trainer(trained.model, statistics="yes")  # type: ignore[arg-type]


def test_the_head_hears_the_harmony_when_the_features_carry_chroma(
    trained: Trainer, tempi: Any
) -> None:
    head = trained.statistics_head_
    assert head is not None
    assert head.statistics == ClipStatistics()
    assert head.statistics.harmony
    assert list(head.statistics.blocks)[-2:] == ["intervals", "chords"]
    # a FeatureSet built by hand, without chroma: the head goes without the harmony
    bare = dataclasses.replace(tempi[0], chroma=None, chroma_groups=None)
    plain, _ = fit_statistics_head(bare)
    assert plain.statistics == ClipStatistics(harmony=False)
    with pytest.raises(DatasetError, match="no chroma"):
        head.statistics.transform(bare)
    # a config written before the harmony reads as without it
    config = head.statistics.get_config()
    del config["harmony"]
    assert ClipStatistics.from_config(config) == ClipStatistics(harmony=False)


def half_weight_predictor(trained: Trainer) -> tuple[Predictor, StatisticsHead]:
    """A Predictor with a copy of the trained statistics head, its fusion weight set to 1/2."""
    fitted = trained.statistics_head_
    assert fitted is not None
    head = StatisticsHead.from_config(fitted.get_config())
    head.set_weights({**fitted.get_weights(), "weight": 0.5})
    predictor = Predictor(
        preprocessing=Preprocessing(FEAT),
        model=trained.model,
        labels=["fast", "slow"],
        statistics_head=head,
    )
    return predictor, head


def test_predictor_fuses_saves_and_loads(trained: Trainer, tmp_path: Path) -> None:
    labels = ["fast", "slow"]
    predictor, head = half_weight_predictor(trained)
    y = clicks(0.5, seed=7)
    p = predictor.predict((y, SR))
    assert p.label == "slow"
    windows = FEAT.transform(Audio(y, SR))
    window_probs = predictor.predict_proba(windows)
    chroma = Preprocessing(FEAT).chroma(Audio(y, SR))
    clip = head.predict_windows(windows, chroma=chroma)
    expected = fuse(window_probs.mean(axis=0)[None], clip[None], 0.5)[0]
    np.testing.assert_allclose(list(p.probabilities.values()), expected, atol=1e-5)
    timeline = np.array([[w.probabilities[k] for k in labels] for w in p.windows])
    np.testing.assert_allclose(timeline, window_probs, atol=1e-6)  # the timeline is per window
    many = predictor.predict_many([(clicks(0.3, seed=8), SR), b"not audio", (y, SR)])
    assert many[1].__class__.__name__ == "FailedFile"
    np.testing.assert_allclose(
        list(many[2].probabilities.values()), list(p.probabilities.values()), atol=1e-5
    )

    bundle = predictor.save(tmp_path / "model")
    manifest = json.loads((bundle / "melgenre.json").read_text())
    assert STATISTICS_HEAD_FILE in manifest["files"]
    loaded = Predictor.load(bundle)
    assert isinstance(loaded.statistics_head, StatisticsHead)
    assert loaded.statistics_head.weight == 0.5
    np.testing.assert_allclose(
        list(loaded.predict((y, SR)).probabilities.values()),
        list(p.probabilities.values()),
        atol=1e-5,
    )
    with pytest.raises(ConfigError, match="not fitted"):
        Predictor(
            preprocessing=Preprocessing(FEAT),
            model=trained.model,
            labels=labels,
            statistics_head=StatisticsHead(),
        )


def test_a_long_file_streamed_gets_the_harmony_of_its_audio(
    trained: Trainer, tmp_path: Path
) -> None:
    """The predictor's chroma comes from the streamed blocks: as from the samples in one piece."""
    predictor, head = half_weight_predictor(trained)
    assert head.statistics.harmony
    y = np.concatenate([clicks(0.3, seconds=40.0, seed=3), clicks(0.5, seconds=31.0, seed=4)])
    path = tmp_path / "long.wav"
    sf.write(path, y, SR, subtype="FLOAT")  # the same samples as in one piece
    streamed = predictor.predict(path)  # three 30 s blocks, two passes of the featurizer
    whole = predictor.predict((y, SR))
    [many] = predictor.predict_many([path])
    for other in (whole, many):
        assert isinstance(other, Prediction)
        np.testing.assert_allclose(
            list(streamed.probabilities.values()), list(other.probabilities.values()), atol=1e-5
        )
    # and the harmony is in the answer: without it the fused probabilities differ
    windows = FEAT.transform(Audio(y, SR))
    chroma = Preprocessing(FEAT).chroma(Audio(y, SR))
    np.testing.assert_allclose(
        fuse(
            predictor.predict_proba(windows).mean(axis=0)[None],
            head.predict_windows(windows, chroma=chroma)[None],
            0.5,
        )[0],
        list(streamed.probabilities.values()),
        atol=1e-5,
    )


@pytest.mark.parametrize(
    ("bins", "frames"),
    [(32, 250), (128, 646), (32, 1500), (32, 100), (20, 40), (32, 2)],
    ids=["clip", "15s", "35s", "shorter-than-the-lags", "fewer-bands-than-cepstra", "two-frames"],
)
def test_the_in_graph_statistics_match_numpy(bins: int, frames: int) -> None:
    from melgenre._statistics_graph import clip_statistics
    from melgenre._tf import tf

    rng = np.random.default_rng(frames)
    spec = (rng.normal(size=(bins, frames)) * 8 - 40).astype(np.float32)
    spec[:, :: max(1, frames // 20)] += 20.0  # onsets
    variants = (
        ClipStatistics(harmony=False),
        SMALL,
        ClipStatistics(onset_rates_per_octave=0, rate_ratios=(), harmony=False),  # note periods
        ClipStatistics(period_multiples=(), rate_ratios=(0.5, 3.0), harmony=False),
        ClipStatistics(harmony=False, power_weighted=False),  # the cepstra weighted alike
    )
    for statistics in variants:
        expected = statistics(spec)
        graph = clip_statistics(statistics, tf.constant(spec.T)).numpy()
        np.testing.assert_allclose(graph, expected, rtol=1e-4, atol=1e-4)
    silent = np.full((bins, frames), -80.0, np.float32)
    graph = clip_statistics(ClipStatistics(harmony=False), tf.constant(silent.T)).numpy()
    expected = ClipStatistics(harmony=False)(silent)
    np.testing.assert_allclose(graph, expected, rtol=1e-5, atol=1e-4)  # float32 sums
    # the harmony from the samples the spectrogram came from (here: any samples)
    samples = clicks(0.4, seconds=frames / FPS, seed=frames)
    chroma = Preprocessing(FEAT).chroma(Audio(samples, SR))
    graph = clip_statistics(ClipStatistics(), tf.constant(spec.T), samples, SR).numpy()
    np.testing.assert_allclose(graph, ClipStatistics()(spec, chroma), rtol=1e-4, atol=1e-4)
    with pytest.raises(ExportError, match="samples"):
        clip_statistics(ClipStatistics(), tf.constant(spec.T))


def test_an_export_fuses_in_its_graph(trained: Trainer, tmp_path: Path) -> None:
    from melgenre.artifact import ExportedModel

    labels = ["fast", "slow"]
    predictor, head = half_weight_predictor(trained)
    y = clicks(0.3, seed=9)
    expected = list(predictor.predict((y, SR)).probabilities.values())
    # a TFLite export is checked beside the SavedModel it is converted from: both must pass
    exported = predictor.export(tmp_path / "exported", format="tflite")
    parity = json.loads((exported / "parity.json").read_text())
    assert parity["passed"]
    assert set(parity["artifacts"]) == {"saved_model", "tflite"}
    config = json.loads((exported / "melgenre-export.json").read_text())
    assert config["statistics_head"]["weight"] == 0.5
    out = ExportedModel.load(exported)(y)
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-3)
    plain = Predictor(preprocessing=Preprocessing(FEAT), model=trained.model, labels=labels)
    assert not np.allclose(plain.predict((y, SR)).probabilities["fast"], expected[0], atol=1e-3)

    class Other(ClipStatistics):
        pass

    odd = StatisticsHead(Other())
    odd.set_weights(head.get_weights())
    other = Predictor(
        preprocessing=Preprocessing(FEAT), model=trained.model, labels=labels, statistics_head=odd
    )
    with pytest.raises(ExportError, match="Other has no in-graph twin"):
        other.export(tmp_path / "other")
    assert not (tmp_path / "other").exists()
