"""Feature extraction: every file of a dataset through a :class:`Preprocessing`, in parallel.

:func:`extract_features` is what :meth:`FolderDataset.features` runs. The
per-file work (:func:`extract_files`) is a module-level function of picklable
arguments, a small frozen :class:`ExtractionTask` and a chunk of files, so any
:class:`concurrent.futures.Executor` can run it: a local process pool, or a
Dask or Ray cluster's executor filling a cache on shared storage. Each file
ends as one of three outcomes: :class:`Extracted` (windows sent back),
:class:`Stored` (windows in the cache) or :class:`Failed`.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from melgenre import errors
from melgenre._extract_files import (
    Extracted,
    ExtractionTask,
    Failed,
    Outcome,
    Stored,
    entry_remarks,
    extract_files,
)
from melgenre._typing import FloatArray, IntArray, PathLike
from melgenre._validation import check_choice, check_int, some_of
from melgenre._workers import extraction_pool
from melgenre.cache import FeatureCache
from melgenre.data.featureset import FailedFile, FeatureSet
from melgenre.errors import CacheError, DatasetError

if TYPE_CHECKING:
    from melgenre.data.folders import FolderDataset
    from melgenre.preprocessing import Preprocessing

__all__ = ["Extracted", "ExtractionTask", "Failed", "Stored", "extract_features", "extract_files"]

logger = logging.getLogger(__name__)


def extract_features(
    dataset: FolderDataset,
    preprocessing: Preprocessing,
    *,
    cache_dir: PathLike | None = None,
    workers: int | None = None,
    executor: cf.Executor | None = None,
    progress: bool = True,
    on_error: str = "skip",
) -> FeatureSet:
    """Every file of ``dataset`` as windows in a :class:`FeatureSet`.

    See :meth:`FolderDataset.features`, which calls this, for the parameters.
    """
    check_choice("FolderDataset.features", "on_error", on_error, ("skip", "raise"))
    check_int("FolderDataset.features", "workers", workers, low=1, allow_none=True)
    if not len(dataset):
        raise DatasetError("The dataset has no files to extract features from.")
    paths = [str(p) for p in dataset.paths]
    cache = FeatureCache(cache_dir) if cache_dir is not None else None
    if cache is not None:
        try:  # a path that cannot be a directory fails here, not once per file
            cache.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(
                f"Cannot use {str(cache.root)!r} as the feature cache directory ({exc})."
            ) from exc
    digests: list[str | None] = [None] * len(paths)

    def cached_set() -> FeatureSet | None:
        """The consolidated set of these contents, when every digest is known and it exists."""
        if cache is None or (set_key := _set_key(cache, preprocessing, digests)) is None:
            return None
        return _reuse(cache, set_key, dataset, preprocessing, paths)

    if cache is not None:
        # Digests remembered from earlier runs find a cached set without reading a file.
        digests = [_remembered_or_none(cache, path) for path in paths]
        if (reused := cached_set()) is not None:
            return _remarked(reused)
    root = str(cache.root) if cache is not None else None
    task = ExtractionTask(preprocessing, root, preprocessing.cache_key)
    import_main = _needs_main(task)
    if import_main and executor is None and workers != 1 and not _main_importable():
        logger.warning(
            "%s is defined in an interactive session, which worker processes cannot import: "
            "extracting in this process. Define it in a module (a .py file) to extract in "
            "parallel.",
            _main_defined(preprocessing),
        )
        workers = 1
    with extraction_pool(executor, workers, len(paths), import_main=import_main) as pool:
        # files without a remembered digest are hashed by the workers, in parallel
        files = [(i, p, d) for i, (p, d) in enumerate(zip(paths, digests, strict=True))]
        raising = on_error == "raise"
        outcomes = _run(
            task,
            files,
            pool=pool,
            progress=progress,
            on_failure=(lambda o: _raise(o, paths[o.index])) if raising else None,
        )
    failures = tuple(
        FailedFile(paths[o.index], o.reason, o.error_type)
        for o in outcomes
        if isinstance(o, Failed)
    )
    for failure in failures:
        logger.warning("Skipped %s: %s", failure.path, failure.reason)
    ok = [o for o in outcomes if not isinstance(o, Failed)]
    if not ok:
        which = f"all {len(outcomes)} files; the first" if len(outcomes) > 1 else "the only file"
        raise DatasetError(f"Feature extraction failed for {which}: {failures[0].reason}")
    if failures:
        logger.warning(
            "Skipped %d of %d files; see FeatureSet.failures.", len(failures), len(outcomes)
        )
    remarks = {
        "silent": [o.index for o in ok if o.silent],
        "damaged": [o.index for o in ok if o.damaged],
    }
    counts = [len(o.windows) if isinstance(o, Extracted) else o.n_windows for o in ok]
    chroma_counts = [len(o.chroma) if isinstance(o, Extracted) else o.n_chroma for o in ok]
    files_ok = [o.index for o in ok]
    if cache is None:
        extracted = [o for o in ok if isinstance(o, Extracted)]
        x = np.concatenate([o.windows for o in extracted], axis=0)
        chroma = np.concatenate([o.chroma for o in extracted], axis=0)
        both = (chroma, chroma_counts)
        return _remarked(
            _featureset(
                dataset, x, files_ok, counts, paths, failures, None, both, preprocessing, remarks
            )
        )
    digests = [o.digest if not isinstance(o, Extracted) else None for o in outcomes]
    if (reused := cached_set()) is not None:  # the same contents, reached by other paths
        return _remarked(reused)
    stored = [o for o in ok if isinstance(o, Stored)]
    name = _set_key(cache, preprocessing, digests) or "unkeyed"
    x = cache.write_set(
        name,
        preprocessing.cache_key,
        [(o.digest, o.n_windows) for o in stored],
        shape=preprocessing.output_shape,
        recompute=lambda i: _recompute(cache, task, stored[i], paths[stored[i].index]).windows,
    )
    chroma = cache.write_chroma(
        name,
        preprocessing.cache_key,
        [(o.digest, o.n_chroma) for o in stored],
        recompute=lambda i: _recompute(cache, task, stored[i], paths[stored[i].index]).chroma,
    )
    report = cache.write_set_record(
        name,
        key=preprocessing.cache_key,
        paths=paths,
        files=files_ok,
        counts=counts,
        failures=[f.to_dict() for f in failures],
        chroma_counts=chroma_counts,
        remarks=remarks,
    )
    both = (chroma, chroma_counts)
    return _remarked(
        _featureset(
            dataset, x, files_ok, counts, paths, failures, report, both, preprocessing, remarks
        )
    )


def _needs_main(task: ExtractionTask) -> bool:
    """Whether the task pickles something defined in the main script (a featurizer, say).

    Only then do worker processes import the script again (which, with its imports,
    may be TensorFlow: seconds and hundreds of megabytes a worker).
    """
    try:
        return b"__main__" in pickle.dumps(task)
    except Exception:  # unpicklable here: the pool reports it, as it did before
        return True


def _main_importable() -> bool:
    """Whether a worker process can import the main module again (a script can, a notebook not)."""
    main = sys.modules["__main__"]
    return getattr(main, "__file__", None) is not None or (
        getattr(getattr(main, "__spec__", None), "name", None) is not None
    )


def _main_defined(preprocessing: Preprocessing) -> str:
    """The names of the preprocessing's classes defined in ``__main__`` (what to move)."""
    parts = (preprocessing, preprocessing.loader, preprocessing.featurizer)
    names = sorted({type(p).__name__ for p in parts if type(p).__module__ == "__main__"})
    return ", ".join(names) or "Something the preprocessing holds"


