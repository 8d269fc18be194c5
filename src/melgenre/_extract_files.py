"""The per-file work of feature extraction: what a worker process runs.

:func:`extract_files` is a module-level function of picklable arguments, a small frozen
:class:`ExtractionTask` and a chunk of files, so any :class:`concurrent.futures.Executor`
can run it (see :mod:`melgenre.extraction`, which orchestrates it and re-exports these
names). Each file ends as one of three outcomes: :class:`Extracted` (windows sent
back), :class:`Stored` (windows in the cache) or :class:`Failed`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from melgenre._stderr import decoder_notes
from melgenre._typing import FloatArray
from melgenre.cache import FeatureCache
from melgenre.errors import CacheError, MelgenreError

if TYPE_CHECKING:
    from melgenre.preprocessing import Preprocessing

__all__ = [
    "Extracted",
    "ExtractionTask",
    "Failed",
    "Outcome",
    "Stored",
    "entry_remarks",
    "extract_files",
]


@dataclasses.dataclass(frozen=True)
class ExtractionTask:
    """How to preprocess, where the cache is, and its key (computed by the caller)."""

    preprocessing: Preprocessing
    cache_root: str | None = None
    cache_key: str = ""  # a worker cannot always read a custom class's source (``__main__``)


@dataclasses.dataclass(frozen=True)
class Extracted:
    """A file's windows and chroma (:meth:`Preprocessing.chroma`), computed and sent back.

    ``silent``: no sample of the decoded audio rises above
    :data:`melgenre.prediction.SILENT_PEAK`. ``damaged``: the decoder reported damaged
    data that it skipped (:func:`melgenre._stderr.decoder_notes`; only in melgenre's
    own worker processes).
    """

    index: int
    windows: FloatArray
    chroma: FloatArray
    silent: bool = False
    damaged: bool = False


@dataclasses.dataclass(frozen=True)
class Stored:
    """A file's windows and chroma are in the cache under ``digest`` (``cached``: already).

    ``silent`` and ``damaged`` as for :class:`Extracted`; for what was cached already
    (``cached``), as stored with the entry when the file was decoded.
    """

    index: int
    n_windows: int
    digest: str
    cached: bool
    n_chroma: int
    silent: bool = False
    damaged: bool = False


@dataclasses.dataclass(frozen=True)
class Failed:
    """A file that could not be turned into windows (``digest``: its content, if readable)."""

    index: int
    reason: str
    error_type: str
    digest: str | None = None


Outcome = Extracted | Stored | Failed

#: Preprocessings seen by this worker process. Pickling drops a featurizer's cached
#: filter bank; equal (frozen, hashable) preprocessings share the first, warmed one.
_WARM: dict[Preprocessing, Preprocessing] = {}


def extract_files(
    task: ExtractionTask, files: Sequence[tuple[int, str, str | None]]
) -> list[Outcome]:
    """Turn ``(index, path, content digest or None)`` files into outcomes, using the cache.

    Melgenre errors (a bad file) and OS errors (a file that vanished) become
    :class:`Failed` outcomes, so one bad file never takes down a batch; the cache's own
    OS errors stop the work (a :class:`~melgenre.CacheError`), and anything else is
    a bug and propagates.
    """
    prep = task.preprocessing
    with contextlib.suppress(TypeError):  # an unhashable user subclass is used as it is
        prep = _WARM.setdefault(prep, prep)
    cache = FeatureCache(task.cache_root) if task.cache_root is not None else None
    key = task.cache_key
    outcomes: list[Outcome] = []
    for index, path, digest in files:
        try:
            digest = digest or (cache.digest(path) if cache is not None else None)
            if cache is not None:
                assert digest is not None
                with _cache_at_fault(cache):
                    hit = cache.read_entry(key, digest, shape=prep.output_shape)
                if hit is not None and (chroma := hit[1]) is not None:
                    remarks = hit[2]
                    outcomes.append(
                        Stored(
                            index,
                            len(hit[0]),
                            digest,
                            cached=True,
                            n_chroma=len(chroma),
                            silent="silent" in remarks,
                            damaged="damaged" in remarks,
                        )
                    )
                    continue
            windows, chroma, silent, damaged = _features(prep, path)
        except CacheError:
            raise
        except MelgenreError as exc:
            outcomes.append(Failed(index, str(exc), type(exc).__name__, digest))
            continue
        except OSError as exc:  # e.g. the file vanished or became unreadable mid-run
            reason = f"Cannot read {path!r}: {exc}"
            outcomes.append(Failed(index, reason, type(exc).__name__, digest))
            continue
        if cache is None:
            outcomes.append(Extracted(index, windows, chroma, silent, damaged))
            continue
        assert digest is not None
        with _cache_at_fault(cache):
            cache.put(key, digest, windows, chroma, remarks=entry_remarks(silent, damaged))
        outcomes.append(Stored(index, len(windows), digest, False, len(chroma), silent, damaged))
    return outcomes


def entry_remarks(silent: bool, damaged: bool) -> list[str]:
    """The remarks a cache entry keeps (:meth:`melgenre.cache.FeatureCache.put`)."""
    return [name for name, flag in (("silent", silent), ("damaged", damaged)) if flag]


def _features(prep: Preprocessing, path: str) -> tuple[FloatArray, FloatArray, bool, bool]:
    """A file's windows and chroma, from one decoding; whether it is silent, and damaged."""
    from melgenre.prediction import SILENT_PEAK

    with decoder_notes() as notes:
        audio = prep.load(path)
    silent = float(np.max(np.abs(audio.samples), initial=0.0)) < SILENT_PEAK
    return prep.transform(audio), prep.chroma(audio), silent, bool(notes)


@contextlib.contextmanager
def _cache_at_fault(cache: FeatureCache) -> Iterator[None]:
    """Turn an OS error of ``cache`` into one error that stops extraction.

    Every other file would fail alike, so the files are not skipped one by one as if
    they were unreadable.
    """
    try:
        yield
    except OSError as exc:
        raise CacheError(
            f"Cannot use the feature cache in {str(cache.root)!r} ({exc}); the entries "
            "written so far are kept. Free space there, choose another cache directory, "
            "or extract without one."
        ) from exc
