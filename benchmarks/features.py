"""Feature extraction speed: melgenre beside the classic notebook pipeline, in one run.

Run: .venv/bin/python benchmarks/features.py [--data-dir DIR] [--files 24] [--seconds 30]

Without --data-dir, synthesizes --files WAV files (22.05 kHz, --seconds long) in a
temporary folder. With --data-dir (e.g. ../shared/bench's genres-dev), uses the first
--files audio files found there. Both pipelines process the same files, alternating
per file, single process:

* classic: ``librosa.load(sr=44100)``, then for every 4 s chunk every 2 s a
  separate ``librosa.feature.melspectrogram`` resized to 128x128 (the notebook);
* melgenre: ``AudioLoader(sample_rate=22050)`` + ``MelFeaturizer()`` (one log-mel
  per file, windows sliced from it), and ``MelFeaturizer.classic()`` at 44.1 kHz.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import write_result

import melgenre


def synthesize(folder: Path, files: int, seconds: float) -> list[Path]:
    rng = np.random.default_rng(42)
    sr = 22050
    paths = []
    for i in range(files):
        t = np.arange(int(seconds * sr)) / sr
        f0 = rng.uniform(100, 1000)
        x = 0.3 * np.sin(2 * np.pi * f0 * t * (1 + 0.1 * np.sin(t))) + 0.05 * rng.standard_normal(
            t.size
        )
        path = folder / f"clip{i:03d}.wav"
        sf.write(path, x.astype(np.float32), sr)
        paths.append(path)
    return paths


def classic_pipeline(path: Path) -> np.ndarray:
    import librosa

    y, sr = librosa.load(path, sr=44100)
    chunk, step = 4 * sr, 2 * sr
    n_chunks = int(np.ceil(max(len(y) - chunk, 0) / step)) + 1
    out = []
    for i in range(n_chunks):
        piece = y[i * step : i * step + chunk]
        mel = librosa.power_to_db(librosa.feature.melspectrogram(y=piece, sr=sr), ref=np.max)
        # the notebook uses tf.image.resize; linear interpolation along both axes is equivalent
        rows = np.linspace(0, mel.shape[0] - 1, 128)
        cols = np.linspace(0, mel.shape[1] - 1, 128)
        resized = np.array([np.interp(cols, np.arange(mel.shape[1]), r) for r in mel])
        out.append(np.array([np.interp(rows, np.arange(mel.shape[0]), c) for c in resized.T]).T)
    return np.stack(out)[..., None].astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.data_dir:
            paths = sorted(
                p
                for p in args.data_dir.rglob("*")
                if p.suffix.lower() in {".wav", ".flac", ".mp3", ".ogg"}
            )
            paths = paths[: args.files]
            source = str(args.data_dir)
        else:
            paths = synthesize(Path(tmp), args.files, args.seconds)
            source = f"synthesized {args.files} x {args.seconds:g} s WAV at 22.05 kHz"
        loader22, feat22 = melgenre.AudioLoader(sample_rate=22050), melgenre.MelFeaturizer()
        loader44, feat44 = melgenre.AudioLoader(sample_rate=44100), melgenre.MelFeaturizer.classic()
        pipelines: dict[str, Callable[[Path], np.ndarray]] = {
            "classic_notebook": classic_pipeline,
            "melgenre_default": lambda p: feat22.transform(loader22.load(p)),
            "melgenre_classic_preset": lambda p: feat44.transform(loader44.load(p)),
        }
        for run in pipelines.values():  # warm up: imports, numba compilation, filter banks
            run(paths[0])
        seconds = dict.fromkeys(pipelines, 0.0)
        windows = dict.fromkeys(pipelines, 0)
        for path in paths:
            for name, run in pipelines.items():
                start = time.perf_counter()
                windows[name] += len(run(path))
                seconds[name] += time.perf_counter() - start
    files_per_second = {name: len(paths) / s for name, s in seconds.items()}
    base = files_per_second["classic_notebook"]
    for name in pipelines:
        rate = windows[name] / seconds[name]
        speedup = files_per_second[name] / base
        print(
            f"{name:>24}: {files_per_second[name]:7.1f} files/s, "
            f"{rate:8.1f} windows/s, {speedup:5.2f}x classic"
        )
    write_result(
        "features",
        {
            "source": source,
            "files": len(paths),
            "files_per_second": files_per_second,
            "windows_per_second": {n: windows[n] / seconds[n] for n in pipelines},
            "speedup_over_classic": {n: files_per_second[n] / base for n in pipelines},
        },
    )


if __name__ == "__main__":
    main()
