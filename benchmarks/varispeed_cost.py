"""What the statistics head's varispeed copies cost in training, part by part.

Run (after building data/genres-dev and a cv.py run of it, whose folds and cache it reuses):

    .venv/bin/python benchmarks/varispeed_cost.py [--domain genres] [--fold 0]

On one fold's training files of the development suite (features from the cache, as
``fusion.py`` reads them): the files' statistics, the varispeed copies' statistics (decoding,
resampling, windows, chroma and statistics of ``len(VARISPEED)`` copies of each file, as
``StatisticsHead.fit`` makes them), the regression's fit on the files and their copies (C
chosen by folds grouped by file), and the fit on the files alone, as before the copies. The
copies are read twice, side by side: on one thread, then by the default threads (one per CPU),
and the rows must agree. One pass each, in this order, on an otherwise idle machine. Writes
benchmarks/results/varispeed_cost.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv
import numpy as np
from _common import write_result


def main() -> None:
    from melgenre._varispeed import with_copies
    from melgenre.fusion import VARISPEED, StatisticsHead

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="genres", choices=list(cv.DOMAINS))
    parser.add_argument("--cv", type=Path, default=None, help="cv.py JSON (its fold count)")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    args = parser.parse_args()
    record = args.cv or Path(f"benchmarks/results/cv/{args.domain}-5fold-stats.json")
    dataset, groups = cv.load_dataset(args.domain)
    folds = json.loads(record.read_text())["folds"]
    parts = cv.folds(dataset, groups, folds)[args.fold]
    train, _, _, _ = cv.fold_features("full-stats", parts, args.cache_dir)
    head = StatisticsHead()
    seconds = {}
    start = time.perf_counter()
    files, x = head.statistics.transform(train)
    _, labels = train.file_labels()
    seconds["statistics"] = time.perf_counter() - start
    start = time.perf_counter()
    serial = with_copies(head.statistics, VARISPEED, train, files, x, labels, workers=1)
    seconds["copies_one_thread"] = time.perf_counter() - start
    start = time.perf_counter()
    rows, row_labels, by_file = with_copies(head.statistics, VARISPEED, train, files, x, labels)
    seconds["copies"] = time.perf_counter() - start
    if not np.array_equal(rows, serial[0]):
        raise SystemExit("the copies read by threads differ from the copies read on one thread")
    start = time.perf_counter()
    head.fit_statistics(rows, row_labels, n_classes=len(train.classes), groups=by_file)
    seconds["fit_with_copies"] = time.perf_counter() - start
    alone = StatisticsHead(varispeed=())
    start = time.perf_counter()
    alone.fit_statistics(x, labels, n_classes=len(train.classes))
    seconds["fit_alone"] = time.perf_counter() - start
    copies = len(rows) - len(files)
    result = {
        "domain": args.domain,
        "fold": args.fold,
        "files": len(files),
        "copies": copies,
        "seconds": seconds,
        "ms_per_copy": 1000 * seconds["copies"] / copies,
        "threads": os.cpu_count(),
        "threads_over_one": seconds["copies"] / seconds["copies_one_thread"],
        "C": {"with_copies": head.C_, "alone": alone.C_},
        "extra_seconds": seconds["copies"] + seconds["fit_with_copies"] - seconds["fit_alone"],
        "load_average_1min": os.getloadavg()[0],
    }
    print(
        f"{args.domain} fold {args.fold}: {len(files)} files, {copies} copies in "
        f"{seconds['copies']:.1f} s ({result['ms_per_copy']:.0f} ms each; one thread "
        f"{seconds['copies_one_thread']:.1f} s, x{result['threads_over_one']:.2f}); the fit "
        f"{seconds['fit_with_copies']:.1f} s with them (C={head.C_:g}) against "
        f"{seconds['fit_alone']:.1f} s without (C={alone.C_:g}); "
        f"{result['extra_seconds']:.0f} s more in all"
    )
    write_result("varispeed_cost", result)


if __name__ == "__main__":
    main()
