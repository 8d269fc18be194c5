"""Byte-identical files: found by size, then by a few sampled bytes, then by content digest.

Two copies of one recording under different names would leak across a split,
so :meth:`FolderDataset.split` keeps each group of identical files on one
side. Digests come from :func:`melgenre._files.content_digest`, the one
content-hash memo that the feature cache uses too.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path

from melgenre._files import content_digest
from melgenre._validation import counted, some_of

__all__ = ["identical_groups", "identical_indices", "warn_split_leaks"]

logger = logging.getLogger(__name__)


def identical_groups(paths: Iterable[Path]) -> list[list[Path]]:
    """Groups (two or more files each, sorted) of ``paths`` whose bytes are identical.

    As duplicate finders do: files are compared by size, then by a few bytes at
    their start, middle and end (:data:`PROBE_BYTES` each), and only files alike in
    all of them are hashed whole. A folder of equal-length WAV files (every one the
    same size) is thus told apart by three small reads a file, not read in full
    before the split. Files that cannot be read, and empty files, are left out
    (extraction reports them).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name, data in (("a", b"x" * 10), ("b", b"x" * 10), ("c", b"y" * 10)):
    ...     _ = (root / name).write_bytes(data)
    >>> [[p.name for p in g] for g in identical_groups(sorted(root.iterdir()))]
    [['a', 'b']]
    """
    groups = [list(dict.fromkeys(paths))]
    for key in (_size, _probe_digest, content_digest):
        groups = _split_by(groups, key)
    return sorted(sorted(group) for group in groups)


def _split_by(groups: list[list[Path]], key: Callable[[Path], Hashable]) -> list[list[Path]]:
    """Each group split by ``key``: the parts of two or more files.

    A file whose key is ``None`` or cannot be read (an ``OSError``) is left out.
    """
    parts: dict[tuple[int, Hashable], list[Path]] = defaultdict(list)
    for number, group in enumerate(groups):
        for path in group:
            try:
                value = key(path)
            except OSError:
                continue
            if value is not None:
                parts[number, value].append(path)
    return [part for part in parts.values() if len(part) > 1]


def _size(path: Path) -> int | None:
    """The file's size; ``None`` for an empty file: no recording (extraction reports it)."""
    return path.stat().st_size or None


#: Bytes read at each of a same-size file's start, middle and end before it is hashed whole.
PROBE_BYTES = 1 << 14


def _probe_digest(path: Path) -> str:
    """A digest of the :data:`PROBE_BYTES` at the start, middle and end of a file.

    The middle is there for recordings that begin and end in digital silence.
    """
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= 3 * PROBE_BYTES:
            digest.update(handle.read())
        else:
            for offset in (0, (size - PROBE_BYTES) // 2, size - PROBE_BYTES):
                handle.seek(offset)
                digest.update(handle.read(PROBE_BYTES))
    return digest.hexdigest()


def identical_indices(paths: Sequence[Path], labels: Sequence[object]) -> list[list[int]]:
    """Indices into ``paths`` of byte-identical files, group by group; logs what it finds.

    A group whose files carry different ``labels`` is logged as a warning too.
    """
    identical = identical_groups(paths)
    index_of = {path: i for i, path in enumerate(paths)}

    def _each_label_first(group: list[Path]) -> list[Path]:
        """The group's first file of each label, then the others: the conflict shows first."""
        first: dict[object, Path] = {}
        for path in group:
            first.setdefault(labels[index_of[path]], path)
        shown = set(first.values())
        return sorted(shown) + [path for path in group if path not in shown]

    if identical:
        logger.warning(
            "Found %s of byte-identical files (%d files), e.g. %s; each group is "
            "kept on one side of the split. See FolderDataset.duplicates().",
            counted(len(identical), "group"),
            sum(len(g) for g in identical),
            some_of([str(p) for p in identical[0]], " = "),
        )
    _warn_groups(
        "Identical files carry different labels: %s",
        [
            some_of([f"{p} ({labels[index_of[p]]})" for p in _each_label_first(group)])
            for group in identical
            if len({labels[index_of[p]] for p in group}) > 1
        ],
        "with different labels (FolderDataset.duplicates() lists every group)",
    )
    return [[index_of[p] for p in group] for group in identical]


def warn_split_leaks(split_of: Mapping[Path, str]) -> None:
    """Warn about identical files in different splits (``split_of``: path to split name)."""
    _warn_groups(
        "Identical files in several splits: %s. The official split leaks; consider "
        "removing all but one.",
        [
            some_of([f"{path} ({split_of[path]})" for path in group])
            for group in identical_groups(split_of)
            if len({split_of[path] for path in group}) > 1
        ],
        "across splits",
    )


#: Groups named one by one in a warning before the rest are counted.
SHOWN_GROUPS = 3


def _warn_groups(message: str, groups: Sequence[str], what: str) -> None:
    """``message`` for the first :data:`SHOWN_GROUPS` groups, then one line counting the rest."""
    for described in groups[:SHOWN_GROUPS]:
        logger.warning(message, described)
    if len(groups) > SHOWN_GROUPS:
        logger.warning(
            "... and %s of identical files %s (%d in all).",
            counted(len(groups) - SHOWN_GROUPS, "more group"),
            what,
            len(groups),
        )
