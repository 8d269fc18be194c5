"""benchmarks/fusion.py's pitch-class summaries (the --harmony screen): key-invariant, continuous,
and they tell a chord from another."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark_modules import benchmark_module


@pytest.fixture(scope="module")
def fusion():  # type: ignore[no-untyped-def]
    with benchmark_module("fusion") as module:
        yield module


def chords(*roots_and_types: tuple[int, tuple[int, ...]], frames: int = 20) -> np.ndarray:
    """A (12, frames) chroma holding each chord for ``frames`` frames, with a little noise."""
    out = []
    for root, intervals in roots_and_types:
        column = np.full(12, 0.02)
        column[[(root + i) % 12 for i in intervals]] = 1.0
        out.append(np.repeat(column[:, None], frames, axis=1))
    rng = np.random.default_rng(0)
    return np.concatenate(out, axis=1) + 0.01 * rng.random((12, frames * len(roots_and_types)))


def test_sizes_and_key_invariance(fusion) -> None:  # type: ignore[no-untyped-def]
    cadence = chords((0, (0, 4, 7)), (5, (0, 4, 7)), (7, (0, 4, 7, 10)), (0, (0, 4, 7)))
    summaries = fusion.pitch_class_summaries(cadence)
    assert {k: len(v) for k, v in summaries.items()} == {"intervals": 18, "chords": 22}
    for shift in (1, 5, 11):
        moved = fusion.pitch_class_summaries(np.roll(cadence, shift, axis=0))
        for name, values in summaries.items():
            np.testing.assert_allclose(moved[name], values, atol=1e-12)
    # louder is the same music: every frame is a distribution, weighted by its share
    np.testing.assert_allclose(
        fusion.pitch_class_summaries(10 * cadence)["chords"], summaries["chords"], atol=1e-12
    )


def test_chord_types_told_apart(fusion) -> None:  # type: ignore[no-untyped-def]
    types = len(fusion.CHORD_TYPES)
    major = fusion.pitch_class_summaries(chords((2, (0, 4, 7))))["chords"]
    minor = fusion.pitch_class_summaries(chords((9, (0, 3, 7))))["chords"]
    seventh = fusion.pitch_class_summaries(chords((7, (0, 4, 7, 10))))["chords"]
    soft = slice(5, 5 + types)  # after the two key fits and the top three
    assert np.argmax(major[soft]) == 0
    assert np.argmax(minor[soft]) == 1
    assert np.argmax(seventh[soft]) == 2
    # a steady chord does not change; a cadence does
    assert major[-3] < 0.05
    cadence = chords((0, (0, 4, 7)), (7, (0, 4, 7)))
    assert fusion.pitch_class_summaries(cadence)["chords"][-3] > major[-3]


def test_diatonic_against_chromatic(fusion) -> None:  # type: ignore[no-untyped-def]
    diatonic = np.zeros((12, 7))
    for frame, pitch in enumerate((0, 2, 4, 5, 7, 9, 11)):
        diatonic[pitch, frame] = 1.0
    chromatic = np.eye(12)
    fifth = 4  # the intervals block starts with the mean distribution's |DFT| 1..6
    assert (
        fusion.pitch_class_summaries(diatonic)["intervals"][fifth]
        > fusion.pitch_class_summaries(chromatic)["intervals"][fifth] + 0.1
    )


def test_silence_and_one_frame_are_finite(fusion) -> None:  # type: ignore[no-untyped-def]
    for chroma in (np.zeros((12, 30)), np.ones((12, 1))):
        for values in fusion.pitch_class_summaries(chroma).values():
            assert np.all(np.isfinite(values))


def test_lean_constant_q_chroma_matches_librosa(fusion) -> None:  # type: ignore[no-untyped-def]
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
    lean = fusion.lean_constant_q_chroma(y, rate)
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
