"""Datasets of labelled audio files: :class:`FolderDataset`, its splits, and :class:`FeatureSet`.

A :class:`FolderDataset` is a list of files with labels, read from a folder per
class. :meth:`FolderDataset.split` divides it into train/test (and
validation) datasets so that no recording, no group of recordings (an album,
an artist, a piece) and no pair of byte-identical files ever falls on two
sides. :meth:`FolderDataset.features` turns a dataset into a
:class:`FeatureSet`: every window, its label and the file it came from.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import functools
import hashlib
import json
import logging
import multiprocessing
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from melgenre import errors
from melgenre._extract import Outcome, extract_one
from melgenre._files import atomic_write
from melgenre._typing import FloatArray, IntArray, PathLike
from melgenre._validation import check_choice, check_int
from melgenre.audio import AudioLoader
from melgenre.cache import FeatureCache, file_digest, preprocessing_key
from melgenre.errors import ConfigError, DatasetError
from melgenre.features import Featurizer

if TYPE_CHECKING:
    import tensorflow as tf

    from melgenre.augment import Augmentation

__all__ = ["AUDIO_EXTENSIONS", "Example", "FailedFile", "FeatureSet", "FolderDataset"]

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


class Example(NamedTuple):
    """One labelled file of a :class:`FolderDataset`."""

    path: Path
    label: str
    label_index: int


@dataclasses.dataclass(frozen=True)
class FailedFile:
    """A file that could not be turned into features, and why."""

    path: str
    reason: str
    error_type: str

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form."""
        return dataclasses.asdict(self)


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _check_on_error(owner: str, value: Any) -> None:
    check_choice(owner, "on_error", value, ("skip", "raise"))


