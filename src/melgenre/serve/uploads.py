"""Request bodies into temporary files, within limits, and the rejections that say why not.

An upload is written to disk as it arrives (never held whole in memory), counted against
``max_bytes`` on the way, and its decoded length is read from the file's header before
anything is decoded, so a ten-hour silent FLAC (a few kilobytes) is refused at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import IO, Any

from melgenre.audio import AudioLoader
from melgenre.errors import MelgenreError

__all__ = [
    "AUDIO_TYPES",
    "RequestError",
    "Upload",
    "check_content_type",
    "decoded_seconds",
    "receive_raw",
    "receive_upload",
]

#: Content types a raw ``POST /predict`` body may have (any ``audio/*`` is accepted too).
AUDIO_TYPES = ("application/octet-stream",)

#: File name extensions for common audio content types (libsndfile sniffs the rest).
_EXTENSIONS = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/vorbis": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/aiff": ".aiff",
    "audio/x-aiff": ".aiff",
}

_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


class RequestError(MelgenreError):
    """A request the service refuses, with the HTTP status that says why.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    status : int
        413 (too large or too long), 415 (content type), 408 (upload too slow), ...
    headers : dict, optional
        Extra response headers (``Retry-After``).
    """

    def __init__(self, message: str, *, status: int, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


class Upload:
    """An uploaded recording in a temporary file, removed by :meth:`remove`."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self.claimed = False  # True once a job owns the file (and removes it when done)

    def __repr__(self) -> str:
        return f"Upload(name={self.name!r}, path={str(self.path)!r})"

    def remove(self) -> None:
        """Delete the temporary file (idempotent)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def media_type(content_type: str | None) -> str:
    """``"audio/wav"`` from ``"audio/wav; rate=44100"``; ``""`` when absent."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_content_type(content_type: str | None) -> str:
    """The request's media type if ``POST /predict`` accepts it, else a 415 rejection.

    Accepted: ``audio/*``, ``application/octet-stream``, ``multipart/form-data`` and no
    content type at all (the decoder sniffs the format).
    """
    kind = media_type(content_type)
    if not kind or kind.startswith("audio/") or kind in AUDIO_TYPES:
        return kind
    if kind == "multipart/form-data":
        return kind
    hint = ""
    if kind == "application/x-www-form-urlencoded":
        hint = (
            " (curl --data-binary sends this by default: add -H 'Content-Type: audio/wav', "
            "or upload with -F file=@song.wav)"
        )
    raise RequestError(
        f"Cannot classify a body of type {kind}{hint}. Send the audio file itself with an audio/* "
        "or application/octet-stream content type, or as the 'file' field of a "
        "multipart/form-data upload.",
        status=415,
    )


def check_declared_length(headers: Any, max_bytes: int) -> None:
    """Refuse a body whose ``Content-Length`` is over ``max_bytes`` before reading it."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(int(declared), max_bytes)


def _too_large(size: int, max_bytes: int) -> RequestError:
    return RequestError(
        f"The upload is {_size(size)}, over this server's limit of {_size(max_bytes)} "
        "(melgenre serve --max-bytes).",
        status=413,
    )


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _suffix(name: str | None, kind: str) -> str:
    suffix = Path(name or "").suffix
    if _SAFE_SUFFIX.fullmatch(suffix):
        return suffix.lower()
    return _EXTENSIONS.get(kind, "")


async def receive_raw(
    chunks: AsyncIterator[bytes], *, kind: str, max_bytes: int, directory: str | None = None
) -> Upload:
    """Write a raw request body to a temporary file, refusing it (413) past ``max_bytes``."""

    async def fill(out: IO[bytes]) -> None:
        async for chunk in _limited(chunks, max_bytes):
            out.write(chunk)

    return await _spool("<body>", _suffix(None, kind), directory, fill)


async def receive_upload(
    headers: Any, chunks: AsyncIterator[bytes], *, max_bytes: int, directory: str | None = None
) -> Upload:
    """The ``file`` field (or the only file) of a multipart body, in a temporary file."""
    from starlette.formparsers import MultiPartException, MultiPartParser

    parser = MultiPartParser(headers, _limited(chunks, max_bytes), max_files=4, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise RequestError(f"Cannot read the multipart upload: {exc.message}", status=400) from exc
    try:
        part = _the_file(form)
        source = part.file

        async def fill(out: IO[bytes]) -> None:
            await asyncio.to_thread(shutil.copyfileobj, source, out, 1 << 20)

        source.seek(0)
        suffix = _suffix(part.filename, media_type(part.content_type))
        return await _spool(part.filename or "<upload>", suffix, directory, fill)
    finally:
        await form.close()


def _the_file(form: Any) -> Any:
    """The one recording of a multipart form: the field ``file``, or the only file sent."""
    files = [value for _, value in form.multi_items() if not isinstance(value, str)]
    named = [value for value in form.getlist("file") if not isinstance(value, str)]
    if len(named) == 1:
        return named[0]
    if not named and len(files) == 1:
        return files[0]
    if files:
        where = "in the field 'file'" if named else "and none in the field 'file'"
        raise RequestError(
            f"The multipart upload holds {len(files)} files {where}: /predict classifies one "
            "recording a request; send each in its own, as the field 'file'.",
            status=400,
        )
    raise RequestError(
        "The multipart upload has no audio file: send it as the field 'file' "
        "(curl -F file=@song.wav ...).",
        status=400,
    )


async def _limited(chunks: AsyncIterator[bytes], max_bytes: int) -> AsyncGenerator[bytes, None]:
    """``chunks`` as they come, refused with 413 as soon as they pass ``max_bytes``."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(size, max_bytes)
        yield chunk


async def _spool(
    name: str,
    suffix: str,
    directory: str | None,
    fill: Callable[[IO[bytes]], Awaitable[None]],
) -> Upload:
    """A temporary file written by ``fill``; removed again if ``fill`` fails or is cancelled."""
    fd, path = tempfile.mkstemp(prefix="melgenre-upload-", suffix=suffix, dir=directory)
    upload = Upload(Path(path), name)
    try:
        with os.fdopen(fd, "wb") as out:
            await fill(out)
    except BaseException:
        upload.remove()
        raise
    return upload


def decoded_seconds(path: Path, loader: AudioLoader) -> float | None:
    """Seconds of audio the loader would decode from ``path``, read from its header.

    ``None`` when no decoder can read the header (the loader's own error says why
    when it tries). The loader's ``offset`` and ``duration`` are taken into account:
    a model that reads the first 30 s of a file decodes no more of a long one.
    """
    import soundfile as sf

    total: float | None = None
    try:
        info = sf.info(str(path))
        if info.samplerate > 0:
            total = info.frames / info.samplerate
    except Exception:
        try:
            import audioread

            with audioread.audio_open(str(path)) as handle:
                total = float(handle.duration)
        except Exception:
            return None
    if total is None:
        return None
    seconds = max(0.0, total - loader.offset)
    return seconds if loader.duration is None else min(seconds, loader.duration)
