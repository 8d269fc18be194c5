"""Streaming a file against loading it whole: what the featurizer's second pass costs.

Run: .venv/bin/python benchmarks/stream_reads.py [--repeats 15]

For WAV files of 3 s, 15 s, 60 s and 12 min (white noise, 22.05 kHz), in one loop so the
ratios hold on a busy machine: ``Preprocessing.transform(load(path))`` (whole),
``Preprocessing.stream(path)`` (block by block; a recording of up to
``melgenre.features.KEEP_FRAMES`` frames is decoded once), and the same stream with
``KEEP_FRAMES = 0`` (every file read twice, as before melgenre 0.2). Median milliseconds.

Writes benchmarks/results/stream_reads.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import write_result

import melgenre
import melgenre.features


def timed(step: Callable[[Path], object], path: Path) -> float:
    start = time.perf_counter()
    step(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    prep = melgenre.Preprocessing(melgenre.MelFeaturizer())

    def whole(path: Path) -> object:
        return prep.transform(prep.load(path))

    def stream(path: Path) -> object:
        return list(prep.stream(path))

    keep = melgenre.features.KEEP_FRAMES
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for seconds in (3, 15, 60, 720):
            path = Path(folder) / f"noise-{seconds}.wav"
            samples = np.random.default_rng(0).normal(0, 0.1, seconds * 22050)
            sf.write(path, samples.astype(np.float32), 22050)
            times: dict[str, list[float]] = {"whole": [], "stream": [], "stream_read_twice": []}
            repeats = args.repeats if seconds < 600 else max(3, args.repeats // 5)
            for _ in range(repeats):
                times["whole"].append(timed(whole, path))
                times["stream"].append(timed(stream, path))
                melgenre.features.KEEP_FRAMES = 0
                try:
                    times["stream_read_twice"].append(timed(stream, path))
                finally:
                    melgenre.features.KEEP_FRAMES = keep
            row = {k: round(statistics.median(v) * 1000, 2) for k, v in times.items()}
            row["stream_over_whole"] = round(row["stream"] / row["whole"], 2)
            row["read_twice_over_stream"] = round(row["stream_read_twice"] / row["stream"], 2)
            rows[f"{seconds}s"] = row
            print(f"{seconds:>4} s: {row}", flush=True)
    write_result(
        "stream_reads",
        {"keep_frames": keep, "repeats": args.repeats, "median_ms": rows},
    )


if __name__ == "__main__":
    main()
