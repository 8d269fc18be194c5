"""Saving and loading a Predictor's bundle: what it holds, damage, atomic saves, the registry."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

import melgenre
from melgenre import MelFeaturizer, MelgenreWarning, Prediction, Predictor, Preprocessing
from melgenre.errors import BundleError, ExportError
from signals import chirp, noise, tone
from trained_predictor import FEAT, LABELS, SR, train_predictor

# --------------------------------------------------------------------- bundle


def test_saved_bundle_holds_what_it_should(trained_predictor: tuple[Predictor, Path, Any]) -> None:
    _, bundle, _ = trained_predictor
    assert sorted(p.name for p in bundle.iterdir()) == [
        "melgenre.json",
        "model.keras",
        "training_hist.json",
    ]
    manifest = json.loads((bundle / "melgenre.json").read_text())
    assert manifest["format"] == "melgenre.bundle"
    assert manifest["format_version"] == 1
    assert manifest["melgenre_version"] == melgenre.__version__
    assert manifest["labels"] == LABELS
    assert manifest["loader"]["class_name"] == "melgenre>AudioLoader"
    assert manifest["featurizer"] == {
        "class_name": "melgenre>MelFeaturizer",
        "config": FEAT.get_config(),
    }
    assert manifest["model"]["input_shape"] == [32, 32, 1]
    assert manifest["metrics"]["file_accuracy"] >= 0.85
    training = manifest["training"]  # the reproducibility record
    assert training["seed"] == 1
    assert training["train_files"] == 27
    assert len(training["train_files_hash"]) == 32
    assert manifest["environment"]["tensorflow"] != "not installed"
    assert set(manifest["files"]) == {"model.keras", "training_hist.json"}
    assert not [p for p in bundle.parent.iterdir() if p.name.startswith(".")]


def test_load_in_a_fresh_process_gives_the_same_probabilities(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, bundle, _ = trained_predictor
    x = chirp(fmin=300.0, fmax=2000.0, duration=4.0, sample_rate=SR)
    path = tmp_path / "c.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    script = f"import json, melgenre; p = melgenre.Predictor.load({str(bundle)!r}).predict({str(path)!r}); print(json.dumps(p.probabilities))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=env,
    )
    # quiet start-up: no TensorFlow, absl or CUDA lines, just the answer
    assert out.stderr == ""
    theirs = json.loads(out.stdout)
    ours = predictor.predict(path).probabilities
    np.testing.assert_allclose(list(theirs.values()), list(ours.values()), atol=1e-6)


def test_a_long_file_is_predicted_block_by_block_as_in_one_piece(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained_predictor
    x = np.concatenate(
        [
            tone(frequency=700.0, duration=30.0, sample_rate=SR),
            noise(duration=25.0, sample_rate=SR, seed=5),
            chirp(fmin=200.0, fmax=2000.0, duration=20.3, sample_rate=SR),
        ]
    )
    path = tmp_path / "set.flac"
    sf.write(path, x, SR)
    streamed = predictor.predict(path)  # 75 s: read in three 30 s blocks
    whole = predictor.predict((sf.read(path, dtype="float32")[0], SR))
    assert len(streamed.windows) == len(whole.windows) == len(predictor.preprocessing(path))
    np.testing.assert_allclose(
        [list(w.probabilities.values()) for w in streamed.windows],
        [list(w.probabilities.values()) for w in whole.windows],
        atol=1e-5,
    )
    assert [(w.start, w.end) for w in streamed.windows] == [(w.start, w.end) for w in whole.windows]
    assert streamed.windows[-1].end == pytest.approx(75.3, abs=0.01)
    [many] = predictor.predict_many([path], batch_size=7)
    assert isinstance(many, Prediction)
    assert many.probabilities == pytest.approx(streamed.probabilities, abs=1e-5)


def copy_bundle(bundle: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


@pytest.mark.parametrize("name", ["melgenre.json", "model.keras", "training_hist.json"])
@pytest.mark.parametrize("damage", ["delete", "truncate", "tamper"])
def test_every_damaged_file_is_a_bundle_error(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path, name: str, damage: str
) -> None:
    _, bundle, _ = trained_predictor
    target = copy_bundle(bundle, tmp_path)
    path = target / name
    data = path.read_bytes()
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        # melgenre.json is the editable description (not checksummed, validated instead):
        # tamper with its structure; the other files are checksummed, so any byte will do
        flipped = bytearray(data)
        flipped[0 if name == "melgenre.json" else len(flipped) // 2] ^= 0x55
        path.write_bytes(bytes(flipped))
    with pytest.raises(
        BundleError,
        match=r"(missing|no melgenre\.json|checksum|not valid JSON|damaged|does not describe|not a melgenre bundle|inconsistent)",
    ):
        Predictor.load(target)


def edit_manifest(target: Path, **changes: Any) -> None:
    manifest = json.loads((target / "melgenre.json").read_text())
    manifest.update(changes)
    (target / "melgenre.json").write_text(json.dumps(manifest))


def test_wrong_labels_unknown_version_and_newer_melgenre(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    _, bundle, _ = trained_predictor
    target = copy_bundle(bundle, tmp_path)
    edit_manifest(target, labels=["a", "b"])
    with pytest.raises(BundleError, match="model has 3 outputs but 2 labels"):
        Predictor.load(target)
    edit_manifest(target, labels=LABELS, format_version=99)
    with pytest.raises(BundleError, match="bundle format 99, newer than the 1"):
        Predictor.load(target)
    edit_manifest(target, format_version=1, melgenre_version="99.0.0")
    with pytest.warns(MelgenreWarning, match="written by melgenre 99.0.0"):
        Predictor.load(target)
    edit_manifest(
        target,
        melgenre_version=melgenre.__version__,
        featurizer={
            "class_name": "melgenre>MelFeaturizer",
            "config": FEAT.get_config() | {"n_mels": 64},
        },
    )
    with pytest.raises(
        BundleError,
        match=r"expects windows of shape \(32, 32, 1\) but the featurizer makes \(64, 32, 1\)",
    ):
        Predictor.load(target)
    with pytest.raises(BundleError, match="No bundle at"):
        Predictor.load(tmp_path / "nowhere")
    inside = rf"{re.escape(repr(str(target)))}\.$"  # a file of the bundle: its folder is named
    with pytest.raises(BundleError, match=r"\(it is a file\); the bundle is its folder: " + inside):
        Predictor.load(target / "model.keras")
    (tmp_path / "notes.txt").write_text("not a bundle")
    with pytest.raises(BundleError, match=r"is not a bundle directory \(it is a file\)\.$"):
        Predictor.load(tmp_path / "notes.txt")


def test_a_kill_during_save_leaves_the_old_bundle_loadable(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, bundle, _ = trained_predictor
    target = copy_bundle(bundle, tmp_path)
    script = textwrap.dedent(
        f"""
        import sys, time
        import melgenre, melgenre.bundle as b
        predictor = melgenre.Predictor.load({str(target)!r})
        real = b.sha256
        def slow(path):
            print("WRITING", flush=True)
            time.sleep(60)
            return real(path)
        b.sha256 = slow
        predictor.save({str(target)!r})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "WRITING" in line:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    x = (tone(frequency=700.0, duration=2.0, sample_rate=SR), SR)
    reloaded = Predictor.load(target)
    np.testing.assert_allclose(
        list(reloaded.predict(x).probabilities.values()),
        list(predictor.predict(x).probabilities.values()),
        atol=1e-6,
    )
    # the interrupted save left only a hidden staging directory, which a later save does not mind
    predictor.save(target)
    assert Predictor.load(target).labels == LABELS