class FolderDataset:
    """Labelled audio files from a folder with one sub-folder per class.

    ::

        root/
          blues/  a.wav  b.mp3  live/c.flac     (nested files belong to 'blues')
          rock/   d.wav  ...

    Class names are the first-level folder names, sorted (or ``class_names``
    in the order given). Hidden files and folders (names starting with ".")
    and files whose extension is not in :data:`AUDIO_EXTENSIONS` are ignored;
    files are ordered by path, so the same folder always gives the same
    dataset.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding one sub-folder per class.
    loader : AudioLoader, optional
        How files are decoded; default ``AudioLoader()``.
    class_names : sequence of str, optional
        The classes, in label-index order; each must be a sub-folder of
        ``root``. Other sub-folders are ignored. Default: every sub-folder.
    on_error : {"skip", "raise"}, default="skip"
        What :meth:`features` does with a file that cannot be decoded: skip it
        and list it in :attr:`FeatureSet.failures`, or raise its error.
    extensions : collection of str, optional
        File extensions to scan (with the dot); default
        :data:`AUDIO_EXTENSIONS`.

    Raises
    ------
    DatasetError
        The root does not exist or is not a folder, has no class folders, has
        only one class, or a class folder holds no audio files.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, soundfile as sf
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for label in ("hum", "hiss"):
    ...     (root / label).mkdir()
    ...     for i in range(3):
    ...         sf.write(root / label / f"{i}.wav", np.zeros(8000, np.float32), 8000)
    >>> ds = FolderDataset(root)
    >>> ds.classes, len(ds), ds.class_counts()
    (['hiss', 'hum'], 6, {'hiss': 3, 'hum': 3})
    """

    def __init__(
        self,
        root: PathLike,
        *,
        loader: AudioLoader | None = None,
        class_names: Sequence[str] | None = None,
        on_error: OnError = "skip",
        extensions: Sequence[str] | frozenset[str] | None = None,
    ) -> None:
        _check_on_error(type(self).__name__, on_error)
        self.root = Path(root)
        self.loader = loader if loader is not None else AudioLoader()
        self.on_error: OnError = on_error
        self.extensions = frozenset(
            e.lower() for e in (extensions if extensions is not None else AUDIO_EXTENSIONS)
        )
        classes, items = self._scan(class_names)
        self.classes: list[str] = classes
        self._items: list[Example] = items
        self._digests: dict[Path, tuple[tuple[int, ...], str]] = {}
        logger.info("Found %d files belonging to %d classes.", len(items), len(classes))

    # ------------------------------------------------------------ construction

    def _scan(self, class_names: Sequence[str] | None) -> tuple[list[str], list[Example]]:
        root = self.root
        if not root.exists():
            raise DatasetError(f"Dataset root {str(root)!r} does not exist.")
        if not root.is_dir():
            raise DatasetError(f"Dataset root {str(root)!r} is not a folder.")
        folders = sorted(
            p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        stray = [
            p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in self.extensions
        ]
        if stray:
            logger.warning(
                "Ignoring %d audio files directly in %s (e.g. %r): files belong in a folder "
                "per class.",
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
        if not classes:
            raise DatasetError(
                f"Dataset root {str(root)!r} has no class folders. Expected one sub-folder per "
                "class, e.g. root/blues/*.wav, root/rock/*.wav."
            )
        if len(classes) < 2:
            raise DatasetError(
                f"Dataset root {str(root)!r} has a single class folder ({classes[0]!r}); a "
                "classifier needs at least 2 classes."
            )
        items: list[Example] = []
        for index, label in enumerate(classes):
            folder = root / label
            found = sorted(
                (
                    p
                    for p in folder.rglob("*")
                    if p.suffix.lower() in self.extensions
                    and not _is_hidden(p.relative_to(folder))
                    and p.is_file()
                ),
                key=lambda p: p.relative_to(folder).as_posix(),
            )
            if not found:
                raise DatasetError(
                    f"Class folder {str(folder)!r} contains no audio files (looked for "
                    f"{', '.join(sorted(self.extensions))})."
                )
            items.extend(Example(p, label, index) for p in found)
        return classes, items

    @classmethod
    def _subset(cls, parent: FolderDataset, items: list[Example]) -> FolderDataset:
        """A dataset over some of ``parent``'s files, with the same classes and options."""
        subset = cls.__new__(cls)
        subset.root = parent.root
        subset.loader = parent.loader
        subset.on_error = parent.on_error
        subset.extensions = parent.extensions
        subset.classes = list(parent.classes)
        subset._items = items
        subset._digests = parent._digests
        return subset

    def with_loader(self, loader: AudioLoader) -> FolderDataset:
        """The same files and classes, decoded by another loader (e.g. at another sample rate)."""
        if not isinstance(loader, AudioLoader):
            raise errors.MelgenreTypeError(
                f"with_loader expects an AudioLoader, got {type(loader).__name__}."
            )
        copy = self._subset(self, list(self._items))
        copy.loader = loader
        return copy

    @classmethod
    def from_split_folders(
        cls,
        root: PathLike,
        *,
        splits: Sequence[str] = ("train", "test"),
        loader: AudioLoader | None = None,
        class_names: Sequence[str] | None = None,
        on_error: OnError = "skip",
        extensions: Sequence[str] | frozenset[str] | None = None,
    ) -> tuple[FolderDataset, ...]:
        """Datasets from ready-made split folders, ``root/<split>/<class>/...``.

        Use this when the data comes with an official split. Every split must
        hold the same classes. Files with identical bytes in two splits (a
        leak in the official split) are reported with a warning.

        Parameters
        ----------
        root : str or os.PathLike
            The folder holding one folder per split.
        splits : sequence of str, default=("train", "test")
            The split folder names, e.g. ``("train", "validation", "test")``.
        loader, class_names, on_error, extensions
            As for :class:`FolderDataset`.

        Returns
        -------
        datasets : tuple of FolderDataset
            One per name in ``splits``, in that order.
        """
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"Dataset root {str(root)!r} does not exist or is not a folder.")
        missing = [s for s in splits if not (root / s).is_dir()]
        if missing:
            raise DatasetError(
                f"Split folders {missing} are missing from {str(root)!r} (expected "
                f"{[str(root / s) for s in splits]})."
            )
        if class_names is None:
            per_split = {
                s: sorted(
                    p.name
                    for p in (root / s).iterdir()
                    if p.is_dir() and not p.name.startswith(".")
                )
                for s in splits
            }
            class_names = sorted(set().union(*per_split.values()))
            for split, found in per_split.items():
                absent = sorted(set(class_names) - set(found))
                if absent:
                    raise DatasetError(
                        f"Split {split!r} of {str(root)!r} lacks class folders {absent}; every "
                        "split must hold every class."
                    )
        datasets = tuple(
            cls(
                root / s,
                loader=loader,
                class_names=class_names,
                on_error=on_error,
                extensions=extensions,
            )
            for s in splits
        )
        for ds in datasets[1:]:  # one digest memo for all splits
            ds._digests = datasets[0]._digests
        split_of = {
            path: split for split, ds in zip(splits, datasets, strict=True) for path in ds.paths
        }
        for group in datasets[0]._identical_groups(other=datasets[1:]):
            if len({split_of[path] for path in group}) > 1:
                logger.warning(
                    "Identical files in several splits: %s. The official split leaks; consider "
                    "removing all but one.",
                    ", ".join(f"{path} ({split_of[path]})" for path in group),
                )
        return datasets

    # ----------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Example]:
        return iter(self._items)

    def __getitem__(self, index: int) -> Example:
        return self._items[index]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.root)!r}, {len(self)} files, "
            f"{len(self.classes)} classes)"
        )

    @property
    def paths(self) -> list[Path]:
        """Every file, in dataset order."""
        return [item.path for item in self._items]

    @property
    def labels(self) -> IntArray:
        """The label index of every file, in dataset order."""
        return np.array([item.label_index for item in self._items], dtype=np.int64)

    def class_counts(self) -> dict[str, int]:
        """Number of files per class, in class order (zero for a class with none here)."""
        counts = Counter(item.label for item in self._items)
        return {label: counts.get(label, 0) for label in self.classes}

    def fingerprint(self) -> str:
        """A hash of the dataset's file list and labels (paths relative to the root)."""
        lines = []
        for item in self._items:
            try:
                name = item.path.relative_to(self.root).as_posix()
            except ValueError:
                name = item.path.as_posix()
            lines.append(f"{name}\t{item.label}")
        return hashlib.blake2b("\n".join(lines).encode(), digest_size=16).hexdigest()

    # ------------------------------------------------------------- duplicates

    def _digest(self, path: Path) -> str:
        """Content digest, remembered while the file's size and times are unchanged."""
        stat = path.stat()
        signature = (stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
        known = self._digests.get(path)
        if known is None or known[0] != signature:
            known = (signature, file_digest(path))
            self._digests[path] = known
        return known[1]

    def _identical_groups(self, other: Sequence[FolderDataset] = ()) -> list[list[Path]]:
        """Groups of files of this dataset and ``other`` ones with identical bytes.

        Only files whose size equals another file's size are hashed.
        """
        paths = list(dict.fromkeys([p for ds in (self, *other) for p in ds.paths]))
        by_size: dict[int, list[Path]] = defaultdict(list)
        for path in paths:
            try:
                by_size[path.stat().st_size].append(path)
            except OSError:
                continue
        by_digest: dict[str, list[Path]] = defaultdict(list)
        for same_size in by_size.values():
            if len(same_size) > 1:
                for path in same_size:
                    try:
                        by_digest[self._digest(path)].append(path)
                    except OSError:
                        continue
        return [g for g in by_digest.values() if len(g) > 1]

    def duplicates(self) -> list[list[Path]]:
        """Groups of files whose bytes are identical (each group sorted, at least two files).

        :meth:`split` keeps each group on one side.
        """
        return sorted(sorted(g) for g in self._identical_groups())

    # ------------------------------------------------------------------ split

    def split(
        self,
        test_size: float = 0.2,
        validation_size: float | None = None,
        *,
        seed: int | None = 42,
        groups: Callable[[Path], Hashable] | None = None,
        check_duplicates: bool = True,
    ) -> tuple[FolderDataset, ...]:
        """Split into train/test (or train/validation/test) datasets without leaks.

        Stratified by class and grouped: all windows of a file, all files of
        a group (``groups``) and all byte-identical files (``check_duplicates``)
        land on the same side, so no recording is seen in training and then
        tested on. The same dataset and seed always give the same split.

        Parameters
        ----------
        test_size : float in (0, 1), default=0.2
            Fraction of each class's files to put in the test set.
        validation_size : float in (0, 1) or None, default=None
            Fraction of each class's files for a validation set, if any.
        seed : int or None, default=42
            Seeds the shuffle; ``None`` gives a different split each call.
        groups : callable, optional
            ``groups(path) -> key``; files with equal keys stay together (e.g.
            the artist, album or piece read from the path or a manifest).
        check_duplicates : bool, default=True
            Hash files of equal size and keep identical ones together; a
            warning lists them.

        Returns
        -------
        (train, test) or (train, validation, test) : tuple of FolderDataset

        Notes
        -----
        Groups are assigned whole, so the sizes are met as closely as the
        group sizes allow. A group spanning classes counts for its most
        frequent class. Each class gets at least one group in every set when
        it has enough groups; otherwise a warning says which class is missing.
        """
        owner = f"{type(self).__name__}.split"
        sizes = [("test", test_size)]
        if validation_size is not None:
            sizes.append(("validation", validation_size))
        for name, size in sizes:
            if isinstance(size, bool) or not isinstance(size, (int, float)) or not 0 < size < 1:
                raise ConfigError(
                    f"The '{name}_size' parameter of {owner} must be a float in the range (0, 1). "
                    f"Got {size!r} instead.",
                    parameter=f"{name}_size",
                    value=size,
                )
        if sum(size for _, size in sizes) >= 1:
            raise ConfigError(
                f"test_size + validation_size must be below 1 so that something is left to train "
                f"on. Got {test_size} + {validation_size}.",
                parameter="validation_size",
                value=validation_size,
            )
        group_of = self._group_ids(groups, check_duplicates)
        side = _assign_sides(
            group_of,
            self.labels,
            [size for _, size in sizes],
            n_classes=len(self.classes),
            seed=seed,
            class_names=self.classes,
            side_names=[name for name, _ in sizes],
        )
        train = [item for item, s in zip(self._items, side, strict=True) if s == 0]
        test = [item for item, s in zip(self._items, side, strict=True) if s == 1]
        if validation_size is None:
            return self._subset(self, train), self._subset(self, test)
        val = [item for item, s in zip(self._items, side, strict=True) if s == 2]
        return self._subset(self, train), self._subset(self, val), self._subset(self, test)

    def _group_ids(
        self, groups: Callable[[Path], Hashable] | None, check_duplicates: bool
    ) -> IntArray:
        """Union-find over files: joined by user group key and by identical content."""
        parent = list(range(len(self._items)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def union(i: int, j: int) -> None:
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)

        index_of = {item.path: i for i, item in enumerate(self._items)}
        if groups is not None:
            first: dict[Hashable, int] = {}
            for i, item in enumerate(self._items):
                try:
                    key = groups(item.path)
                except Exception as exc:
                    raise DatasetError(
                        f"The groups callable failed on {str(item.path)!r}: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                union(i, first.setdefault(key, i))
        if check_duplicates:
            identical = self._identical_groups()
            crossing = []
            for group in identical:
                indices = [index_of[p] for p in group if p in index_of]
                for j in indices[1:]:
                    union(indices[0], j)
                labels = {self._items[i].label for i in indices}
                if len(labels) > 1:
                    crossing.append(group)
            if identical:
                logger.warning(
                    "Found %d groups of byte-identical files (%d files), e.g. %s; each group is "
                    "kept on one side of the split. See FolderDataset.duplicates().",
                    len(identical),
                    sum(len(g) for g in identical),
                    " = ".join(str(p) for p in sorted(identical[0])),
                )
            for group in crossing:
                logger.warning(
                    "Identical files carry different labels: %s",
                    ", ".join(f"{p} ({self._items[index_of[p]].label})" for p in group),
                )
        return np.array([find(i) for i in range(len(self._items))], dtype=np.int64)

    # --------------------------------------------------------------- features

    def features(
        self,
        featurizer: Featurizer,
        *,
        cache_dir: PathLike | None = None,
        workers: int | None = None,
        executor: cf.Executor | None = None,
        progress: bool = True,
        on_error: OnError | None = None,
    ) -> FeatureSet:
        """Extract the windows of every file into a :class:`FeatureSet`.

        Files are processed in parallel: by ``executor`` when given (any
        :class:`concurrent.futures.Executor`, e.g. a Dask cluster's
        ``client.get_executor()``), otherwise by a local process pool of
        ``workers`` processes. With ``cache_dir``, features are stored on disk
        keyed by each file's content and the loader's and featurizer's
        configuration; a second run reads them back instead of recomputing,
        and the windows are served as a read-only memory-mapped array, so a
        dataset larger than memory does not have to fit in RAM.

        As with any code that starts processes, a script must call this under
        ``if __name__ == "__main__":`` (or pass ``workers=1``).

        Parameters
        ----------
        featurizer : Featurizer
            Turns each file's audio into windows; its ``sample_rate`` must
            match the loader's.
        cache_dir : str or os.PathLike, optional
            The feature cache; see :mod:`melgenre.cache`. Shared storage works.
        workers : int > 0 or None, default=None
            Local worker processes; ``None`` means one per CPU core, ``1``
            runs in this process. Ignored when ``executor`` is given.
        executor : concurrent.futures.Executor, optional
            Runs the per-file work (it must be able to pickle the loader and
            featurizer); melgenre does not shut it down.
        progress : bool, default=True
            Show a progress bar (tqdm, on stderr).
        on_error : {"skip", "raise"}, optional
            Overrides the dataset's ``on_error`` for this call.

        Returns
        -------
        FeatureSet

        Raises
        ------
        ConfigError
            The featurizer's sample rate differs from the loader's.
        AudioError
            With ``on_error="raise"``, the first file that fails.
        DatasetError
            Every file failed.
        """
        on_error = self.on_error if on_error is None else on_error
        _check_on_error("FolderDataset.features", on_error)
        check_int("FolderDataset.features", "workers", workers, low=1, allow_none=True)
        if not isinstance(featurizer, Featurizer):
            raise errors.MelgenreTypeError(
                "FolderDataset.features expects a melgenre Featurizer, got "
                f"{type(featurizer).__name__}."
            )
        featurizer.check_loader(self.loader)
        if not self._items:
            raise DatasetError("The dataset has no files to extract features from.")
        cache = FeatureCache(cache_dir) if cache_dir is not None else None
        key = preprocessing_key(self.loader, featurizer) if cache is not None else None
        extractor = _Extraction(self, featurizer, cache, key, on_error, progress)
        return extractor.run(executor=executor, workers=workers)


def _assign_sides(
    group_of: IntArray,
    labels: IntArray,
    fractions: list[float],
    *,
    n_classes: int,
    seed: int | None,
    class_names: Sequence[str],
    side_names: Sequence[str],
) -> IntArray:
    """Side of every file: 0 = train, 1 = first fraction (test), 2 = second (validation)."""
    rng = np.random.default_rng(seed)
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group_of.tolist()):
        members[g].append(i)
    by_class: dict[int, list[int]] = defaultdict(list)
    for g in sorted(members):
        counts = Counter(int(labels[i]) for i in members[g])
        majority = max(sorted(counts), key=lambda c: counts[c])
        by_class[majority].append(g)
    side_of_group: dict[int, int] = {}
    for c in range(n_classes):
        class_groups = by_class.get(c, [])
        order = [class_groups[k] for k in rng.permutation(len(class_groups))]
        total = sum(len(members[g]) for g in order)
        remaining = list(order)
        for side, fraction in enumerate(fractions, start=1):
            target = fraction * total
            taken = 0
            keep: list[int] = []
            # every set gets one group when the class has enough groups for all sets
            enough = len(order) >= len(fractions) + 1
            for g in remaining:
                size = len(members[g])
                closer = abs(taken + size - target) < abs(taken - target)
                if (taken == 0 and enough and len(remaining) - len(keep) > 1) or (
                    taken < target and closer
                ):
                    side_of_group[g] = side
                    taken += size
                else:
                    keep.append(g)
            remaining = keep
            if taken == 0 and class_groups:
                logger.warning(
                    "Class %r has too few groups (%d) to appear in the %s set.",
                    class_names[c],
                    len(class_groups),
                    side_names[side - 1],
                )
        for g in remaining:
            side_of_group[g] = 0
    return np.array([side_of_group[int(g)] for g in group_of], dtype=np.int64)


# -------------------------------------------------------------------- features


@dataclasses.dataclass(frozen=True, eq=False)
class FeatureSet:
    """The windows of a dataset's files, with their labels and files.

    Attributes
    ----------
    x : np.ndarray [shape=(n_windows, n_bins, frames, 1), dtype=float32]
        The windows, file after file. A read-only memory-mapped array when the
        features came from a cache directory.
    labels : np.ndarray [shape=(n_windows,), dtype=int64]
        Label index of each window.
    groups : np.ndarray [shape=(n_windows,), dtype=int64]
        Index into :attr:`paths` of the file each window came from.
    paths : tuple of str
        Every file of the dataset, in dataset order (failed files included).
    classes : tuple of str
        Class names, by label index.
    failures : tuple of FailedFile
        Files skipped because they could not be decoded.
    report_path : str or None
        The JSON report of failures, when a cache directory was used.
    """

    x: FloatArray
    labels: IntArray
    groups: IntArray
    paths: tuple[str, ...]
    classes: tuple[str, ...]
    failures: tuple[FailedFile, ...] = ()
    report_path: str | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return (
            f"FeatureSet({len(self)} windows of shape {tuple(self.x.shape[1:])} from "
            f"{self.n_files} files, {len(self.classes)} classes, {len(self.failures)} failed)"
        )

    @functools.cached_property
    def y(self) -> FloatArray:
        """One-hot labels, ``(n_windows, n_classes)`` float32."""
        onehot = np.zeros((len(self), len(self.classes)), dtype=np.float32)
        onehot[np.arange(len(self)), self.labels] = 1.0
        return onehot

    @property
    def n_files(self) -> int:
        """Files that contributed windows."""
        return int(np.unique(self.groups).size)

    def file_labels(self) -> tuple[IntArray, IntArray]:
        """``(file_indices, labels)`` of the files that contributed windows."""
        files, first = np.unique(self.groups, return_index=True)
        return files, self.labels[first]

    def to_tf_dataset(
        self,
        batch_size: int = 32,
        *,
        shuffle: bool = True,
        seed: int | None = None,
        drop_remainder: bool = False,
        prefetch: bool = True,
        augmentation: Augmentation | None = None,
        initial_epoch: int = 0,
    ) -> tf.data.Dataset:
        """A ``tf.data.Dataset`` of ``(x, y)`` batches.

        In-memory features are sliced directly; memory-mapped features (from a
        cache) are streamed batch by batch from disk, so memory stays bounded
        by a few batches whatever the size of the set.

        Parameters
        ----------
        batch_size : int > 0, default=32
        shuffle : bool, default=True
            Draw a new order every epoch (each pass over the dataset).
        seed : int or None, default=None
            Makes the orders (and the augmentation) reproducible: epoch ``e``
            always gets the same order for the same seed.
        drop_remainder : bool, default=False
        prefetch : bool, default=True
            Prepare batches in the background (``tf.data.AUTOTUNE``).
        augmentation : Augmentation, optional
            Applied to every batch with a ``Dataset.map``, seeded per epoch
            and batch.
        initial_epoch : int >= 0, default=0
            The epoch the first pass is (a resumed run starts at the epoch it
            stopped at and sees the batches an uninterrupted run would).
        """
        import tensorflow as tf

        check_int("FeatureSet.to_tf_dataset", "batch_size", batch_size, low=1)
        check_int("FeatureSet.to_tf_dataset", "initial_epoch", initial_epoch, low=0)
        n = len(self)
        x, y = self.x, self.y
        signature: tuple[tf.TensorSpec, ...] = (
            tf.TensorSpec(shape=(None, *x.shape[1:]), dtype=tf.float32),
            tf.TensorSpec(shape=(None, y.shape[1]), dtype=tf.float32),
        )
        augmenting = augmentation is not None and not augmentation.is_identity
        if augmenting:
            signature = (*signature, tf.TensorSpec(shape=(2,), dtype=tf.int64))
        base = seed if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
        epoch = initial_epoch

        def batches() -> Iterator[tuple[Any, ...]]:
            nonlocal epoch
            this_epoch, epoch = epoch, epoch + 1
            rng = np.random.default_rng([base, this_epoch])
            order = rng.permutation(n) if shuffle else np.arange(n)
            for number, start in enumerate(range(0, n, batch_size)):
                index = order[start : start + batch_size]
                if drop_remainder and len(index) < batch_size:
                    return
                # sorted reads are sequential on a memory map; order inside a batch is irrelevant
                index = np.sort(index)
                batch = (np.asarray(x[index]), y[index])
                if augmenting:
                    batch_seed = np.array([base, this_epoch * 1_000_003 + number], np.int64)
                    yield (*batch, batch_seed)
                else:
                    yield batch

        dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
        n_batches = n // batch_size if drop_remainder else -(-n // batch_size)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches))
        if augmenting:
            assert augmentation is not None
            dataset = dataset.map(
                augmentation, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
            )
        return dataset.prefetch(tf.data.AUTOTUNE) if prefetch else dataset


class _Extraction:
    """One run of :meth:`FolderDataset.features`."""

    def __init__(
        self,
        dataset: FolderDataset,
        featurizer: Featurizer,
        cache: FeatureCache | None,
        key: str | None,
        on_error: OnError,
        progress: bool,
    ) -> None:
        self.dataset = dataset
        self.featurizer = featurizer
        self.cache = cache
        self.key = key
        self.on_error = on_error
        self.progress = progress
        self.paths = [str(p) for p in dataset.paths]

    def run(self, *, executor: cf.Executor | None, workers: int | None) -> FeatureSet:
        if self.cache is not None:
            reused = self._reuse_set()
            if reused is not None:
                return reused
        outcomes = self._compute(executor, workers)
        failures = tuple(
            FailedFile(self.paths[o.index], o.error or "", o.error_type or "")
            for o in outcomes
            if o.error is not None
        )
        for failure in failures:
            logger.warning("Skipped %s: %s", failure.path, failure.reason)
        ok = [o for o in outcomes if o.error is None]
        if not ok:
            raise DatasetError(
                f"Feature extraction failed for all {len(outcomes)} files; the first: "
                f"{failures[0].reason}"
            )
        if failures:
            logger.warning(
                "Skipped %d of %d files; see FeatureSet.failures.", len(failures), len(outcomes)
            )
        labels_of_file = self.dataset.labels
        counts = np.array([o.n_windows for o in ok], dtype=np.int64)
        files = np.array([o.index for o in ok], dtype=np.int64)
        groups = np.repeat(files, counts)
        labels = labels_of_file[groups]
        if self.cache is None:
            x = np.concatenate([o.windows for o in ok if o.windows is not None], axis=0)
            return self._featureset(x, labels, groups, failures, None)
        return self._consolidate(ok, labels, groups, failures)

    # --------------------------------------------------------------- compute

    def _tasks(self) -> list[tuple[Any, ...]]:
        cache_root = str(self.cache.root) if self.cache is not None else None
        # Workers take digests from the cache's memo, which notices changed files.
        return [
            (
                i,
                path,
                self.dataset.loader,
                self.featurizer,
                cache_root,
                self.key,
                None,
                self.cache is None,
            )
            for i, path in enumerate(self.paths)
        ]

    def _compute(self, executor: cf.Executor | None, workers: int | None) -> list[Outcome]:
        from tqdm.auto import tqdm

        tasks = self._tasks()
        n_workers = workers if workers is not None else (os.cpu_count() or 1)
        bar = tqdm(
            total=len(tasks), unit="file", desc="Extracting features", disable=not self.progress
        )
        outcomes: list[Outcome] = []
        try:
            if executor is None and (n_workers <= 1 or len(tasks) <= 2):
                for task in tasks:
                    outcomes.append(self._check(extract_one(*task)))
                    bar.update()
            else:
                owned = executor is None
                pool = (
                    executor if executor is not None else _process_pool(min(n_workers, len(tasks)))
                )
                try:
                    futures = [pool.submit(extract_one, *task) for task in tasks]
                    try:
                        for future in cf.as_completed(futures):
                            outcomes.append(self._check(future.result()))
                            bar.update()
                    except cf.process.BrokenProcessPool as exc:
                        raise DatasetError(
                            "A feature-extraction worker process died. In a script, start the "
                            "work under `if __name__ == '__main__':` (worker processes re-import "
                            "the main module), or pass workers=1 to extract in this process."
                        ) from exc
                    except BaseException:
                        for future in futures:
                            future.cancel()
                        raise
                finally:
                    if owned:
                        pool.shutdown(wait=True, cancel_futures=True)
        finally:
            bar.close()
        outcomes.sort(key=lambda o: o.index)
        hits = sum(o.cached for o in outcomes)
        logger.info("Extracted features of %d files (%d from the cache).", len(outcomes), hits)
        return outcomes

    def _check(self, outcome: Outcome) -> Outcome:
        if outcome.error is not None and self.on_error == "raise":
            path = self.paths[outcome.index]
            cls = getattr(errors, outcome.error_type or "", None)
            if isinstance(cls, type) and issubclass(cls, errors.AudioError):
                raise cls(outcome.error, source=path)
            raise DatasetError(f"Feature extraction failed for {path!r}: {outcome.error}")
        return outcome

    # ------------------------------------------------------------ cached sets

    def _cached(self) -> tuple[FeatureCache, str]:
        if self.cache is None or self.key is None:  # pragma: no cover - internal misuse
            raise RuntimeError("this extraction has no cache")
        return self.cache, self.key

    def _set_key(self) -> str | None:
        """Key of the consolidated set: preprocessing + ordered (content digest) list."""
        cache, key = self._cached()
        digest = hashlib.blake2b(digest_size=16)
        digest.update(key.encode())
        for path in self.paths:
            try:
                digest.update(cache.digest(path).encode())
            except OSError:
                return None  # a file is unreadable now: recompute and report it
        return digest.hexdigest()

    def _reuse_set(self) -> FeatureSet | None:
        cache, _ = self._cached()
        set_key = self._set_key()
        if set_key is None:
            return None
        x_path = cache.set_path(set_key)
        meta_path = x_path.with_suffix(".json")
        try:
            meta = json.loads(meta_path.read_text())
            x = np.load(x_path, mmap_mode="r")
            counts = np.array(meta["counts"], dtype=np.int64)
            files = np.array(meta["files"], dtype=np.int64)
            shape_ok = tuple(x.shape[1:]) == tuple(self.featurizer.output_shape)
            if (
                not shape_ok
                or x.dtype != np.float32
                or int(counts.sum()) != len(x)
                or len(meta["paths"]) != len(self.paths)
            ):
                raise ValueError("inconsistent feature set")
            # The key is the files' content, not their paths: the same data reached by
            # another path (a moved folder, a relative path) reuses the set, its failures
            # named by today's paths.
            where = {path: i for i, path in enumerate(meta["paths"])}
            failures = tuple(
                FailedFile(**dict(f, path=self.paths[where[f["path"]]])) for f in meta["failures"]
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("Ignoring damaged feature set %s (%s); rebuilding it.", x_path, exc)
            return None
        groups = np.repeat(files, counts)
        logger.info("Reused cached features of %d files from %s.", len(files), x_path)
        report = meta.get("report_path")
        if meta["paths"] != self.paths:
            report = self._record(set_key, files.tolist(), counts.tolist(), failures)
        return self._featureset(x, self.dataset.labels[groups], groups, failures, report)

    def _record(
        self, set_key: str, files: list[int], counts: list[int], failures: tuple[FailedFile, ...]
    ) -> str:
        """Write the set's report and its metadata (atomically); return the report's path."""
        cache, _ = self._cached()
        report = self._report(set_key, failures)
        meta = {
            "paths": self.paths,
            "files": files,
            "counts": counts,
            "failures": [f.to_dict() for f in failures],
            "report_path": report,
        }
        atomic_write(cache.set_path(set_key).with_suffix(".json"), json.dumps(meta))
        return report

    def _report(self, name: str, failures: tuple[FailedFile, ...]) -> str:
        """Write the extraction report ``reports/<name>.json``; return its path."""
        cache, key = self._cached()
        report = {
            "preprocessing_key": key,
            "files": len(self.paths),
            "failed": len(failures),
            "failures": [f.to_dict() for f in failures],
        }
        return str(cache.write_report(name, report))

    def _consolidate(
        self,
        ok: list[Outcome],
        labels: IntArray,
        groups: IntArray,
        failures: tuple[FailedFile, ...],
    ) -> FeatureSet:
        """Copy every entry into one memory-mapped array in the cache."""
        cache, _ = self._cached()
        shape = self.featurizer.output_shape
        total = int(sum(o.n_windows for o in ok))
        set_key = self._set_key()
        if set_key is None:  # pragma: no cover - a file vanished between extraction and now
            arrays = [self._entry(o) for o in ok]
            report = self._report("unkeyed", failures)
            return self._featureset(np.concatenate(arrays), labels, groups, failures, report)
        x_path = cache.set_path(set_key)
        x_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = x_path.with_name(f".{x_path.name}.{os.getpid()}.tmp")
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(total, *shape))
            position = 0
            for outcome in ok:
                windows = self._entry(outcome)
                out[position : position + len(windows)] = windows
                position += len(windows)
            out.flush()
            del out
            os.replace(tmp, x_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        report = self._record(set_key, [o.index for o in ok], [o.n_windows for o in ok], failures)
        x = np.load(x_path, mmap_mode="r")
        return self._featureset(x, labels, groups, failures, report)

    def _entry(self, outcome: Outcome) -> FloatArray:
        cache, key = self._cached()
        if outcome.windows is not None:
            return outcome.windows
        windows = (
            cache.get(key, outcome.digest, shape=self.featurizer.output_shape)
            if outcome.digest is not None
            else None
        )
        if windows is None or len(windows) != outcome.n_windows:
            # damaged or removed since it was written: recompute in this process
            redo = extract_one(
                outcome.index, self.paths[outcome.index], self.dataset.loader, self.featurizer,
                str(cache.root), key, outcome.digest, True,
            )  # fmt: skip
            if redo.windows is None:
                raise DatasetError(
                    f"Cached features of {self.paths[outcome.index]!r} vanished and could not be "
                    f"recomputed: {redo.error}"
                )
            return redo.windows
        return windows

    def _featureset(
        self,
        x: FloatArray,
        labels: IntArray,
        groups: IntArray,
        failures: tuple[FailedFile, ...],
        report: str | None,
    ) -> FeatureSet:
        return FeatureSet(
            x=x,
            labels=labels.astype(np.int64),
            groups=groups.astype(np.int64),
            paths=tuple(self.paths),
            classes=tuple(self.dataset.classes),
            failures=failures,
            report_path=report,
        )


def _process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A local process pool that is safe after TensorFlow was imported (no plain fork).

    forkserver forks workers from a clean server process (spawn where forkserver
    is unavailable); the server preloads melgenre's extraction code and
    librosa's spectral functions so workers start warm.
    """
    methods = multiprocessing.get_all_start_methods()
    context: multiprocessing.context.BaseContext
    if "forkserver" in methods:
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(["melgenre._extract", "librosa.core.spectrum", "soxr"])
        context = forkserver
    else:  # pragma: no cover - Windows and some macOS configurations
        context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context)
