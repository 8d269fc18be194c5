"""A screen for ``fusion.py --crop-copies F``: the head also learns from excerpts of its files.

Beside the library's rows (each training file and its varispeed copies), each training file's
spectrogram (its windows put back together) and chroma are cut to two excerpts of the fraction
``F`` of its length, one from its start and one ending at its end, and their statistics join
the rows with the file's label and group (so ``C``'s folds keep them with their file): random
crops, as clip-level models are trained on, so that the head does not learn where in a piece a
clip's bars and phrases happen to fall. Test files are read whole. Not in the library.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np


def crop_rows(statistics: Any, features: Any, files: Any, fraction: float) -> tuple[Any, Any]:
    """``(rows, owners)``: two excerpts' statistics per file of ``files`` (positions in it)."""
    from melgenre.statistics import spectrogram_from_windows

    groups = np.asarray(features.groups)
    _, first = np.unique(groups, return_index=True)
    bounds = np.append(np.sort(first), len(groups))
    position = {int(f): k for k, f in enumerate(files)}
    rows, owners = [], []
    for start, stop in itertools.pairwise(bounds):
        file = int(groups[start])
        if file not in position:
            continue
        spec = spectrogram_from_windows(features.x[start:stop])
        chroma = features.file_chroma(file) if statistics.harmony else None
        for begin in (0.0, 1.0 - fraction):
            a, b = int(begin * spec.shape[1]), int((begin + fraction) * spec.shape[1])
            cut = None
            if chroma is not None:
                c = len(chroma)
                cut = chroma[int(begin * c) : int((begin + fraction) * c)]
            rows.append(statistics(spec[:, a:b], cut))
            owners.append(position[file])
    return np.asarray(rows, np.float32), np.asarray(owners, np.int64)


def cropped_head(base: Any, fraction: float) -> Any:
    """``base`` (a StatisticsHead class) fitted on its files' excerpts too (the module notes)."""
    from _head_screens import with_extra_rows

    return with_extra_rows(
        base, lambda statistics, features, files: crop_rows(statistics, features, files, fraction)
    )
