"""Extracted features: :class:`FeatureSet` (windows, labels, files) and :class:`FailedFile`."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from melgenre._typing import FloatArray, IntArray
from melgenre._validation import check_int, checked_indices, counted
from melgenre.errors import ConfigError, DatasetError, MelgenreTypeError

if TYPE_CHECKING:
    import tensorflow as tf

    from melgenre.augment import Augmentation
    from melgenre.preprocessing import Preprocessing

__all__ = ["FailedFile", "FeatureSet"]


@dataclasses.dataclass(frozen=True)
class FailedFile:
    """A file that could not be turned into features, and why."""

    path: str
    reason: str
    error_type: str

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form."""
        return dataclasses.asdict(self)


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
    chroma : np.ndarray [shape=(n_chroma_frames, 12), dtype=float32] or None
        Each file's constant-Q chroma (:meth:`Preprocessing.chroma`), file after file,
        which :class:`~melgenre.statistics.ClipStatistics` summarises with
        ``harmony=True``; feature extraction fills it. ``None`` for a set built
        without it.
    chroma_groups : np.ndarray [shape=(n_chroma_frames,), dtype=int64] or None
        Index into :attr:`paths` of the file each chroma frame came from.
    preprocessing : Preprocessing or None
        The preprocessing that made the windows, so that the files can be read again
        as they were (a :class:`~melgenre.StatisticsHead` reads its varispeed copies
        so); feature extraction fills it. ``None`` for a set built without it.
    silent_files : tuple of str
        Files of :attr:`paths` that decoded but hold no sample above -90 dBFS: their
        windows are in the set, learned as their folder's class (extraction warns).
    damaged_files : tuple of str
        Files of :attr:`paths` whose decoder skipped damaged data (e.g. corrupt MP3
        frames): their windows hold what could be decoded (extraction warns).
    """

    x: FloatArray
    labels: IntArray
    groups: IntArray
    paths: tuple[str, ...]
    classes: tuple[str, ...]
    failures: tuple[FailedFile, ...] = ()
    report_path: str | None = None
    chroma: FloatArray | None = None
    chroma_groups: IntArray | None = None
    preprocessing: Preprocessing | None = None
    silent_files: tuple[str, ...] = ()
    damaged_files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check that a set built by hand holds together (index lists become arrays).

        Raises :class:`MelgenreTypeError` for windows that are not an array and
        :class:`ConfigError` for labels, groups or chroma that do not fit them.
        """
        x = self.x
        if not hasattr(x, "shape") or not hasattr(x, "dtype") or len(x.shape) < 2:
            raise MelgenreTypeError(
                "FeatureSet expects x as an array of windows, (n_windows, n_bins, frames, 1); "
                f"got {type(x).__name__}{getattr(x, 'shape', '')}."
            )
        if type(x) is np.ndarray and x.dtype != np.float32:  # a memory map stays as stored
            object.__setattr__(self, "x", x.astype(np.float32))
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "paths", tuple(self.paths))
        known = set(self.paths)
        for name in ("silent_files", "damaged_files"):
            files = tuple(str(path) for path in getattr(self, name))
            if unknown := [path for path in files if path not in known]:
                raise ConfigError(
                    f"FeatureSet's {name} must be files of its paths; {unknown[0]!r} is not."
                )
            object.__setattr__(self, name, files)
        n = int(x.shape[0])
        labels = checked_indices(
            "FeatureSet", "labels", self.labels, n, len(self.classes), "classes"
        )
        object.__setattr__(self, "labels", labels)
        object.__setattr__(
            self,
            "groups",
            checked_indices("FeatureSet", "groups", self.groups, n, len(self.paths), "paths"),
        )
        if (self.chroma is None) != (self.chroma_groups is None):
            raise ConfigError("FeatureSet takes chroma and chroma_groups together, or neither.")
        if self.chroma is not None:
            frames = int(np.shape(self.chroma)[0])
            groups = checked_indices(
                "FeatureSet", "chroma_groups", self.chroma_groups, frames, len(self.paths), "paths"
            )
            object.__setattr__(self, "chroma_groups", groups)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __repr__(self) -> str:
        return (
            f"FeatureSet({counted(len(self), 'window')} of shape {tuple(self.x.shape[1:])} from "
            f"{counted(self.n_files, 'file')}, {counted(len(self.classes), 'class', 'classes')}, "
            f"{len(self.failures)} failed)"
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

    def file_chroma(self, file: int) -> FloatArray:
        """The ``(frames, 12)`` chroma of file ``file`` (an index into :attr:`paths`).

        Raises
        ------
        DatasetError
            The set has no chroma (:attr:`chroma` is ``None``), or none for that file.
        """
        if self.chroma is None or self.chroma_groups is None:
            raise DatasetError(
                "This FeatureSet has no chroma: build it with FolderDataset.features (which "
                "stores each file's chroma), or use ClipStatistics(harmony=False)."
            )
        start, stop = self._chroma_bounds.get(int(file), (0, 0))
        if stop == start:
            raise DatasetError(f"This FeatureSet has no chroma for {self.paths[file]!r}.")
        return np.asarray(self.chroma[start:stop], dtype=np.float32)

    @functools.cached_property
    def _chroma_bounds(self) -> dict[int, tuple[int, int]]:
        return {} if self.chroma_groups is None else _bounds(self.chroma_groups)

    def batches(self, batch_size: int = 256) -> Iterator[FloatArray]:
        """The windows in order, ``batch_size`` at a time, as in-memory arrays.

        Reading a memory-mapped set this way keeps memory bounded by one batch.

        Parameters
        ----------
        batch_size : int > 0, default=256

        Yields
        ------
        x : np.ndarray [shape=(<= batch_size, *window_shape), dtype=float32]
        """
        check_int("FeatureSet.batches", "batch_size", batch_size, low=1)
        for start in range(0, len(self), batch_size):
            yield np.asarray(self.x[start : start + batch_size], dtype=np.float32)

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
        from melgenre._tf import tf

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
        base = seed_base(seed)
        epoch = initial_epoch

        def batches() -> Iterator[tuple[Any, ...]]:
            nonlocal epoch
            this_epoch, epoch = epoch, epoch + 1
            order = epoch_batches(n, batch_size, base, this_epoch, shuffle, drop_remainder)
            for number, index in enumerate(order):
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


def _bounds(groups: IntArray) -> dict[int, tuple[int, int]]:
    """Each file's ``(start, stop)`` rows in a file-after-file ``groups`` array."""
    values = np.asarray(groups, dtype=np.int64)
    if not len(values):
        return {}
    edges = (np.flatnonzero(np.diff(values)) + 1).tolist()
    starts, stops = [0, *edges], [*edges, len(values)]
    return {int(values[a]): (a, b) for a, b in zip(starts, stops, strict=True)}


def seed_base(seed: int | None) -> int:
    """The base of :meth:`FeatureSet.to_tf_dataset`'s shuffling streams (``seed``, or fresh)."""
    return seed if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])


def epoch_batches(
    n: int, batch_size: int, base: int, epoch: int, shuffle: bool, drop_remainder: bool = False
) -> list[IntArray]:
    """Window indices of each batch of ``epoch``, as :meth:`FeatureSet.to_tf_dataset` feeds them.

    A permutation drawn from ``(base, epoch)`` (or the order as stored), cut into batches, each
    sorted (sequential reads on a memory map; order inside a batch is irrelevant).
    """
    order = np.random.default_rng([base, epoch]).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_remainder else n
    return [np.sort(order[start : start + batch_size]) for start in range(0, stop, batch_size)]
