"""Audio in memory (:class:`Audio`) and the loader that decodes it (:class:`AudioLoader`)."""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from melgenre._config import Component
from melgenre._dsp import mix_to_mono, pcm_to_float, resample
from melgenre._registry import register_component
from melgenre._typing import AudioSource, FloatArray
from melgenre._validation import check_bool, check_choice, check_int, check_real
from melgenre.errors import (
    AudioDecodeError,
    AudioError,
    AudioFileNotFoundError,
    AudioUnusableError,
    MelgenreTypeError,
)

__all__ = ["Audio", "AudioLoader"]

logger = logging.getLogger(__name__)

#: Sample rates (Hz) melgenre accepts, for files, arrays and targets. Below
#: 1 kHz is not audio; the bounds also stop a corrupt header from asking the
#: resampler for billions of samples.
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 1_536_000

#: Samples (frames x channels) read per block: files are read incrementally,
#: never trusting a header's frame count (or channel count) for one allocation.
_BLOCK_SAMPLES = 1 << 20

#: libsndfile logs a chunk whose declared size exceeds the file as
#: ``data : 88200 (should be 44078)`` (WAV, W64, RF64) or ``SSND : ...`` (AIFF).
_SHORT_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
#: Declared sizes that mean "unknown length" (streamed or RF64 placeholder).
_UNKNOWN_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 1})

_SUPPORTED = "WAV, FLAC, OGG/Vorbis, MP3, AIFF, ..."


