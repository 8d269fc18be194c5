"""Deprecated: the data layer moved to :mod:`melgenre.data` in 0.2.

``from melgenre.dataset import FolderDataset`` keeps working until 0.3, with a
warning; import from :mod:`melgenre` or :mod:`melgenre.data` instead.
"""

from __future__ import annotations

from typing import Any

from melgenre import data as _data
from melgenre.deprecation import warn_deprecated

_MOVED = ("AUDIO_EXTENSIONS", "Example", "FailedFile", "FeatureSet", "FolderDataset")


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warn_deprecated(
            f"melgenre.dataset.{name}",
            since="0.2",
            removed_in="0.3",
            instead=f"melgenre.data.{name}",
        )
        return getattr(_data, name)
    raise AttributeError(f"module 'melgenre.dataset' has no attribute {name!r}")
