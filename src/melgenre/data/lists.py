"""Splits given as lists of file names: published protocols and the presets shipped with melgenre.

:meth:`FolderDataset.from_split_lists` reads lists such as ``train.txt`` /
``test.txt`` (one file per line) and :meth:`FolderDataset.from_split_preset`
applies a published split shipped in the package (:data:`SPLIT_PRESETS`) to a
user's local copy of the data. Nothing is downloaded.

An entry names a file under the dataset root in any of these forms (the first
that names exactly one file wins): its path relative to the root
(``blues/blues.00012.wav``), the same without the extension
(``blues/blues.00012``), its file name (``blues.00012.wav``) or its stem
(``blues.00012``). So the same list serves copies stored as ``.au``, ``.wav``
or ``.flac``.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from melgenre._typing import PathLike
from melgenre.errors import DatasetError, MelgenreTypeError

if TYPE_CHECKING:
    from melgenre.data.scan import Example

__all__ = [
    "SPLIT_PRESETS",
    "EntrySource",
    "OnMissing",
    "find_preset_root",
    "match_entries",
    "preset_lists",
    "read_entries",
]

logger = logging.getLogger(__name__)

OnMissing = Literal["raise", "skip"]

#: A list of entries, or the path of a text file with one entry per line.
EntrySource = Sequence[str] | PathLike

_GTZAN_GENRES = (
    "blues", "classical", "country", "disco", "hiphop",
    "jazz", "metal", "pop", "reggae", "rock",
)  # fmt: skip

#: Published splits shipped with melgenre: name -> (class folders, description).
SPLIT_PRESETS: dict[str, tuple[tuple[str, ...], str]] = {
    "gtzan-fault-filtered": (
        _GTZAN_GENRES,
        "GTZAN's fault-filtered split (Kereliuk, Sturm & Larsen, 2015): 443 train, "
        "197 validation, 290 test files, with repeated, distorted and mislabelled excerpts "
        "removed and each artist on one side only; the lists torchaudio's GTZAN dataset uses.",
    ),
}

_PARTS = ("train", "validation", "test")


def read_entries(source: EntrySource, part: str) -> list[str]:
    """The entries of one list: the given strings, or the lines of a text file.

    In a file, blank lines and lines starting with ``#`` are skipped.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DatasetError(f"The {part} list {str(path)!r} is not a file.")
        return _lines(path.read_text(encoding="utf-8"))
    if not isinstance(source, Sequence) or not all(isinstance(e, str) for e in source):
        raise MelgenreTypeError(
            f"The {part} list must be a sequence of file names or the path of a text file; "
            f"got {type(source).__name__}."
        )
    return [entry.strip() for entry in source]


def _lines(text: str) -> list[str]:
    """The entries of a list file: its lines, less blank ones and ``#`` comments."""
    stripped = (line.strip() for line in text.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def _keys(relative: Path) -> list[str]:
    posix = relative.as_posix()
    stem_path = relative.with_suffix("").as_posix()
    return list(dict.fromkeys((posix, stem_path, relative.name, relative.stem)))


def match_entries(
    root: Path,
    items: Sequence[Example],
    entries: dict[str, list[str]],
    *,
    on_missing: OnMissing,
) -> dict[str, list[int]]:
    """Indices into ``items`` for each part's entries (see the module docstring).

    Raises
    ------
    DatasetError
        An entry names several files, a file is named by two parts, or (with
        ``on_missing="raise"``) an entry names no file.
    """
    index: dict[str, set[int]] = defaultdict(set)
    for i, item in enumerate(items):
        for key in _keys(item.path.relative_to(root)):
            index[key].add(i)
    found: dict[str, list[int]] = {}
    missing: list[str] = []
    owner: dict[int, str] = {}
    for part, names in entries.items():
        found[part] = []
        for entry in names:
            hits = index.get(entry.replace("\\", "/").removeprefix("./"), set())
            if len(hits) > 1:
                paths = sorted(str(items[i].path) for i in hits)
                raise DatasetError(
                    f"The {part} entry {entry!r} names {len(hits)} files ({paths[:3]}); "
                    "give it as a path relative to the dataset root."
                )
            if not hits:
                missing.append(f"{part}: {entry}")
                continue
            (i,) = hits
            if i in owner:
                raise DatasetError(
                    f"{items[i].path} is in both the {owner[i]} and the {part} list."
                )
            owner[i] = part
            found[part].append(i)
    if missing:
        message = (
            f"{len(missing)} listed {'file is' if len(missing) == 1 else 'files are'} not "
            f"under {str(root)!r} "
            f"(first: {', '.join(missing[:5])})"
        )
        if on_missing == "raise":
            raise DatasetError(
                message + "; pass on_missing='skip' to train on the files that are there."
            )
        logger.warning("%s; skipped.", message)
    unlisted = len(items) - len(owner)
    if unlisted:
        logger.info("%d files under %s are in no list and are left out.", unlisted, root)
    return found


def preset_lists(name: str) -> dict[str, list[str]]:
    """The lists of the split preset ``name`` (a key of :data:`SPLIT_PRESETS`)."""
    if name not in SPLIT_PRESETS:
        raise DatasetError(
            f"Unknown split preset {name!r}; the presets are {sorted(SPLIT_PRESETS)}."
        )
    folder = resources.files("melgenre.data").joinpath("splits").joinpath(name)
    return {part: _lines(folder.joinpath(f"{part}.txt").read_text("utf-8")) for part in _PARTS}


def find_preset_root(root: Path, classes: Sequence[str]) -> Path:
    """The folder under ``root`` (itself, a child or a grandchild) holding every class folder.

    Copies of a published data set nest differently (``gtzan/genres/blues``,
    ``gtzan/Data/genres_original/blues``); the preset finds its classes.
    """
    if not root.is_dir():
        raise DatasetError(f"Dataset root {str(root)!r} does not exist or is not a folder.")
    candidates = [root, *sorted(root.glob("*/")), *sorted(root.glob("*/*/"))]
    for folder in candidates:
        if all((folder / c).is_dir() for c in classes):
            return folder
    raise DatasetError(
        f"No folder under {str(root)!r} holds the class folders {list(classes)} "
        "(looked at the root, its sub-folders and theirs)."
    )
