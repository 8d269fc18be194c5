"""The package as users meet it: imports, public names, versions, typing marker."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import melgenre
from melgenre import errors

HEAVY = ("tensorflow", "keras", "numba", "matplotlib", "sklearn", "distributed", "tqdm")


@pytest.mark.parametrize(
    "module",
    [
        "melgenre",
        "melgenre.audio",
        "melgenre.features",
        "melgenre.data",
        "melgenre.extraction",
        "melgenre.cache",
        "melgenre.preprocessing",
    ],
)
def test_import_leaves_heavy_dependencies_unloaded(module: str) -> None:
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    assert not loaded & set(HEAVY), f"{module} imported {sorted(loaded & set(HEAVY))}"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("", "1"),  # unset: oneDNN's kernels on (x86-64)
        ("os.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'", "0"),  # the user's choice is kept
        ("sys.modules['tensorflow'] = sys", None),  # TensorFlow already imported: too late
    ],
)
def test_import_turns_onednn_on_unless_told_otherwise(setup: str, expected: str | None) -> None:
    import os
    import platform

    from melgenre._tfenv import X86_64

    if platform.machine().lower() not in X86_64 and not setup.startswith("os.environ"):
        expected = None  # left alone elsewhere
    code = (
        f"import os, sys; {setup or 'pass'}; import melgenre; "
        "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == str(expected)


def test_all_is_complete_sorted_and_resolvable() -> None:
    names = melgenre.__all__
    assert len(names) == len(set(names))
    assert names == sorted(names)
    for name in names:
        assert getattr(melgenre, name) is not None
    for name in ("AudioLoader", "Audio", "MelFeaturizer", "MelgenreError", "show_versions"):
        assert name in names


def test_version_is_defined_once_and_installed() -> None:
    assert melgenre.__version__ == metadata.version("melgenre")


def test_py_typed_marker_ships() -> None:
    assert (Path(melgenre.__file__).parent / "py.typed").is_file()


def test_show_versions_lists_dependencies() -> None:
    out = io.StringIO()
    melgenre.show_versions(file=out)
    text = out.getvalue()
    assert text.startswith(f"melgenre: {melgenre.__version__}\n")
    for name in (
        "python",
        "numpy",
        "librosa",
        "soundfile",
        "libsndfile",
        "soxr",
        "scikit-learn",
        "tensorflow",
    ):
        assert f"\n{name}: " in text


def test_show_versions_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    melgenre.show_versions()
    assert capsys.readouterr().out.startswith("melgenre: ")


def test_error_hierarchy() -> None:
    leaves_and_builtins = {
        errors.ConfigError: ValueError,
        errors.MelgenreTypeError: TypeError,
        errors.AudioFileNotFoundError: FileNotFoundError,
        errors.AudioUnusableError: ValueError,
        errors.SampleRateMismatchError: ValueError,
        errors.NotTrainedError: RuntimeError,
        errors.SaveError: OSError,
    }
    for cls, builtin in leaves_and_builtins.items():
        assert issubclass(cls, errors.MelgenreError)
        assert issubclass(cls, builtin)
    for cls in (errors.AudioDecodeError, errors.AudioUnusableError, errors.SampleRateMismatchError):
        assert issubclass(cls, errors.AudioError)
    for cls in (errors.DatasetError, errors.BundleError):
        assert issubclass(cls, errors.MelgenreError)
    assert issubclass(errors.MelgenreWarning, UserWarning)


def test_errors_carry_what_they_name() -> None:
    missing = errors.AudioFileNotFoundError(
        "Cannot read audio from 'a.wav': no such file.", source="a.wav"
    )
    assert str(missing) == "Cannot read audio from 'a.wav': no such file."
    assert missing.source == "a.wav"
    config = errors.ConfigError("bad", parameter="n_mels", value=0)
    assert (config.parameter, config.value) == ("n_mels", 0)
    unwritten = errors.SaveError("Cannot write 'h.json': full.", path="h.json")
    assert (str(unwritten), unwritten.path) == ("Cannot write 'h.json': full.", "h.json")
    with pytest.raises(FileNotFoundError):
        raise missing
