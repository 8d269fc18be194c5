"""A screen for ``fusion.py --crop-copies F``: the head also learns from excerpts of its files.

Beside the library's rows (each training file and its varispeed copies), each training file's
spectrogram (its windows put back together) and chroma are cut to two excerpts of the fraction
``F`` of its length, one from its start and one ending at its end, and their statistics join
the rows with the file's label and group (so ``C``'s folds keep them with their file): random
crops, as clip-level models are trained on, so that the head does not learn where in a piece a
clip's bars and phrases happen to fall. Test files are read whole. Not in the library.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def excerpt_statistics(statistics: Any, begin: float, fraction: float) -> Any:
    """``statistics`` (a ``ClipStatistics``) read from the excerpt ``[begin, begin + fraction)``.

    The spectrogram and the chroma are cut at the same fractions of their lengths.
    """

    @dataclasses.dataclass(frozen=True)
    class Excerpt(type(statistics)):  # type: ignore[misc]
        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            def cut(array: Any, axis: int) -> Any:
                n = array.shape[axis]
                keep = slice(int(begin * n), int((begin + fraction) * n))
                return array[:, keep] if axis else array[keep]

            return super().__call__(cut(spectrogram, 1), None if chroma is None else cut(chroma, 0))

    fields = {f.name: getattr(statistics, f.name) for f in dataclasses.fields(statistics)}
    return Excerpt(**fields)


def crop_rows(statistics: Any, features: Any, files: Any, fraction: float) -> tuple[Any, Any]:
    """``(rows, owners)``: two excerpts' statistics per file of ``files`` (positions in it).

    Each excerpt's rows come from ``ClipStatistics.transform``, one file's windows at a time.
    """
    rows = []
    for begin in (0.0, 1.0 - fraction):
        done, x = excerpt_statistics(statistics, begin, fraction).transform(features)
        if not np.array_equal(done, files):
            raise SystemExit("--crop-copies: the head's files are not the feature set's")
        rows.append(x)
    return np.concatenate(rows), np.tile(np.arange(len(files)), len(rows))


def cropped_head(base: Any, fraction: float) -> Any:
    """``base`` (a StatisticsHead class) fitted on its files' excerpts too (the module notes)."""
    from _head_screens import with_extra_rows

    return with_extra_rows(
        base, lambda statistics, features, files: crop_rows(statistics, features, files, fraction)
    )
