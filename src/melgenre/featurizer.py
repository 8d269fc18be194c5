"""The featurizer interface: :class:`Audio` in, fixed-size CNN windows out.

``transform(audio)`` is the one public entry point. It chains small
overridable steps::

    transform(audio)
      spectrogram(audio)  -> (n_bins, t)         the whole recording, once
        check_audio(audio)                       sample rate and channels (once)
        mel_power(samples) -> (n_mels, t)        mel power spectrogram
        scale(power)       -> (n_bins, t)        dB by default
      windows(spec)       -> (n, n_bins, frames, 1)   slices of that spectrogram

A subclass replaces one step, e.g. ``scale`` for PCEN or MFCCs instead of dB.
``stream(blocks)`` gives the same windows block by block for long recordings
(:meth:`MelFeaturizer.stream` in bounded memory; other featurizers in one piece).
:class:`melgenre.MelFeaturizer` (:mod:`melgenre.features`) is the implementation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from melgenre._config import Component
from melgenre._typing import FloatArray
from melgenre._validation import check_int
from melgenre.audio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Audio, AudioLoader
from melgenre.deprecation import warn_deprecated
from melgenre.errors import (
    AudioUnusableError,
    ConfigError,
    ExportError,
    MelgenreTypeError,
    SampleRateMismatchError,
)

__all__ = ["Featurizer", "WindowBlocks"]

#: Windows ``(n, *output_shape)`` and their ``(n, 2)`` start and end seconds.
WindowBlocks = Iterator[tuple[FloatArray, FloatArray]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Featurizer(Component):
    """Base class of featurizers: mono :class:`Audio` to float32 windows.

    Subclasses implement :meth:`spectrogram`, :meth:`windows` and
    :attr:`output_shape`; :meth:`transform` checks the input and chains them.

    Parameters
    ----------
    sample_rate : int, default=22050
        The only sample rate this featurizer accepts, in Hz.
    """

    sample_rate: int = 22050

    def __post_init__(self) -> None:
        check_int(
            type(self).__name__,
            "sample_rate",
            self.sample_rate,
            low=MIN_SAMPLE_RATE,
            high=MAX_SAMPLE_RATE,
        )

    def transform(self, audio: Audio) -> FloatArray:
        """Turn mono audio into CNN input windows.

        Parameters
        ----------
        audio : Audio
            Mono audio at :attr:`sample_rate`.

        Returns
        -------
        windows : np.ndarray [shape=(n_windows, *output_shape), dtype=float32]
        """
        return self.windows(self.spectrogram(audio))

    def tf_transform(self, samples: Any) -> Any:
        """The in-graph twin of :meth:`transform`, in TensorFlow ops, for exported models.

        An exported model (:meth:`melgenre.Predictor.export`) computes its
        features inside the graph with this method; the export's parity check
        compares it with :meth:`transform` on many signals.

        Parameters
        ----------
        samples : tf.Tensor [shape=(n,), dtype=float32]
            Mono samples at :attr:`sample_rate`.

        Returns
        -------
        windows : tf.Tensor [shape=(n_windows, *output_shape), dtype=float32]
            What :meth:`transform` returns for the same samples.

        Raises
        ------
        ExportError
            This featurizer has no in-graph twin: a subclass that wants its
            models exported implements this method (see the extension guide).
        """
        name = type(self).__name__
        raise ExportError(
            f"{name} has no in-graph twin, so a model trained on its features cannot be "
            f"exported: implement {name}.tf_transform(samples), the TensorFlow version of "
            f"{name}.transform (see 'Extending melgenre' in the docs); the export's parity "
            "check then verifies that the two agree."
        )

    def tf_window_times(self, n_samples: Any) -> Any:
        """The in-graph twin of :meth:`window_times`: ``(n_windows, 2)`` seconds.

        Parameters
        ----------
        n_samples : tf.Tensor [shape=(), dtype=int32]
            The number of samples given to :meth:`tf_transform`.
        """
        name = type(self).__name__
        raise ExportError(
            f"{name} has no in-graph twin of window_times: implement "
            f"{name}.tf_window_times(n_samples) to export models trained on its features."
        )

    def stream(self, blocks: Callable[[], Iterable[Audio]]) -> WindowBlocks:
        """The windows of a long recording given block by block, with their times.

        Parameters
        ----------
        blocks : callable
            ``blocks()`` returns an iterable of consecutive :class:`Audio`
            blocks of one recording (e.g. ``lambda: loader.stream(path)``); a
            featurizer may call it more than once (one pass per call).

        Yields
        ------
        (windows, times) : np.ndarray and np.ndarray [shape=(n, 2)]
            Consecutive windows of what :meth:`transform` returns for the whole
            recording, and their start and end seconds (:meth:`window_times`).

        Notes
        -----
        This base version joins the blocks and transforms them in one piece.
        :class:`MelFeaturizer` overrides it to keep memory flat in the
        recording's length.
        """
        pieces = list(blocks())
        samples = np.concatenate([block.samples for block in pieces], axis=-1)
        audio = Audio(samples, pieces[0].sample_rate, pieces[0].source)
        yield self.transform(audio), self.window_times(audio)

    def window_times(self, audio: Audio) -> FloatArray:
        """Start and end, in seconds, of each window :meth:`transform` returns for ``audio``.

        Returns
        -------
        times : np.ndarray [shape=(n_windows, 2), dtype=float32]
        """
        raise NotImplementedError(f"{type(self).__name__} must implement window_times()")

    def check_loader(self, loader: AudioLoader) -> None:
        """Raise :class:`ConfigError` unless ``loader`` resamples to :attr:`sample_rate`.

        .. deprecated:: 0.2
            :class:`melgenre.Preprocessing` makes this check; build one with
            ``Preprocessing(featurizer, loader=loader)``.
        """
        warn_deprecated(
            "Featurizer.check_loader",
            since="0.2",
            removed_in="0.3",
            instead="Preprocessing(featurizer, loader=loader), which checks the rates",
        )
        if loader.sample_rate != self.sample_rate:
            raise ConfigError(
                f"The loader resamples to {loader.sample_rate} Hz but the featurizer expects "
                f"{self.sample_rate} Hz; use AudioLoader(sample_rate={self.sample_rate}).",
                parameter="loader",
                value=loader.sample_rate,
            )

    def check_audio(self, audio: Audio) -> None:
        """Raise unless ``audio`` is mono :class:`Audio` at :attr:`sample_rate`.

        Raises
        ------
        MelgenreTypeError
            ``audio`` is not :class:`Audio`.
        SampleRateMismatchError
            The audio's sample rate differs from :attr:`sample_rate`.
        AudioUnusableError
            The audio has more than one channel.
        """
        owner = type(self).__name__
        if not isinstance(audio, Audio):
            raise MelgenreTypeError(
                f"{owner}.transform expects melgenre.Audio, got {type(audio).__name__}. Load "
                f"audio with AudioLoader(sample_rate={self.sample_rate}).load(source)."
            )
        if audio.sample_rate != self.sample_rate:
            raise SampleRateMismatchError(
                f"{owner} was configured for {self.sample_rate} Hz but received audio at "
                f"{audio.sample_rate} Hz from {audio.source!r}; load it with "
                f"AudioLoader(sample_rate={self.sample_rate}).",
                source=audio.source,
                expected=self.sample_rate,
                received=audio.sample_rate,
            )
        if audio.channels != 1:
            raise AudioUnusableError(
                f"{owner} expects mono audio but received {audio.channels} channels from "
                f"{audio.source!r}; load it with AudioLoader(mono=True).",
                source=audio.source,
            )

    def spectrogram(self, audio: Audio) -> FloatArray:
        """The whole recording's time-frequency representation, ``(n_bins, t)``.

        Implementations start with ``self.check_audio(audio)``: :meth:`transform`
        relies on it.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement spectrogram()")

    def windows(self, spec: FloatArray) -> FloatArray:
        """Cut a spectrogram into ``(n_windows, *output_shape)`` windows."""
        raise NotImplementedError(f"{type(self).__name__} must implement windows()")

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Shape of one window, ``(n_bins, frames, 1)``: the model's input shape."""
        raise NotImplementedError(f"{type(self).__name__} must implement output_shape")
