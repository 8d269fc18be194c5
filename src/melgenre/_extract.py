"""The per-file work of feature extraction, run in worker processes.

Kept in its own small module with only picklable, module-level functions, so
any :class:`concurrent.futures.Executor` (a local process pool, a Dask or Ray
cluster's executor) can run it.
"""

from __future__ import annotations

import contextlib
import dataclasses

from melgenre._typing import FloatArray
from melgenre.audio import AudioLoader
from melgenre.cache import FeatureCache
from melgenre.errors import MelgenreError
from melgenre.features import Featurizer

__all__ = ["Outcome", "extract_one"]

#: Featurizers seen by this process, by configuration. Pickling drops a featurizer's
#: cached filter bank, so each task would otherwise rebuild it; equal (frozen, hashable)
#: featurizers share the first, warmed instance.
_WARM: dict[Featurizer, Featurizer] = {}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What happened to one file.

    Exactly one of ``windows`` (features, when there is no cache or the caller
    wants them back), ``n_windows`` (features stored in the cache) or
    ``error`` is meaningful.
    """

    index: int
    n_windows: int = 0
    windows: FloatArray | None = None
    digest: str | None = None
    cached: bool = False
    error: str | None = None
    error_type: str | None = None


def extract_one(
    index: int,
    path: str,
    loader: AudioLoader,
    featurizer: Featurizer,
    cache_root: str | None,
    key: str | None,
    digest: str | None,
    return_windows: bool,
) -> Outcome:
    """Load and featurize one file, using and filling the cache when one is given.

    Melgenre errors (a bad file) are returned, not raised, so one bad file
    never takes down a batch; anything else is a bug and propagates.
    """
    cache = FeatureCache(cache_root) if cache_root is not None else None
    with contextlib.suppress(TypeError):  # an unhashable user subclass is used as it is
        featurizer = _WARM.setdefault(featurizer, featurizer)
    try:
        if cache is not None and key is not None:
            digest = digest or cache.digest(path)
            hit = cache.get(key, digest, shape=featurizer.output_shape)
            if hit is not None:
                return Outcome(
                    index,
                    n_windows=len(hit),
                    windows=hit if return_windows else None,
                    digest=digest,
                    cached=True,
                )
        windows = featurizer.transform(loader.load(path))
        if cache is not None and key is not None and digest is not None:
            cache.put(key, digest, windows)
        return Outcome(
            index,
            n_windows=len(windows),
            windows=windows if return_windows or cache is None else None,
            digest=digest,
        )
    except MelgenreError as exc:
        return Outcome(index, error=str(exc), error_type=type(exc).__name__, digest=digest)
    except OSError as exc:  # e.g. the file vanished or became unreadable mid-run
        return Outcome(
            index,
            error=f"Cannot read {path!r}: {exc}",
            error_type=type(exc).__name__,
            digest=digest,
        )
