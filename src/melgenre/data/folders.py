"""Labelled audio files from a folder per class: :class:`FolderDataset`.

A :class:`FolderDataset` is a plain, immutable list of files and their labels
(subsets are made with :func:`dataclasses.replace`). :meth:`FolderDataset.split`
divides it without leaks (:mod:`melgenre.data.split`) and
:meth:`FolderDataset.features` turns it into a :class:`FeatureSet`
(:mod:`melgenre.extraction`).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from melgenre._typing import IntArray, PathLike
from melgenre._validation import check_choice, check_int, counted
from melgenre.audio import AudioLoader
from melgenre.data.duplicates import identical_groups, identical_indices
from melgenre.data.folds import CrossValidation
from melgenre.data.published import PublishedSplits
from melgenre.data.scan import AUDIO_EXTENSIONS, Example, OnError, scan
from melgenre.data.split import Split, assign_sides, check_sizes, group_ids, group_keys
from melgenre.deprecation import warn_deprecated
from melgenre.errors import DatasetError, MelgenreTypeError

if TYPE_CHECKING:
    from melgenre.data.featureset import FeatureSet
    from melgenre.featurizer import Featurizer
    from melgenre.preprocessing import Preprocessing

__all__ = ["AUDIO_EXTENSIONS", "Example", "FolderDataset", "OnError"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, init=False, repr=False)
class FolderDataset(PublishedSplits, CrossValidation):
    """Labelled audio files from a folder with one sub-folder per class.

    ::

        root/
          blues/  a.wav  b.mp3  live/c.flac     (nested files belong to 'blues')
          rock/   d.wav  ...

    Class names are the first-level folder names, sorted (or ``class_names``
    in the order given). Hidden files and folders (names starting with ".")
    and files whose extension is not in :data:`AUDIO_EXTENSIONS` are ignored;
    files are ordered by path, so the same folder always gives the same
    dataset. The dataset is immutable: :meth:`split`, :meth:`folds` and
    ``dataclasses.replace(ds, items=...)`` make new ones.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding one sub-folder per class.
    class_names : sequence of str, optional
        The classes, in label-index order; each must be a sub-folder of
        ``root``. Other sub-folders are ignored. Default: every sub-folder.
    on_error : {"skip", "raise"}, default="skip"
        What :meth:`features` does with a file that cannot be decoded: skip it
        and list it in :attr:`FeatureSet.failures`, or raise its error.
    extensions : collection of str, optional
        File extensions to scan (with the dot); default
        :data:`AUDIO_EXTENSIONS`.
    items : sequence of Example, optional
        The files, instead of scanning ``root`` (what ``dataclasses.replace``
        passes; every label must be one of ``class_names``).
    loader : AudioLoader, optional
        Deprecated since 0.2: give :meth:`features` a
        :class:`~melgenre.Preprocessing` instead.

    Attributes
    ----------
    root : pathlib.Path
    class_names : tuple of str
    items : tuple of Example
    on_error : {"skip", "raise"}
    extensions : frozenset of str

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

    root: Path
    class_names: tuple[str, ...]
    items: tuple[Example, ...]
    on_error: OnError
    extensions: frozenset[str]
    loader: AudioLoader | None

    def __init__(
        self,
        root: PathLike,
        *,
        class_names: Sequence[str] | None = None,
        on_error: OnError = "skip",
        extensions: Sequence[str] | frozenset[str] | None = None,
        items: Sequence[Example] | None = None,
        loader: AudioLoader | None = None,
    ) -> None:
        check_choice(type(self).__name__, "on_error", on_error, ("skip", "raise"))
        if loader is not None:
            warn_deprecated(
                "The 'loader' parameter of FolderDataset",
                since="0.2",
                removed_in="0.3",
                instead="ds.features(Preprocessing(featurizer, loader=loader))",
            )
            if not isinstance(loader, AudioLoader):
                raise MelgenreTypeError(
                    f"FolderDataset's loader must be an AudioLoader, got {type(loader).__name__}."
                )
        if isinstance(class_names, str):  # it would be read letter by letter
            raise MelgenreTypeError(
                f"class_names must be a list of folder names; got the string {class_names!r}."
            )
        if isinstance(extensions, str):  # ".wav" alone: one extension, not four letters
            extensions = [extensions]
        exts = frozenset(
            e.lower() if e.startswith(".") else f".{e.lower()}"
            for e in (extensions or AUDIO_EXTENSIONS)
        )
        if items is None:
            classes, found = scan(Path(root), class_names, exts)
            logger.info("Found %d files belonging to %d classes.", len(found), len(classes))
        else:
            classes, found = list(class_names or ()), list(items)
            unknown = sorted({item.label for item in found} - set(classes))
            if unknown:
                raise DatasetError(f"items carry labels {unknown} not in class_names {classes}.")
        for name, value in (
            ("root", Path(root)),
            ("class_names", tuple(classes)),
            ("items", tuple(found)),
            ("on_error", on_error),
            ("extensions", exts),
            ("loader", loader),
        ):
            object.__setattr__(self, name, value)

    # ----------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.items)

    def __getitem__(self, index: int) -> Example:
        return self.items[index]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.root)!r}, {counted(len(self), 'file')}, "
            f"{counted(len(self.class_names), 'class', 'classes')})"
        )

    @property
    def classes(self) -> list[str]:
        """The class names, by label index (a new list each time)."""
        return list(self.class_names)

    @property
    def paths(self) -> list[Path]:
        """Every file, in dataset order."""
        return [item.path for item in self.items]

    @property
    def labels(self) -> IntArray:
        """The label index of every file, in dataset order."""
        return np.array([item.label_index for item in self.items], dtype=np.int64)

    def class_counts(self) -> dict[str, int]:
        """Number of files per class, in class order (zero for a class with none here)."""
        counts = Counter(item.label for item in self.items)
        return {label: counts.get(label, 0) for label in self.class_names}

    def fingerprint(self) -> str:
        """A hash of the dataset's file list and labels (paths relative to the root)."""
        lines = []
        for item in self.items:
            try:
                name = item.path.relative_to(self.root).as_posix()
            except ValueError:
                name = item.path.as_posix()
            lines.append(f"{name}\t{item.label}")
        return hashlib.blake2b("\n".join(lines).encode(), digest_size=16).hexdigest()

    def duplicates(self) -> list[list[Path]]:
        """Groups of files whose bytes are identical (each group sorted, at least two files).

        :meth:`split` keeps each group on one side. Empty files (no recording) are in none.
        """
        return identical_groups(self.paths)

    def with_loader(self, loader: AudioLoader) -> FolderDataset:
        """The same files, decoded by ``loader``.

        .. deprecated:: 0.2
            Give :meth:`features` a ``Preprocessing(featurizer, loader=loader)``.
        """
        return dataclasses.replace(self, loader=loader)

    # ------------------------------------------------------------------ split

    def split(
        self,
        test_size: float = 0.2,
        validation_size: float | None = None,
        *,
        seed: int | None = 42,
        groups: Callable[[Path], Hashable] | None = None,
        check_duplicates: bool = True,
    ) -> Split:
        """Split into train, validation (optional) and test datasets without leaks.

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
        Split
            A named tuple ``(train, validation, test)``; ``validation`` is
            None without ``validation_size``.

        Notes
        -----
        Groups are assigned whole, so the sizes are met as closely as the
        group sizes allow. A group spanning classes counts for its most
        frequent class. Each class gets at least one group in every set when
        it has enough groups; otherwise a warning says which class is missing.
        """
        owner = f"{type(self).__name__}.split"
        sizes = check_sizes(owner, test_size, validation_size)
        check_int(owner, "seed", seed, low=0, allow_none=True)
        ids = self._group_ids(groups, check_duplicates)
        side = assign_sides(
            ids,
            self.labels,
            [size for _, size in sizes],
            n_classes=len(self.class_names),
            seed=seed,
            class_names=self.class_names,
            side_names=[name for name, _ in sizes],
        )

        for number, name in enumerate(["train", "test"]):  # an empty validation set: warned
            if number not in side:  # e.g. every file in one group, or two files a class
                raise DatasetError(
                    f"Cannot split {counted(len(self), 'file')}: the {name} set would hold "
                    f"none of them, {self._too_few(ids, len(sizes) + 1)}"
                )

        def part(number: int) -> FolderDataset:
            return self._subset([i for i, s in enumerate(side) if s == number])

        return Split(part(0), part(2) if validation_size is not None else None, part(1))

    def _group_ids(
        self, groups: Callable[[Path], Hashable] | None, check_duplicates: bool
    ) -> IntArray:
        """Each file's group: joined by an equal ``groups`` key or identical bytes."""
        keys = group_keys(self.paths, groups) if groups is not None else None
        labels = [item.label for item in self.items]
        identical = identical_indices(self.paths, labels) if check_duplicates else []
        return group_ids(len(self), keys, identical)

    def _too_few(self, ids: IntArray, needed: int) -> str:
        """Why a split left a set empty: too few files a class, or groups too large."""
        n_groups = len(set(ids.tolist()))
        if n_groups < len(self):
            return (
                f"as they form {counted(n_groups, 'group')} kept together (by groups and "
                "identical bytes). Check the groups."
            )
        most = max(Counter(item.label for item in self.items).values())
        sets = "the train, validation and test sets" if needed > 2 else "the train and test sets"
        return (
            f"as each class has at most {counted(most, 'file')} and needs {needed} to put one "
            f"in each of {sets}. Add files to every class"
            + (", or split without a validation set." if needed > 2 else ".")
        )

    def _subset(self, indices: Sequence[int]) -> FolderDataset:
        """The files at ``indices``, in that order, with everything else the same."""
        return dataclasses.replace(self, items=tuple(self.items[i] for i in indices))

    # --------------------------------------------------------------- features

    def features(
        self,
        preprocessing: Preprocessing | Featurizer,
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
        keyed by each file's content and the preprocessing; a second run
        reads them back instead of recomputing, and the windows are served as
        a read-only memory-mapped array, so a dataset larger than memory does
        not have to fit in RAM.

        As with any code that starts processes, a script must call this under
        ``if __name__ == "__main__":`` (or pass ``workers=1``).

        Unreadable files are skipped (or raise: ``on_error="raise"``) and logged; silent
        and damaged ones are kept (silence can be a class) and named in a warning.

        Parameters
        ----------
        preprocessing : Preprocessing or Featurizer
            How files become windows; a bare featurizer means
            ``Preprocessing(featurizer)`` (its sample rate decides the loader's).
        cache_dir : str or os.PathLike, optional
            The feature cache; see :mod:`melgenre.cache`. Shared storage works.
        workers : int > 0 or None, default=None
            Local worker processes; ``None`` means one per CPU core, ``1``
            runs in this process. Ignored when ``executor`` is given.
        executor : concurrent.futures.Executor, optional
            Runs the per-file work (it must be able to pickle the
            preprocessing); melgenre does not shut it down.
        progress : bool, default=True
            Show a progress bar (tqdm, on stderr; redrawn every 30 s, not ten times a
            second, when stderr is a file or a pipe, such as a log).
        on_error : {"skip", "raise"}, optional
            Overrides the dataset's ``on_error`` for this call.

        Returns
        -------
        FeatureSet

        Raises
        ------
        AudioError
            With ``on_error="raise"``, the first file that fails.
        DatasetError
            The dataset is empty, or every file failed.
        """
        from melgenre.extraction import extract_features
        from melgenre.preprocessing import Preprocessing

        if not isinstance(preprocessing, Preprocessing):
            preprocessing = Preprocessing(preprocessing, loader=self.loader)
        return extract_features(
            self,
            preprocessing,
            cache_dir=cache_dir,
            workers=workers,
            executor=executor,
            progress=progress,
            on_error=self.on_error if on_error is None else on_error,
        )
