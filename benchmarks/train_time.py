"""How long a new user's first `melgenre train` takes: the default command, cold, end to end.

Run (after building data/genres-dev as ../shared/bench/README.md says):

    .venv/bin/python benchmarks/train_time.py [--data data/genres-dev]

Runs ``melgenre train DATA --out TMP --json --cache-dir EMPTY`` in a fresh process (so
TensorFlow's import, the file scan, the duration probe, cold feature extraction, training,
evaluation and the bundle's save all count), with no flags beyond the output paths, and
records the wall time beside the summary the command prints (plan, epochs, file- and
window-level accuracy on its test split). The issue-15 goal is 10 minutes for genres-dev
(640 x 15 s) on 2 cores.

Before that, in this process, where a training step's time goes: one step of the default
GenreCNN (batch 32 of 128 x 128 windows) with melgenre's batch normalisation (TensorFlow's
fused kernel), with Keras' own layer (as melgenre 0.1 did), and with the first convolution at stride
2 (the default before 0.2), interleaved so the ratios hold on a busy machine (median of
--steps). ``--steps-only`` skips the end-to-end run (it needs no data).
``--groups CSV [--group-column group_id]`` runs the command with them instead (its test
split by piece, as ``cv.py``'s folds are; the steps are not timed) and writes
``train_time_grouped.json``.

Writes benchmarks/results/train_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from _common import write_result


def step_seconds(steps: int) -> dict[str, float]:
    """Median seconds of one training step of the default model and of its variants."""
    import keras
    import numpy as np

    import melgenre
    from melgenre import _batchnorm

    shape = (128, 128, 1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, *shape)).astype(np.float32)
    y = np.eye(8, dtype=np.float32)[np.arange(32) % 8]
    # GenreCNN.conv_bn takes the layer from melgenre._batchnorm when the model is built
    with mock.patch.object(_batchnorm, "BatchNormalization", keras.layers.BatchNormalization):
        keras_norm = melgenre.GenreCNN(num_classes=8, input_shape=shape, seed=0)
    models = {
        "default": melgenre.GenreCNN(num_classes=8, input_shape=shape, seed=0),
        "keras batch norm": keras_norm,
        "first_stride=2": melgenre.GenreCNN(
            num_classes=8, input_shape=shape, first_stride=2, seed=0
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in models}
    for model in models.values():
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        for _ in range(3):  # trace and warm up
            model.train_on_batch(x, y)
    for _ in range(steps):
        for name, model in models.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/genres-dev"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--steps-only", action="store_true")
    parser.add_argument(
        "--groups",
        type=Path,
        default=None,
        metavar="CSV",
        help="pass --groups CSV --group-column NAME to the command (its test split by piece) "
        "and write train_time_grouped.json, leaving the default command's record alone",
    )
    parser.add_argument("--group-column", default="group_id")
    args = parser.parse_args()
    steps = {} if args.groups else step_seconds(args.steps)
    ratios = {name: steps[name] / steps["default"] for name in steps}
    grouping = (
        ["--groups", str(args.groups), "--group-column", args.group_column] if args.groups else []
    )
    print("one training step, batch 32:" if steps else "(steps not timed)")
    for name, seconds in steps.items():
        print(f"  {name:18s} {seconds * 1000:7.1f} ms  ({ratios[name]:.2f}x the default)")
    step_figures = {
        "step_seconds_batch_32": steps,
        "step_ratio_over_default": ratios,
        "steps": args.steps,
    }
    if args.steps_only:
        write_result("train_time_steps", step_figures)
        return
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found: build it as ../shared/bench/README.md says")
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "melgenre", "train", str(args.data),
            "--out", str(Path(tmp) / "model"), "--cache-dir", str(Path(tmp) / "cache"), "--json",
            *grouping,
        ]  # fmt: skip
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=7200)
        seconds = time.perf_counter() - start
        load_after = os.getloadavg()[0]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"melgenre train {args.data}: {seconds:.0f} s cold, {summary['epochs_run']} epochs, "
        f"test file accuracy {summary['file_accuracy']:.1%}"
    )
    write_result(
        "train_time_grouped" if args.groups else "train_time",
        {
            "data": str(args.data),
            "command": "melgenre train DATA --out MODEL --cache-dir EMPTY --json"
            + "".join(f" {word}" for word in grouping),
            "wall_seconds": seconds,
            "goal_seconds": 600,
            # anything else running shares the 2 cores: a load above ~2 inflates the time
            "load_average_1min": {"before": load_before, "after": load_after},
            "summary": summary,
            **step_figures,
        },
    )


if __name__ == "__main__":
    main()
