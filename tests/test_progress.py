"""Progress bars redraw live on a terminal and stay quiet in a log (a file or a pipe)."""

from __future__ import annotations

import io
import sys
import time

import pytest

from melgenre._progress import LOG_INTERVAL, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drawn(stream: io.StringIO, monkeypatch: pytest.MonkeyPatch, *, enabled: bool = True) -> str:
    """What a bar over 40 updates 20 ms apart (0.8 s) writes to ``stream``."""
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar(total=40, desc="Extracting features", enabled=enabled) as bar:
        for _ in range(40):
            time.sleep(0.02)
            bar.update()
    return stream.getvalue()


def test_a_log_gets_the_start_and_the_end_not_every_redraw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live = drawn(Terminal(), monkeypatch)
    assert live.count("\r") >= 5  # a terminal sees the bar move (0.1 s between redraws)
    text = drawn(io.StringIO(), monkeypatch)
    assert text.count("\r") == 2  # a log: drawn at the start and at the end, not between
    assert "40/40" in text.splitlines()[-1]


def test_a_terminal_redraws_as_tqdm_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", Terminal())
    with progress_bar(total=3, desc="x") as bar:
        assert bar.mininterval == pytest.approx(0.1)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar(total=3, desc="x") as bar:
        assert bar.mininterval == LOG_INTERVAL


def test_a_disabled_bar_draws_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert drawn(Terminal(), monkeypatch, enabled=False) == ""
