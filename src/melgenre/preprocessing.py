"""The preprocessing contract of a model: :class:`Preprocessing` (loader + featurizer).

A model is only as good as the agreement between the features it was trained
on and the features it is given later. :class:`Preprocessing` states that
agreement once: the featurizer owns the sample rate, the loader decodes and
resamples to it, and the pair travels together through feature extraction
(and its cache key), the :class:`~melgenre.Predictor`, the bundle and export.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

from melgenre import _pitch
from melgenre._registry import deserialize_component, serialize_component
from melgenre._typing import AudioSource, FloatArray
from melgenre._validation import check_real
from melgenre.audio import Audio, AudioLoader
from melgenre.cache import preprocessing_key
from melgenre.errors import ConfigError, MelgenreTypeError
from melgenre.features import MelFeaturizer
from melgenre.featurizer import Featurizer, WindowBlocks

__all__ = ["Preprocessing"]


@dataclasses.dataclass(frozen=True, init=False)
class Preprocessing:
    """Audio in, model input out: an :class:`AudioLoader` and a :class:`Featurizer` that agree.

    Parameters
    ----------
    featurizer : Featurizer, default=MelFeaturizer()
        Turns audio into windows; its ``sample_rate`` is the contract's rate.
    loader : AudioLoader, optional
        How sources are decoded (offset, duration, resampling quality...).
        Default: ``AudioLoader(sample_rate=featurizer.sample_rate)``. A loader
        with ``sample_rate=None`` takes the featurizer's rate; any other rate
        must equal it.

    Raises
    ------
    ConfigError
        The loader resamples to another rate than the featurizer expects.
    MelgenreTypeError
        ``featurizer`` or ``loader`` is not a melgenre component of that kind.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import MelFeaturizer, Preprocessing
    >>> prep = Preprocessing(MelFeaturizer(sample_rate=16000))
    >>> prep.sample_rate, prep.loader.sample_rate, prep.output_shape
    (16000, 16000, (128, 128, 1))
    >>> prep((np.zeros(44100, np.float32), 44100)).shape   # resampled, then cut into windows
    (1, 128, 128, 1)
    >>> Preprocessing.from_config(prep.get_config()) == prep
    True
    """

    featurizer: Featurizer
    loader: AudioLoader

    def __init__(
        self, featurizer: Featurizer | None = None, *, loader: AudioLoader | None = None
    ) -> None:
        featurizer = MelFeaturizer() if featurizer is None else featurizer
        if not isinstance(featurizer, Featurizer):
            raise MelgenreTypeError(
                "Preprocessing expects a melgenre Featurizer (e.g. MelFeaturizer()), got "
                f"{type(featurizer).__name__}."
            )
        rate = featurizer.sample_rate
        if loader is None:
            loader = AudioLoader(sample_rate=rate)
        elif not isinstance(loader, AudioLoader):
            raise MelgenreTypeError(
                f"Preprocessing expects an AudioLoader as loader, got {type(loader).__name__}."
            )
        elif loader.sample_rate is None:
            loader = dataclasses.replace(loader, sample_rate=rate)
        elif loader.sample_rate != rate:
            raise ConfigError(
                f"The loader resamples to {loader.sample_rate} Hz but the featurizer expects "
                f"{rate} Hz. State the rate once, on the featurizer: pass a loader with "
                f"sample_rate=None (or {rate}), or no loader at all.",
                parameter="loader",
                value=loader.sample_rate,
            )
        object.__setattr__(self, "featurizer", featurizer)
        object.__setattr__(self, "loader", loader)

    @classmethod
    def classic(cls) -> Preprocessing:
        """The classic notebook's preprocessing (:meth:`MelFeaturizer.classic`, 44.1 kHz)."""
        return cls(MelFeaturizer.classic())

    def __repr__(self) -> str:
        return f"Preprocessing({self.featurizer!r}, loader={self.loader!r})"

    # ------------------------------------------------------------ properties

    @property
    def sample_rate(self) -> int:
        """The contract's sample rate, in Hz (the featurizer's)."""
        return self.featurizer.sample_rate

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Shape of one window: the model's input shape."""
        return self.featurizer.output_shape

    @property
    def cache_key(self) -> str:
        """A short hash of the loader's and featurizer's classes and configs.

        Equal preprocessings have equal keys; the feature cache stores windows
        under it, so changing any parameter computes features anew.
        """
        return preprocessing_key(self.loader, self.featurizer)

    # ------------------------------------------------------------------ work

    def load(self, source: AudioSource | Audio) -> Audio:
        """Decode ``source`` at the contract's rate (:meth:`AudioLoader.load`)."""
        return self.loader.load(source)

    def transform(self, audio: Audio) -> FloatArray:
        """Windows of decoded audio (:meth:`Featurizer.transform`)."""
        return self.featurizer.transform(audio)

    def __call__(self, source: AudioSource | Audio) -> FloatArray:
        """Load ``source`` and cut it into windows.

        Returns
        -------
        windows : np.ndarray [shape=(n_windows, *output_shape), dtype=float32]
        """
        return self.featurizer.transform(self.loader.load(source))

    def chroma(self, audio: Audio) -> FloatArray:
        """The ``(frames, 12)`` constant-Q chroma of decoded audio (its first ten minutes).

        What :class:`~melgenre.statistics.ClipStatistics` summarises with
        ``harmony=True``; feature extraction stores it beside each file's windows
        (:attr:`FeatureSet.chroma`). Frames every ~93 ms, octaves from C1, read at the
        recording's own tuning.
        """
        return _pitch.audio_chroma(audio.samples, audio.sample_rate)

    def window_times(self, audio: Audio) -> FloatArray:
        """Start and end seconds of each window of ``audio`` (:meth:`Featurizer.window_times`)."""
        return self.featurizer.window_times(audio)

    def stream(
        self,
        source: AudioSource | Audio,
        *,
        block_seconds: float = 30.0,
        on_audio: Callable[[int, Audio], None] | None = None,
    ) -> WindowBlocks:
        """The windows of ``source`` block by block, with their start and end seconds.

        For a file libsndfile reads, memory stays flat in the recording's
        length (the loader reads ``block_seconds`` at a time, the
        featurizer makes windows as their frames arrive); the windows equal
        ``self(source)`` and the times ``window_times``. Other sources are
        processed in one piece.

        Parameters
        ----------
        source : path, file object, bytes, ``(samples, sample_rate)`` or Audio
        block_seconds : float > 0, default=30.0
            Seconds of audio read per block.
        on_audio : callable, optional
            ``on_audio(i, block)`` sees each decoded block as the featurizer reads it,
            ``i`` counting from 0 (a featurizer may read a recording twice: the
            blocks then come again from ``i = 0``); a source processed in one piece
            is one block. The predictor takes a file's chroma from them.

        Yields
        ------
        (windows, times) : np.ndarray [shape=(n, *output_shape)], np.ndarray [shape=(n, 2)]
        """
        check_real(
            "Preprocessing.stream", "block_seconds", block_seconds, low=0.0, closed_low=False
        )
        if not isinstance(source, (str, os.PathLike)):
            audio = self.loader.load(source)
            if on_audio is not None:
                on_audio(0, audio)
            yield self.featurizer.transform(audio), self.featurizer.window_times(audio)
            return

        def blocks() -> Iterator[Audio]:
            for i, block in enumerate(self.loader.stream(source, block_seconds=block_seconds)):
                if on_audio is not None:
                    on_audio(i, block)
                yield block

        yield from self.featurizer.stream(blocks)

    # --------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        """``{"loader": {...}, "featurizer": {...}}``: registered class names and configs.

        Returns
        -------
        config : dict
            JSON-safe; :meth:`from_config` rebuilds an equal object.
        """
        return {
            "loader": serialize_component(self.loader),
            "featurizer": serialize_component(self.featurizer),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Preprocessing:
        """Rebuild a :class:`Preprocessing` from :meth:`get_config`'s output.

        Raises
        ------
        ConfigError
            A missing entry, an unregistered class or an invalid parameter.
        """
        if not isinstance(config, dict) or not {"loader", "featurizer"} <= set(config):
            raise ConfigError(
                "Error when deserializing class 'Preprocessing': expected a dict with "
                f"'loader' and 'featurizer' entries, got {config!r}.",
                value=config,
            )
        loader = deserialize_component(config["loader"])
        featurizer = deserialize_component(config["featurizer"])
        if not isinstance(loader, AudioLoader) or not isinstance(featurizer, Featurizer):
            raise ConfigError(
                "Error when deserializing class 'Preprocessing': the 'loader' entry must name "
                f"an AudioLoader and 'featurizer' a Featurizer; got {type(loader).__name__} and "
                f"{type(featurizer).__name__}.",
                value=config,
            )
        return cls(featurizer, loader=loader)
