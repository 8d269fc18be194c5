"""The README's Python examples: each compiles, imports only what melgenre has, and the
self-contained ones run as written (on synthesized files named as they name them)."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import melgenre
from signals import chirp, write_audio

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)

#: Blocks that need nothing defined by another block, keyed by a line they hold.
SELF_CONTAINED = (
    "loader = AudioLoader(sample_rate=22050)",
    "prep = Preprocessing(MelFeaturizer(sample_rate=22050))",
    "class PCENFeaturizer(MelFeaturizer):",
)


def self_contained(marker: str) -> str:
    (block,) = [b for b in BLOCKS if marker in b]
    return block


def test_every_block_compiles_and_imports_what_melgenre_has() -> None:
    assert len(BLOCKS) >= 6
    for block in BLOCKS:
        tree = ast.parse(block)  # a syntax error names the block's line
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "melgenre":
                missing = [
                    a.name
                    for a in node.names
                    if not hasattr(melgenre, a.name)
                    and importlib.util.find_spec(f"melgenre.{a.name}") is None  # a submodule
                ]
                assert not missing, f"README imports {missing} from melgenre:\n{block}"


@pytest.mark.parametrize("marker", SELF_CONTAINED)
def test_self_contained_blocks_run_as_written(
    marker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = chirp(fmin=200.0, fmax=4000.0, duration=4.0, sample_rate=22050)
    write_audio(tmp_path / "song.mp3", x, 22050, format="MP3", subtype="MPEG_LAYER_III")
    write_audio(tmp_path / "live-set.flac", np.tile(x, 3), 22050, format="FLAC")
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("readme_example")  # a real module: dataclasses look theirs up
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(self_contained(marker), f"README.md ({marker})", "exec"), module.__dict__)
    if marker.startswith("class PCENFeaturizer"):
        pcen = module.PCENFeaturizer(gain=0.9)
        windows = pcen.transform(melgenre.AudioLoader().load(tmp_path / "song.mp3"))
        assert windows.shape[1:] == (128, 128, 1)
        assert np.isfinite(windows).all()
        assert pcen.get_config()["gain"] == 0.9
