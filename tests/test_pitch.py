"""The harmony of ClipStatistics (melgenre._pitch): a constant-Q chroma as librosa's, and
pitch-class summaries that are key-invariant, continuous, and tell a chord from another."""

from __future__ import annotations

import numpy as np
import pytest

from melgenre import _pitch
from melgenre.errors import ConfigError

INTERVALS = _pitch.HARMONY_BLOCKS["intervals"]


def summarise(chroma: np.ndarray) -> dict[str, np.ndarray]:
    """The summaries of a (12, frames) chroma, by block."""
    vector = _pitch.pitch_class_summaries(chroma.T)
    assert vector.shape == (sum(_pitch.HARMONY_BLOCKS.values()),)
    return {"intervals": vector[:INTERVALS], "chords": vector[INTERVALS:]}


def chords(*roots_and_types: tuple[int, tuple[int, ...]], frames: int = 20) -> np.ndarray:
    """A (12, frames) chroma holding each chord for ``frames`` frames, with a little noise."""
    out = []
    for root, intervals in roots_and_types:
        column = np.full(12, 0.02)
        column[[(root + i) % 12 for i in intervals]] = 1.0
        out.append(np.repeat(column[:, None], frames, axis=1))
    rng = np.random.default_rng(0)
    return np.concatenate(out, axis=1) + 0.01 * rng.random((12, frames * len(roots_and_types)))


def test_sizes_and_key_invariance() -> None:
    cadence = chords((0, (0, 4, 7)), (5, (0, 4, 7)), (7, (0, 4, 7, 10)), (0, (0, 4, 7)))
    summaries = summarise(cadence)
    assert {k: len(v) for k, v in summaries.items()} == {"intervals": 18, "chords": 22}
    for shift in (1, 5, 11):
        moved = summarise(np.roll(cadence, shift, axis=0))
        for name, values in summaries.items():
            np.testing.assert_allclose(moved[name], values, atol=1e-6)
    # louder is the same music: every frame is a distribution, weighted by its share
    np.testing.assert_allclose(summarise(10 * cadence)["chords"], summaries["chords"], atol=1e-6)


def test_chord_types_told_apart() -> None:
    types = len(_pitch.CHORD_TYPES)
    major = summarise(chords((2, (0, 4, 7))))["chords"]
    minor = summarise(chords((9, (0, 3, 7))))["chords"]
    seventh = summarise(chords((7, (0, 4, 7, 10))))["chords"]
    soft = slice(5, 5 + types)  # after the two key fits and the top three
    assert np.argmax(major[soft]) == 0
    assert np.argmax(minor[soft]) == 1
    assert np.argmax(seventh[soft]) == 2
    # a steady chord does not change; a cadence does
    assert major[-3] < 0.05
    cadence = chords((0, (0, 4, 7)), (7, (0, 4, 7)))
    assert summarise(cadence)["chords"][-3] > major[-3]


def test_diatonic_against_chromatic() -> None:
    diatonic = np.zeros((12, 7))
    for frame, pitch in enumerate((0, 2, 4, 5, 7, 9, 11)):
        diatonic[pitch, frame] = 1.0
    chromatic = np.eye(12)
    fifth = 4  # the intervals block starts with the mean distribution's |DFT| 1..6
    assert summarise(diatonic)["intervals"][fifth] > summarise(chromatic)["intervals"][fifth] + 0.1


def test_silence_and_one_frame_are_finite() -> None:
    for chroma in (np.zeros((12, 30)), np.ones((12, 1))):
        for values in summarise(chroma).values():
            assert np.all(np.isfinite(values))


