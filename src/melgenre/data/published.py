"""Datasets from published splits: the constructors :class:`~melgenre.FolderDataset` inherits.

A published split says which files train and which test: ready-made split folders
(:meth:`~PublishedSplits.from_split_folders`), lists of file names over one folder per
class (:meth:`~PublishedSplits.from_split_lists`, :mod:`melgenre.data.lists`) or a list
shipped with melgenre (:meth:`~PublishedSplits.from_split_preset`, e.g. GTZAN's
fault-filtered split). Files with identical bytes on two sides are reported
(:mod:`melgenre.data.duplicates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from melgenre._typing import PathLike
from melgenre._validation import check_choice
from melgenre.data.duplicates import warn_split_leaks
from melgenre.data.lists import (
    SPLIT_PRESETS,
    EntrySource,
    OnMissing,
    find_preset_root,
    match_entries,
    preset_lists,
    read_entries,
)
from melgenre.data.scan import OnError, split_classes
from melgenre.data.split import Split
from melgenre.errors import MelgenreTypeError

if TYPE_CHECKING:
    from melgenre.audio import AudioLoader
    from melgenre.data.folders import FolderDataset

__all__ = ["PublishedSplits"]


def _dataset_type(cls: type[PublishedSplits]) -> type[FolderDataset]:
    """``cls`` as what it is: :class:`~melgenre.FolderDataset` or a subclass of it."""
    return cast("type[FolderDataset]", cls)


class PublishedSplits:
    """The constructors of :class:`~melgenre.FolderDataset` from published splits (a mixin)."""

    @classmethod
    def from_split_folders(
        cls,
        root: PathLike,
        *,
        splits: Sequence[str] = ("train", "test"),
        class_names: Sequence[str] | None = None,
        on_error: OnError = "skip",
        extensions: Sequence[str] | frozenset[str] | None = None,
        loader: AudioLoader | None = None,
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
        class_names, on_error, extensions
            As for :class:`FolderDataset`.
        loader : AudioLoader, optional
            Deprecated since 0.2, as for :class:`FolderDataset`.

        Returns
        -------
        datasets : tuple of FolderDataset
            One per name in ``splits``, in that order.
        """
        root = Path(root)
        if isinstance(splits, str):  # it would be read letter by letter
            raise MelgenreTypeError(f"splits must be a list of folder names; got {splits!r}.")
        class_names = split_classes(root, splits, class_names)
        datasets = tuple(
            _dataset_type(cls)(
                root / s,
                class_names=class_names,
                on_error=on_error,
                extensions=extensions,
                loader=loader,
            )
            for s in splits
        )
        warn_split_leaks(
            {path: s for s, ds in zip(splits, datasets, strict=True) for path in ds.paths}
        )
        return datasets

    @classmethod
    def from_split_lists(
        cls,
        root: PathLike,
        *,
        train: EntrySource,
        test: EntrySource,
        validation: EntrySource | None = None,
        class_names: Sequence[str] | None = None,
        on_error: OnError = "skip",
        on_missing: OnMissing = "raise",
        extensions: Sequence[str] | frozenset[str] | None = None,
    ) -> Split:
        """A published split: lists of file names over one folder per class.

        Labels still come from the class folders; the lists only say which
        side each file is on. An entry is a path relative to ``root``, with or
        without its extension, or a file name or stem that names exactly one
        file (:mod:`melgenre.data.lists`). Files in no list are left out.

        Parameters
        ----------
        root : str or os.PathLike
            The folder holding one sub-folder per class.
        train, test, validation : sequence of str, or path of a text file
            The entries of each part; a text file has one per line (blank lines
            and ``#`` comments skipped). ``validation`` is optional.
        class_names, on_error, extensions
            As for :class:`FolderDataset`.
        on_missing : {"raise", "skip"}, default="raise"
            What to do when an entry names no file: raise a
            :class:`~melgenre.DatasetError` listing them, or log a warning and
            go on with the files that are there.

        Returns
        -------
        Split
            ``(train, validation, test)``; ``validation`` is None without a list.

        Raises
        ------
        DatasetError
            An entry names several files or no file (see ``on_missing``), or a
            file is in two lists.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np, soundfile as sf
        >>> from melgenre import FolderDataset
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for label in ("hum", "hiss"):
        ...     (root / label).mkdir()
        ...     for i in range(2):
        ...         sf.write(root / label / f"{label}.{i}.wav", np.zeros(800, np.float32), 8000)
        >>> split = FolderDataset.from_split_lists(
        ...     root, train=["hum.0", "hiss.0"], test=["hum/hum.1.wav", "hiss.1"])
        >>> [p.name for p in split.test.paths]
        ['hiss.1.wav', 'hum.1.wav']
        """
        check_choice(cls.__name__, "on_missing", on_missing, ("raise", "skip"))
        full = _dataset_type(cls)(
            root, class_names=class_names, on_error=on_error, extensions=extensions
        )
        sources = {"train": train, "validation": validation, "test": test}
        entries = {p: read_entries(s, p) for p, s in sources.items() if s is not None}
        chosen = match_entries(full.root, full.items, entries, on_missing=on_missing)
        parts = {p: full._subset(sorted(found)) for p, found in chosen.items()}
        warn_split_leaks({path: p for p, ds in parts.items() for path in ds.paths})
        return Split(parts["train"], parts.get("validation"), parts["test"])

    @classmethod
    def from_split_preset(
        cls,
        root: PathLike,
        name: str,
        *,
        on_error: OnError = "skip",
        on_missing: OnMissing = "raise",
        extensions: Sequence[str] | frozenset[str] | None = None,
    ) -> Split:
        """A published split shipped with melgenre, applied to a local copy of its data.

        ``name`` is a key of :data:`melgenre.data.SPLIT_PRESETS`, e.g.
        ``"gtzan-fault-filtered"``. ``root`` may be the folder holding the
        class folders or one or two levels above it (``gtzan/`` for
        ``gtzan/genres/blues/blues.00000.au``). Nothing is downloaded; see
        :meth:`from_split_lists` for ``on_error``, ``on_missing`` and
        ``extensions``.
        """
        lists = preset_lists(name)
        classes = SPLIT_PRESETS[name][0]
        return cls.from_split_lists(
            find_preset_root(Path(root), classes),
            train=lists["train"],
            validation=lists["validation"],
            test=lists["test"],
            class_names=classes,
            on_error=on_error,
            on_missing=on_missing,
            extensions=extensions,
        )
