"""Small file utilities shared by the cache, the history and the bundle."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from melgenre._typing import PathLike

__all__ = ["atomic_target", "atomic_write", "hash_file"]

_CHUNK = 1 << 20


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def hash_file(path: PathLike, digest: _Digest) -> str:
    """Feed a file's bytes to ``digest`` in 1 MiB chunks; return its hex digest."""
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_target(path: PathLike, *, suffix: str = ".tmp", fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success rename it to ``path``.

    Readers see the old file or the new one, never half of one. Parent
    folders are created; on error the temporary file is removed. ``suffix``
    ends the temporary name (Keras, for one, wants ``.keras``); ``fsync``
    flushes the file to disk before the rename (survives a power cut too).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: PathLike, data: bytes | str, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place.

    See :func:`atomic_target`.
    """
    with atomic_target(path, fsync=fsync) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)
