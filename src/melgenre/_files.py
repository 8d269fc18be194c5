"""Small file utilities shared by the cache, the history and the bundle."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from melgenre._typing import PathLike

__all__ = ["atomic_write", "hash_file"]

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


def atomic_write(path: PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place.

    Readers see the old file or the new one, never half of one. Parent
    folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
