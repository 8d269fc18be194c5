"""Window networks and featurizers for ``cv.py`` probes that the library does not offer.

Candidates name them by ``model_class`` (:data:`MODELS`) and ``featurizer_class``
(:data:`FEATURIZERS`; ``constant_q``: :class:`ConstantQFeaturizer`; ``note_period``:
:class:`NotePeriodFeaturizer`, time counted in notes).

``band_centred``: :class:`melgenre.GenreCNN` with each window's mel bands centred over
time first (each band's mean over the window's frames taken away), so that the network
reads how the spectrum moves, not its colour: the timbre of the instruments, the room
and the recording, which on ``genres-dev`` come from one pool for every class and are
the statistics head's to read (its cepstra's mean) where they do matter.

:func:`with_varispeed_windows`: a training set with the windows of each file's varispeed
copies (``melgenre._varispeed.varispeed``, what the statistics head learns from) after its
own, labelled and grouped as their file, so the window network learns from them too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras

import melgenre


class BandCentre(keras.layers.Layer):
    """Each band's mean over the window's frames taken away (axis 2: the frames)."""

    def call(self, x: Any) -> Any:
        return x - keras.ops.mean(x, axis=2, keepdims=True)


class BandCentredCNN(melgenre.GenreCNN):
    """``GenreCNN`` reading band-centred windows (a probe)."""

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        centred = BandCentre(name="band_centre")(inputs)
        return super().body(centred, filters=filters, dense_units=dense_units, dropout=dropout)


MODELS: dict[str, Any] = {"band_centred": BandCentredCNN}


class ConstantQFeaturizer(melgenre.MelFeaturizer):
    """``MelFeaturizer`` whose bands are a constant-Q transform's: C1 to B7 (a probe).

    The library's constant-Q filters (``melgenre._pitch.octave_magnitudes``, three centres a
    semitone over seven octaves at 22,050 Hz, each octave read after halving the rate)
    correlate with the samples every ``hop_length`` samples; the 252 centres' power is read
    at ``n_mels`` rows evenly spaced in log frequency (128: about two thirds of a semitone a
    row), so a transposition moves a note's partials along the rows without changing their
    pattern, down to the bass (the mel bands are one to two semitones wide below 1 kHz).
    Everything after the power (decibels, windows) is ``MelFeaturizer``'s; ``fmin``, ``fmax``
    and ``n_fft`` are not read.
    """

    def mel_power(self, samples: Any) -> Any:
        import numpy as np

        from melgenre import _pitch

        magnitudes = _pitch.octave_magnitudes(samples, self.sample_rate, self.hop_length)
        fine = np.concatenate(magnitudes[::-1], axis=1) ** 2  # (frames, 36 * octaves), from C1
        position = np.linspace(0, fine.shape[1] - 1, self.n_mels)
        low = np.minimum(np.floor(position).astype(int), fine.shape[1] - 2)
        fraction = (position - low).astype(np.float32)
        rows = (1 - fraction) * fine[:, low] + fraction * fine[:, low + 1]
        return np.ascontiguousarray(rows.T, dtype=np.float32)


def note_period(spec: Any) -> float:
    """The clip's note period in frames: the strongest of ``ClipStatistics``' note periods.

    The period whose rate holds the largest share of the onset windows' power (the rate the
    statistics head's blocks by note period weigh most), read from a dB spectrogram
    ``(n_bins, t)`` as :class:`melgenre.ClipStatistics` reads it (its defaults).
    """
    import numpy as np

    from melgenre._clip_blocks import rhythm

    statistics = melgenre.ClipStatistics()
    spec = np.asarray(spec, dtype=np.float64)
    onset = np.concatenate([[0.0], np.maximum(np.diff(spec, axis=1), 0.0).mean(axis=0)])
    grid = statistics.note_period_grid
    _, _, log_power = rhythm(
        onset,
        window=statistics.tempo_window,
        hop=statistics.tempo_hop,
        lags=1,
        rates=grid[:0],
        periods=grid,
    )
    return float(grid[int(np.argmax(log_power))])


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotePeriodFeaturizer(melgenre.MelFeaturizer):
    """``MelFeaturizer`` whose spectrogram's time axis is counted in notes (a probe).

    Before the windows are cut, each file's dB spectrogram is resampled over time (linearly)
    so that its note period (:func:`note_period`) lasts ``note_frames`` frames: a window then
    holds ``frames / note_frames`` notes whatever the tempo, and a network reads a jig's
    threes and a reel's fours at the same scale (the tempo itself is the head's to read: its
    tempogram and onset spectrum). Window times no longer match the audio's (a probe).
    """

    note_frames: float = 8.0

    def windows(self, spec: Any) -> Any:
        import numpy as np

        spec = np.asarray(spec, dtype=np.float32)
        n = spec.shape[1]
        if n >= 2 * self.note_frames:
            size = max(2, round(n * self.note_frames / note_period(spec)))
            position = np.linspace(0.0, n - 1.0, size)
            below = np.minimum(np.floor(position).astype(int), n - 2)
            fraction = (position - below).astype(np.float32)
            spec = (1 - fraction) * spec[:, below] + fraction * spec[:, below + 1]
        return super().windows(spec)


FEATURIZERS: dict[str, Any] = {
    "constant_q": ConstantQFeaturizer,
    "note_period": NotePeriodFeaturizer,
}


def with_varispeed_windows(features: Any, semitones: list[float]) -> Any:
    """``features`` with each file's copies' windows after its own (in memory), as its file.

    The copies are read by the set's own preprocessing (``features.preprocessing``); a file
    read again is decoded once and played at each shift in ``semitones``.
    """

    import numpy as np

    from melgenre._varispeed import varispeed

    prep = features.preprocessing
    files, labels = features.file_labels()
    xs, ys, gs = [np.asarray(features.x)], [features.labels], [features.groups]
    for file, label in zip(files.tolist(), labels.tolist(), strict=True):
        audio = prep.load(features.paths[file])
        for shift in semitones:
            windows = prep.transform(varispeed(audio, shift))
            xs.append(windows)
            ys.append(np.full(len(windows), label, np.int64))
            gs.append(np.full(len(windows), file, np.int64))
    return dataclasses.replace(
        features, x=np.concatenate(xs), labels=np.concatenate(ys), groups=np.concatenate(gs)
    )
