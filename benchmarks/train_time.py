"""How long a new user's first `melgenre train` takes: the default command, cold, end to end.

Run (after building data/genres-dev as ../shared/bench/README.md says):

    .venv/bin/python benchmarks/train_time.py [--data data/genres-dev]

Runs ``melgenre train DATA --out TMP --json --cache-dir EMPTY`` in a fresh process (so
TensorFlow's import, the file scan, the duration probe, cold feature extraction, training,
evaluation and the bundle's save all count), with no flags beyond the output paths, and
records the wall time beside the summary the command prints (plan, epochs, file- and
window-level accuracy on its test split). The issue-15 goal is 10 minutes for genres-dev
(640 x 15 s) on 2 cores.

Writes benchmarks/results/train_time.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/genres-dev"))
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found: build it as ../shared/bench/README.md says")
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "melgenre", "train", str(args.data),
            "--out", str(Path(tmp) / "model"), "--cache-dir", str(Path(tmp) / "cache"), "--json",
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
        "train_time",
        {
            "data": str(args.data),
            "command": "melgenre train DATA --out MODEL --cache-dir EMPTY --json",
            "wall_seconds": seconds,
            "goal_seconds": 600,
            # anything else running shares the 2 cores: a load above ~2 inflates the time
            "load_average_1min": {"before": load_before, "after": load_after},
            "summary": summary,
        },
    )


if __name__ == "__main__":
    main()
