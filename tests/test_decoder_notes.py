"""libmpg123's notes on a damaged MP3: one warning naming the file, on every command-line path.

The decoder prints its notes straight to file descriptor 2. melgenre's extraction workers
always took them off; the command line's own process (every command but ``serve``) does
too since 0.2, so a damaged MP3 is one warning or one error naming it, never the decoder's
lines (``--verbose`` keeps them).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from class_tree import FEAT, class_tree
from signals import damaged_mp3

DECODER_LINES = ("libmpg123", "Note: ")


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    return subprocess.run(
        [sys.executable, "-m", "melgenre", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _cut_mid_stream(path: Path) -> Path:
    """An MP3 with 2,000 bytes zeroed a third of the way in: libmpg123 gives up on it."""
    damaged_mp3(path)
    data = bytearray(path.read_bytes())
    at = len(data) // 3
    data[at : at + 2000] = bytes(2000)
    path.write_bytes(bytes(data))
    return path


def test_predict_names_a_damaged_mp3_once_instead_of_printing_the_decoders_notes(
    serve_bundle: Path, tmp_path: Path
) -> None:
    damaged = damaged_mp3(tmp_path / "damaged.mp3")
    broken = _cut_mid_stream(tmp_path / "broken.mp3")
    done = _cli("predict", str(serve_bundle), str(damaged), str(broken))
    assert done.returncode == 1  # broken.mp3 could not be read
    assert done.stdout.startswith(f"{damaged}  "), done.stdout  # damaged.mp3 is answered
    lines = done.stderr.splitlines()
    assert lines == [
        f"melgenre: WARNING: {damaged} holds damaged data that the decoder skipped (e.g. "
        "corrupt MP3 frames); the answer is from the rest.",
        f"melgenre: Cannot read audio from {str(broken)!r}: the file is truncated or corrupt "
        "(Unspecified internal error).",
    ], done.stderr


def test_verbose_leaves_the_decoders_own_notes_on_standard_error(
    serve_bundle: Path, tmp_path: Path
) -> None:
    damaged = damaged_mp3(tmp_path / "damaged.mp3")
    done = _cli("--verbose", "predict", str(serve_bundle), str(damaged))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "libmpg123" in done.stderr
    assert "holds damaged data" not in done.stderr


def test_the_command_lines_capture_ends_with_the_command() -> None:
    from melgenre import _stderr

    assert not _stderr._capture_decoder_notes  # a library user's process: never captured
    with _stderr.decoder_notes_captured():
        assert _stderr._capture_decoder_notes
        with pytest.raises(RuntimeError), _stderr.decoder_notes_captured():
            raise RuntimeError
        assert _stderr._capture_decoder_notes  # the inner block restored what it found
    assert not _stderr._capture_decoder_notes


def test_in_process_extraction_and_clip_durations_report_a_damaged_file_where_captured(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # what ``melgenre train`` does in its own process (few files, or --workers 1)
    from melgenre import FolderDataset, _stderr
    from melgenre.plan import clip_seconds

    monkeypatch.setattr(sys, "stderr", sys.__stderr__)  # a real stream on descriptor 2
    tree = class_tree(tmp_path)
    damaged = damaged_mp3(tree / "hum" / "damaged.mp3")
    capfd.readouterr()
    with _stderr.decoder_notes_captured():
        seconds = clip_seconds([damaged])
        features = FolderDataset(tree).features(FEAT, workers=1, progress=False)
    sys.stderr.flush()
    err = capfd.readouterr().err
    assert seconds == [pytest.approx(5.0, abs=0.1)]
    assert features.damaged_files == (str(damaged),)
    assert not any(line in err for line in DECODER_LINES), err


def test_an_exports_decoding_warns_of_a_damaged_file_where_captured(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from melgenre import AudioLoader, _stderr
    from melgenre.artifact import export_input

    monkeypatch.setattr(sys, "stderr", sys.__stderr__)
    damaged = damaged_mp3(tmp_path / "damaged.mp3")
    with caplog.at_level(logging.WARNING, logger="melgenre"):
        export_input(AudioLoader(), damaged)  # a library user's process: the decoder's say
        sys.stderr.flush()
        assert "libmpg123" in capfd.readouterr().err
        assert not caplog.records
        with _stderr.decoder_notes_captured():
            audio = export_input(AudioLoader(), damaged)
    sys.stderr.flush()
    assert "libmpg123" not in capfd.readouterr().err
    assert audio.duration == pytest.approx(5.0, abs=0.1)
    [record] = caplog.records
    assert record.getMessage().startswith(f"{damaged} holds damaged data that the decoder")


@pytest.mark.parametrize(
    ("argv", "captured"),
    [
        (["predict", "model", "song.mp3"], True),
        (["--verbose", "predict", "model", "song.mp3"], False),
        (["serve", "model"], False),  # its threads decode uploads side by side
    ],
)
def test_which_commands_take_the_decoders_notes_off_standard_error(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], captured: bool
) -> None:
    from melgenre import _cli_predict, _cli_serve, _stderr
    from melgenre.cli import main

    seen = []

    def handler(args: object) -> int:
        seen.append(_stderr._capture_decoder_notes)
        return 0

    monkeypatch.setattr(_cli_predict, "_cmd_predict", handler)
    monkeypatch.setattr(_cli_serve, "_cmd_serve", handler)
    # --verbose sets it where unset: set here, so that it is put back afterwards
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    assert main(argv) == 0
    assert seen == [captured]
    assert not _stderr._capture_decoder_notes