#: The warning about a set's files with each remark (see :meth:`FeatureCache.put
#: <melgenre.cache.FeatureCache.put>`), by FeatureSet attribute: their number, all
#: files', a few names.
_REMARKS = {
    "silent_files": "%d of %d files are silent (no sample above -90 dBFS): %s. A model learns them "
    "as their folder's class; remove them unless silence is one of your classes.",
    "damaged_files": "%d of %d files hold damaged data that the decoder skipped (e.g. corrupt MP3 "
    "frames): %s. Their windows hold what could be decoded; re-encode or replace them if "
    "they matter.",
}


def _remarked(features: FeatureSet) -> FeatureSet:
    """``features``, after one warning a remark its files drew (decoded now or cached)."""
    for name, message in _REMARKS.items():
        if named := list(getattr(features, name)):
            logger.warning(message, len(named), len(features.paths), some_of(named))
    return features


def _remembered_or_none(cache: FeatureCache, path: str) -> str | None:
    try:
        return cache.remembered_digest(path)
    except OSError:
        return None  # unreadable now: the worker reports it


def _set_key(
    cache: FeatureCache, preprocessing: Preprocessing, digests: Sequence[str | None]
) -> str | None:
    """The consolidated set's key, when every file's content digest is known."""
    known = [d for d in digests if d is not None]
    if len(known) != len(digests):
        return None
    return cache.set_key(preprocessing.cache_key, known)


def _reuse(
    cache: FeatureCache,
    set_key: str,
    dataset: FolderDataset,
    preprocessing: Preprocessing,
    paths: list[str],
) -> FeatureSet | None:
    """The cached set of these files' contents, its failures named by today's paths."""
    stored = cache.read_set(set_key, shape=preprocessing.output_shape, n_paths=len(paths))
    if stored is None:
        return None
    # The key is the files' content, not their paths: the same data reached by another
    # path (a moved folder, a relative path) reuses the set.
    where = {path: i for i, path in enumerate(stored.paths)}
    try:
        failures = tuple(
            FailedFile(**dict(f, path=paths[where[f["path"]]])) for f in stored.failures
        )
    except (KeyError, TypeError) as exc:
        logger.warning("Ignoring damaged feature set %s (%s); rebuilding it.", set_key, exc)
        return None
    if stored.chroma is None or stored.chroma_counts is None:
        return None  # written without chroma: rebuilt from the entries
    report = stored.report_path
    chroma_counts = stored.chroma_counts.tolist()
    if stored.paths != paths:
        report = cache.write_set_record(
            set_key,
            key=preprocessing.cache_key,
            paths=paths,
            files=stored.files.tolist(),
            counts=stored.counts.tolist(),
            failures=[f.to_dict() for f in failures],
            chroma_counts=chroma_counts,
            remarks=stored.remarks,
        )
    files, counts, remarks = stored.files.tolist(), stored.counts.tolist(), stored.remarks
    both = (stored.chroma, chroma_counts)
    return _featureset(
        dataset, stored.x, files, counts, paths, failures, report, both, preprocessing, remarks
    )


