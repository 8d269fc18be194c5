"""Decoding helpers under :class:`melgenre.AudioLoader`: libsndfile first, audioread after.

Functions here turn sources into ``(channels, n)`` float32 samples at the
source's own rate and turn every decoder failure into a melgenre error that
names the source. Mixing, resampling and the final checks are the loader's.
"""

from __future__ import annotations

import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from melgenre._dsp import pcm_to_float
from melgenre._typing import FloatArray
from melgenre.errors import (
    AudioDecodeError,
    AudioError,
    AudioFileNotFoundError,
    AudioUnusableError,
    MelgenreTypeError,
)

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "SUPPORTED",
    "check_path",
    "check_rate",
    "decode_with_audioread",
    "decoder_failed",
    "libsndfile_reason",
    "read_blocks",
    "seekable",
]

logger = logging.getLogger(__name__)

#: Sample rates (Hz) melgenre accepts, for files, arrays and targets. Below
#: 1 kHz is not audio; the bounds also stop a corrupt header from asking the
#: resampler for billions of samples.
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 1_536_000

#: Samples (frames x channels) read per block: files are read incrementally,
#: never trusting a header's frame count (or channel count) for one allocation.
BLOCK_SAMPLES = 1 << 20

#: libsndfile logs a chunk whose declared size exceeds the file as
#: ``data : 88200 (should be 44078)`` (WAV, W64, RF64) or ``SSND : ...`` (AIFF).
_SHORT_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
#: Declared sizes that mean "unknown length" (streamed or RF64 placeholder).
_UNKNOWN_SIZES = frozenset({0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFF - 1})

SUPPORTED = "WAV, FLAC, OGG/Vorbis, MP3, AIFF, ..."


def describe_seconds(samples: int, rate: int) -> str:
    """``"1.234 s"`` for a number of samples at ``rate``."""
    return f"{samples / rate:.3f} s"


def decoder_failed(name: str, exc: Exception) -> AudioDecodeError:
    """The error for a third-party decoder's own exception on ``name`` (corrupt input)."""
    return AudioDecodeError(
        f"Cannot read audio from {name!r}: the decoder failed "
        f"({type(exc).__name__}: {exc}). The file is probably corrupt.",
        source=name,
    )


def check_path(path: Path, name: str) -> None:
    """Raise the melgenre error a missing, empty, unreadable or folder path deserves."""
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
            f"Expected an audio file ({SUPPORTED}).",
            source=name,
        )
    if not os.access(path, os.R_OK):
        raise AudioDecodeError(f"Cannot read audio from {name!r}: permission denied.", source=name)


def seekable(fileobj: Any, name: str) -> IO[bytes]:
    """Return a seekable binary file object positioned at the audio's start."""
    try:
        can_seek = bool(fileobj.seekable())
    except (AttributeError, OSError, ValueError):
        can_seek = False
    if can_seek:
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
            f"Cannot read audio from {name!r}: the file object returned no bytes.", source=name
        )
    return io.BytesIO(data)


def check_rate(rate: Any, name: str, what: str) -> int:
    """``rate`` as an int in the accepted range, or :class:`AudioUnusableError`."""
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


