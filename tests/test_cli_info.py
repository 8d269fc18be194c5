"""``melgenre info`` on bundles whose description lacks a key: described, or named as damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from serving import run_cli


def _without(bundle: Path, where: Path, key: str) -> Path:
    copy = Path(shutil.copytree(bundle, where / "model"))
    manifest = json.loads((copy / "melgenre.json").read_text())
    del manifest[key]
    (copy / "melgenre.json").write_text(json.dumps(manifest))
    return copy


@pytest.mark.parametrize("key", ["model", "aggregation", "melgenre_version", "environment"])
def test_a_bundle_without_what_loading_does_not_need_is_still_described(
    serve_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    code, out, err = run_cli(capsys, "info", str(_without(serve_bundle, tmp_path, key)))
    assert (code, err) == (0, "")
    assert "labels: " in out
    assert ("model: ?, input ?, ? parameters" in out) == (key == "model")


@pytest.mark.parametrize("key", ["labels", "featurizer"])
def test_a_bundle_without_what_loading_needs_is_named_as_damaged(
    serve_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    damaged = _without(serve_bundle, tmp_path, key)
    code, out, err = run_cli(capsys, "info", str(damaged))
    assert (code, out) == (1, "")
    assert err == (
        f"melgenre: error: {str(damaged / 'melgenre.json')!r} is damaged "
        f"(KeyError: {key!r}); save the model again.\n"
    )
