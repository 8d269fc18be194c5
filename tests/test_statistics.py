"""Clip statistics: the spectrogram from windows, the timbre blocks (the similarity across bands,
the cepstra weighted by power, the attacks), each on a synthesized signal it is for, and the
in-graph twin of the whole vector. The rhythm blocks: ``test_statistics_rhythm.py``; the head
that reads the vector: ``test_fusion.py``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from clip_signals import FEAT, FPS, SMALL, SR, block, clicks, without
from melgenre import Audio, ClipStatistics, MelFeaturizer, Preprocessing
from melgenre.errors import ConfigError, ExportError
from melgenre.statistics import spectrogram_from_windows, window_starts


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
