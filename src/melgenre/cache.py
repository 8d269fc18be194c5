"""A content-keyed, on-disk cache of feature windows.

An entry is keyed by *what the audio is* (a hash of the file's bytes) and *how
it was turned into features* (the loader's and featurizer's classes and
configs, plus :data:`CACHE_VERSION`). Renaming or moving a file keeps its
entry; changing a byte of it, or any preprocessing parameter, misses.

Layout::

    cache_dir/
      features/<preprocessing key>/<content hash>.npz   one entry per file
      hashes/<path key>.json                            content-hash memo (size, times)
      sets/<set key>.npy                                consolidated windows of a FeatureSet
      reports/<set key>.json                            files that failed, and why

Entries are written to a temporary file and renamed into place, so readers
never see half an entry. They are ``.npz`` archives, whose members carry a
CRC-32 that is checked on read: a damaged entry is detected, logged, deleted
and recomputed, never trusted.

Hashing every file's bytes on each run would make warm runs slow, so a file's
content hash is remembered together with its size, inode and times (as git's
index does) and reused while those are unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from melgenre._config import Component
from melgenre._files import atomic_write, hash_file
from melgenre._typing import FloatArray, PathLike

__all__ = ["CACHE_VERSION", "FeatureCache", "file_digest", "preprocessing_key"]

logger = logging.getLogger(__name__)

#: Bump when the features computed for the same configuration change.
CACHE_VERSION = 1

#: A file modified this close to being hashed is hashed again next time.
RACY_SECONDS = 2


def file_digest(path: PathLike) -> str:
    """BLAKE2b-128 hex digest of a file's bytes."""
    return hash_file(path, hashlib.blake2b(digest_size=16))


def preprocessing_key(*components: Component) -> str:
    """A short hash naming the preprocessing done by ``components`` (class + config)."""
    spec = [
        {"class": f"{type(c).__module__}.{type(c).__qualname__}", "config": c.get_config()}
        for c in components
    ]
    text = json.dumps({"cache_version": CACHE_VERSION, "components": spec}, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class FeatureCache:
    """Feature windows on disk, keyed by file content and preprocessing.

    Parameters
    ----------
    root : str or os.PathLike
        The cache directory (created when needed). Safe to share between
        processes and machines on shared storage: every write is atomic.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from melgenre import AudioLoader, MelFeaturizer
    >>> from melgenre.cache import FeatureCache, preprocessing_key
    >>> cache = FeatureCache(tempfile.mkdtemp())
    >>> key = preprocessing_key(AudioLoader(), MelFeaturizer())
    >>> path = cache.put(key, "0123abcd", np.zeros((2, 128, 128, 1), np.float32))
    >>> cache.get(key, "0123abcd").shape
    (2, 128, 128, 1)
    """

    def __init__(self, root: PathLike) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.root)!r})"

    # -------------------------------------------------------------- entries

    def entry_path(self, key: str, digest: str) -> Path:
        """Where the entry for content ``digest`` under preprocessing ``key`` lives."""
        return self.root / "features" / key / f"{digest}.npz"

    def get(
        self, key: str, digest: str, *, shape: tuple[int, ...] | None = None
    ) -> FloatArray | None:
        """Return the cached windows, or ``None`` on a miss or a damaged entry.

        Parameters
        ----------
        key, digest : str
            Preprocessing key and content digest.
        shape : tuple of int, optional
            Expected shape of one window; an entry of another shape is damaged.
        """
        path = self.entry_path(key, digest)
        try:
            with np.load(path, allow_pickle=False) as archive:
                windows = archive["windows"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            self._discard(path, f"{type(exc).__name__}: {exc}")
            return None
        valid = (
            windows.dtype == np.float32
            and windows.ndim >= 2
            and len(windows) > 0
            and (shape is None or tuple(windows.shape[1:]) == tuple(shape))
        )
        if not valid:
            self._discard(path, f"unexpected array {windows.dtype}{windows.shape}")
            return None
        result: FloatArray = windows
        return result

    def put(self, key: str, digest: str, windows: FloatArray) -> Path:
        """Store ``windows`` atomically; return the entry's path."""
        path = self.entry_path(key, digest)
        buffer = io.BytesIO()
        np.savez(buffer, windows=np.ascontiguousarray(windows, dtype=np.float32))
        atomic_write(path, buffer.getvalue())
        return path

    def _discard(self, path: Path, reason: str) -> None:
        logger.warning("Ignoring damaged cache entry %s (%s); recomputing it.", path, reason)
        path.unlink(missing_ok=True)

    # --------------------------------------------------------- content hashes

    def digest(self, path: PathLike) -> str:
        """Content digest of ``path``, reusing a remembered one while the file is unchanged.

        "Unchanged" means the same size, inode, modification and change times
        as when it was hashed. As in git, a file modified less than
        :data:`RACY_SECONDS` before it was hashed is re-hashed next time: a
        second write within one timestamp tick would not change its times.
        """
        path = Path(path)
        stat = path.stat()
        absolute = str(path.resolve())
        name = hashlib.blake2b(absolute.encode(), digest_size=12).hexdigest()
        memo = self.root / "hashes" / f"{name}.json"
        signature = [stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns]
        try:
            record = json.loads(memo.read_text())
            racy = (
                max(stat.st_mtime_ns, stat.st_ctime_ns)
                >= record["hashed_ns"] - RACY_SECONDS * 10**9
            )
            if record["path"] == absolute and record["stat"] == signature and not racy:
                return str(record["digest"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        hashed_ns = time.time_ns()
        digest = file_digest(path)
        record = {"path": absolute, "stat": signature, "hashed_ns": hashed_ns, "digest": digest}
        try:
            atomic_write(memo, json.dumps(record).encode())
        except OSError as exc:  # a read-only cache still works, just slower
            logger.debug("could not remember the digest of %s: %s", path, exc)
        return digest

    # ---------------------------------------------------------------- reports

    def write_report(self, name: str, report: dict[str, Any]) -> Path:
        """Write a JSON report to ``reports/<name>.json`` atomically; return its path."""
        path = self.root / "reports" / f"{name}.json"
        atomic_write(path, (json.dumps(report, indent=2) + "\n").encode())
        return path

    def set_path(self, name: str) -> Path:
        """Path of the consolidated array of a feature set."""
        return self.root / "sets" / f"{name}.npy"
