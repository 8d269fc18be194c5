"""The machinery under :class:`melgenre.AudioLoader`, as plain functions.

Sources sorted out (a path, bytes or a file object to decode; an array to check and
convert), decoder failures turned into melgenre errors, the ``offset``/``duration`` range applied to
decoded samples, the finite and length checks, and a file read block by block
(re-cut to fixed blocks, mixed, checked, resampled by soxr's streaming resampler).
The loader's public methods read as a sequence of these steps.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from melgenre._decode import (
    SUPPORTED,
    check_path,
    check_rate,
    decoder_failed,
    describe_seconds,
    read_blocks,
    seekable,
)
from melgenre._dsp import mix_to_mono, pcm_to_float
from melgenre._typing import FloatArray
from melgenre._validation import counted
from melgenre.errors import AudioDecodeError, AudioError, AudioUnusableError, MelgenreTypeError

__all__ = [
    "array_source",
    "check_finite",
    "check_min_duration",
    "check_not_paths",
    "checked_samples",
    "encoded_source",
    "guarded_decode",
    "mix_down",
    "open_soundfile",
    "source_name",
    "stream_file",
    "take_range",
]

ARRAY = "<array>"


def check_not_paths(source: list[Any] | tuple[Any, ...]) -> None:
    """Raise :class:`MelgenreTypeError` if ``source`` is paths where one recording goes."""
    if source and all(isinstance(item, (str, os.PathLike)) for item in source):
        raise MelgenreTypeError(
            f"Cannot load audio from a {type(source).__name__} of {len(source)} "
            f"path{'s' if len(source) > 1 else ''}: one recording at a time. To classify "
            "several files, use Predictor.predict_many(paths) (or call this once per file)."
        )


def array_source(source: tuple[Any, ...]) -> tuple[FloatArray, int]:
    """A ``(samples, sample_rate)`` pair as ``(channels, n)`` float32 samples and the rate.

    Raises
    ------
    MelgenreTypeError
        Not a pair, or paths (several files where one recording goes).
    AudioUnusableError
        Not numeric, an unsupported shape (channels last, 3-D) or dtype, or a bad rate.
    """
    check_not_paths(source)
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
            f"Cannot use audio from {ARRAY!r}: the samples are not a numeric array ({exc}).",
            source=ARRAY,
        ) from exc
    rate = check_rate(rate, ARRAY, "the given")
    if array.ndim == 1:
        array = array[None, :]
    elif array.ndim != 2 or array.shape[0] > array.shape[1]:
        hint = (
            " It looks channels-last; pass samples.T."
            if array.ndim == 2 and array.shape[1] <= 64
            else ""
        )
        raise AudioUnusableError(
            f"Cannot use audio from {ARRAY!r}: samples of shape {array.shape} are not "
            f"supported; expected (n,) or (channels, n) with channels <= n.{hint}",
            source=ARRAY,
        )
    try:
        return pcm_to_float(array), rate
    except TypeError as exc:
        raise AudioUnusableError(f"Cannot use audio from {ARRAY!r}: {exc}.", source=ARRAY) from exc


def take_range(
    samples: FloatArray, rate: int, name: str, *, start: int, count: int | None, offset: float
) -> FloatArray:
    """``count`` frames (``None``: all) of ``(channels, n)`` samples from frame ``start``.

    ``offset`` is ``start`` in the user's seconds, for the message when it is past the end.
    """
    total = samples.shape[-1]
    if start and start >= total:
        raise AudioUnusableError(
            f"Cannot use audio from {name!r}: offset={offset} s is at or past the end "
            f"of the audio ({describe_seconds(total, rate)} long).",
            source=name,
        )
    stop = total if count is None else min(total, start + count)
    return samples[:, start:stop]


def checked_samples(samples: Any, sample_rate: Any, name: str) -> tuple[FloatArray, int]:
    """:class:`~melgenre.Audio`'s checks: float32 samples as a read-only view, and the rate.

    Raises :class:`AudioUnusableError` for a dtype that is not PCM, a shape that is not
    ``(n,)`` or ``(channels, n)``, a rate that is not a positive int, or NaN/infinity.
    """
    raw = np.asarray(samples)
    try:
        converted = pcm_to_float(raw)
    except TypeError as exc:
        raise AudioUnusableError(
            f"Audio from {name!r} has samples of dtype {raw.dtype}; expected float or integer PCM.",
            source=name,
        ) from exc
    if converted.ndim not in (1, 2):
        raise AudioUnusableError(
            f"Audio from {name!r} has samples of shape {converted.shape}; expected "
            "(n,) for mono or (channels, n) for multi-channel audio.",
            source=name,
        )
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or sample_rate <= 0
    ):
        raise AudioUnusableError(
            f"Audio from {name!r} has sample_rate={sample_rate!r}; expected a positive int (Hz).",
            source=name,
        )
    check_finite(converted, int(sample_rate), name)
    view = np.ascontiguousarray(converted).view()
    view.setflags(write=False)
    return view, int(sample_rate)


def check_finite(samples: FloatArray, rate: int, name: str, *, start: int = 0) -> None:
    """Raise :class:`AudioUnusableError` naming the first NaN or infinity (``start``: offset)."""
    if np.isfinite(samples.sum(dtype=np.float64)):  # NaN and infinity survive a sum
        return
    bad = ~np.isfinite(samples)
    if bad.any():
        first = start + int(np.argwhere(bad)[0][-1])
        raise AudioUnusableError(
            f"Audio from {name!r} contains {counted(int(bad.sum()), 'non-finite sample')} "
            f"(NaN or infinity), the first at sample {first} ({first / rate:.3f} s). "
            "Repair or re-export the file.",
            source=name,
        )


def check_min_duration(seconds: float, name: str, min_duration: float) -> None:
    """Raise :class:`AudioUnusableError` when ``seconds`` is under ``min_duration``."""
    if min_duration and seconds < min_duration:
        raise AudioUnusableError(
            f"Cannot use audio from {name!r}: it is {seconds:.3f} s long, shorter "
            f"than min_duration={min_duration} s.",
            source=name,
        )


def stream_file(
    handle: Any,
    name: str,
    *,
    rate: int,
    mono: bool,
    start: int,
    count: int | None,
    offset: float,
    sample_rate: int | None,
    quality: str,
    block_seconds: float,
    min_duration: float,
) -> Iterator[tuple[FloatArray, int]]:
    """``(samples, rate)`` blocks of an open ``soundfile.SoundFile``: read, mixed, resampled.

    ``rate`` is the file's (checked) sample rate. The blocks joined equal the whole
    file read, mixed (:func:`mix_down`) and resampled to ``sample_rate`` (``None``: the
    file's rate) in one go; each block is checked for non-finite samples before soxr
    would spread them.
    """
    target = rate if sample_rate is None else sample_rate
    width = 1 if mono else int(handle.channels)
    resampler = None
    if target != rate:
        import soxr

        resampler = soxr.ResampleStream(rate, target, width, dtype="float32", quality=quality)
    blocks = read_blocks(handle, name, start=start, count=count, offset=offset)
    total = 0
    for block in _regroup(blocks, max(1, round(block_seconds * rate))):
        piece = mix_down(block, mono)
        check_finite(piece, rate, name, start=total)
        total += piece.shape[-1]
        if resampler is not None:
            piece = _resample_chunk(resampler, piece, last=False)
        if piece.shape[-1]:
            yield piece, target
    check_min_duration(total / rate, name, min_duration)
    if resampler is not None:
        empty = np.zeros(0 if width == 1 else (width, 0), np.float32)
        tail = _resample_chunk(resampler, empty, last=True)
        if tail.shape[-1]:
            yield tail, target


def mix_down(samples: FloatArray, mono: bool) -> FloatArray:
    """Decoded ``(channels, n)`` samples as a loader returns them: mono ``(n,)`` or as they are."""
    if mono:
        return mix_to_mono(samples)
    return samples[0] if samples.shape[0] == 1 else samples


def _regroup(blocks: Iterator[FloatArray], size: int) -> Iterator[FloatArray]:
    """Re-cut ``(channels, n)`` blocks into blocks of ``size`` frames (the last may be shorter)."""
    pending: list[FloatArray] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += block.shape[-1]
        while held >= size:
            joined = np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
            yield joined[:, :size]
            rest = joined[:, size:]
            pending, held = ([rest], rest.shape[-1]) if rest.shape[-1] else ([], 0)
    if held:
        yield np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]


def _resample_chunk(resampler: Any, samples: FloatArray, *, last: bool) -> FloatArray:
    """One step of soxr's stream resampler on ``(n,)`` or ``(channels, n)`` samples."""
    out = resampler.resample_chunk(np.ascontiguousarray(samples.T), last=last)
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).T)


