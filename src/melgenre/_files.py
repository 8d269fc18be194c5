"""Small file utilities shared by the cache, the data layer, the history and the bundle."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from melgenre._typing import PathLike
from melgenre.errors import SaveError

__all__ = [
    "atomic_target",
    "atomic_write",
    "check_replaceable",
    "content_digest",
    "file_digest",
    "fsync_directory",
    "hash_file",
    "remembered_digest",
    "swap_into_place",
]

logger = logging.getLogger(__name__)

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

    Raises
    ------
    SaveError
        The folder cannot be made or written, or writing or renaming failed
        (an :class:`OSError` too); it names ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    except OSError as exc:
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = f"{str(blocking)!r} is a file" if blocking else exc.strerror or str(exc)
        raise _cannot_write(path, f"its folder cannot be written ({why})") from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, SaveError):
            why = "it is a folder" if path.is_dir() else exc.strerror or str(exc)
            raise _cannot_write(path, f"{why}; what was there before is unchanged") from exc
        raise


def _cannot_write(path: Path, why: str) -> SaveError:
    return SaveError(f"Cannot write {str(path)!r}: {why}; choose another path.", path=str(path))


def atomic_write(path: PathLike, data: bytes | str, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling renamed into place.

    See :func:`atomic_target`.
    """
    with atomic_target(path, fsync=fsync) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)


#: A file modified this close to being hashed is hashed again next time (git's "racy" rule).
RACY_SECONDS = 2

#: Content digests known to this process: path -> (stat signature, hashed at, digest).
_DIGESTS: dict[str, tuple[tuple[int, int, int, int], int, str]] = {}


def file_digest(path: PathLike) -> str:
    """BLAKE2b-128 hex digest of a file's bytes."""
    return hash_file(path, hashlib.blake2b(digest_size=16))


def _fresh(signature: tuple[int, ...], recorded: Any, hashed_ns: int) -> bool:
    """A remembered digest holds while the stat signature is unchanged and was not racy."""
    newest = max(signature[2], signature[3])
    return list(recorded) == list(signature) and newest < hashed_ns - RACY_SECONDS * 10**9


def _memo_path(store: Path, absolute: str) -> Path:
    return store / f"{hashlib.blake2b(absolute.encode(), digest_size=12).hexdigest()}.json"


def remembered_digest(path: PathLike, *, store: Path | None = None) -> str | None:
    """The digest :func:`content_digest` remembers for ``path``, or ``None``; never hashes.

    Raises
    ------
    OSError
        ``path`` cannot be stat-ed.
    """
    return _lookup(Path(path), store)[2]


def _lookup(path: Path, store: Path | None) -> tuple[str, tuple[int, int, int, int], str | None]:
    """``(absolute path, stat signature, remembered digest or None)`` of ``path``."""
    stat = path.stat()
    signature = (stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
    absolute = str(path.resolve())
    return absolute, signature, _remembered(absolute, signature, store)


def _remembered(
    absolute: str, signature: tuple[int, int, int, int], store: Path | None
) -> str | None:
    known = _DIGESTS.get(absolute)
    if known is not None and _fresh(signature, known[0], known[1]):
        return known[2]
    if store is None:
        return None
    try:
        record = json.loads(_memo_path(store, absolute).read_text())
        if record["path"] == absolute and _fresh(signature, record["stat"], record["hashed_ns"]):
            _DIGESTS[absolute] = (signature, int(record["hashed_ns"]), str(record["digest"]))
            return str(record["digest"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def content_digest(path: PathLike, *, store: Path | None = None) -> str:
    """Content digest of ``path``, remembered while the file is unchanged.

    The one content-hash memo of melgenre (duplicate detection and the feature
    cache both use it). "Unchanged" means the same size, inode, modification and
    change times as when it was hashed; as in git, a file modified less than
    :data:`RACY_SECONDS` before it was hashed is hashed again next time, since a
    second write within one timestamp tick would not change its times. The
    digest is remembered in this process and, with ``store``, in a small JSON
    record under that folder, so later runs reuse it too.
    """
    path = Path(path)
    absolute, signature, known = _lookup(path, store)
    if known is not None:
        return known
    hashed_ns = time.time_ns()
    digest = file_digest(path)
    _DIGESTS[absolute] = (signature, hashed_ns, digest)
    if store is not None:
        record = {
            "path": absolute,
            "stat": list(signature),
            "hashed_ns": hashed_ns,
            "digest": digest,
        }
        try:
            atomic_write(_memo_path(store, absolute), json.dumps(record))
        except OSError as exc:  # a read-only cache still works, just slower
            logger.debug("could not remember the digest of %s: %s", path, exc)
    return digest


def fsync_directory(path: Path) -> None:
    """Flush every file in ``path`` and the directory itself to disk."""
    for child in path.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_replaceable(target: Path, marker: str, what: str, error: type[Exception]) -> None:
    """Raise ``error`` unless a save may put ``what`` at ``target``.

    It may where nothing is there, in an empty directory, or in place of an earlier ``what``
    (a directory holding ``marker``); never over a file or a directory of other files,
    which a save would delete; and only where its folder can be written (created if
    missing), which a save finds out only once its work is done.
    """
    if (why := writable_folder(target.parent)) is not None:
        raise error(
            f"Cannot save {what} to {str(target)!r}: its folder cannot be written ({why}); "
            "choose another path."
        )
    if not target.exists():
        return
    if target.is_dir() and ((target / marker).is_file() or not any(target.iterdir())):
        return
    held = "a file" if not target.is_dir() else "a directory of other files"
    raise error(
        f"Cannot save {what} to {str(target)!r}: it is {held}, not {what}; "
        "choose a new path or remove it."
    )


def writable_folder(folder: Path) -> str | None:
    """Create ``folder`` (and its parents) and try a file in it: ``None``, or why not."""
    if folder.exists() and not folder.is_dir():
        return f"{str(folder)!r} is a file"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return str(exc)
    return None


def swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``; an existing directory is moved aside first, then removed.

    Between the two renames the old directory lives at ``.<name>.old-*``
    (:func:`melgenre.bundle.read_manifest` finds a bundle there if a crash happened in that
    instant).
    """
    if not target.exists():
        os.rename(staging, target)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    backup.rmdir()
    os.rename(target, backup)
    os.rename(staging, target)
    shutil.rmtree(backup, ignore_errors=True)
