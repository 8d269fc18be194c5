"""What a statistics head costs at prediction time, beside the same predictor without one.

Run: .venv/bin/python benchmarks/statistics_cost.py [--files 20] [--repeats 15]

One default predictor (``_common.speed_predictor``: the default GenreCNN on MelFeaturizer()
windows, one training step, speed only, with a ``StatisticsHead`` fitted on random statistics:
its cost does not depend on what it learnt) and the same predictor without it, called in turn on
the same 15 s and 60 s files, warm, median of --repeats: the ratio holds on a busy machine.
Also the statistics alone (``ClipStatistics.from_windows``: putting the spectrogram back
together from the windows, then the descriptor) per file. Writes
benchmarks/results/statistics_cost.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import speed_predictor, write_result

import melgenre


def median_seconds(call: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    fused = speed_predictor()
    head = fused.statistics_head
    plain = melgenre.Predictor(
        preprocessing=fused.preprocessing, model=fused.model, labels=fused.labels
    )
    rng = np.random.default_rng(0)
    result: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in (15, 60):
            t = np.arange(seconds * 22050) / 22050
            x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 2 * t))
            path = Path(tmp) / f"clip{seconds}.wav"
            sf.write(path, (x + 0.05 * rng.standard_normal(t.size)).astype(np.float32), 22050)
            windows = plain.preprocessing(path)
            plain.predict(path), fused.predict(path)  # warm up
            rows = {"plain": [], "statistics head": []}
            for _ in range(args.repeats):  # interleaved
                rows["plain"].append(median_seconds(lambda p=path: plain.predict(p), 1))
                rows["statistics head"].append(median_seconds(lambda p=path: fused.predict(p), 1))
            entry = {name: statistics.median(v) for name, v in rows.items()}
            entry["statistics alone"] = median_seconds(
                lambda w=windows: head.statistics.from_windows(w), args.repeats
            )
            entry["ratio head over plain"] = entry["statistics head"] / entry["plain"]
            result[f"{seconds} s file"] = entry
            print(
                f"{seconds:>3} s file: plain {entry['plain'] * 1e3:.1f} ms, with the statistics "
                f"head {entry['statistics head'] * 1e3:.1f} ms "
                f"({entry['ratio head over plain']:.2f}x), the statistics alone "
                f"{entry['statistics alone'] * 1e3:.1f} ms",
                flush=True,
            )
    load = os.getloadavg()[0]
    write_result("statistics_cost", {"warm_seconds_per_file": result, "load_average": load})


if __name__ == "__main__":
    main()
