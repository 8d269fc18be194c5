"""Every script in examples/ runs, on tiny data (issue 9, item 2)."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import soundfile as sf

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def load(script: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), EXAMPLES / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("quickstart")
    out = run("quickstart.py", str(work), "--clips", "8", "--epochs", "3")
    assert "test accuracy: file-level" in out
    assert (work / "model" / "melgenre.json").is_file()
    return work


def test_quickstart_saves_a_model_that_predicts(quickstart: Path) -> None:
    assert (quickstart / "model" / "model.keras").is_file()


def test_custom_featurizer(tmp_path: Path) -> None:
    out = run("custom_featurizer.py", str(tmp_path))
    assert "PCENFeaturizer(" in out
    manifest = json.loads((tmp_path / "pcen-model" / "melgenre.json").read_text())
    assert manifest["featurizer"]["class_name"] == "examples>PCENFeaturizer"


def test_custom_loader(tmp_path: Path) -> None:
    out = run("custom_loader.py", str(tmp_path))
    line = out.strip().splitlines()[-1]
    assert line.startswith("PreEmphasisLoader -> ")
    assert float(line.rsplit(" ", 1)[-1]) < 1e-4  # the export applies the loader's twin
    manifest = json.loads((tmp_path / "model" / "melgenre.json").read_text())
    assert manifest["loader"]["class_name"] == "examples>PreEmphasisLoader"


def test_custom_model(tmp_path: Path) -> None:
    out = run("custom_model.py", str(tmp_path))
    assert "SqueezeExciteCNN ->" in out


def test_timeline(quickstart: Path, tmp_path: Path) -> None:
    from melgenre import demo

    long = np.concatenate([demo.make_clip(c, seed=5, duration=6.0) for c in ("drums", "chords")])
    sf.write(tmp_path / "long.wav", long, 22050)
    out = run(
        "timeline.py",
        str(quickstart / "model"),
        str(tmp_path / "long.wav"),
        "--png",
        str(tmp_path / "t.png"),
    )
    assert "long.wav:" in out
    assert " s  " in out  # at least one segment line
    assert (tmp_path / "t.png").stat().st_size > 2000


def test_batch_tagger_writes_one_row_per_file(quickstart: Path, tmp_path: Path) -> None:
    folder = quickstart / "data" / "drums"
    (tmp_path / "in").mkdir()
    for wav in sorted(folder.glob("*.wav"))[:3]:
        (tmp_path / "in" / wav.name).write_bytes(wav.read_bytes())
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF not really")
    tagger = load("batch_tagger.py")
    count = tagger.tag(quickstart / "model", tmp_path / "in", tmp_path / "tags.csv")
    assert count == 3
    with open(tmp_path / "tags.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    broken = [r for r in rows if r["file"].endswith("broken.wav")]
    assert broken[0]["error"]
    assert all(r["label"] for r in rows if r is not broken[0])


def test_http_service(quickstart: Path) -> None:
    import melgenre
    from melgenre import demo

    service = load("http_service.py")
    server = service.make_server(melgenre.Predictor.load(quickstart / "model"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=30) as response:
            assert json.load(response)["status"] == "ok"
        buffer = io.BytesIO()
        sf.write(buffer, demo.make_clip("drums", seed=7, duration=4.0), 22050,
                 format="FLAC")  # fmt: skip
        request = urllib.request.Request(f"{base}/predict", data=buffer.getvalue())
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.load(response)
        assert answer["label"] in demo.CLASSES
        assert answer["windows"]
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(
                urllib.request.Request(f"{base}/predict", data=b"not audio"), timeout=30
            )
        assert bad.value.code == 400
        assert "error" in json.loads(bad.value.read())
    finally:
        server.shutdown()
        server.server_close()
