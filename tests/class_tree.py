"""A small dataset on disk for the dataset's and the extraction's tests: three classes of
distinct sounds at 8 kHz, six files each (one nested), and the featurizer they share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from melgenre import AudioLoader, MelFeaturizer
from signals import noise, tone

SR = 8000
FEAT = MelFeaturizer(sample_rate=SR, n_fft=512, hop_length=128, n_mels=32, frames=32)
LOADER = AudioLoader(sample_rate=SR)


def write(path: Path, samples: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, SR)
    return path


def class_tree(tmp_path: Path) -> Path:
    """Three classes with distinct sounds, 6 one-second files each, some nested."""
    root = tmp_path / "data"
    for c, label in enumerate(["hum", "noise", "whistle"]):
        for i in range(6):
            sub = "live/" if i == 5 else ""
            if label == "noise":
                x = noise(duration=1.0 + 0.25 * i, sample_rate=SR, seed=100 * c + i)
            else:
                x = tone(
                    frequency=(150.0 if label == "hum" else 2500.0) * (1 + i / 50),
                    duration=1.0 + 0.25 * i,
                    sample_rate=SR,
                )
            write(root / label / f"{sub}{label}{i}.wav", x)
    return root