def test_lean_constant_q_chroma_matches_librosa() -> None:
    import librosa

    rate = 22050
    t = np.arange(rate * 6) / rate
    y = np.zeros_like(t)
    for i, notes in enumerate(((36, 48, 52, 55, 60), (43, 47, 50, 53, 67))):  # C major, G7
        held = (t >= 3 * i) & (t < 3 * (i + 1))
        for note in notes:
            for partial in (1, 2, 3):
                hz = 440 * 2 ** ((note - 69) / 12) * partial
                y[held] += np.sin(2 * np.pi * hz * t[held]) / partial
    lean = _pitch.constant_q_chroma(y.astype(np.float32), rate).T
    reference = librosa.feature.chroma_cqt(
        y=y, sr=rate, hop_length=2048, bins_per_octave=12, tuning=0.0, norm=None
    )
    assert lean.shape == reference.shape == (12, 1 + len(y) // 2048)
    inside = slice(4, lean.shape[1] - 4)  # away from the edges
    correlation = [
        np.corrcoef(a, b)[0, 1]
        for a, b in zip(lean[:, inside].T, reference[:, inside].T, strict=True)
    ]
    assert np.median(correlation) > 0.97
    # the two chords' pitch-class profiles as librosa's (semitone-wide filters leak alike)
    for half in (slice(4, 28), slice(36, 60)):
        assert np.corrcoef(lean[:, half].mean(1), reference[:, half].mean(1))[0, 1] > 0.98


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100])
def test_chroma_names_the_pitch_class_at_any_rate(rate: int) -> None:
    t = np.arange(rate * 2) / rate
    for note, pitch_class in ((45, 9), (60, 0), (79, 7)):  # A2, C4, G5
        hz = 440 * 2 ** ((note - 69) / 12)
        chroma = _pitch.constant_q_chroma(np.sin(2 * np.pi * hz * t).astype(np.float32), rate)
        hop = _pitch.chroma_hop(rate)
        assert chroma.shape == (1 + len(t) // hop, 12)
        assert chroma.dtype == np.float32
        assert abs(hop / rate - 2048 / 22050) < 0.01  # about 93 ms whatever the rate
        profile = chroma[3:-3].mean(axis=0)
        assert profile.argmax() == pitch_class
        assert profile[pitch_class] > 1.5 * np.delete(profile, pitch_class).max()  # Hann leaks


def test_octaves_follow_the_rate() -> None:
    assert _pitch.chroma_octaves(22050) == _pitch.chroma_octaves(44100) == 7
    assert _pitch.chroma_octaves(8000) == 6  # C7..B7 would reach too near 4 kHz
    with pytest.raises(ConfigError, match="sample rate"):
        _pitch.chroma_octaves(100)


def test_octave_magnitudes_place_a_tone_in_its_octave_and_sum_to_the_profile() -> None:
    rate = 22050
    t = np.arange(rate * 2) / rate
    tone = np.sin(2 * np.pi * 440.0 * t).astype(np.float32)  # A4: octave 4 above C1's
    octaves = _pitch.octave_magnitudes(tone, rate, 1024)  # another hop than the chroma's
    assert len(octaves) == _pitch.chroma_octaves(rate) == 7
    assert all(m.shape == (1 + len(t) // 1024, 36) for m in octaves)
    loudest = int(np.argmax([m[4:-4].mean() for m in octaves]))
    assert loudest == 7 - 1 - 3  # top octave first: C4..B4 is the fourth from the top
    assert int(octaves[loudest][4:-4].mean(0).argmax()) == 9 * _pitch.SUBDIVISIONS  # A
    hop = _pitch.chroma_hop(rate)
    total = np.sum(_pitch.octave_magnitudes(tone, rate, hop), axis=0)
    np.testing.assert_allclose(_pitch.fine_chroma(tone, rate), total, rtol=1e-6, atol=1e-7)
    with pytest.raises(ConfigError, match="multiple of 64"):
        _pitch.octave_magnitudes(tone, rate, 1000)


def test_halving_keeps_the_octaves_level() -> None:
    """The halvings' droop is divided out: the same tone in every octave reads alike."""
    rate = 22050
    t = np.arange(rate * 2) / rate
    levels = []
    for octave in range(1, 8):
        hz = _pitch.C1_HZ * 2 ** (octave - 1 + 11 / 12)  # each octave's B
        tone = np.sin(2 * np.pi * hz * t).astype(np.float32)
        levels.append(_pitch.constant_q_chroma(tone, rate)[4:-4, 11].mean())
    assert max(levels) / min(levels) < 1.15


def test_summaries_reject_another_shape() -> None:
    with pytest.raises(ConfigError, match="frames, 12"):
        _pitch.pitch_class_summaries(np.ones((12, 30)))


@pytest.mark.parametrize("length", [100, 5000, 22050 * 3])
@pytest.mark.parametrize("signal", ["silence", "chord"])
def test_the_graph_twin_matches_numpy(signal: str, length: int) -> None:
    from melgenre import _pitch_graph
    from melgenre._tf import tf

    rate = 22050
    t = np.arange(length) / rate
    y = np.zeros(length, np.float32)
    if signal == "chord":
        for hz in (261.6, 329.6, 392.0, 98.0):
            y += (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    chroma = _pitch.audio_chroma(y, rate)
    graph = _pitch_graph.chroma(tf.constant(y), rate).numpy()
    np.testing.assert_allclose(graph, chroma, atol=1e-6)
    summaries = _pitch.pitch_class_summaries(chroma)
    assert np.all(np.isfinite(summaries))
    np.testing.assert_allclose(_pitch_graph.harmony(tf.constant(y), rate), summaries, atol=1e-5)


def test_the_floors_survive_a_float16_export() -> None:
    """A float16 TFLite export stores constants in float16: its floors must not become 0."""
    for floor in (_pitch.ENERGY_FLOOR, _pitch.NORM_FLOOR, _pitch.SPREAD_FLOOR):
        assert np.float16(floor) >= np.finfo(np.float16).smallest_normal


def c_major(cents: float, rate: int = 22050) -> np.ndarray:
    """C3-E4 of C major with two overtones each, ``cents`` sharp, 3 s."""
    t = np.arange(rate * 3) / rate
    chord = np.zeros_like(t)
    for note in (48, 52, 55, 60, 64):
        for partial in (1, 2, 3):
            hz = 440 * 2 ** ((note - 69 + cents / 100) / 12) * partial
            chord += np.sin(2 * np.pi * hz * t) / partial
    return chord.astype(np.float32)


@pytest.mark.parametrize("cents", [-45, -20, 0, 15, 33, 48])
def test_the_tuning_is_read_from_the_recording(cents: int) -> None:
    """A chord played ``cents`` sharp: the tuning is found, and the chroma reads it in tune."""
    fine = _pitch.fine_chroma(c_major(cents), 22050)
    offset = _pitch.tuning(fine)
    wrapped = (offset * 100 - cents + 50) % 100 - 50  # +-50 cents are the same tuning
    assert abs(wrapped) < 6
    in_tune = _pitch.constant_q_chroma(c_major(0), 22050).mean(axis=0)
    profile = _pitch.constant_q_chroma(c_major(cents), 22050).mean(axis=0)
    best = max(np.corrcoef(np.roll(profile, r), in_tune)[0, 1] for r in (-1, 0, 1))
    assert best > 0.99
    untuned = _pitch.tuned_chroma(fine, 0.0).mean(axis=0)  # read at A = 440 Hz
    if abs(cents) >= 33:
        assert np.corrcoef(untuned, in_tune)[0, 1] < best - 0.05


def test_the_tuning_of_silence_is_zero() -> None:
    assert _pitch.tuning(np.zeros((10, 36), np.float32)) == 0.0
