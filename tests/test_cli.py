"""The melgenre command on tiny demo data: every subcommand, JSON output, error exits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melgenre import Predictor, demo
from melgenre.cli import main
from serving import run_cli, run_fresh


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    data = demo.make_dataset(root / "data", clips_per_class=8, duration=3.0)
    model = root / "model"
    assert (
        main(["train", str(data), "--out", str(model), "--epochs", "3", "--workers", "1", "--json"])
        == 0
    )
    return data, model


def test_train_writes_a_complete_bundle(trained: tuple[Path, Path]) -> None:
    _, model = trained
    names = sorted(p.name for p in model.iterdir())
    assert names == [
        "confusion_matrix.png",
        "curves.png",
        "melgenre.json",
        "model.keras",
        "statistics_head.json",  # the clip statistics head: on by default
        "training_hist.json",
    ]
    manifest = json.loads((model / "melgenre.json").read_text())
    assert manifest["labels"] == list(demo.CLASSES)
    assert manifest["metadata"]["training"]["split"]["test_files"] == 10  # 2 of each class's 8
    assert not list(model.parent.glob(".model*"))  # no staging or run directories left behind


def test_train_text_summary_class_weight_attention_pooling_and_clip_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = demo.make_dataset(tmp_path / "d", clips_per_class=4, duration=3.0)
    code, out, err = run_cli(
        capsys, "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1",
        "--workers", "1", "--validation-size", "0", "--class-weight", "balanced",
        "--pooling", "attention", "--clip-statistics",
    )  # fmt: skip
    assert code == 0
    assert "Extracting features" in err  # progress, without --quiet
    assert "/step - " in out  # Keras' line an epoch
    assert (
        "Trained on 15 files (5 classes: arpeggio, chords, drums, plucked, texture) for 1 epoch in"
        in out
    )
    assert "file-level" in out
    assert "Clip statistics head (with the harmony): C=" in out
    assert f"Model saved to {tmp_path / 'm'}" in out
    params = json.loads((tmp_path / "m" / "training_hist.json").read_text())["params"]
    assert set(params["class_weight"]) == set(demo.CLASSES)
    assert params["early_stopping"] is None  # no validation split
    assert params["clip_head"]["epochs_run"] == 50  # no validation: a fixed number of epochs
    manifest = json.loads((tmp_path / "m" / "melgenre.json").read_text())
    assert manifest["aggregation"] == "attention"
    assert "clip_head.keras" in manifest["files"]
    assert "statistics_head.json" in manifest["files"]
    assert params["statistics_head"]["C_"] > 0  # three files a class: 3-fold choice of C
    predictor = Predictor.load(tmp_path / "m")
    assert predictor.clip_head is not None
    assert predictor.statistics_head is not None
    assert predictor.predict(next((data / "drums").iterdir())).label in demo.CLASSES


def test_train_counts_the_files_it_used_and_names_those_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from melgenre._train_job import summary_lines

    data = demo.make_dataset(tmp_path / "d", clips_per_class=3, duration=2.0)
    (data / "drums" / "empty.wav").write_bytes(b"")  # one bad file among 17
    sf.write(data / "texture" / "hush.wav", np.zeros(44100, np.float32), 22050)  # and a silent one
    code, out, _ = run_cli(
        capsys, "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1",
        "--workers", "1", "--validation-size", "0", "--no-clip-statistics", "--json",
    )  # fmt: skip
    assert code == 0
    assert "empty.wav: Cannot read audio" in caplog.text  # named as it is skipped
    summary = json.loads(out)
    assert sum(summary["skipped_files"].values()) == 1
    assert summary["files"]["train"] + summary["files"]["test"] == 16  # the files used
    lines = summary_lines(summary)
    assert lines[0].startswith(f"Trained on {summary['files']['train']} files")
    assert "Skipped 1 file that could not be read" in lines[1]
    failed = json.loads((tmp_path / "m" / "melgenre.json").read_text())["metadata"]["training"]
    assert [Path(f["path"]).name for f in failed["failed_files"]] == ["empty.wav"]
    assert failed["silent_files"] == [str(data / "texture" / "hush.wav")]  # used, and named
    assert failed["damaged_files"] == []
    code, out, _ = run_cli(capsys, "info", str(tmp_path / "m"))
    assert "skipped as unreadable: 1 file (empty.wav;" in out
    assert "used though silent: 1 file (hush.wav; metadata.training.silent_files)" in out


def test_train_refuses_an_out_path_it_would_destroy_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import melgenre

    data = demo.make_dataset(tmp_path / "d", clips_per_class=2, duration=1.0)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("mine")

    def extract(*args: object, **kwargs: object) -> None:
        raise AssertionError("extracted before --out was checked")

    monkeypatch.setattr(melgenre.FolderDataset, "features", extract)
    code, _, err = run_cli(capsys, "train", str(data), "--out", str(tmp_path / "out"))
    assert code == 1
    assert "a directory of other files, not a melgenre bundle" in err
    assert (tmp_path / "out" / "thesis.tex").read_text() == "mine"
    # a folder that cannot be written: before any work too, not a traceback after training
    (tmp_path / "plain.txt").write_text("")
    code, _, err = run_cli(capsys, "train", str(data), "--out", str(tmp_path / "plain.txt" / "m"))
    assert code == 1
    assert "its folder cannot be written" in err


def test_clip_statistics_is_on_unless_turned_off() -> None:
    from melgenre.cli import _parser

    base = ["train", "data", "--out", "m"]
    assert _parser().parse_args(base).clip_statistics is True
    assert _parser().parse_args([*base, "--clip-statistics"]).clip_statistics is True
    assert _parser().parse_args([*base, "--no-clip-statistics"]).clip_statistics is False


def test_info(trained: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, model = trained
    code, out, _ = run_cli(capsys, "info", str(model))
    assert code == 0
    assert "labels: arpeggio, chords, drums, plucked, texture" in out
    assert "melgenre>MelFeaturizer" in out
    head = json.loads((model / "statistics_head.json").read_text())["weights"]
    assert (
        f"clip statistics head: {len(head['mean'])} numbers per file (with the harmony), "
        f"C={head['C_']:g}, fused with the windows at weight 1\n"
    ) in out
    assert re.search(r"test accuracy: file-level .*\(\d+ files\)\n", out)
    code, out, _ = run_cli(capsys, "info", str(model), "--json")
    assert json.loads(out)["format"] == "melgenre.bundle"


def test_predict_table_json_top_k_and_timeline(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, model = trained
    clip = tmp_path / "clip.wav"
    sf.write(clip, demo.make_clip("drums", seed=4242, duration=7.0), 22050)
    code, out, _ = run_cli(capsys, "predict", str(model), str(clip), "--top-k", "3", "--timeline")
    assert code == 0
    first, *timeline = out.strip().splitlines()
    assert first.startswith(str(clip))
    assert len(timeline) == 4
    assert " s " in timeline[0]
    code, out, _ = run_cli(
        capsys, "predict", str(model), str(clip), "--json", "--top-k", "2", "--timeline"
    )
    result = json.loads(out)
    assert result["file"] == str(clip)
    assert len(result["top_k"]) == 2
    assert len(result["timeline"]) == 4
    expected = Predictor.load(model).predict(clip)
    assert result["label"] == expected.label
    assert result["confidence"] == pytest.approx(expected.confidence, abs=1e-6)


def test_predict_reports_a_bad_file_and_goes_on(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, model = trained
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio")
    good = next((data / "chords").iterdir())
    code, out, err = run_cli(capsys, "predict", str(model), str(notes), str(good))
    assert code == 1
    assert str(good) in out
    assert err.count("notes.wav") == 1
    assert "not an audio file" in err
    code, out, _ = run_cli(capsys, "predict", str(model), str(notes), "--json")
    assert code == 1
    assert json.loads(out)["error"].startswith("Cannot read audio from")
    # once in a user's terminal too, where the library's own warning is not captured;
    # a silent file is answered, with the library's warning that the answer means nothing
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050 * 3, np.float32), 22050)
    done = subprocess.run(
        [sys.executable, "-m", "melgenre", "predict", str(model), *map(str, (notes, good, silent))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr.count("notes.wav") == 1, done.stderr
    assert done.stdout.count("silent.wav") == 1, done.stdout
    assert f"WARNING: {silent} is silent (no sample above -90 dBFS)" in done.stderr
    code, out, _ = run_cli(capsys, "predict", str(model), str(good), str(silent), "--json")
    assert [json.loads(line)["silent"] for line in out.splitlines()] == [False, True]


def test_quiet_train_and_evaluate_show_no_progress(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = demo.make_dataset(tmp_path / "d", clips_per_class=4, duration=3.0)
    code, out, err = run_cli(
        capsys, "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "2",
        "--workers", "1", "--no-clip-statistics", "--quiet",
    )  # fmt: skip
    assert code == 0
    assert "Extracting features" not in err
    assert "Epoch 1/2" not in out + err
    assert "/step - " not in out + err
    assert "Training plan: 2 epochs" in out  # what the run does is still said
    assert f"Model saved to {tmp_path / 'm'}" in out
    code, out, err = run_cli(capsys, "evaluate", str(trained[1]), str(data), "-q", "--workers", "1")
    assert code == 0
    assert "file-level accuracy" in out
    assert "Extracting features" not in err


def test_predict_reads_every_audio_file_under_a_folder(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, model = trained
    code, out, _ = run_cli(capsys, "predict", str(model), str(data / "drums"), "--json")
    assert code == 0
    names = [Path(json.loads(line)["file"]).name for line in out.splitlines()]
    assert names == sorted(p.name for p in (data / "drums").glob("*.wav"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not audio")
    one = data / "drums" / names[0]
    code, out, err = run_cli(capsys, "predict", str(model), str(empty), str(one))
    assert code == 1  # the folder without audio is reported; the file is still predicted
    assert f"melgenre: {str(empty)!r} holds no audio files." in err
    assert out.startswith(str(one))


def test_evaluate_table_and_json(
    trained: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, model = trained
    code, out, _ = run_cli(capsys, "evaluate", str(model), str(data), "--workers", "1")
    assert code == 0
    assert "file-level accuracy" in out
    assert "window-level accuracy" in out
    code, out, _ = run_cli(capsys, "evaluate", str(model), str(data), "--json", "--workers", "1")
    report = json.loads(out)
    assert report["n_files"] == 40
    assert report["classes"] == list(demo.CLASSES)


def test_error_exits_are_one_clear_line(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, model = trained
    code, _out, err = run_cli(
        capsys, "train", str(tmp_path / "missing"), "--out", str(tmp_path / "m")
    )
    assert code == 1
    assert (
        err.strip()
        == f"melgenre: error: Dataset root {str(tmp_path / 'missing')!r} does not exist."
    )
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for item in model.iterdir():
        (corrupt / item.name).write_bytes(item.read_bytes())
    (corrupt / "model.keras").write_bytes(b"garbage")
    code, _, err = run_cli(capsys, "predict", str(corrupt), str(tmp_path / "x.wav"))
    assert code == 1
    assert err.startswith("melgenre: error: 'model.keras' in the bundle")
    assert "checksum" in err
    assert len(err.strip().splitlines()) == 1
    data = demo.make_dataset(tmp_path / "few", clips_per_class=4, duration=1.0)
    code, _, err = run_cli(
        capsys, "train", str(data), "--out", str(tmp_path / "m"), "--patience", "3",
        "--validation-size", "0",
    )  # fmt: skip
    assert code == 1  # before any extraction: nothing to stop on is said, not ignored
    assert err.startswith("melgenre: error: patience=3 stops on the validation files")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["predict"])
    assert exit_info.value.code == 2
    assert "the following arguments are required" in capsys.readouterr().err


def test_python_dash_m_and_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "melgenre", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("train", "evaluate", "predict", "info", "demo"):
        assert command in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "melgenre", "predict", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--timeline" in out.stdout


def test_commands_start_quietly(trained: tuple[Path, Path]) -> None:
    """No TensorFlow, absl or CUDA start-up lines unless --verbose (issue 14)."""
    data, model = trained
    clip = next((data / demo.CLASSES[0]).iterdir())
    for argv in (["info", str(model)], ["predict", str(model), str(clip)]):
        out = run_fresh("-m", "melgenre", *argv)
        assert out.stderr == ""
        assert out.stdout.strip()


def test_start_up_noise_is_recognised_and_other_lines_are_kept() -> None:
    from melgenre._tf import STARTUP_NOISE

    noise = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796090879.907524    2194 port.cc:153] oneDNN custom operations are on.",
        "I0000 00:00:1796090879.908172    2194 cudart_stub.cc:31] Could not find cuda drivers",
        "E0000 00:00:1796090886.919270    2207 cuda_platform.cc:52] failed call to cuInit: "
        "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    ]
    assert all(STARTUP_NOISE.search(line) for line in noise)
    assert not STARTUP_NOISE.search("E0000 op_kernel.cc:1816] OP_REQUIRES failed: out of memory")


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    a = demo.make_dataset(tmp_path / "a", clips_per_class=2, duration=2.0)
    b = demo.make_dataset(tmp_path / "b", clips_per_class=2, duration=2.0)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.wav"))
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*.wav"))
    assert len(files_a) == 10
    for name in files_a:
        assert (a / name).read_bytes() == (b / name).read_bytes()
    x = demo.make_clip("texture", seed=1, duration=2.0)
    assert x.dtype == np.float32
    assert 0.09 < np.abs(x).max() <= 0.9
    with pytest.raises(ValueError, match="Unknown demo class"):
        demo.make_clip("jazz", seed=0)


def test_the_demo_pipeline_learns_well_above_chance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        capsys, "demo", "--out", str(tmp_path / "demo"), "--clips", "12", "--epochs", "6"
    )
    assert code == 0
    assert "4/4 A fresh 'drums' clip" in out
    metrics = json.loads((tmp_path / "demo" / "model" / "melgenre.json").read_text())["metrics"]
    assert metrics["file_accuracy"] >= 0.6  # chance is 0.2


def test_train_resume_continues_an_interrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from melgenre import _checkpoint

    data = demo.make_dataset(tmp_path / "d", clips_per_class=4, duration=3.0)
    argv = ["train", str(data), "--epochs", "3", "--workers", "1", "--json", "--patience", "0"]
    assert main([*argv, "--out", str(tmp_path / "straight")]) == 0

    save = _checkpoint.Checkpointer.on_epoch_end

    def crash_after_the_second(self: _checkpoint.Checkpointer, epoch: int, logs: object) -> None:
        save(self, epoch, logs)  # type: ignore[arg-type]
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(_checkpoint.Checkpointer, "on_epoch_end", crash_after_the_second)
    assert main([*argv, "--out", str(tmp_path / "resumed")]) == 130
    assert "--resume to continue" in capsys.readouterr().err
    assert not (tmp_path / "resumed").exists()
    monkeypatch.setattr(_checkpoint.Checkpointer, "on_epoch_end", save)
    assert main([*argv, "--out", str(tmp_path / "resumed"), "--resume"]) == 0
    capsys.readouterr()

    def history(name: str) -> dict[str, list[float]]:
        return json.loads((tmp_path / name / "training_hist.json").read_text())["metrics"]

    assert history("resumed") == history("straight")
    assert len(history("resumed")["loss"]) == 3