def source_name(source: Any) -> str:
    """How melgenre names ``source`` in messages and results (a path, ``"<bytes>"``, ...)."""
    from melgenre.audio import Audio

    if isinstance(source, Audio):
        return source.source
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        return name if isinstance(name, str) else repr(name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    if isinstance(source, tuple):
        return ARRAY
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<file object>"


def encoded_source(source: Any) -> tuple[str | IO[bytes], str]:
    """What a decoder reads for a path, bytes or binary file object, and the source's name.

    Raises
    ------
    AudioFileNotFoundError, AudioDecodeError
        A missing path, a directory, an empty file or empty bytes.
    MelgenreTypeError
        A bytes path, a text-mode file object, or a type no loader reads.
    """
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if not isinstance(name, str):
            raise MelgenreTypeError(
                f"Cannot read audio from {name!r}: paths must be str, got bytes. "
                "Decode the path first."
            )
        check_path(Path(name), name)
        return name, name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise AudioDecodeError(
                "Cannot read audio from '<bytes>': the bytes are empty (0 bytes). "
                f"Expected an encoded audio file ({SUPPORTED}).",
                source="<bytes>",
            )
        return io.BytesIO(data), "<bytes>"
    if isinstance(source, io.TextIOBase):
        raise MelgenreTypeError(
            f"Cannot read audio from {getattr(source, 'name', '<file object>')!r}: the "
            "file object is open in text mode. Open it in binary mode ('rb')."
        )
    if hasattr(source, "read"):
        name = source_name(source)
        return seekable(source, name), name
    if isinstance(source, np.ndarray):  # librosa's habit: y alone, its rate elsewhere
        raise MelgenreTypeError(
            "Cannot load audio from a bare NumPy array: its sample rate is unknown. Pass "
            "(samples, sample_rate) or melgenre.Audio(samples, sample_rate)."
        )
    if isinstance(source, list):
        check_not_paths(source)
    raise MelgenreTypeError(
        f"Cannot load audio from an object of type {type(source).__name__}: expected a path "
        "(str or os.PathLike), a binary file object, bytes, a (samples, sample_rate) tuple "
        "or melgenre.Audio."
    )


def guarded_decode(
    decode: Callable[[str | IO[bytes], str], tuple[FloatArray, int]],
    file: str | IO[bytes],
    name: str,
) -> tuple[FloatArray, int]:
    """Call a loader's ``decode``, turning any decoder failure into :class:`AudioDecodeError`.

    Third-party decoders raise many exception types on corrupt input; the promise of
    ``AudioLoader.load`` is that only melgenre errors come out.
    """
    try:
        return decode(file, name)
    except (AudioError, MelgenreTypeError, MemoryError):
        raise
    except Exception as exc:
        raise decoder_failed(name, exc) from exc


def open_soundfile(source: Any) -> Any:
    """An open ``soundfile.SoundFile`` for a path libsndfile reads, else ``None``.

    ``None`` for anything but a str path, and for a file libsndfile cannot open (the
    audioread fallback decodes it whole).
    """
    if not isinstance(source, (str, os.PathLike)):
        return None
    name = os.fspath(source)
    if not isinstance(name, str):
        return None
    check_path(Path(name), name)
    import soundfile as sf

    try:
        return sf.SoundFile(name)
    except sf.SoundFileError:
        return None
    except Exception as exc:
        raise decoder_failed(name, exc) from exc
