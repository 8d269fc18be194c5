"""Keras set to another backend (JAX, PyTorch): named before anything runs; the command runs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

import melgenre
from melgenre import _tfenv
from serving import SR
from signals import tone


@pytest.fixture
def keras_not_imported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process as if Keras were not imported yet, with an empty ``KERAS_HOME``."""
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


def test_the_backend_is_read_where_keras_reads_it(
    keras_not_imported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = keras_not_imported / "keras.json"
    assert _tfenv.keras_backend() == ("tensorflow", "Keras' default")  # no file
    config.write_text("{not json")
    assert _tfenv.keras_backend()[0] == "tensorflow"
    config.write_text('{"floatx": "float32"}')
    assert _tfenv.keras_backend()[0] == "tensorflow"
    config.write_text('{"backend": "torch"}')
    backend, source = _tfenv.keras_backend()
    assert backend == "torch"
    assert str(config) in source
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # the variable wins over the file, as in Keras
    assert _tfenv.keras_backend() == ("jax", "the environment variable KERAS_BACKEND")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    _tfenv.check_keras_backend()


def test_another_backend_is_a_backend_error_that_says_how_to_fix_it(
    keras_not_imported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(melgenre.BackendError, match="KERAS_BACKEND") as info:
        _tfenv.check_keras_backend()
    message = str(info.value)
    assert "'jax'" in message
    assert "is set to use" in message
    assert "KERAS_BACKEND=tensorflow" in message
    assert isinstance(info.value, RuntimeError)


def test_keras_already_imported_with_another_backend_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keras = pytest.importorskip("keras")
    _tfenv.check_keras_backend()  # this process: TensorFlow
    monkeypatch.setattr(keras.config, "backend", lambda: "torch")
    with pytest.raises(melgenre.BackendError, match="was imported with the 'torch' backend"):
        _tfenv.check_keras_backend()


def test_the_command_runs_on_tensorflow_whatever_keras_backend_says(
    keras_not_imported: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with caplog.at_level(logging.INFO, logger="melgenre._tfenv"):
        _tfenv.use_tensorflow_backend()
    assert os.environ["KERAS_BACKEND"] == "tensorflow"
    assert "KERAS_BACKEND=jax is ignored" in caplog.text


def _run(code: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, *code], capture_output=True, text=True, env=environ, timeout=300
    )


def test_a_program_set_to_jax_gets_the_error_before_jax_is_imported(tmp_path: Path) -> None:
    code = "import sys, melgenre; melgenre.GenreCNN(n_classes=2); print(sys.modules.get('jax'))"
    done = _run(["-c", code], KERAS_BACKEND="jax", KERAS_HOME=str(tmp_path))
    assert done.returncode == 1
    assert "melgenre.errors.BackendError" in done.stderr, done.stderr[-2000:]
    assert "No module named" not in done.stderr  # not Keras failing to import JAX


def test_melgenre_predict_runs_with_keras_backend_set_to_jax(
    serve_bundle: Path, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.wav"
    sf.write(clip, tone(frequency=440.0, duration=1.0, sample_rate=SR), SR)
    done = _run(
        ["-m", "melgenre", "predict", str(serve_bundle), str(clip)],
        KERAS_BACKEND="jax",
        KERAS_HOME=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(str(clip))


def test_show_versions_names_the_backend_and_who_chose_it(keras_not_imported: Path) -> None:
    import io

    (keras_not_imported / "keras.json").write_text('{"backend": "jax"}')
    out = io.StringIO()
    melgenre.show_versions(file=out)
    assert f"keras backend: jax (Keras' configuration file '{keras_not_imported}" in out.getvalue()
