"""The feature cache keys a custom component's code: editing it computes features anew."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from class_tree import FEAT, SR, class_tree
from melgenre import AudioLoader, FolderDataset, MelFeaturizer, Preprocessing
from melgenre.cache import preprocessing_key

SOURCE = """
import dataclasses

import melgenre


@dataclasses.dataclass(frozen=True, kw_only=True)
class GainLoader(melgenre.AudioLoader):
    def load(self, source):
        audio = super().load(source)
        return melgenre.Audio({samples}, audio.sample_rate, audio.source)
"""


def test_editing_a_custom_loaders_code_misses_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no stale .pyc within a second
    monkeypatch.syspath_prepend(str(tmp_path))
    module_file = tmp_path / "edited_loader.py"
    module_file.write_text(textwrap.dedent(SOURCE.format(samples="audio.samples")))
    module = importlib.import_module("edited_loader")
    tree, cache = class_tree(tmp_path / "data"), tmp_path / "cache"

    def features() -> tuple[str, np.ndarray]:
        prep = Preprocessing(FEAT, loader=module.GainLoader(sample_rate=SR))
        fs = FolderDataset(tree).features(prep, cache_dir=cache, workers=1, progress=False)
        return prep.cache_key, np.asarray(fs.x)

    key, before = features()
    assert features()[0] == key  # unchanged code: the same key (a hit)
    module_file.write_text(
        textwrap.dedent(SOURCE.format(samples="audio.samples[::-1]"))
    )  # the user edits it
    module = importlib.reload(module)
    edited_key, after = features()
    assert edited_key != key
    # the reversed audio is computed, not served from the old entries
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, features()[1])


def test_melgenres_own_classes_are_keyed_by_their_config() -> None:
    a = preprocessing_key(AudioLoader(sample_rate=SR), FEAT)
    assert a == preprocessing_key(AudioLoader(sample_rate=SR), MelFeaturizer(**FEAT.get_config()))
    assert a != preprocessing_key(AudioLoader(sample_rate=SR, duration=1.0), FEAT)


SCRIPT = """
import dataclasses
import sys

import numpy as np

import melgenre


@dataclasses.dataclass(frozen=True, kw_only=True)
class RootFeaturizer(melgenre.MelFeaturizer):
    def scale(self, power):
        return np.cbrt(power).astype(np.float32)


if __name__ == "__main__":
    featurizer = RootFeaturizer(sample_rate=8000, n_fft=512, hop_length=128, n_mels=32, frames=32)
    for _ in range(2):
        melgenre.FolderDataset(sys.argv[1]).features(
            featurizer, cache_dir=sys.argv[2], workers=2, progress=False
        )
"""


def test_workers_store_under_the_key_the_caller_reads(tmp_path: Path) -> None:
    # a script's own class: its workers re-import __main__ and cannot always read its source
    script = tmp_path / "extract.py"
    script.write_text(SCRIPT)
    tree, cache = class_tree(tmp_path / "data"), tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, str(script), str(tree), str(cache)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "vanished or were damaged" not in done.stderr
    assert len(list((cache / "features").iterdir())) == 1  # one preprocessing, one key
