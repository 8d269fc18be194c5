""":meth:`MelFeaturizer.stream <melgenre.MelFeaturizer.stream>`'s two passes over a recording.

The first pass (:func:`measure`) reads the blocks once for the spectrogram's length and
peak, since decibels are relative to the whole recording's peak; it keeps the mel power of
a recording up to ``keep_frames`` frames long, so that the second pass (:func:`windows`)
neither decodes nor transforms it again. The windows and times equal ``transform``'s and
``window_times``'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from melgenre._dsp import log_mel, resize_time, stream_mel_power, windows_from_blocks
from melgenre._typing import FloatArray

if TYPE_CHECKING:
    from melgenre.audio import Audio
    from melgenre.features import MelFeaturizer

__all__ = ["FirstPass", "measure", "windows"]

Blocks = Callable[[], Iterable["Audio"]]


@dataclasses.dataclass
class FirstPass:
    """What the first pass found: samples, frames, the peak mel power, the power if kept."""

    n_samples: int
    n_frames: int
    peak: np.float32
    kept: list[FloatArray] | None


def mel_powers(
    featurizer: MelFeaturizer, blocks: Iterable[Audio], seen: list[int]
) -> Iterator[FloatArray]:
    """Mel power of ``blocks`` block by block; adds the samples read to ``seen[0]``."""

    def samples() -> Iterator[FloatArray]:
        for block in blocks:
            featurizer.check_audio(block)
            seen[0] += block.n_samples
            yield block.samples

    return stream_mel_power(
        samples(),
        mel_basis=featurizer._mel_operator,
        n_fft=featurizer.n_fft,
        hop_length=featurizer.hop_length,
        window=featurizer._window,
    )


def measure(featurizer: MelFeaturizer, blocks: Blocks, keep_frames: int) -> FirstPass:
    """Read ``blocks()`` once: length and peak, and the mel power up to ``keep_frames`` frames."""
    seen, n_frames, peak = [0], 0, np.float32(0.0)
    kept: list[FloatArray] | None = []
    for power in mel_powers(featurizer, blocks(), seen):
        n_frames += power.shape[1]
        peak = max(peak, power.max())
        if kept is not None:
            kept.append(power)
            if n_frames > keep_frames:
                kept = None
    return FirstPass(seen[0], n_frames, peak, kept)


def windows(
    featurizer: MelFeaturizer, blocks: Blocks, first: FirstPass
) -> Iterator[tuple[FloatArray, FloatArray]]:
    """The second pass: ``(windows, times)`` as the windows' frames arrive."""
    ref = first.peak if featurizer.ref == "max" else featurizer.ref
    floor = None
    if featurizer.top_db is not None:
        top = log_mel(np.array([[first.peak]], dtype=np.float32), ref=ref, top_db=None)
        floor = top.max() - featurizer.top_db
    starts = featurizer.window_starts(first.n_frames)
    times = featurizer._window_times(first.n_samples)
    powers = first.kept if first.kept is not None else mel_powers(featurizer, blocks(), [0])
    scaled = (log_mel(power, ref=ref, top_db=None) for power in powers)
    if floor is not None:
        scaled = (np.maximum(db, floor) for db in scaled)
    k = 0
    for cut in windows_from_blocks(scaled, starts, featurizer.frames):
        if featurizer.resize_frames is not None:
            cut = resize_time(cut, featurizer.resize_frames)
        yield featurizer._channels(cut), times[k : k + len(cut)]
        k += len(cut)
