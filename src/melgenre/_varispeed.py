"""Varispeed copies of training files: what :class:`~melgenre.StatisticsHead` also learns from.

A copy plays a file a few semitones higher and as much faster, as a turntable or a tape
does: the samples are resampled by the speed ratio and kept at the file's rate, so pitch
and tempo move together and nothing is synthesised (no phase vocoder, no artefacts). Speech
recognition calls it speed perturbation. The copy's statistics are computed as a file's are
in training: its windows by the set's own preprocessing, its own chroma.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from melgenre._typing import FloatArray, IntArray
from melgenre.audio import Audio
from melgenre.errors import MelgenreError

if TYPE_CHECKING:
    from melgenre.data import FeatureSet
    from melgenre.statistics import ClipStatistics

logger = logging.getLogger(__name__)


def speed_ratio(semitones: float) -> Fraction:
    """``2 ** (semitones / 12)`` as the nearest fraction whose denominator is at most 100.

    Whole semitones within 2 cents of the interval (a pure fourth and fifth for 5 and 7),
    any shift within 9; a ratio of small integers keeps the polyphase resampling cheap.
    """
    return Fraction(2 ** (semitones / 12)).limit_denominator(100)


def varispeed(audio: Audio, semitones: float) -> Audio:
    """``audio`` played ``semitones`` higher and ``2 ** (semitones / 12)`` times as fast.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import Audio
    >>> tone = Audio(np.sin(2 * np.pi * 440 * np.arange(8000) / 8000), 8000)
    >>> varispeed(tone, 12).samples.shape  # an octave up: half as long
    (4000,)
    """
    from scipy.signal import resample_poly

    ratio = speed_ratio(semitones)
    samples = resample_poly(
        np.asarray(audio.samples, np.float64), ratio.denominator, ratio.numerator, axis=-1
    )
    source = f"{audio.source} at x{float(ratio):.4f}"
    return Audio(samples.astype(np.float32), audio.sample_rate, source=source)


def copy_statistics(
    statistics: ClipStatistics,
    features: FeatureSet,
    files: IntArray,
    semitones: Sequence[float],
    progress: bool = False,
    workers: int | None = None,
) -> tuple[FloatArray, IntArray]:
    """The statistics of each file's varispeed copies, read by ``features.preprocessing``.

    Returns ``(rows, owners)``: one row per copy, shift after shift in the order of
    ``semitones`` and file after file in the order of ``files`` within a shift, and each
    row's position in ``files`` (:func:`read_copies`, which says the rest).
    """
    return read_copies(
        statistics,
        features,
        files,
        lambda audio, _: [varispeed(audio, shift) for shift in semitones],
        progress,
        workers,
    )


def read_copies(
    statistics: ClipStatistics,
    features: FeatureSet,
    files: IntArray,
    make: Callable[[Audio, int], Sequence[Audio]],
    progress: bool = False,
    workers: int | None = None,
) -> tuple[FloatArray, IntArray]:
    """The statistics of the copies ``make(audio, position)`` returns for each file.

    Each file of ``files`` is decoded again by ``features.preprocessing``, and each copy's
    statistics are computed as a file's are in training (its windows, its own chroma).
    Returns ``(rows, owners)``: copy after copy in the order ``make`` returns them and file
    after file within a copy, and each row's position in ``files``. A file that cannot be
    read again (moved, changed into something undecodable) is logged and has no copies.
    ``progress`` shows a bar (tqdm). ``workers`` threads read the files (default: one per
    CPU); the rows do not depend on how many. An interrupt leaves the files not started.
    """
    import concurrent.futures as cf

    from melgenre._progress import progress_bar

    preprocessing = features.preprocessing
    if preprocessing is None:
        raise ValueError("read_copies needs a FeatureSet that carries its preprocessing")
    listed = [features.paths[file] for file in np.asarray(files).tolist()]
    unread: list[tuple[int, str, Exception]] = []  # appended from the threads (atomic)

    def copies(position: int, path: str) -> list[FloatArray] | None:
        assert preprocessing is not None
        try:
            made = []
            for copy in make(preprocessing.load(path), position):
                chroma = preprocessing.chroma(copy) if statistics.harmony else None
                made.append(statistics.from_windows(preprocessing.transform(copy), chroma=chroma))
        except (MelgenreError, OSError) as exc:
            logger.debug("No varispeed copies of %s: it could not be read again (%s).", path, exc)
            unread.append((position, path, exc))
            return None
        return made

    n_threads = max(1, min(workers or os.cpu_count() or 1, len(listed)))
    with (
        cf.ThreadPoolExecutor(n_threads, thread_name_prefix="melgenre-copies") as pool,
        progress_bar(total=len(listed), desc="Varispeed copies", enabled=progress) as bar,
    ):
        futures = [pool.submit(copies, *item) for item in enumerate(listed)]
        try:
            for _ in cf.as_completed(futures):
                bar.update()
        except BaseException:  # an interrupt: leave the files not started yet
            for future in futures:
                future.cancel()
            raise
        made = [future.result() for future in futures]
    if unread:  # one warning, not one a file (a moved dataset is every file)
        _, path, exc = min(unread, key=lambda item: item[0])
        logger.warning(
            "No varispeed copies of %d of %d files: they could not be read again (the first, "
            "%s: %s); the statistics head learns from their own statistics alone.",
            len(unread),
            len(listed),
            path,
            exc,
        )
    kept = [(position, rows) for position, rows in enumerate(made) if rows is not None]
    if not kept:
        return np.zeros((0, statistics.dim), np.float32), np.zeros(0, np.int64)
    n_copies = len(kept[0][1])
    owners = np.array([position for position, _ in kept] * n_copies, dtype=np.int64)
    by_copy = [rows[copy] for copy in range(n_copies) for _, rows in kept]
    return np.stack(by_copy).astype(np.float32), owners


def with_copies(
    statistics: ClipStatistics,
    semitones: Sequence[float],
    features: FeatureSet,
    files: IntArray,
    x: FloatArray,
    labels: IntArray,
    max_files: int | None = None,
    progress: bool = False,
    workers: int | None = None,
) -> tuple[FloatArray, IntArray, IntArray | None]:
    """``(rows, labels, groups)``: the files' statistics ``x`` and their copies' after them.

    ``groups`` gives each row its file's position in ``files`` (``None`` without copies:
    no ``semitones``, or a set that does not carry its preprocessing). Past ``max_files``
    files, copies are made of a random sample of that many (seed 0).
    """
    if not semitones:
        return x, labels, None
    if features.preprocessing is None:
        logger.info("The FeatureSet carries no preprocessing: no varispeed copies.")
        return x, labels, None
    copied = np.arange(len(files))
    if max_files is not None and len(files) > max_files:
        copied = np.sort(np.random.default_rng(0).choice(len(files), max_files, replace=False))
    n = len(semitones) * len(copied)
    logger.info("Reading %d varispeed copies of %d training files.", n, len(copied))
    chosen = np.asarray(files)[copied]
    rows, owners = copy_statistics(statistics, features, chosen, semitones, progress, workers)
    owners = copied[owners]
    groups = np.concatenate([np.arange(len(files)), owners])
    return np.concatenate([x, rows]), np.concatenate([labels, labels[owners]]), groups
