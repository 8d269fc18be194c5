"""Training from a cached (memory-mapped) FeatureSet: peak memory vs data set size.

Run:

    .venv/bin/python benchmarks/streaming.py [--windows 6000] [--epochs 4]

Writes memory-mapped feature sets of N, 2N and 4N random 128x128 windows (as
``FolderDataset.features(cache_dir=...)`` leaves them: a read-only ``np.memmap``),
then, each in a fresh process, trains a small ``GenreCNN`` on one of them
through ``Trainer`` (``FeatureSet.to_tf_dataset`` streams batches with
prefetching). Beside it, the same sets loaded into memory (``np.load``
without ``mmap_mode``), the way a notebook would.

Reported per run: the peak of the process's *anonymous* memory (``RssAnon``,
sampled every 20 ms: the memory it needs; the pages of a memory-mapped file
are page cache, which the kernel drops under pressure), the peak RSS, and
training throughput in windows per second (the median epoch after the first,
which also traces the model's functions). Writes benchmarks/results/streaming.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
from _common import write_result

SHAPE = (128, 128, 1)
CLASSES = 4


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class PeakSampler(threading.Thread):
    """Samples RssAnon and VmRSS of this process every 20 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.anon_kb = self.rss_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.anon_kb = max(self.anon_kb, _status_kb("RssAnon"))
            self.rss_kb = max(self.rss_kb, _status_kb("VmRSS"))


def write_set(path: Path, n: int, seed: int) -> None:
    """A labelled set of n windows in a .npy file, written in chunks (never whole in memory)."""
    rng = np.random.default_rng(seed)
    x = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, *SHAPE))
    labels = np.arange(n) % CLASSES
    for start in range(0, n, 1000):
        stop = min(n, start + 1000)
        chunk = rng.normal(size=(stop - start, *SHAPE)).astype(np.float32)
        # a learnable class signal: a brighter band of mel rows per class
        for k in range(CLASSES):
            rows = labels[start:stop] == k
            chunk[rows, 32 * k : 32 * k + 32] += 1.0
        x[start:stop] = chunk
    x.flush()
    del x
    np.save(path.with_suffix(".labels.npy"), labels)


def run_one(path: Path, mode: str, epochs: int, out: Path) -> None:
    sampler = PeakSampler()
    sampler.start()
    import melgenre

    labels = np.load(path.with_suffix(".labels.npy"))
    x = np.load(path, mmap_mode="r" if mode == "stream" else None)
    n = len(labels)
    features = melgenre.FeatureSet(
        x, labels, np.arange(n) // 10, tuple(f"f{i}" for i in range(-(-n // 10))),
        tuple(f"c{k}" for k in range(CLASSES)),
    )  # fmt: skip
    model = melgenre.GenreCNN(
        num_classes=CLASSES, input_shape=SHAPE, filters=(8, 16), dense_units=16, seed=0
    )
    trainer = melgenre.Trainer(model, epochs=epochs, batch_size=32, seed=0, verbose=0)
    history = trainer.fit(features)
    sampler.done.set()
    sampler.join()
    seconds = history.params["epoch_seconds"]
    out.write_text(
        json.dumps(
            {
                "windows": n,
                "mode": mode,
                "data_mb": x.nbytes / 2**20,
                "peak_anon_mb": sampler.anon_kb / 1024,
                "peak_rss_mb": sampler.rss_kb / 1024,
                # the median epoch after the first (which also traces the model's functions)
                "windows_per_second": n / float(np.median(seconds[1:])),
                "epoch_seconds": seconds,
                "accuracy": history.last("accuracy"),
            }
        )
    )


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each larger run against the 1x run of its mode, and streaming against in-memory per scale."""
    base = {r["mode"]: r for r in runs if r["scale"] == 1}
    summary: dict[str, Any] = {
        f"{r['mode']}_{r['scale']}x": {
            "peak_anon_vs_1x": r["peak_anon_mb"] / base[r["mode"]]["peak_anon_mb"],
            "throughput_vs_1x": r["windows_per_second"] / base[r["mode"]]["windows_per_second"],
        }
        for r in runs
        if r["scale"] > 1
    }
    for scale in sorted({r["scale"] for r in runs}):
        pair = {r["mode"]: r for r in runs if r["scale"] == scale}
        summary[f"stream_vs_in_memory_{scale}x"] = {
            "peak_anon": pair["stream"]["peak_anon_mb"] / pair["in_memory"]["peak_anon_mb"],
            "throughput": pair["stream"]["windows_per_second"]
            / pair["in_memory"]["windows_per_second"],
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=6000, help="N: the smallest set")
    parser.add_argument("--epochs", type=int, default=4, help="at least 2")
    parser.add_argument("--_run", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch also traces the model")
    if args._run:
        run_one(Path(args._run[0]), args._run[1], args.epochs, args._out)
        return
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        for scale in (1, 2, 4):
            path = Path(tmp) / f"x{scale}.npy"
            write_set(path, args.windows * scale, seed=scale)
            for mode in ("stream", "in_memory"):
                out = Path(tmp) / f"{scale}-{mode}.json"
                command = [sys.executable, __file__, "--_run", str(path), mode,
                           "--_out", str(out), "--epochs", str(args.epochs)]  # fmt: skip
                subprocess.run(command, check=True)
                result = json.loads(out.read_text()) | {"scale": scale}
                runs.append(result)
                print(
                    f"{scale}x {mode:>9}: {result['windows']:>6} windows "
                    f"({result['data_mb']:.0f} MB): peak anon {result['peak_anon_mb']:.0f} MB, "
                    f"peak RSS {result['peak_rss_mb']:.0f} MB, "
                    f"{result['windows_per_second']:.0f} windows/s",
                    flush=True,
                )
            path.unlink()
    summary = summarize(runs)
    for key, value in summary.items():
        print(f"  {key}: {value}")
    write_result("streaming", {"runs": runs, "summary": summary})


if __name__ == "__main__":
    main()