def _describe_seconds(samples: int, rate: int) -> str:
    return f"{samples / rate:.3f} s"


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
        raw = np.asarray(self.samples)
        try:
            samples = pcm_to_float(raw)
        except TypeError as exc:
            raise AudioUnusableError(
                f"Audio from {self.source!r} has samples of dtype {raw.dtype}; "
                "expected float or integer PCM.",
                source=self.source,
            ) from exc
        if samples.ndim not in (1, 2):
            raise AudioUnusableError(
                f"Audio from {self.source!r} has samples of shape {samples.shape}; expected "
                "(n,) for mono or (channels, n) for multi-channel audio.",
                source=self.source,
            )
        if (
            isinstance(self.sample_rate, bool)
            or not isinstance(self.sample_rate, (int, np.integer))
            or self.sample_rate <= 0
        ):
            raise AudioUnusableError(
                f"Audio from {self.source!r} has sample_rate={self.sample_rate!r}; "
                "expected a positive int (Hz).",
                source=self.source,
            )
        bad = ~np.isfinite(samples)
        if bad.any():
            first = int(np.argwhere(bad)[0][-1])
            raise AudioUnusableError(
                f"Audio from {self.source!r} contains {int(bad.sum())} non-finite samples "
                f"(NaN or infinity), the first at sample {first} "
                f"({first / int(self.sample_rate):.3f} s). "
                "Repair or re-export the file.",
                source=self.source,
            )
        view = np.ascontiguousarray(samples).view()
        view.setflags(write=False)
        object.__setattr__(self, "samples", view)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

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

    # ------------------------------------------------------------ overridable

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
        """
        import soundfile as sf

        try:
            handle = sf.SoundFile(file)
        except sf.SoundFileError as exc:
            reason = _libsndfile_reason(exc)
            return self._decode_fallback(file, name, soundfile_reason=reason)
        with handle:
            return self._read_soundfile(handle, name)

    # ----------------------------------------------------------------- private

    def _decode_source(self, source: Any) -> tuple[FloatArray, int, str]:
        if isinstance(source, Audio):
            samples = source.samples if source.samples.ndim == 2 else source.samples[None, :]
            return self._slice_array(samples, source.sample_rate, source.source)
        if isinstance(source, tuple):
            return self._decode_array(source)
        if isinstance(source, (str, os.PathLike)):
            name = os.fspath(source)
            if not isinstance(name, str):
                raise MelgenreTypeError(
                    f"Cannot read audio from {name!r}: paths must be str, got bytes. "
                    "Decode the path first."
                )
            self._check_path(Path(name), name)
            samples, rate = self._guarded_decode(name, name)
            return samples, rate, name
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            if not data:
                raise AudioDecodeError(
                    "Cannot read audio from '<bytes>': the bytes are empty (0 bytes). "
                    f"Expected an encoded audio file ({_SUPPORTED}).",
                    source="<bytes>",
                )
            samples, rate = self._guarded_decode(io.BytesIO(data), "<bytes>")
            return samples, rate, "<bytes>"
        if isinstance(source, io.TextIOBase):
            raise MelgenreTypeError(
                f"Cannot read audio from {getattr(source, 'name', '<file object>')!r}: the "
                "file object is open in text mode. Open it in binary mode ('rb')."
            )
        if hasattr(source, "read"):
            name = getattr(source, "name", None)
            name = name if isinstance(name, str) else "<file object>"
            fileobj = self._seekable(source, name)
            samples, rate = self._guarded_decode(fileobj, name)
            return samples, rate, name
        raise MelgenreTypeError(
            f"Cannot load audio from a {type(source).__name__}: expected a path (str or "
            "os.PathLike), a binary file object, bytes, a (samples, sample_rate) tuple or "
            "melgenre.Audio."
        )

    @staticmethod
    def _check_path(path: Path, name: str) -> None:
        if not path.exists():
            raise AudioFileNotFoundError(
                f"Cannot read audio from {name!r}: no such file. Check the path "
                f"(relative paths are resolved from {os.getcwd()!r}).",
                source=name,
            )
        if path.is_dir():
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: it is a directory, not an audio file. "
                "Pass the path of a file inside it.",
                source=name,
            )
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: {exc.strerror or exc}.", source=name
            ) from exc
        if size == 0:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: the file is empty (0 bytes). "
                f"Expected an audio file ({_SUPPORTED}).",
                source=name,
            )
        if not os.access(path, os.R_OK):
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: permission denied.", source=name
            )

    @staticmethod
    def _seekable(fileobj: Any, name: str) -> IO[bytes]:
        """Return a seekable binary file object positioned at the audio's start."""
        try:
            seekable = bool(fileobj.seekable())
        except (AttributeError, OSError, ValueError):
            seekable = False
        if seekable:
            try:
                start = fileobj.tell()
                end = fileobj.seek(0, io.SEEK_END)
                fileobj.seek(start)
            except (OSError, ValueError) as exc:
                raise AudioDecodeError(
                    f"Cannot read audio from {name!r}: the file object cannot seek ({exc}).",
                    source=name,
                ) from exc
            if end - start <= 0:
                raise AudioDecodeError(
                    f"Cannot read audio from {name!r}: the file object has no bytes left to "
                    "read (0 bytes). Rewind it with .seek(0) or pass a new one.",
                    source=name,
                )
            return fileobj  # type: ignore[no-any-return]
        try:
            data = fileobj.read()
        except (OSError, ValueError) as exc:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: reading the file object failed ({exc}).",
                source=name,
            ) from exc
        if isinstance(data, str):
            raise MelgenreTypeError(
                f"Cannot read audio from {name!r}: the file object returned text. Open it in "
                "binary mode ('rb')."
            )
        if not data:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: the file object returned no bytes.",
                source=name,
            )
        return io.BytesIO(data)

    def _guarded_decode(self, file: str | IO[bytes], name: str) -> tuple[FloatArray, int]:
        """Call :meth:`decode`, turning any decoder failure into :class:`AudioDecodeError`.

        Third-party decoders raise many exception types on corrupt input; the
        promise of :meth:`load` is that only melgenre errors come out.
        """
        try:
            samples, rate = self.decode(file, name)
        except (AudioError, MelgenreTypeError, MemoryError):
            raise
        except Exception as exc:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: the decoder failed "
                f"({type(exc).__name__}: {exc}). The file is probably corrupt.",
                source=name,
            ) from exc
        return samples, rate

    def _check_rate(self, rate: Any, name: str, what: str) -> int:
        valid_type = isinstance(rate, (int, np.integer)) and not isinstance(rate, bool)
        if isinstance(rate, float) and rate.is_integer():
            rate, valid_type = int(rate), True
        if not valid_type or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: {what} sample rate {rate!r} is not an int in "
                f"[{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}] Hz.",
                source=name,
            )
        return int(rate)

    def _frame_range(self, rate: int) -> tuple[int, int | None]:
        start = round(self.offset * rate)
        count = None if self.duration is None else max(1, round(self.duration * rate))
        return start, count

    def _read_soundfile(self, handle: Any, name: str) -> tuple[FloatArray, int]:
        import soundfile as sf

        rate = self._check_rate(handle.samplerate, name, "the file's")
        channels = int(handle.channels)
        declared = int(handle.frames)
        start, count = self._frame_range(rate)
        block_frames = max(1, _BLOCK_SAMPLES // max(channels, 1))
        if declared == 0:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: the file has a valid header but no audio "
                "frames (header only, or cut off right after the header).",
                source=name,
            )
        if start and 0 < declared <= start:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: offset={self.offset} s is at or past the end "
                f"of the audio ({_describe_seconds(declared, rate)} long).",
                source=name,
            )
        try:
            if start:
                if handle.seekable():
                    handle.seek(start)
                else:  # pragma: no cover - libsndfile seeks every format melgenre reads
                    self._skip(handle, start, block_frames)
            blocks: list[np.ndarray[Any, Any]] = []
            remaining = count
            while remaining is None or remaining > 0:
                want = block_frames if remaining is None else min(block_frames, remaining)
                block = handle.read(want, dtype="float32", always_2d=True)
                if len(block):
                    blocks.append(block)
                if remaining is not None:
                    remaining -= len(block)
                if len(block) < want:
                    break
        except sf.SoundFileError as exc:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: the file is truncated or corrupt "
                f"({_libsndfile_reason(exc)}).",
                source=name,
            ) from exc
        read = sum(len(b) for b in blocks)
        self._check_truncated(handle, name, declared=declared, read=read, start=start, count=count)
        if read == 0:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: no audio frames could be decoded.",
                source=name,
            )
        samples = np.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]
        return np.ascontiguousarray(samples.T.reshape(channels, -1)), rate

    @staticmethod
    def _skip(handle: Any, frames: int, block_frames: int) -> None:  # pragma: no cover
        while frames > 0:
            got = len(handle.read(min(frames, block_frames), dtype="float32"))
            if got == 0:
                break
            frames -= got

    @staticmethod
    def _check_truncated(
        handle: Any, name: str, *, declared: int, read: int, start: int, count: int | None
    ) -> None:
        """Raise if the file holds less audio than its header declares."""
        for declared_bytes, actual_bytes in _SHORT_CHUNK.findall(handle.extra_info or ""):
            claimed, present = int(declared_bytes), int(actual_bytes)
            if claimed not in _UNKNOWN_SIZES and claimed > present:
                raise AudioDecodeError(
                    f"Cannot read audio from {name!r}: the file is truncated (its header "
                    f"declares {claimed} bytes of audio data, only {present} are present). "
                    "Re-copy or re-export the file.",
                    source=name,
                )
        expected = declared - start if count is None else min(count, declared - start)
        if declared <= 0 or read >= expected:
            return
        # MP3 frame counts can be estimates (no Xing/Info header): be lenient there.
        is_mp3 = str(handle.format).upper() == "MP3"
        if is_mp3 and read >= 0.9 * expected:
            logger.warning(
                "%r decoded to %d frames, %d fewer than its header announces; using what "
                "was decoded.",
                name,
                read,
                expected - read,
            )
            return
        raise AudioDecodeError(
            f"Cannot read audio from {name!r}: the file is truncated or corrupt (decoded "
            f"{read} of the {expected} frames its header announces).",
            source=name,
        )

    def _decode_fallback(
        self, file: str | IO[bytes], name: str, *, soundfile_reason: str
    ) -> tuple[FloatArray, int]:
        """Decode with audioread what libsndfile cannot read (needs FFmpeg or GStreamer)."""
        try:
            import audioread
        except ImportError:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: libsndfile cannot read it "
                f"({soundfile_reason}) and audioread is not installed. Expected an audio file "
                f"({_SUPPORTED}).",
                source=name,
            ) from None
        tmp: str | None = None
        try:
            if isinstance(file, str):
                path = file
            else:
                file.seek(0)
                suffix = "" if name.startswith("<") else Path(name).suffix
                with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as out:
                    out.write(file.read())
                    tmp = path = out.name
            with audioread.audio_open(path) as decoder:
                raw_rate, channels = int(decoder.samplerate or 0), int(decoder.channels or 0)
                if raw_rate <= 0 or channels <= 0:
                    raise _NoAudioStreamError(f"{type(decoder).__name__} found no audio stream")
                rate = self._check_rate(raw_rate, name, "the file's")
                pcm = b"".join(decoder)
        except AudioError:
            raise
        except Exception as exc:
            other = (
                "no audioread backend is available (install FFmpeg for formats such as AAC/M4A)"
                if type(exc).__name__ == "NoBackendError"
                else f"audioread: {exc}"
                if isinstance(exc, _NoAudioStreamError)
                else f"audioread: {type(exc).__name__}: {exc}"
            )
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: it is not an audio file melgenre can decode "
                f"(libsndfile: {soundfile_reason}; {other}). Expected an audio file "
                f"({_SUPPORTED}).",
                source=name,
            ) from exc
        finally:
            if tmp is not None:
                os.unlink(tmp)
        logger.debug("decoded %r with audioread (libsndfile: %s)", name, soundfile_reason)
        usable = len(pcm) - len(pcm) % (2 * max(channels, 1))
        interleaved = np.frombuffer(pcm[:usable], dtype="<i2")
        if channels < 1 or interleaved.size == 0:
            raise AudioDecodeError(
                f"Cannot read audio from {name!r}: the decoder returned no audio frames.",
                source=name,
            )
        samples = pcm_to_float(interleaved.reshape(-1, channels).T)
        start, count = self._frame_range(rate)
        return self._apply_range(samples, rate, name, start, count), rate

    def _decode_array(self, source: tuple[Any, ...]) -> tuple[FloatArray, int, str]:
        name = "<array>"
        if len(source) != 2:
            raise MelgenreTypeError(
                f"Cannot load audio from a tuple of length {len(source)}: expected "
                "(samples, sample_rate)."
            )
        raw, rate = source
        try:
            array = np.asarray(raw)
        except (TypeError, ValueError) as exc:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: the samples are not a numeric array ({exc}).",
                source=name,
            ) from exc
        rate = self._check_rate(rate, name, "the given")
        if array.ndim == 1:
            array = array[None, :]
        elif array.ndim != 2 or array.shape[0] > array.shape[1]:
            hint = (
                " It looks channels-last; pass samples.T."
                if array.ndim == 2 and array.shape[1] <= 64
                else ""
            )
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: samples of shape {array.shape} are not "
                f"supported; expected (n,) or (channels, n) with channels <= n.{hint}",
                source=name,
            )
        try:
            samples = pcm_to_float(array)
        except TypeError as exc:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: {exc}.", source=name
            ) from exc
        return self._slice_array(samples, rate, name)

    def _slice_array(
        self, samples: FloatArray, rate: int, name: str
    ) -> tuple[FloatArray, int, str]:
        start, count = self._frame_range(rate)
        return self._apply_range(samples, rate, name, start, count), rate, name

    def _apply_range(
        self, samples: FloatArray, rate: int, name: str, start: int, count: int | None
    ) -> FloatArray:
        total = samples.shape[-1]
        if start and start >= total:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: offset={self.offset} s is at or past the end "
                f"of the audio ({_describe_seconds(total, rate)} long).",
                source=name,
            )
        stop = total if count is None else min(total, start + count)
        return samples[:, start:stop]

    def _finish(self, samples: FloatArray, rate: int, name: str) -> Audio:
        """Check, mix down and resample decoded ``(channels, n)`` samples."""
        if samples.shape[-1] == 0:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: it contains no samples.", source=name
            )
        if self.mono:
            samples = mix_to_mono(samples)
        elif samples.shape[0] == 1:
            samples = samples[0]
        target = rate if self.sample_rate is None else self.sample_rate
        # Check before resampling: soxr would spread a NaN over its neighbours.
        audio = Audio(samples, rate, name)
        if self.min_duration and audio.duration < self.min_duration:
            raise AudioUnusableError(
                f"Cannot use audio from {name!r}: it is {audio.duration:.3f} s long, shorter "
                f"than min_duration={self.min_duration} s.",
                source=name,
            )
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


class _NoAudioStreamError(Exception):
    """audioread opened the file but found no audio in it."""


def _libsndfile_reason(exc: Exception) -> str:
    """Libsndfile's own words, without soundfile's "Error opening <object>:" prefix."""
    text = str(getattr(exc, "error_string", "") or exc)
    if text.startswith("Error opening") and ": " in text:
        text = text.split(": ", 1)[1]
    return text.strip().rstrip(".")
