"""The command's arguments: every option says what it is, bad numbers are refused as
they are parsed (before any work), and a file it cannot write is one error line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from melgenre.cli import _parser, main
from serving import run_cli


def test_every_option_of_every_command_says_what_it_is() -> None:
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    silent = [
        f"{name} {action.dest}"
        for name, command in commands.choices.items()
        for action in command._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert silent == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train", "d", "--out", "m", "--epochs", "0"], "argument --epochs: must be a whole"),
        (["train", "d", "--out", "m", "--batch-size", "-3"], "--batch-size: must be a whole"),
        (["train", "d", "--out", "m", "--test-size", "1.5"], "--test-size: must be a share"),
        (["train", "d", "--out", "m", "--validation-size", "1"], "must be 0 or a share below 1"),
        (["train", "d", "--out", "m", "--learning-rate", "nan"], "must be a finite number"),
        (["train", "d", "--out", "m", "--learning-rate", "0"], "must be a number above 0"),
        (["train", "d", "--out", "m", "--workers", "x"], "--workers: must be a whole number"),
        (
            ["train", "d", "--out", "m", "--patience", "-1"],
            "--patience: must be a whole number >= 0",
        ),
        (["predict", "m", "a.wav", "--top-k", "0"], "argument --top-k: must be a whole"),
        (["demo", "--clips", "0"], "argument --clips: must be a whole"),
    ],
)
def test_bad_numbers_are_refused_before_any_work(
    argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)  # before any file is read: these paths do not exist
    assert exit_.value.code == 2
    assert words in capsys.readouterr().err


def test_a_file_the_command_cannot_write_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain.txt").write_text("")
    code, _, err = run_cli(capsys, "demo", "--out", str(tmp_path / "plain.txt" / "demo"))
    assert code == 1
    assert err.splitlines()[-1].startswith("melgenre: error: [Errno 20] Not a directory")
    assert "Traceback" not in err


def test_cli_sizes() -> None:
    from melgenre._cli_serve import _bytes

    assert _bytes("50M") == 50 * 2**20
    assert _bytes("1.5k") == 1536
    assert _bytes("1048576") == 2**20
    assert _bytes("2GiB") == 2 * 2**30
    with pytest.raises(Exception, match="50M"):
        _bytes("lots")
