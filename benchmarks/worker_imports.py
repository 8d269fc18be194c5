"""Feature extraction from a script that imports the model at the top, with and without
its workers importing that script again.

Run: .venv/bin/python benchmarks/worker_imports.py [--repeats 3] [--workers 2]

A worker process imports the user's main script again (``__mp_main__``) when the work
pickles something defined there; a script that begins ``from melgenre import FolderDataset,
GenreCNN`` (the documented API) then imports TensorFlow in every worker. Since 2026-12-07
the workers are started without the script unless the work needs it. Both ways run here
alternately, each in a fresh interpreter on the same demo files without a cache ("script
again" forces the old behaviour), and are reported as medians and a ratio: the
extraction's wall time and the largest resident memory of the script's child processes
(the forkserver and its workers, sampled every 50 ms from ``/proc``: Linux only).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import write_result

SCRIPT = """
import json, sys, time
from melgenre import FolderDataset, GenreCNN, MelFeaturizer  # GenreCNN: TensorFlow

if __name__ == "__main__":
    if sys.argv[2] == "script-again":  # the behaviour before 2026-12-07
        import melgenre.extraction
        melgenre.extraction._needs_main = lambda task: True
    start = time.perf_counter()
    fs = FolderDataset(sys.argv[1]).features(MelFeaturizer(), workers={workers}, progress=False)
    seconds = time.perf_counter() - start
    print(json.dumps({{"seconds": seconds, "files": fs.n_files}}))
"""

WAYS = ("without-script", "script-again")


def _status(pid: int) -> dict[str, str]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


def largest_descendant_mb(root: int) -> float:
    """The largest resident memory now among ``root``'s descendants (Linux ``/proc``)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (ppid := _status(int(entry.name)).get("PPid")):
            parents[int(entry.name)] = int(ppid)
    largest = 0.0
    for pid in parents:
        up = pid
        while up in parents and up != root:
            up = parents[up]
        if up == root and pid != root:
            rss = _status(pid).get("VmRSS", "0 kB").split()[0]
            largest = max(largest, int(rss) / 1024)
    return largest


def run_once(script: Path, data: Path, way: str) -> dict[str, float]:
    """One run's wall time and its workers' largest resident memory, sampled every 50 ms."""
    process = subprocess.Popen(
        [sys.executable, str(script), str(data), way], stdout=subprocess.PIPE, text=True
    )
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, largest_descendant_mb(process.pid))
        time.sleep(0.05)
    out = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise SystemExit(f"{way} failed ({process.returncode})")
    return {**json.loads(out.strip().splitlines()[-1]), "worker_peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clips", type=int, default=40, help="demo clips per class (5 classes)")
    args = parser.parse_args()
    from melgenre.demo import make_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp) / "data", clips_per_class=args.clips, duration=3.0)
        script = Path(tmp) / "extract.py"
        script.write_text(textwrap.dedent(SCRIPT.format(workers=args.workers)))
        runs: dict[str, list[dict[str, float]]] = {way: [] for way in WAYS}
        for _ in range(args.repeats):
            for way in WAYS:
                runs[way].append(run_once(script, data, way))
    medians = {
        way: {k: statistics.median(r[k] for r in rows) for k in ("seconds", "worker_peak_mb")}
        for way, rows in runs.items()
    }
    for way, m in medians.items():
        print(f"{way:>15}: {m['seconds']:6.2f} s, largest worker {m['worker_peak_mb']:6.0f} MB")
    ratios = {
        k: medians["script-again"][k] / medians["without-script"][k]
        for k in ("seconds", "worker_peak_mb")
    }
    print(
        f"script again / without: time {ratios['seconds']:.1f}x, "
        f"worker memory {ratios['worker_peak_mb']:.1f}x"
    )
    write_result(
        "worker_imports",
        {
            "repeats": args.repeats,
            "workers": args.workers,
            "files": runs[WAYS[0]][0]["files"],
            "median": medians,
            "script_again_over_without": ratios,
            "runs": runs,
        },
    )


if __name__ == "__main__":
    main()
