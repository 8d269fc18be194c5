"""The feature cache's entries and sets: joined from the entries' bytes, entries that
vanished recomputed, and the remarks an entry keeps (silent, damaged)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from class_tree import FEAT, SR, class_tree, write
from melgenre import FolderDataset, Preprocessing
from melgenre.cache import FeatureCache


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """:func:`class_tree` in a fresh folder."""
    return class_tree(tmp_path)


def test_a_set_is_joined_from_entry_bytes_and_a_vanished_entry_is_recomputed(
    tmp_path: Path,
) -> None:
    cache = FeatureCache(tmp_path)
    a = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3, 1)
    b = a + 100.0
    cache.put("k", "a", a)
    cache.put("k", "b", b)
    calls: list[int] = []

    def recompute(i: int) -> np.ndarray:
        calls.append(i)
        return np.full((1, 4, 3, 1), 7.0, np.float32)

    x = cache.write_set(
        "s", "k", [("a", 2), ("gone", 1), ("b", 2)], shape=(4, 3, 1), recompute=recompute
    )
    assert calls == [1]
    np.testing.assert_array_equal(x, np.concatenate([a, np.full((1, 4, 3, 1), 7.0), b]))
    # an entry that does not hold the windows it should is not trusted either
    x = cache.write_set(
        "t", "k", [("a", 3)], shape=(4, 3, 1), recompute=lambda i: np.zeros((3, 4, 3, 1))
    )
    assert x.shape == (3, 4, 3, 1)
    assert not x.any()


def test_an_entry_keeps_its_remarks_and_older_entries_have_none(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    windows = np.zeros((1, 4, 3, 1), np.float32)
    cache.put("k", "quiet", windows, remarks=["silent", "damaged"])
    cache.put("k", "plain", windows)  # as every entry before remarks
    quiet, plain = cache.read_entry("k", "quiet"), cache.read_entry("k", "plain")
    assert quiet is not None
    assert plain is not None
    assert quiet[2] == ("silent", "damaged")
    assert plain[2] == ()
    assert cache.read_entry("k", "absent") is None
    np.testing.assert_array_equal(cache.get("k", "quiet"), windows)


def test_an_entry_recomputed_before_the_join_keeps_its_remark(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tree / "hum" / "blank.wav", np.zeros(SR, np.float32))
    put, lost = FeatureCache.put, []

    def put_then_lose(self: FeatureCache, *args: Any, **kwargs: Any) -> Path:
        path = put(self, *args, **kwargs)
        if kwargs.get("remarks") and not lost:  # the silent file's entry vanishes once
            lost.append(args[1])
            path.unlink()
        return path

    monkeypatch.setattr(FeatureCache, "put", put_then_lose)
    fs = FolderDataset(tree).features(FEAT, workers=1, progress=False, cache_dir=tmp_path / "c")
    assert fs.n_files == 19
    key = Preprocessing(FEAT).cache_key
    entry = FeatureCache(tmp_path / "c").read_entry(key, lost[0])
    assert entry is not None
    assert entry[2] == ("silent",)
