"""Window networks and featurizers for ``cv.py`` probes that the library does not offer.

Candidates name them by ``model_class`` (:data:`MODELS`) and ``featurizer_class``
(:data:`FEATURIZERS`; ``constant_q``: :class:`ConstantQFeaturizer`; ``note_period``:
:class:`NotePeriodFeaturizer`, time counted in notes).

``pcen`` and ``pcen_channel``: :class:`melgenre.GenreCNN` reading each window's
per-channel energy normalisation (:class:`WindowPCEN`) instead of, or beside, its decibels.

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


class WindowPCEN(keras.layers.Layer):
    """Per-channel energy normalisation of each dB window's first channel, over its frames.

    PCEN (Wang et al. 2017; Lostanlen et al. 2019, "Per-channel energy normalization: why and
    how") divides each band's magnitude by a smoothed copy of itself (a first-order low-pass
    over ``time_constant`` seconds) raised to ``gain``, then compresses it by a root: a per-band
    automatic gain control that keeps onsets and the attacks of notes and flattens what is
    steady (a room's reverberant tail, a noise floor, a band's overall level), where decibels
    keep every level. ``librosa.pcen``'s defaults (gain 0.98, bias 2, power 0.5, 0.4 s) on the
    magnitude ``10 ** (dB / 20)`` scaled to the int32 range, as its documentation recommends.
    The low-pass runs within the window, from its steady state for the first frame (librosa
    with ``zi`` at ``lfilter_zi`` times the first frame): a constant matrix over the frames,
    so the layer is a matmul and a few element-wise ops, in any exported graph. With
    ``keep_decibels`` the PCEN channel is added after the window's channels, otherwise it
    replaces the first (decibels) channel.
    """

    def __init__(
        self,
        *,
        keep_decibels: bool,
        frame_rate: float = 22050 / 512,
        time_constant: float = 0.4,
        gain: float = 0.98,
        bias: float = 2.0,
        power: float = 0.5,
        eps: float = 1e-6,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_decibels = keep_decibels
        self.frame_rate = frame_rate
        self.time_constant = time_constant
        self.gain, self.bias, self.power, self.eps = gain, bias, power, eps

    def build(self, input_shape: Any) -> None:
        self.smoothing = keras.ops.convert_to_tensor(
            smoothing_matrix(int(input_shape[2]), self.time_constant * self.frame_rate).T
        )

    def call(self, x: Any) -> Any:
        ops = keras.ops
        magnitude = ops.power(10.0, x[..., 0] / 20.0) * 2.0**31  # (batch, bands, frames)
        smooth = ops.matmul(magnitude, self.smoothing)
        floor = ops.exp(-self.gain * ops.log(self.eps + smooth))
        pcen = self.bias**self.power * ops.expm1(
            self.power * ops.log1p(magnitude * floor / self.bias)
        )
        if self.keep_decibels:
            return ops.concatenate([x, pcen[..., None]], axis=-1)
        return ops.concatenate([pcen[..., None], x[..., 1:]], axis=-1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*input_shape[:-1], input_shape[-1] + int(self.keep_decibels))


def smoothing_matrix(frames: int, time_constant_frames: float) -> Any:
    """``K`` with ``K @ x`` = ``lfilter([b], [1, b - 1], x, zi=lfilter_zi * x[0])`` over frames.

    ``b`` as ``librosa.pcen`` solves it from the time constant in frames; the filter starts
    from its steady state for the first frame, so ``K[t, 0] = (1 - b) ** t`` and
    ``K[t, k] = b (1 - b) ** (t - k)`` for ``1 <= k <= t``.
    """
    import numpy as np

    t = time_constant_frames
    b = (np.sqrt(1 + 4 * t**2) - 1) / (2 * t**2)
    lag = np.arange(frames)[:, None] - np.arange(frames)[None, :]
    matrix = np.where(lag >= 0, b * (1 - b) ** np.maximum(lag, 0), 0.0)
    matrix[:, 0] = (1 - b) ** np.arange(frames)
    return matrix.astype(np.float32)


class PCENCNN(melgenre.GenreCNN):
    """``GenreCNN`` reading each window's PCEN (:class:`WindowPCEN`) in its decibels' place."""

    keep_decibels = False

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        x = WindowPCEN(keep_decibels=self.keep_decibels, name="pcen")(inputs)
        return super().body(x, filters=filters, dense_units=dense_units, dropout=dropout)


class PCENChannelCNN(PCENCNN):
    """``GenreCNN`` reading each window's decibels and its PCEN, as two channels."""

    keep_decibels = True


MODELS: dict[str, Any] = {
    "band_centred": BandCentredCNN,
    "pcen": PCENCNN,
    "pcen_channel": PCENChannelCNN,
}


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
