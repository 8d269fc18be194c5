"""A content-keyed, on-disk cache of feature windows.

An entry is keyed by *what the audio is* (a hash of the file's bytes) and *how
it was turned into features* (the loader's and featurizer's classes and
configs, the source code of a class of yours, plus :data:`CACHE_VERSION`).
Renaming or moving a file keeps its entry; changing a byte of it, any
preprocessing parameter or a custom loader's or featurizer's code, misses.

Every on-disk format of the cache lives here. Layout::

    cache_dir/
      features/<preprocessing key>/<content hash>.npz   one entry per file: windows, chroma,
                                                        remarks (silent, damaged)
      hashes/<path key>.json                            content-hash memo (size, times)
      sets/<set key>.npy                                consolidated windows of a FeatureSet
      sets/<set key>.chroma.npy                         consolidated chroma frames of its files
      sets/<set key>.json                               its metadata: files, window and chroma
                                                        frame counts, failures, remarks
      reports/<set key>.json                            files that failed, and why

Entries are written to a temporary file and renamed into place, so readers
never see half an entry. They are ``.npz`` archives, whose members carry a
CRC-32 that is checked on read: a damaged entry is detected, logged, deleted
and recomputed, never trusted.

Hashing every file's bytes on each run would make warm runs slow, so a file's
content hash is remembered together with its size, inode and times (as git's
index does) and reused while those are unchanged
(:func:`melgenre._files.content_digest`).

A *set* is the consolidated, memory-mapped array of every window of a list of
files, keyed by the preprocessing and the ordered list of the files' contents;
:mod:`melgenre.extraction` writes and reuses them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from melgenre._config import Component
from melgenre._files import atomic_write, content_digest, file_digest, remembered_digest
from melgenre._npy_join import join_members
from melgenre._registry import source_hash
from melgenre._typing import FloatArray, IntArray, PathLike

__all__ = ["CACHE_VERSION", "FeatureCache", "StoredSet", "file_digest", "preprocessing_key"]

logger = logging.getLogger(__name__)

#: Bump when the features computed for the same configuration change (2: entries and sets
#: hold each file's chroma beside its windows; 3: the chroma read at the recording's tuning).
CACHE_VERSION = 3


def preprocessing_key(*components: Component) -> str:
    """A short hash naming the preprocessing done by ``components``.

    Each component's class and config; for a class defined outside melgenre (a
    subclass of yours), also the source code of its classes, as ``joblib.Memory``
    hashes a function's code: editing a custom loader's or featurizer's code computes
    its features anew rather than reusing the old ones.
    """
    spec = []
    for c in components:
        entry = {"class": f"{type(c).__module__}.{type(c).__qualname__}", "config": c.get_config()}
        code = source_hash(type(c))
        if code:
            entry["code"] = code
        spec.append(entry)
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
        entry = self.get_entry(key, digest, shape=shape)
        return None if entry is None else entry[0]

    def get_entry(
        self, key: str, digest: str, *, shape: tuple[int, ...] | None = None
    ) -> tuple[FloatArray, FloatArray | None] | None:
        """The cached ``(windows, chroma)`` (chroma ``None`` when not stored), or ``None``.

        As :meth:`get`; a chroma that is not ``(frames, 12)`` float32 makes the entry
        damaged.
        """
        entry = self.read_entry(key, digest, shape=shape)
        return None if entry is None else entry[:2]

    def read_entry(
        self, key: str, digest: str, *, shape: tuple[int, ...] | None = None
    ) -> tuple[FloatArray, FloatArray | None, tuple[str, ...]] | None:
        """As :meth:`get_entry`, with the remarks stored by :meth:`put`, in one read."""
        path = self.entry_path(key, digest)
        try:
            with np.load(path, allow_pickle=False) as archive:
                windows = archive["windows"]
                chroma = archive["chroma"] if "chroma" in archive.files else None
                stored = archive["remarks"] if "remarks" in archive.files else ()
                remarks = tuple(str(remark) for remark in np.asarray(stored).tolist())
        except FileNotFoundError:
            return None
        except (NotADirectoryError, IsADirectoryError, PermissionError):
            raise  # the cache's folders are at fault, not this entry
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
        if chroma is not None and (chroma.dtype != np.float32 or chroma.shape[1:] != (12,)):
            self._discard(path, f"unexpected chroma {chroma.dtype}{chroma.shape}")
            return None
        return windows, chroma, remarks

    def put(
        self,
        key: str,
        digest: str,
        windows: FloatArray,
        chroma: FloatArray | None = None,
        *,
        remarks: Sequence[str] = (),
    ) -> Path:
        """Store ``windows`` (and the file's ``(frames, 12)`` chroma) atomically: its path.

        ``remarks``: what extraction noticed in the audio (``"silent"``, ``"damaged"``),
        for :meth:`read_entry`: a cached file is reported as when it was decoded.
        """
        path = self.entry_path(key, digest)
        buffer = io.BytesIO()
        arrays = {"windows": np.ascontiguousarray(windows, dtype=np.float32)}
        if chroma is not None:
            arrays["chroma"] = np.ascontiguousarray(chroma, dtype=np.float32)
        if remarks:
            arrays["remarks"] = np.array(list(remarks), dtype=str)
        np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub: allow_pickle
        atomic_write(path, buffer.getvalue())
        return path

    def _discard(self, path: Path, reason: str) -> None:
        logger.warning("Ignoring damaged cache entry %s (%s); recomputing it.", path, reason)
        path.unlink(missing_ok=True)

    # --------------------------------------------------------- content hashes

    def digest(self, path: PathLike) -> str:
        """Content digest of ``path``, remembered under ``hashes/`` while the file is unchanged.

        See :func:`melgenre._files.content_digest` (the same memo duplicate
        detection uses).
        """
        return content_digest(path, store=self.root / "hashes")

    def remembered_digest(self, path: PathLike) -> str | None:
        """The digest :meth:`digest` remembers for ``path``, or ``None`` (never hashes)."""
        return remembered_digest(path, store=self.root / "hashes")

    # ---------------------------------------------------------------- reports

    def write_report(self, name: str, report: dict[str, Any]) -> Path:
        """Write a JSON report to ``reports/<name>.json`` atomically; return its path."""
        path = self.root / "reports" / f"{name}.json"
        atomic_write(path, (json.dumps(report, indent=2) + "\n").encode())
        return path

    # ------------------------------------------------------------------- sets

    def set_path(self, name: str) -> Path:
        """Path of the consolidated array of a feature set."""
        return self.root / "sets" / f"{name}.npy"

    @staticmethod
    def set_key(key: str, digests: Iterable[str]) -> str:
        """Key of a consolidated set: preprocessing ``key`` + the ordered content digests."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(key.encode())
        for item in digests:
            digest.update(item.encode())
        return digest.hexdigest()

    def read_set(self, name: str, *, shape: tuple[int, ...], n_paths: int) -> StoredSet | None:
        """The consolidated set ``name`` (memory-mapped), or ``None`` when absent or damaged.

        ``shape`` is one window's shape and ``n_paths`` the number of files the
        set must describe; a set that disagrees is damaged (logged, rebuilt).
        """
        x_path = self.set_path(name)
        try:
            meta = json.loads(x_path.with_suffix(".json").read_text())
            x = np.load(x_path, mmap_mode="r")
            counts = np.array(meta["counts"], dtype=np.int64)
            files = np.array(meta["files"], dtype=np.int64)
            if (
                tuple(x.shape[1:]) != tuple(shape)
                or x.dtype != np.float32
                or int(counts.sum()) != len(x)
                or len(meta["paths"]) != n_paths
            ):
                raise ValueError("inconsistent feature set")
            chroma, chroma_counts = self._read_chroma(name, meta, len(files))
            stored = StoredSet(
                x=x,
                files=files,
                counts=counts,
                paths=[str(p) for p in meta["paths"]],
                failures=[dict(f) for f in meta["failures"]],
                report_path=meta.get("report_path"),
                chroma=chroma,
                chroma_counts=chroma_counts,
                remarks={str(k): [int(i) for i in v] for k, v in meta.get("remarks", {}).items()},
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("Ignoring damaged feature set %s (%s); rebuilding it.", x_path, exc)
            return None
        logger.info("Reused cached features of %d files from %s.", len(files), x_path)
        return stored

    def chroma_path(self, name: str) -> Path:
        """Path of the consolidated chroma frames of a feature set."""
        return self.root / "sets" / f"{name}.chroma.npy"

    def _read_chroma(
        self, name: str, meta: dict[str, Any], n_files: int
    ) -> tuple[FloatArray | None, IntArray | None]:
        """A set's chroma and per-file frame counts; ``(None, None)`` for a set without them."""
        if "chroma_counts" not in meta:
            return None, None
        counts = np.array(meta["chroma_counts"], dtype=np.int64)
        chroma = np.load(self.chroma_path(name), mmap_mode="r")
        if (
            chroma.dtype != np.float32
            or chroma.shape[1:] != (12,)
            or len(counts) != n_files
            or int(counts.sum()) != len(chroma)
        ):
            raise ValueError("inconsistent chroma")
        return chroma, counts

    def write_set(
        self,
        name: str,
        key: str,
        entries: Sequence[tuple[str, int]],
        *,
        shape: tuple[int, ...],
        recompute: Callable[[int], FloatArray],
    ) -> FloatArray:
        """Join entries of ``key`` into the consolidated set ``name``, atomically; memory-map it.

        Parameters
        ----------
        name, key : str
            The set's name and the entries' preprocessing key.
        entries : sequence of (digest, n_windows)
            The entries, in set order, and how many windows each must hold.
        shape : tuple of int
            One window's shape.
        recompute : callable
            ``recompute(i)`` gives entry ``i``'s windows when its file vanished or does
            not hold ``n_windows`` windows of ``shape``.

        Notes
        -----
        The windows' bytes are copied from entry file to set file by the kernel
        (``os.copy_file_range``), without a pass through Python: the entries were
        checked (CRC) or written by the extraction that calls this.
        """
        sources = [(self.entry_path(key, digest), n) for digest, n in entries]
        return join_members(self.set_path(name), sources, "windows", shape, recompute)

    def write_chroma(
        self,
        name: str,
        key: str,
        entries: Sequence[tuple[str, int]],
        *,
        recompute: Callable[[int], FloatArray],
    ) -> FloatArray:
        """As :meth:`write_set`, for the entries' ``(frames, 12)`` chroma (``<name>.chroma.npy``).

        ``entries`` are ``(digest, n_frames)``; ``recompute(i)`` gives entry ``i``'s chroma
        when it is missing or not of that length.
        """
        sources = [(self.entry_path(key, digest), n) for digest, n in entries]
        return join_members(self.chroma_path(name), sources, "chroma", (12,), recompute)

    def write_set_record(
        self,
        name: str,
        *,
        key: str,
        paths: Sequence[str],
        files: Sequence[int],
        counts: Sequence[int],
        failures: Sequence[dict[str, str]],
        chroma_counts: Sequence[int] | None = None,
        remarks: Mapping[str, Sequence[int]] | None = None,
    ) -> str:
        """Write the set's failure report and metadata (atomically); return the report's path.

        ``chroma_counts``: each file's chroma frames, for a set written with
        :meth:`write_chroma`. ``remarks``: indices into ``paths`` of the files with each
        remark (see :meth:`put`).
        """
        report = self.write_report(
            name,
            {
                "preprocessing_key": key,
                "files": len(paths),
                "failed": len(failures),
                "failures": list(failures),
            },
        )
        meta = {
            "paths": list(paths),
            "files": list(files),
            "counts": list(counts),
            "failures": list(failures),
            "report_path": str(report),
            **({} if chroma_counts is None else {"chroma_counts": list(chroma_counts)}),
            "remarks": {remark: list(where) for remark, where in (remarks or {}).items()},
        }
        atomic_write(self.set_path(name).with_suffix(".json"), json.dumps(meta))
        return str(report)


@dataclasses.dataclass(frozen=True, eq=False)
class StoredSet:
    """A consolidated feature set read back from the cache."""

    x: FloatArray
    files: IntArray
    counts: IntArray
    paths: list[str]
    failures: list[dict[str, str]]
    report_path: str | None
    chroma: FloatArray | None = None
    chroma_counts: IntArray | None = None
    remarks: dict[str, list[int]] = dataclasses.field(default_factory=dict)
