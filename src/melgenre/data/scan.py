"""Finding labelled audio files: one folder per class, ready-made split folders."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from melgenre.errors import DatasetError

__all__ = [
    "AUDIO_EXTENSIONS",
    "SPLIT_FOLDER_NAMES",
    "Example",
    "OnError",
    "audio_files",
    "scan",
    "split_classes",
    "split_folders",
]

logger = logging.getLogger(__name__)

#: File name extensions scanned as audio (case-insensitive). libsndfile reads
#: the first group; the rest need audioread with FFmpeg or GStreamer.
AUDIO_EXTENSIONS = frozenset(
    {
        ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc",
        ".au", ".snd", ".w64", ".rf64", ".caf",
        ".m4a", ".aac", ".wma", ".mp4",
    }
)  # fmt: skip

OnError = Literal["skip", "raise"]

#: Folder names that mark a split rather than a class, each with its side, in the order
#: the sides come (``root/train/<class>/...``, ``root/test/<class>/...``).
SPLIT_FOLDER_NAMES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
    "eval": "test",
    "evaluation": "test",
}


class Example(NamedTuple):
    """One labelled file of a :class:`FolderDataset`."""

    path: Path
    label: str
    label_index: int


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def audio_files(folder: Path, extensions: frozenset[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """The audio files under ``folder``, at any depth, hidden ones left out, in a stable order."""
    return sorted(
        (
            p
            for p in folder.rglob("*")
            if p.suffix.lower() in extensions
            and not _is_hidden(p.relative_to(folder))
            and p.is_file()
        ),
        key=lambda p: p.relative_to(folder).as_posix(),
    )


def scan(
    root: Path, class_names: Sequence[str] | None, extensions: frozenset[str]
) -> tuple[list[str], list[Example]]:
    """The class folders of ``root`` and their audio files, in a stable order."""
    if not root.exists():
        raise DatasetError(f"Dataset root {str(root)!r} does not exist.")
    if not root.is_dir():
        raise DatasetError(f"Dataset root {str(root)!r} is not a folder.")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    stray = [p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in extensions]
    if stray:
        logger.warning(
            "Ignoring %d audio files directly in %s (e.g. %r): files belong in a folder per class.",
            len(stray),
            root,
            sorted(stray)[0],
        )
    if class_names is not None:
        classes = [str(c) for c in class_names]
        if len(set(classes)) != len(classes):
            raise DatasetError(f"class_names has duplicates: {classes}.")
        missing = [c for c in classes if c not in folders]
        if missing:
            raise DatasetError(
                f"class_names names {missing}, which are not folders of {str(root)!r} "
                f"(found: {folders})."
            )
        ignored = sorted(set(folders) - set(classes))
        if ignored:
            logger.info("Ignoring folders not in class_names: %s", ignored)
    else:
        classes = folders
    if class_names is None and split_folders(root, folders):
        order = split_folders(root, folders)
        raise DatasetError(
            f"Dataset root {str(root)!r} holds split folders ({', '.join(order)}) of class "
            f"folders, not class folders: a model trained on it would learn to tell "
            f"{order[0]!r} from {order[-1]!r}. Read it with FolderDataset.from_split_folders("
            f"{str(root)!r}, splits={tuple(order)!r}) (melgenre train --split folders), or "
            "name class_names to take these folders as the classes."
        )
    if not classes:
        raise DatasetError(
            f"Dataset root {str(root)!r} has no class folders. Expected one sub-folder per "
            "class, e.g. root/blues/*.wav, root/rock/*.wav."
        )
    if len(classes) < 2:
        inner = sorted(
            p.name
            for p in (root / classes[0]).iterdir()
            if p.is_dir() and not p.name.startswith(".")
        )
        hint = (
            f" It holds folders ({', '.join(inner[:4])}{', ...' if len(inner) > 4 else ''}): "
            f"is {str(root / classes[0])!r} the dataset root?"
            if len(inner) >= 2
            else ""
        )
        raise DatasetError(
            f"Dataset root {str(root)!r} has a single class folder ({classes[0]!r}); a "
            f"classifier needs at least 2 classes.{hint}"
        )
    items: list[Example] = []
    for index, label in enumerate(classes):
        folder = root / label
        found = audio_files(folder, extensions)
        if not found:
            raise DatasetError(
                f"Class folder {str(folder)!r} contains no audio files (looked for "
                f"{', '.join(sorted(extensions))})."
            )
        items.extend(Example(p, label, index) for p in found)
    return classes, items


def split_classes(
    root: Path, splits: Sequence[str], class_names: Sequence[str] | None
) -> Sequence[str]:
    """The classes every split folder must hold (checked), for ``from_split_folders``."""
    if not root.is_dir():
        raise DatasetError(f"Dataset root {str(root)!r} does not exist or is not a folder.")
    missing = [s for s in splits if not (root / s).is_dir()]
    if missing:
        raise DatasetError(
            f"Split folders {missing} are missing from {str(root)!r} (expected "
            f"{[str(root / s) for s in splits]})."
        )
    if class_names is not None:
        return class_names
    per_split = {
        s: sorted(p.name for p in (root / s).iterdir() if p.is_dir() and not p.name.startswith("."))
        for s in splits
    }
    names = sorted(set().union(*per_split.values()))
    for split, found in per_split.items():
        absent = sorted(set(names) - set(found))
        if absent:
            raise DatasetError(
                f"Split {split!r} of {str(root)!r} lacks class folders {absent}; every "
                "split must hold every class."
            )
    return names


def split_folders(root: Path, folders: Sequence[str] | None = None) -> list[str]:
    """``root``'s split folders in train, validation, test order, or ``[]`` if it has none.

    Split folders are at least two folders named as splits (:data:`SPLIT_FOLDER_NAMES`:
    ``train``, ``val``, ``test``, ...), each holding sub-folders (its classes); other
    folders beside them (``docs/``) are not counted.
    """
    if folders is None:
        folders = sorted(
            p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    named = [name for name in folders if name.lower() in SPLIT_FOLDER_NAMES]
    if len(named) < 2:
        return []
    if not all(any(q.is_dir() for q in (root / name).iterdir()) for name in named):
        return []
    rank = {"train": 0, "validation": 1, "test": 2}
    return sorted(named, key=lambda name: rank[SPLIT_FOLDER_NAMES[name.lower()]])