def test_saving_replaces_an_existing_bundle(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor, _, _ = trained_predictor
    target = tmp_path / "m"
    predictor.save(target)
    (target / "stale.txt").write_text("old")
    predictor.save(target)
    assert not (target / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_saving_never_replaces_what_is_not_a_bundle(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    predictor = trained_predictor[0]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(BundleError, match=r"a directory of other files, not a melgenre bundle"):
        predictor.save(mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("mine")
    with pytest.raises(BundleError, match="it is a file"):
        predictor.save(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    assert (predictor.save(tmp_path / "empty") / "melgenre.json").is_file()  # an empty one may
    with pytest.raises(  # a BundleError, not FileExistsError from inside the save
        BundleError, match=r"its folder cannot be written \('.*file' is a file\)"
    ):
        predictor.save(tmp_path / "file" / "model")
    with pytest.raises(ExportError, match=r"its folder cannot be written \('.*file' is a file\)"):
        predictor.export(tmp_path / "file" / "export")
    assert (predictor.save(tmp_path / "new" / "deeper" / "m") / "melgenre.json").is_file()


# ------------------------------------------------------------------- registry


@melgenre.register_component(package="melgenre_tests")
@dataclasses.dataclass(frozen=True, kw_only=True)
class CompressedMel(MelFeaturizer):
    """log(1 + C * mel) instead of decibels."""

    compression: float = 100.0

    def scale(self, power: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return np.log1p(self.compression * power).astype(np.float32)


@dataclasses.dataclass(frozen=True, kw_only=True)
class UnregisteredMel(MelFeaturizer):
    pass


def test_a_registered_custom_featurizer_survives_the_round_trip(
    separable_dir: Path, tmp_path: Path
) -> None:
    featurizer = CompressedMel(**FEAT.get_config(), compression=10.0)
    predictor, _ = train_predictor(separable_dir, featurizer)
    predictor.save(tmp_path / "custom")
    manifest = json.loads((tmp_path / "custom" / "melgenre.json").read_text())
    assert manifest["featurizer"]["class_name"] == "melgenre_tests>CompressedMel"
    loaded = Predictor.load(tmp_path / "custom")
    assert type(loaded.featurizer) is CompressedMel
    assert loaded.featurizer == featurizer
    x = (noise(duration=2.0, sample_rate=SR, seed=1), SR)
    np.testing.assert_allclose(
        list(loaded.predict(x).probabilities.values()),
        list(predictor.predict(x).probabilities.values()),
        atol=1e-6,
    )
    # a bundle naming a class nobody registered says which module to import
    manifest["featurizer"]["class_name"] = "my_pkg>PCENFeaturizer"
    (tmp_path / "custom" / "melgenre.json").write_text(json.dumps(manifest))
    with pytest.raises(
        BundleError,
        match=r"Unknown component 'my_pkg>PCENFeaturizer': import the module that defines it",
    ):
        Predictor.load(tmp_path / "custom")


def test_an_unregistered_subclass_cannot_be_saved(
    trained_predictor: tuple[Predictor, Path, Any], tmp_path: Path
) -> None:
    base, _, _ = trained_predictor
    predictor = Predictor(
        preprocessing=Preprocessing(UnregisteredMel(**FEAT.get_config())),
        model=base.model,
        labels=base.labels,
    )
    with pytest.raises(BundleError, match=r"UnregisteredMel is not registered.*register_component"):
        predictor.save(tmp_path / "x")
    assert not (tmp_path / "x").exists()
