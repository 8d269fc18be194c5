"""Audio in memory (:class:`Audio`) and the loader that decodes it (:class:`AudioLoader`)."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterator
from typing import IO, Any, ClassVar

import numpy as np

from melgenre._config import Component
from melgenre._decode import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    check_rate,
    decode_with_audioread,
    libsndfile_reason,
    read_blocks,
)
from melgenre._dsp import resample
from melgenre._loading import (
    array_source,
    check_min_duration,
    checked_samples,
    encoded_source,
    guarded_decode,
    mix_down,
    open_soundfile,
    source_name,
    stream_file,
    take_range,
)
from melgenre._registry import register_component
from melgenre._typing import AudioSource, FloatArray
from melgenre._validation import check_bool, check_choice, check_int, check_real
from melgenre.errors import AudioUnusableError, ExportError

__all__ = ["MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE", "Audio", "AudioLoader", "source_name"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, eq=False)
class Audio:
    """Decoded audio: float32 samples at one sample rate.

    The samples are a read-only view; copy them (``audio.samples.copy()``) to
    modify them.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,) or (channels, n), dtype=float32]
        Samples in ``[-1, 1]`` (not enforced), channels first as in librosa.
        Other float or integer dtypes are converted (integers are scaled).
    sample_rate : int > 0
        Samples per second.
    source : str, default="<array>"
        Where the audio came from (a path, ``"<bytes>"``, ...), used in messages.

    Raises
    ------
    AudioUnusableError
        If the samples are not 1-D or 2-D, or contain NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import Audio
    >>> audio = Audio(np.zeros(22050, dtype=np.float32), 22050)
    >>> audio.duration
    1.0
    >>> audio.channels
    1
    """

    samples: FloatArray
    sample_rate: int
    source: str = "<array>"

    def __post_init__(self) -> None:
        samples, rate = checked_samples(self.samples, self.sample_rate, self.source)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", rate)

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.samples.shape[-1])

    @property
    def channels(self) -> int:
        """Number of channels (1 for mono)."""
        return 1 if self.samples.ndim == 1 else int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_samples / self.sample_rate

    def __repr__(self) -> str:
        return (
            f"Audio(source={self.source!r}, sample_rate={self.sample_rate}, "
            f"channels={self.channels}, duration={self.duration:.3f})"
        )


@register_component(package="melgenre")
@dataclasses.dataclass(frozen=True, kw_only=True)
class AudioLoader(Component):
    """Decode audio from files, file objects, bytes or arrays into :class:`Audio`.

    Files are decoded with soundfile (libsndfile: WAV, FLAC, OGG/Vorbis, MP3,
    AIFF and more); only what libsndfile cannot read is handed to audioread
    (which needs FFmpeg or GStreamer for formats such as AAC/M4A). Channels
    are averaged to mono and the audio is resampled with soxr.

    Parameters
    ----------
    sample_rate : int in [1000, 1536000] or None, default=22050
        Target sample rate in Hz. ``None`` keeps each source's own rate.
    mono : bool, default=True
        Average the channels into one. With ``False``, samples are
        ``(channels, n)`` (a mono source stays 1-D).
    offset : float >= 0, default=0.0
        Start reading this many seconds into the source.
    duration : float > 0 or None, default=None
        Read at most this many seconds; ``None`` reads to the end.
    min_duration : float >= 0, default=0.0
        Refuse audio shorter than this many seconds (after ``offset`` and
        ``duration``) with :class:`AudioUnusableError`. Audio with no samples
        is always refused.
    resample_quality : {"HQ", "VHQ", "MQ", "LQ", "QQ"}, default="HQ"
        soxr's quality recipe, used when the source's rate differs from
        ``sample_rate``.

    See Also
    --------
    Audio : what :meth:`load` returns.
    MelFeaturizer : turns :class:`Audio` into CNN input.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import AudioLoader
    >>> loader = AudioLoader(sample_rate=16000)
    >>> stereo = np.zeros((2, 44100), dtype=np.float32)
    >>> audio = loader.load((stereo, 44100))
    >>> audio.samples.shape, audio.sample_rate
    ((16000,), 16000)
    """

    sample_rate: int | None = 22050
    mono: bool = True
    offset: float = 0.0
    duration: float | None = None
    min_duration: float = 0.0
    resample_quality: str = "HQ"

    _QUALITIES: ClassVar[tuple[str, ...]] = ("HQ", "VHQ", "MQ", "LQ", "QQ")

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_int(
            owner,
            "sample_rate",
            self.sample_rate,
            low=MIN_SAMPLE_RATE,
            high=MAX_SAMPLE_RATE,
            allow_none=True,
        )
        check_bool(owner, "mono", self.mono)
        check_real(owner, "offset", self.offset, low=0.0)
        check_real(owner, "duration", self.duration, low=0.0, closed_low=False, allow_none=True)
        check_real(owner, "min_duration", self.min_duration, low=0.0)
        check_choice(owner, "resample_quality", self.resample_quality, self._QUALITIES)

    # ------------------------------------------------------------------ public

    def load(self, source: AudioSource | Audio) -> Audio:
        """Decode ``source`` into :class:`Audio`.

        Parameters
        ----------
        source : path, binary file object, bytes, ``(samples, sample_rate)`` or Audio
            A path (``str`` or ``os.PathLike``); a binary file object open for
            reading; the bytes of an encoded file; a ``(samples, sample_rate)``
            pair with samples shaped ``(n,)`` or ``(channels, n)`` (channels
            first, as librosa), integer or float; or an :class:`Audio`.

        Returns
        -------
        audio : Audio
            float32 samples at ``sample_rate`` (1-D when ``mono``).

        Raises
        ------
        AudioFileNotFoundError
            The path does not exist.
        AudioDecodeError
            A directory, an empty, header-only, truncated or corrupt file, or
            one no installed decoder can read.
        AudioUnusableError
            No samples (or fewer than ``min_duration``), NaN or infinite
            samples, an ``offset`` past the end, an unsupported array shape or
            dtype, or an implausible sample rate.
        MelgenreTypeError
            ``source`` is of a type not listed above.
        """
        samples, rate, name = self._decode_source(source)
        return self._finish(samples, rate, name)

    def stream(
        self, source: AudioSource | Audio, *, block_seconds: float = 30.0
    ) -> Iterator[Audio]:
        """Decode ``source`` block by block: consecutive pieces of what :meth:`load` returns.

        A file that libsndfile reads (WAV, FLAC, OGG, MP3, AIFF, ...) is read,
        mixed and resampled ``block_seconds`` at a time (soxr's streaming
        resampler gives the same samples as a one-shot resample), so memory
        does not grow with the file's length. Other sources (bytes, arrays,
        file objects, formats that need audioread, or a subclass that
        overrides :meth:`decode` or :meth:`load`) are loaded whole and yielded
        as one block.

        Parameters
        ----------
        source : as for :meth:`load`
        block_seconds : float > 0, default=30.0
            Seconds of source audio per block.

        Yields
        ------
        audio : Audio
            Blocks at ``sample_rate``; concatenated, their samples equal
            ``load(source).samples``.

        Raises
        ------
        The errors of :meth:`load`. Problems found at the end of a file
        (truncation, ``min_duration``) are raised after the blocks before them.
        """
        check_real("AudioLoader.stream", "block_seconds", block_seconds, low=0.0, closed_low=False)
        handle = self._open_for_streaming(source)
        if handle is None:
            yield self.load(source)
            return
        name = os.fspath(source)  # type: ignore[arg-type]
        with handle:
            rate = check_rate(handle.samplerate, name, "the file's")
            start, count = self._frame_range(rate)
            for samples, target in stream_file(
                handle,
                name,
                rate=rate,
                mono=self.mono,
                start=start,
                count=count,
                offset=self.offset,
                sample_rate=self.sample_rate,
                quality=self.resample_quality,
                block_seconds=block_seconds,
                min_duration=self.min_duration,
            ):
                yield Audio(samples, target, name)

    # ------------------------------------------------------------ overridable

    def tf_load(self, samples: Any) -> Any:
        """:meth:`load`'s in-graph twin: what an exported model does of the loader's work.

        An export's input is what the application decoded: mono float32
        samples at ``sample_rate``. The graph applies the rest of the loader
        here, in TensorFlow ops: ``offset`` and ``duration``. A subclass whose
        :meth:`load` changes the samples (a filter, a gain, trimming) overrides
        this twin too; one that only adds a decoder overrides :meth:`decode`,
        which needs none.

        Parameters
        ----------
        samples : tf.Tensor [shape=(n,), dtype=float32]
            Mono samples at ``sample_rate``.

        Returns
        -------
        samples : tf.Tensor [shape=(m,), dtype=float32]

        Raises
        ------
        ExportError
            A subclass overrides :meth:`load` but not this twin.
        """
        owner = type(self)
        if owner.load is not AudioLoader.load and owner.tf_load is AudioLoader.tf_load:
            raise ExportError(
                f"{owner.__name__} overrides load, which an exported model cannot run: its "
                f"input is the samples the application decoded. Implement "
                f"{owner.__name__}.tf_load (the same change in TensorFlow ops; see 'Extending "
                "melgenre' in the docs), or move a decoder into decode(), to export models "
                "trained with it."
            )
        start, count = self._frame_range(self.sample_rate or 1)
        if start:
            samples = samples[start:]
        return samples if count is None else samples[:count]

    def decode(self, file: str | IO[bytes], name: str) -> tuple[FloatArray, int]:
        """Decode an encoded file into ``(channels, n)`` float32 samples and their rate.

        Applies ``offset`` and ``duration`` while reading. Subclasses may
        override this to add a decoder; :meth:`load` does the rest (mono,
        resampling, checks).

        Parameters
        ----------
        file : str or binary file object
            A path to an existing, non-empty file, or a seekable file object.
        name : str
            The source's name, for messages.

        Returns
        -------
        (samples, sample_rate) : np.ndarray [shape=(channels, n), dtype=float32] and int
        """
        import soundfile as sf

        try:
            handle = sf.SoundFile(file)
        except sf.SoundFileError as exc:
            samples, rate = decode_with_audioread(
                file, name, soundfile_reason=libsndfile_reason(exc)
            )
            start, count = self._frame_range(rate)
            samples = take_range(samples, rate, name, start=start, count=count, offset=self.offset)
            return samples, rate
        with handle:
            rate = check_rate(handle.samplerate, name, "the file's")
            start, count = self._frame_range(rate)
            blocks = list(read_blocks(handle, name, start=start, count=count, offset=self.offset))
            samples = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
            return samples, rate

    # ----------------------------------------------------------------- private

    def _open_for_streaming(self, source: Any) -> Any:
        """An open ``soundfile.SoundFile`` for a path libsndfile reads, else ``None``."""
        owner = type(self)
        if owner.decode is not AudioLoader.decode or owner.load is not AudioLoader.load:
            return None  # a subclass's decoder or load reads the file whole, as load does
        return open_soundfile(source)

    def _decode_source(self, source: Any) -> tuple[FloatArray, int, str]:
        if isinstance(source, Audio):
            samples = source.samples if source.samples.ndim == 2 else source.samples[None, :]
            return self._slice_array(samples, source.sample_rate, source.source)
        if isinstance(source, tuple):
            return self._slice_array(*array_source(source), "<array>")
        file, name = encoded_source(source)
        samples, rate = guarded_decode(self.decode, file, name)
        return samples, rate, name

    def _frame_range(self, rate: int) -> tuple[int, int | None]:
        start = round(self.offset * rate)
        count = None if self.duration is None else max(1, round(self.duration * rate))
        return start, count

    def _slice_array(
        self, samples: FloatArray, rate: int, name: str
    ) -> tuple[FloatArray, int, str]:
        start, count = self._frame_range(rate)
        ranged = take_range(samples, rate, name, start=start, count=count, offset=self.offset)
        return ranged, rate, name

    def _finish(self, samples: FloatArray, rate: int, name: str) -> Audio:
        """Check, mix down and resample decoded ``(channels, n)`` samples."""
        if samples.shape[-1] == 0:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: it contains no samples.", source=name
            )
        target = rate if self.sample_rate is None else self.sample_rate
        # Check before resampling: soxr would spread a NaN over its neighbours.
        audio = Audio(mix_down(samples, self.mono), rate, name)
        check_min_duration(audio.duration, name, self.min_duration)
        if target == rate:
            return audio
        resampled = resample(audio.samples, rate, target, quality=self.resample_quality)
        if resampled.shape[-1] == 0:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: {audio.n_samples} samples at {rate} Hz "
                f"leave nothing at {target} Hz.",
                source=name,
            )
        return Audio(resampled, target, name)