def read_blocks(
    handle: Any, name: str, *, start: int, count: int | None, offset: float
) -> Iterator[FloatArray]:
    """Read an open ``soundfile.SoundFile`` block by block as ``(channels, n)`` float32.

    Starts ``start`` frames in and reads at most ``count`` frames (all when
    ``None``). Raises :class:`AudioDecodeError` for a header-only, truncated or
    corrupt file (the truncation check runs after the last block) and
    :class:`AudioUnusableError` when ``start`` is past the end (``offset`` is
    the seconds the caller asked for, for the message).
    """
    import soundfile as sf

    rate = int(handle.samplerate)
    channels = int(handle.channels)
    declared = int(handle.frames)
    block_frames = max(1, BLOCK_SAMPLES // max(channels, 1))
    if declared == 0:
        raise AudioDecodeError(
            f"Cannot read audio from {name!r}: the file has a valid header but no audio "
            "frames (header only, or cut off right after the header).",
            source=name,
        )
    if start and 0 < declared <= start:
        raise AudioUnusableError(
            f"Cannot use audio from {name!r}: offset={offset} s is at or past the end "
            f"of the audio ({describe_seconds(declared, rate)} long).",
            source=name,
        )
    read = 0
    try:
        if start:
            handle.seek(start)
        remaining = count
        while remaining is None or remaining > 0:
            want = block_frames if remaining is None else min(block_frames, remaining)
            block = handle.read(want, dtype="float32", always_2d=True)
            if len(block):
                read += len(block)
                yield np.ascontiguousarray(block.T)
            if remaining is not None:
                remaining -= len(block)
            if len(block) < want:
                break
    except sf.SoundFileError as exc:
        raise AudioDecodeError(
            f"Cannot read audio from {name!r}: the file is truncated or corrupt "
            f"({libsndfile_reason(exc)}).",
            source=name,
        ) from exc
    _check_truncated(handle, name, declared=declared, read=read, start=start, count=count)
    if read == 0:
        raise AudioDecodeError(
            f"Cannot read audio from {name!r}: no audio frames could be decoded.", source=name
        )


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
            "%r decoded to %d frames, %d fewer than its header announces; using what was decoded.",
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


class _NoAudioStreamError(Exception):
    """audioread opened the file but found no audio in it."""


def decode_with_audioread(
    file: str | IO[bytes], name: str, *, soundfile_reason: str
) -> tuple[FloatArray, int]:
    """Decode with audioread what libsndfile cannot read (needs FFmpeg or GStreamer).

    Returns the whole file as ``(channels, n)`` float32 and its rate.
    """
    try:
        import audioread
    except ImportError:
        raise AudioDecodeError(
            f"Cannot read audio from {name!r}: libsndfile cannot read it "
            f"({soundfile_reason}) and audioread is not installed. Expected an audio file "
            f"({SUPPORTED}).",
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
            rate = check_rate(raw_rate, name, "the file's")
            pcm = b"".join(decoder)
    except AudioError:
        raise
    except Exception as exc:
        other = (
            _no_backend_reason(audioread)
            if type(exc).__name__ == "NoBackendError"
            else f"audioread: {exc}"
            if isinstance(exc, _NoAudioStreamError)
            else f"audioread: {type(exc).__name__}" + (f": {exc}" if str(exc) else "")
        )
        raise AudioDecodeError(
            f"Cannot read audio from {name!r}: it is not an audio file melgenre can decode "
            f"(libsndfile: {soundfile_reason}; {other}). Expected an audio file "
            f"({SUPPORTED}).",
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
    return pcm_to_float(interleaved.reshape(-1, channels).T), rate


def _no_backend_reason(audioread: Any) -> str:
    """Why audioread gave up: no decoder for compressed audio, or every one failed.

    audioread raises ``NoBackendError`` in both cases; its always-present reader of plain
    WAV/AIFF (``RawAudioFile``) does not count as a decoder here.
    """
    decoders = [
        backend.__name__
        for backend in audioread.available_backends()
        if backend.__name__ != "RawAudioFile"
    ]
    if not decoders:
        return "no audioread backend is available (install FFmpeg for formats such as AAC/M4A)"
    return f"audioread's {', '.join(decoders)} could not decode it either"


def libsndfile_reason(exc: Exception) -> str:
    """Libsndfile's own words, without soundfile's "Error opening <object>:" prefix.

    Only called for a regular file that exists (or a file object): libsndfile's "File
    does not exist or is not a regular file (possibly a pipe?)", which it gives for a
    ``.mp3`` whose bytes are not MPEG audio, would send a user looking for a missing
    file, so it is said as what it means there.
    """
    text = str(getattr(exc, "error_string", "") or exc)
    if text.startswith("Error opening") and ": " in text:
        text = text.split(": ", 1)[1]
    text = text.strip().rstrip(".")
    if text.startswith(_NOT_A_REGULAR_FILE):
        return "Format not recognised"
    return text


#: libsndfile's SFE_BAD_FILE message, which it also gives for unreadable MPEG data.
_NOT_A_REGULAR_FILE = "File does not exist or is not a regular file"
