"""The split's duplicate check on a folder of equal-length WAV files (every one the same size).

Run: .venv/bin/python benchmarks/duplicate_check.py [--files 640] [--seconds 15] [--repeats 3]

Byte-identical copies must stay on one side of a split, so ``FolderDataset.split`` looks
for them before it draws. Files of one size used to be hashed whole: for uncompressed
clips of one length (genres-dev, GTZAN, most keyword sets) that is every byte of the
data set, read in one process before the split. Now 16 KiB at a same-size file's start,
middle and end are compared first (``melgenre.data.duplicates.identical_groups``) and
only files alike there are hashed whole. Both ways run alternately in one loop on the
same files (white noise at 22.05 kHz, 16-bit, with one real copy and one pair alike but
for one byte, which both ways must tell apart), with the page cache warm and, where
this user may drop it (``/proc/sys/vm/drop_caches``, root), cold. Medians.

Writes benchmarks/results/duplicate_check.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import write_result

import melgenre._files
from melgenre._files import file_digest
from melgenre.data.duplicates import identical_groups


def hashed_whole(paths: list[Path]) -> list[list[Path]]:
    """The check before: every file that shares its size with another, hashed whole."""
    by_size: dict[int, list[Path]] = defaultdict(list)
    for path in paths:
        by_size[path.stat().st_size].append(path)
    by_digest: dict[str, list[Path]] = defaultdict(list)
    for same in by_size.values():
        if len(same) > 1:
            for path in same:
                by_digest[file_digest(path)].append(path)
    return sorted(sorted(g) for g in by_digest.values() if len(g) > 1)


def write_files(folder: Path, n: int, seconds: float) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"clip{i:05d}.wav"
        samples = rng.normal(0, 0.1, int(seconds * 22050)).astype(np.float32)
        sf.write(path, samples, 22050, subtype="PCM_16")
        paths.append(path)
    copy = folder / "copy.wav"
    shutil.copyfile(paths[0], copy)
    middle = folder / "middle.wav"  # paths[1] with one byte changed, away from the probes
    data = bytearray(paths[1].read_bytes())
    data[len(data) // 4] ^= 0xFF
    middle.write_bytes(bytes(data))
    return [*paths, copy, middle]


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only); whether it was done."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def timed(check: Callable[[list[Path]], list[list[Path]]], paths: list[Path]) -> float:
    melgenre._files._DIGESTS.clear()  # each run starts without the process's memo
    start = time.perf_counter()
    check(paths)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=640)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ways = {"hashed_whole": hashed_whole, "sampled_first": identical_groups}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        paths = write_files(Path(folder), args.files, args.seconds)
        size = sum(p.stat().st_size for p in paths) / 1e6
        found = {name: check(paths) for name, check in ways.items()}
        expected = [sorted([paths[0], Path(folder) / "copy.wav"])]
        assert found["hashed_whole"] == found["sampled_first"] == expected, found
        cold_possible = drop_page_cache()
        times: dict[str, list[float]] = {f"{n}_{c}": [] for n in ways for c in ("warm", "cold")}
        for _ in range(args.repeats):
            for name, check in ways.items():
                timed(check, paths)  # warms the page cache
                times[f"{name}_warm"].append(timed(check, paths))
                if cold_possible and drop_page_cache():
                    times[f"{name}_cold"].append(timed(check, paths))
    result: dict[str, object] = {
        "files": len(paths),
        "megabytes": round(size, 1),
        "repeats": args.repeats,
        "seconds_median": {k: round(statistics.median(v), 4) for k, v in times.items() if v},
        "cold_measured": cold_possible,
    }
    medians = result["seconds_median"]
    assert isinstance(medians, dict)
    for state in ("warm", "cold"):
        if f"sampled_first_{state}" in medians:
            ratio = medians[f"hashed_whole_{state}"] / medians[f"sampled_first_{state}"]
            result[f"speedup_{state}"] = round(ratio, 1)
            print(
                f"{state}: hashed whole {medians[f'hashed_whole_{state}']:.3f} s, sampled first "
                f"{medians[f'sampled_first_{state}']:.3f} s ({ratio:.1f}x) for {len(paths)} "
                f"files, {size:.0f} MB"
            )
    write_result("duplicate_check", result)


if __name__ == "__main__":
    main()
