"""``melgenre predict`` on many files: answers printed chunk by chunk, in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

import melgenre
from melgenre import _cli_predict
from serving import SR, run_cli
from signals import tone


def test_answers_are_printed_before_the_next_files_are_read(
    serve_bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(5):
        x = tone(frequency=300.0 + 100 * i, duration=1.0, sample_rate=SR)
        sf.write(folder / f"{i}.wav", x, SR)
    (folder / "2.wav").write_text("not audio")  # a failure inside a chunk
    printed: list[str] = []
    seen_when_called: list[int] = []
    predict_many = melgenre.Predictor.predict_many

    def spy(self: melgenre.Predictor, sources: Any, **kwargs: Any) -> Any:
        seen_when_called.append(len(printed))
        return predict_many(self, sources, **kwargs)

    monkeypatch.setattr(_cli_predict, "PREDICT_CHUNK", 2)
    monkeypatch.setattr(_cli_predict, "_print", printed.append)
    monkeypatch.setattr(melgenre.Predictor, "predict_many", spy)
    code, _, err = run_cli(capsys, "predict", str(serve_bundle), str(folder))
    assert code == 1  # one file failed, the others answered
    assert seen_when_called == [0, 2, 3]  # each chunk's answers out before the next is read
    assert [Path(line.split()[0]).name for line in printed] == ["0.wav", "1.wav", "3.wav", "4.wav"]
    assert err.count("2.wav") == 1
    assert all(line.split()[1] in ("chirp", "noise", "tone") for line in printed)
