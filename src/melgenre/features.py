"""The log-mel featurizer, :class:`MelFeaturizer`: the :class:`Featurizer` melgenre trains on.

Its steps (see :mod:`melgenre.featurizer`): the STFT and mel filter bank of
``_dsp``/``_filters`` (equal to librosa's), decibels relative to the peak,
windows cut every ``window_hop`` frames; and :meth:`MelFeaturizer.stream`, the
same windows block by block for long recordings.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from melgenre import _streaming
from melgenre._dsp import (
    analysis_window,
    frame_windows,
    log_mel,
    mel_power,
    resize_time,
    window_deltas,
    window_seconds,
    window_starts,
)
from melgenre._filters import filter_bank
from melgenre._harmony import chroma_operator, window_chroma
from melgenre._mel_settings import CLASSIC_SETTINGS, check_settings, clip_frames
from melgenre._registry import register_component
from melgenre._rhythm import window_tempogram
from melgenre._twins import MelGraphTwins
from melgenre._typing import FloatArray, IntArray
from melgenre.audio import Audio
from melgenre.featurizer import Featurizer, WindowBlocks

__all__ = ["Featurizer", "MelFeaturizer", "WindowBlocks"]

#: Spectrogram frames :meth:`MelFeaturizer.stream` keeps from its first pass instead of
#: reading the recording again: about 10 minutes at 22.05 kHz with a 512 hop (13 MB of
#: float32 mel power with 128 bands, a tenth of what the samples of 10 minutes take).
KEEP_FRAMES = 26_000


@register_component(package="melgenre")
@dataclasses.dataclass(frozen=True, kw_only=True)
class MelFeaturizer(MelGraphTwins, Featurizer):
    """Log-mel spectrogram cut into fixed windows for a CNN.

    The log-mel spectrogram of the whole recording is computed once
    (:meth:`spectrogram`); :meth:`transform` returns windows of ``frames``
    frames taken every ``window_hop`` frames, which are slices of that one
    spectrogram. When the regular windows stop short of the end, one more
    window aligned to the end covers the tail. Audio shorter than one window
    gives a single window, padded on the right with the spectrogram's minimum
    (silence).

    With the defaults a window is 128 mel bands x 128 frames: 2.97 s at
    22050 Hz, starting every 1.49 s.

    Parameters
    ----------
    sample_rate : int in [1000, 1536000], default=22050
        The only sample rate accepted, in Hz.
    n_fft : int >= 16, default=2048
        FFT size in samples.
    hop_length : int > 0, default=512
        Samples between spectrogram frames.
    win_length : int in [1, n_fft] or None, default=None
        Analysis window length in samples; ``None`` means ``n_fft``.
    n_mels : int > 0, default=128
        Frequency bands.
    fmin : float >= 0, default=0.0
        Lowest band edge, in Hz (0 means 55 Hz on the log scale).
    fmax : float or None, default=None
        Highest band edge, in Hz, at most ``sample_rate / 2``; ``None``
        means ``sample_rate / 2``.
    frequency_scale : {"mel", "log"}, default="mel"
        How the bands are spaced. ``"mel"``: Slaney's mel scale, librosa's
        default (linear below 1 kHz, logarithmic above). ``"log"``: a
        constant ratio apart from ``fmin`` to ``fmax``, as a constant-Q
        transform's bins (:func:`melgenre._filters.log_filters`), so that a
        change of pitch moves a harmonic pattern along the bands without
        changing its shape, below 1 kHz too, where most fundamentals lie.
    ref : "max" or float > 0, default="max"
        The 0 dB reference: the recording's own peak power (so loudness does
        not matter), or a fixed power.
    top_db : float > 0 or None, default=80.0
        Clip values more than ``top_db`` dB below the peak; ``None`` keeps all.
    frames : int > 0, default=128
        Spectrogram frames per window.
    window_hop : int > 0 or None, default=None
        Frames between the starts of consecutive windows; ``None`` means
        ``frames // 2`` (windows overlap by half).
    resize_frames : int > 0 or None, default=None
        Resample each window's time axis to this many frames (linear
        interpolation), as the classic notebook resizes its chunks; ``None``
        keeps ``frames``.
    deltas : {0, 1, 2}, default=0
        Extra channels with the time derivatives of each window: 1 adds the
        delta (first derivative), 2 the delta and the delta-delta, as
        ``librosa.feature.delta(width=9)`` computes them over the window alone
        (so streamed and whole-file windows stay equal, and an exported graph
        can compute them the same way). The window gets ``1 + deltas``
        channels.
    tempogram : bool, default=False
        Add a rhythm channel, after the delta channels: the autocorrelation
        tempogram of the window's onset strength, as
        ``librosa.feature.tempogram(win_length=n_bins)`` computes it from
        ``librosa.onset.onset_strength(S=window, center=False)``, over the
        window alone. Row ``m`` holds the onsets' correlation with themselves
        ``m`` frames later (up to ``n_bins - 1`` frames: 2.95 s with the
        defaults), so a metre or a tempo is a horizontal line. The
        augmentation's pitch shift and noise floor do not recompute it: use
        them without it.
    chroma : bool, default=False
        Add a harmony channel, last: the window's mel power folded onto the
        twelve pitch classes (C to B, A = 440 Hz), each frame scaled to a
        peak of 1; row ``r`` holds pitch class ``r * 12 // n_bins``, so the
        channel has the window's shape. Only mel bands that mostly answer one
        pitch class count (above about 330 Hz with the defaults), weighted by
        octave around C5 (see ``melgenre._harmony``). Needs at least 12 bands and
        the default :meth:`scale` (decibels); like the tempogram, the
        augmentation's pitch shift and noise floor do not recompute it.

    See Also
    --------
    MelFeaturizer.classic : the classic notebook's preprocessing.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import Audio, MelFeaturizer
    >>> feat = MelFeaturizer()
    >>> feat.output_shape
    (128, 128, 1)
    >>> t = np.arange(5 * 22050) / 22050
    >>> audio = Audio(np.sin(2 * np.pi * 440 * t).astype(np.float32), 22050)
    >>> feat.transform(audio).shape
    (3, 128, 128, 1)
    >>> MelFeaturizer.from_config(feat.get_config()) == feat
    True
    """

    n_fft: int = 2048
    hop_length: int = 512
    win_length: int | None = None
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    frequency_scale: str = "mel"
    ref: float | str = "max"
    top_db: float | None = 80.0
    frames: int = 128
    window_hop: int | None = None
    resize_frames: int | None = None
    deltas: int = 0
    tempogram: bool = False
    chroma: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_settings(self)

    @classmethod
    def classic(cls, **overrides: Any) -> MelFeaturizer:
        """The classic genre-classification notebook's preprocessing.

        Audio at 44.1 kHz; log-mel (128 bands, ``n_fft=2048``, hop 512) of
        4-second chunks every 2 seconds (345 and 172 frames), each resized to
        128 x 128. Use it with ``AudioLoader(sample_rate=44100)``, to compare
        with results reported for that notebook.

        Parameters
        ----------
        **overrides
            Parameters to change from the preset.

        Examples
        --------
        >>> MelFeaturizer.classic().output_shape
        (128, 128, 1)
        """
        return cls(**{**CLASSIC_SETTINGS, **overrides})

    @classmethod
    def for_clips(cls, seconds: Iterable[float], **overrides: Any) -> MelFeaturizer:
        """A featurizer whose windows fit recordings of the given durations.

        A window as long as the median recording, in frames rounded up to a
        multiple of 16, within 32..128 frames (so a 1 s word gets a 48-frame
        window instead of sitting in 3 s of padding; songs keep 128);
        consecutive windows overlap by half. Everything else is the default.

        Parameters
        ----------
        seconds : iterable of float
            Durations of (a sample of) the training recordings.
        **overrides
            Other parameters, as for :class:`MelFeaturizer`.

        Examples
        --------
        >>> MelFeaturizer.for_clips([1.0, 1.0, 0.9]).frames
        48
        >>> MelFeaturizer.for_clips([30.0]).frames
        128
        """
        durations = sorted(float(s) for s in seconds)
        params: dict[str, Any] = dict(overrides)
        if durations:
            probe, median = cls(**params), durations[len(durations) // 2]
            params.setdefault("frames", clip_frames(median, probe.sample_rate, probe.hop_length))
        return cls(**params)

    # ---------------------------------------------------------------- shape

    @property
    def hop_frames(self) -> int:
        """Frames between window starts (``window_hop``, or ``frames // 2``)."""
        return self.window_hop if self.window_hop is not None else max(1, self.frames // 2)

    @property
    def n_bins(self) -> int:
        """Rows of :meth:`scale`'s output (``n_mels``); override when ``scale`` changes it."""
        return self.n_mels

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Shape of one window: ``(n_bins, resize_frames or frames, channels)``.

        One channel of decibels, plus ``deltas`` channels, plus one each for
        ``tempogram`` and ``chroma``.
        """
        channels = 1 + self.deltas + int(self.tempogram) + int(self.chroma)
        return (self.n_bins, self.resize_frames or self.frames, channels)

    @property
    def window_seconds(self) -> float:
        """Length of one window in seconds."""
        return self.frames * self.hop_length / self.sample_rate

    @functools.cached_property
    def mel_basis(self) -> FloatArray:
        """The filter bank ``(n_mels, 1 + n_fft // 2)`` on :attr:`frequency_scale` (cached)."""
        return filter_bank(
            self.frequency_scale,
            sample_rate=self.sample_rate,
            n_fft=self.n_fft,
            n_bands=self.n_mels,
            fmin=self.fmin,
            fmax=self.fmax,
        )

    @functools.cached_property
    def _chroma_operator(self) -> FloatArray:
        """The ``(12, n_mels)`` matrix of the chroma channel (``melgenre._harmony``)."""
        return chroma_operator(
            self.sample_rate,
            self.n_fft,
            self.win_length,
            self.n_mels,
            self.fmin,
            self.fmax,
            self.frequency_scale,
        )

    # ----------------------------------------------------------------- steps

    def spectrogram(self, audio: Audio) -> FloatArray:
        """The whole recording's scaled mel spectrogram.

        Parameters
        ----------
        audio : Audio
            Mono audio at :attr:`sample_rate`.

        Returns
        -------
        spec : np.ndarray [shape=(n_bins, 1 + n // hop_length), dtype=float32]
            Log-mel power in dB with the default :meth:`scale`.
        """
        self.check_audio(audio)
        return self.scale(self.mel_power(audio.samples))

    @functools.cached_property
    def _mel_operator(self) -> Any:
        """:attr:`mel_basis` as a sparse matrix (about 1.5 % of it is non-zero)."""
        import scipy.sparse

        return scipy.sparse.csr_matrix(self.mel_basis)

    def mel_power(self, samples: FloatArray) -> FloatArray:
        """Mel power spectrogram ``(n_mels, t)`` of mono samples (centred STFT)."""
        return mel_power(
            samples,
            mel_basis=self._mel_operator,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self._window,
        )

    @functools.cached_property
    def _window(self) -> FloatArray:
        return analysis_window(self.n_fft, self.win_length)

    def scale(self, power: FloatArray) -> FloatArray:
        """Scale a mel power spectrogram: decibels relative to ``ref``, clipped at ``top_db``."""
        return log_mel(power, ref=self.ref, top_db=self.top_db)

    def window_starts(self, n_frames: int) -> IntArray:
        """First frame of each window over a spectrogram of ``n_frames`` frames."""
        return window_starts(n_frames, self.frames, self.hop_frames)

    def windows(self, spec: FloatArray) -> FloatArray:
        """Cut ``(n_bins, t)`` into ``(n_windows, *output_shape)`` float32 windows."""
        spec = np.asarray(spec, dtype=np.float32)
        starts = self.window_starts(spec.shape[1])
        pad_value = float(spec.min()) if spec.size else 0.0
        cut = frame_windows(spec, starts, self.frames, pad_value=pad_value)
        if self.resize_frames is not None:
            cut = resize_time(cut, self.resize_frames)
        return self._channels(cut)

    def _channels(self, cut: FloatArray) -> FloatArray:
        """``(n, n_bins, frames)`` windows as ``(n, *output_shape)``: dB, deltas, the others."""
        if not self.deltas and not self.tempogram and not self.chroma:
            return cut[..., np.newaxis]
        channels = [cut, *window_deltas(cut, self.deltas)]
        if self.tempogram:
            channels.append(window_tempogram(cut, cut.shape[1]))
        if self.chroma:
            channels.append(window_chroma(cut, self._chroma_operator, self.n_bins))
        return np.stack(channels, axis=-1)

    def window_times(self, audio: Audio) -> FloatArray:
        """Start and end, in seconds, of each window :meth:`transform` returns for ``audio``.

        Returns
        -------
        times : np.ndarray [shape=(n_windows, 2), dtype=float32]
            The end of the last window is clipped to the audio's duration.
        """
        return self._window_times(audio.n_samples)

    def _window_times(self, n_samples: int) -> FloatArray:
        starts = self.window_starts(1 + n_samples // self.hop_length)
        return window_seconds(starts, self.frames, self.hop_length, self.sample_rate, n_samples)

    # ------------------------------------------------------------- streaming

    def stream(self, blocks: Callable[[], Iterable[Audio]]) -> WindowBlocks:
        """The windows of a long recording block by block, in memory flat in its length.

        Two passes over ``blocks()``: the first finds the spectrogram's length
        and peak (``ref="max"`` and ``top_db`` are relative to the whole
        recording), the second computes the windows as their frames arrive.
        A recording of up to :data:`KEEP_FRAMES` frames (about ten minutes at
        the defaults) is read once: the first pass keeps its mel power.
        The windows and times equal :meth:`transform`'s and
        :meth:`window_times`'s. A subclass that overrides a step
        (``mel_power``, ``scale``, ``windows``, ``window_times``, ...) and recordings shorter
        than one window are transformed in one piece instead.

        Parameters
        ----------
        blocks : callable
            See :meth:`Featurizer.stream`.

        Yields
        ------
        (windows, times) : see :meth:`Featurizer.stream`.
        """
        if not self._streams_in_blocks():
            yield from super().stream(blocks)
            return
        first = _streaming.measure(self, blocks, KEEP_FRAMES)
        if first.n_samples < self.n_fft or first.n_frames <= self.frames:
            yield from super().stream(blocks)
            return
        yield from _streaming.windows(self, blocks, first)

    def _streams_in_blocks(self) -> bool:
        """Whether :meth:`stream` can compute windows block by block (no step overridden)."""
        steps = ("spectrogram", "mel_power", "scale", "windows", "window_starts", "transform",
                 "window_times")  # fmt: skip
        return all(getattr(type(self), step) is getattr(MelFeaturizer, step) for step in steps)

    def __getstate__(self) -> dict[str, Any]:
        # Leave the cached matrices (every cached property) out of pickles sent to workers.
        return {k: v for k, v in self.__dict__.items() if not _cached(type(self), k)}


def _cached(cls: type, name: str) -> bool:
    return isinstance(getattr(cls, name, None), functools.cached_property)
