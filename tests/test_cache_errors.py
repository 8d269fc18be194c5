"""A feature cache that cannot be used is one CacheError about the cache, not every file
skipped as unreadable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from class_tree import FEAT, class_tree
from melgenre import FolderDataset
from melgenre.errors import CacheError, DatasetError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """:func:`class_tree` in a fresh folder."""
    return class_tree(tmp_path)


def test_an_unusable_cache_is_one_error_about_the_cache(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = FolderDataset(tree)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CacheError, match=r"Cannot use '.*a-file/cache' as the feature cache"):
        ds.features(FEAT, cache_dir=blocker / "cache", workers=1, progress=False)

    from melgenre.cache import FeatureCache

    def full(*args: Any, **kwargs: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FeatureCache, "put", full)  # the disk fills up mid-run
    with pytest.raises(
        CacheError, match=r"Cannot use the feature cache in '.*cache'.*No space left"
    ):  # not every file skipped as "Cannot read <the audio file>"
        ds.features(FEAT, cache_dir=tmp_path / "cache", workers=1, progress=False)
    monkeypatch.undo()
    broken = tmp_path / "broken"  # its features folder a file: in worker processes too
    broken.mkdir()
    (broken / "features").write_text("")
    with pytest.raises(CacheError, match=r"'.*broken'.*Not a directory"):
        ds.features(FEAT, cache_dir=broken, workers=2, progress=False)
    assert issubclass(CacheError, DatasetError)
