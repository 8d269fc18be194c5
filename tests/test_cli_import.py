"""``melgenre --import MODULE``: a bundle made with a custom component, used from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from melgenre import demo
from serving import run_cli, run_fresh

PLUGIN = """
import dataclasses

import melgenre


@melgenre.register_component(package="tests_cli_plugin")
@dataclasses.dataclass(frozen=True, kw_only=True)
class HalfLoader(melgenre.AudioLoader):
    def load(self, source):
        audio = super().load(source)
        return melgenre.Audio(audio.samples * 0.5, audio.sample_rate, audio.source)
"""

SAVE = """
import sys
sys.path.insert(0, sys.argv[1])
import cli_plugin
import numpy as np
from melgenre import GenreCNN, MelFeaturizer, Predictor, Preprocessing
feat = MelFeaturizer(sample_rate=8000, n_fft=512, hop_length=128, n_mels=32, frames=32)
loader = cli_plugin.HalfLoader(sample_rate=8000)
model = GenreCNN(num_classes=2, input_shape=feat.output_shape, seed=0)
model.compile(optimizer="adam", loss="categorical_crossentropy")
model.fit(np.zeros((2, *feat.output_shape), "float32"), np.eye(2), verbose=0)  # one step
Predictor(preprocessing=Preprocessing(feat, loader=loader), model=model, labels=["a", "b"]).save(
    sys.argv[2]
)
"""


def test_import_registers_a_models_custom_components(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = tmp_path / "plugins" / "cli_plugin.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    bundle = tmp_path / "model"
    run_fresh("-c", SAVE, str(plugin.parent), str(bundle))  # saved where the class is known
    clip = tmp_path / "clip.wav"
    sf.write(clip, demo.make_clip("drums", seed=1, duration=2.0)[::2], 11025)
    code, _, err = run_cli(capsys, "predict", str(bundle), str(clip))
    assert code == 1
    assert "Unknown component 'tests_cli_plugin>HalfLoader'" in err
    assert "melgenre --import MODULE" in err  # the way out, on the command line
    code, out, _ = run_cli(capsys, "--import", str(plugin), "predict", str(bundle), str(clip))
    assert code == 0, out
    assert out.split()[1] in ("a", "b")
    monkeypatch.chdir(tmp_path)  # a dotted name is found from the current directory
    (tmp_path / "other_plugin.py").write_text("import melgenre\nMARK = 1\n")
    code, _, err = run_cli(capsys, "--import", "other_plugin", "info", str(bundle))
    assert code == 0, err
    for bad, reason in (("no_such_plugin", "ModuleNotFoundError"), ("gone.py", "no such file")):
        code, _, err = run_cli(capsys, "--import", bad, "info", str(bundle))
        assert code == 1
        assert err.startswith(f"melgenre: error: --import {bad!r}")
        assert reason in err