def _recompute(cache: FeatureCache, task: ExtractionTask, outcome: Stored, path: str) -> Extracted:
    """A stored file's features, computed again here: its entry was damaged or removed since."""
    logger.warning("The cached features of %s vanished or were damaged; recomputing them.", path)
    redo = extract_files(dataclasses.replace(task, cache_root=None), [(outcome.index, path, None)])
    if not isinstance(redo[0], Extracted) or (len(redo[0].windows), len(redo[0].chroma)) != (
        outcome.n_windows,
        outcome.n_chroma,
    ):
        reason = redo[0].reason if isinstance(redo[0], Failed) else "the file changed meanwhile"
        raise DatasetError(
            f"Cached features of {path!r} vanished and could not be recomputed: {reason}"
        )
    noted = entry_remarks(redo[0].silent, redo[0].damaged)
    cache.put(task.cache_key, outcome.digest, redo[0].windows, redo[0].chroma, remarks=noted)
    return redo[0]


def _featureset(
    dataset: FolderDataset,
    x: FloatArray,
    files: list[int],
    counts: list[int],
    paths: list[str],
    failures: tuple[FailedFile, ...],
    report: str | None,
    chroma: tuple[FloatArray, list[int]],
    preprocessing: Preprocessing,
    remarks: dict[str, list[int]],
) -> FeatureSet:
    groups: IntArray = np.repeat(np.array(files, dtype=np.int64), counts)
    frames, frame_counts = chroma
    return FeatureSet(
        x=x,
        labels=dataset.labels[groups].astype(np.int64),
        groups=groups,
        paths=tuple(paths),
        classes=tuple(dataset.class_names),
        failures=failures,
        report_path=report,
        chroma=frames,
        chroma_groups=np.repeat(np.array(files, dtype=np.int64), frame_counts),
        preprocessing=preprocessing,
        silent_files=tuple(paths[i] for i in remarks.get("silent", [])),
        damaged_files=tuple(paths[i] for i in remarks.get("damaged", [])),
    )


def _raise(outcome: Failed, path: str) -> None:
    cls = getattr(errors, outcome.error_type, None)
    if isinstance(cls, type) and issubclass(cls, errors.AudioError):
        raise cls(outcome.reason, source=path)
    raise DatasetError(f"Feature extraction failed for {path!r}: {outcome.reason}")


def _run(
    task: ExtractionTask,
    files: list[tuple[int, str, str | None]],
    *,
    pool: cf.Executor | None,
    progress: bool,
    on_failure: Callable[[Failed], None] | None = None,
) -> list[Outcome]:
    """Run :func:`extract_files` over ``files``: in chunks on ``pool``, or here.

    ``on_failure`` sees each failed file as soon as it is known (and may raise, which
    cancels the files not started yet).
    """

    def arrived(done: list[Outcome]) -> None:
        if on_failure is not None:
            for outcome in done:
                if isinstance(outcome, Failed):
                    on_failure(outcome)
        outcomes.extend(done)
        bar.update(len(done))

    from melgenre._progress import progress_bar

    bar = progress_bar(total=len(files), desc="Extracting features", enabled=progress)
    outcomes: list[Outcome] = []
    try:
        if pool is None:
            for file in files:
                arrived(extract_files(task, [file]))
        else:
            # a few chunks per worker: little IPC per file, and the load stays balanced
            per_worker = len(files) // (4 * (os.cpu_count() or 1))
            size = max(1, min(16, per_worker))
            chunks = [files[i : i + size] for i in range(0, len(files), size)]
            futures = [pool.submit(extract_files, task, chunk) for chunk in chunks]
            try:
                for future in cf.as_completed(futures):
                    arrived(future.result())
            except cf.process.BrokenProcessPool as exc:
                raise DatasetError(
                    "A feature-extraction worker process died. In a script, start the work "
                    "under `if __name__ == '__main__':` (worker processes re-import the main "
                    "module), or pass workers=1 to extract in this process."
                ) from exc
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        bar.close()
    outcomes.sort(key=lambda o: o.index)
    hits = sum(isinstance(o, Stored) and o.cached for o in outcomes)
    logger.info("Extracted features of %d files (%d from the cache).", len(outcomes), hits)
    return outcomes
