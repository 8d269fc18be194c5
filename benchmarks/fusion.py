"""Late fusion: the network's file probabilities with a clip-level descriptor's, on cv.py's folds.

Run (after ``cv.py ... --keep-probabilities`` has recorded the network's per-file probabilities):

    .venv/bin/python benchmarks/cv.py --domain genres --candidates library-full \
        --keep-probabilities --tag=-probs
    .venv/bin/python benchmarks/fusion.py --domain genres \
        --cv benchmarks/results/cv/genres-5fold-probs.json

Per fold of ``cv.py`` (the same grouped, stratified folds and the same windows, from the
cache), a :class:`melgenre.fusion.StatisticsHead` is fitted on the training part's files, as
``Trainer(statistics=True)`` fits it (not on the validation files), and its probabilities
for the test files multiply the network's recorded mean window probabilities
(:func:`melgenre.fusion.fuse`), with equal weights (``fused``) and, where ``cv.py`` recorded the
validation files' probabilities too, with the weight chosen on them as the Trainer chooses it
(``fused_weighted``). Since training on CPU is deterministic for a seed, this is
what ``Trainer(statistics=True)`` would report on the fold, without training the network again,
as far as the recorded probabilities are exact: ``cv.py`` wrote them to five decimals before
2026-12-04 (seven significant digits since), which can move the weight's choice, whose
log-likelihoods are sensitive to small probabilities (instruments fold 3: 1/4 replayed, the
Trainer's own run scored as with 0).
Reports file-level accuracy of the network, the statistics head alone and the fusion per fold;
writes benchmarks/results/cv/fusion.json. Descriptor variants screen the same way, cheaply (no
network is trained): ``--statistics '{"n_mfcc": 40}' --tag=-mfcc40`` (ClipStatistics settings),
``--delta-cepstra --tag=-deltas`` (the cepstra's frame-to-frame spread added).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import cv
import numpy as np
from _common import RESULTS, write_result


def main() -> None:
    from melgenre.fusion import StatisticsHead, fuse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="genres", choices=list(cv.DOMAINS))
    parser.add_argument("--cv", type=Path, required=True, help="cv.py JSON with probabilities")
    parser.add_argument("--candidate", default="library-full")
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument(
        "--statistics",
        type=json.loads,
        default={},
        help="ClipStatistics settings as JSON, e.g. '{\"n_mfcc\": 40}' (default: its defaults)",
    )
    parser.add_argument(
        "--delta-cepstra",
        action="store_true",
        help="add the spread of the cepstra's frame-to-frame differences (a screen)",
    )
    parser.add_argument("--tag", default="", help="suffix of the result's key in fusion.json")
    args = parser.parse_args()
    from melgenre.statistics import ClipStatistics

    kind = delta_cepstra_statistics() if args.delta_cepstra else ClipStatistics
    clip_statistics = kind(**args.statistics)
    record = json.loads(args.cv.read_text())
    runs = {f["fold"]: f for f in record["candidates"][args.candidate]["folds"]}
    if not runs or not all("file_probabilities" in f for f in runs.values()):
        raise SystemExit(f"{args.cv}: run cv.py with --keep-probabilities first")
    dataset, groups = cv.load_dataset(args.domain)
    classes = list(dataset.classes)
    rows: list[dict[str, Any]] = []
    for number, parts in enumerate(cv.folds(dataset, groups, record["folds"])):
        if number not in runs:
            continue
        train, validation, test, _ = cv.fold_features(args.candidate, parts, args.cache_dir)
        start = time.perf_counter()
        head = StatisticsHead(clip_statistics).fit(train)
        fit_seconds = time.perf_counter() - start
        files, stats = head.statistics.transform(test)
        descriptor = head.predict_proba(stats)
        network = recorded(runs[number], "file_probabilities", test, files)
        fused = fuse(network, descriptor)
        _, truth = test.file_labels()
        truth = np.array([classes.index(test.classes[t]) for t in truth])
        weighted = None
        if "validation_probabilities" in runs[number]:  # the Trainer's rule: weight by validation
            held, held_stats = head.statistics.transform(validation)
            _, held_truth = validation.file_labels()
            held_truth = np.array([classes.index(validation.classes[t]) for t in held_truth])
            held_network = recorded(runs[number], "validation_probabilities", validation, held)
            head.choose_weight(held_network, held_stats, held_truth)
            weighted = fuse(network, descriptor, head.weight)
        row = {
            "fold": number,
            "files": len(files),
            "network": float(np.mean(network.argmax(1) == truth)),
            "statistics": float(np.mean(descriptor.argmax(1) == truth)),
            "fused": float(np.mean(fused.argmax(1) == truth)),
            "fit_seconds": fit_seconds,
        }
        if weighted is not None:
            row["weight"] = head.weight
            row["fused_weighted"] = float(np.mean(weighted.argmax(1) == truth))
        confusion = np.zeros((len(classes), len(classes)), dtype=int)
        np.add.at(confusion, (truth, fused.argmax(1)), 1)
        row["fused_confusion_matrix"] = confusion.tolist()
        rows.append(row)
        print(
            f"fold {number}: network {row['network']:.1%}, statistics {row['statistics']:.1%}, "
            f"fused {row['fused']:.1%}"
            + (
                f", weighted {row['fused_weighted']:.1%} (weight {row['weight']})"
                if weighted is not None
                else ""
            ),
            flush=True,
        )
    summary = {
        key: statistics_mean([r[key] for r in rows if key in r])
        for key in ("network", "statistics", "fused", "fused_weighted")
    }
    print(
        ", ".join(f"{k} {v:.1%}" for k, v in summary.items() if v == v), f"over {len(rows)} folds"
    )
    out = RESULTS / "cv" / "fusion.json"
    earlier = json.loads(out.read_text()) if out.exists() else {}
    results = {k: v for k, v in earlier.items() if k not in ("benchmark", "environment")}
    results[f"{args.domain}/{args.candidate}+statistics{args.tag}"] = {
        "network": f"cv.py candidate {args.candidate} ({args.cv.name})",
        "statistics": repr(StatisticsHead(clip_statistics)),
        "fusion": "melgenre.fusion.fuse: normalised product, equal weights (fused) and, where "
        "validation probabilities were recorded, the weight chosen on the validation files as "
        "Trainer(statistics=True) chooses it (fused_weighted)",
        "classes": classes,
        "folds": rows,
        "mean": summary,
    }
    write_result("cv/fusion", results)


def delta_cepstra_statistics() -> Any:
    """``ClipStatistics`` plus the spread of the cepstra's frame-to-frame differences.

    A screened variant (how fast timbre changes: attacks, articulation), not in the library.
    """
    import dataclasses

    from scipy.fft import dct

    from melgenre.statistics import ClipStatistics

    @dataclasses.dataclass(frozen=True)
    class DeltaCepstra(ClipStatistics):
        @property
        def dim(self) -> int:
            return super().dim + self.n_mfcc

        def __call__(self, spectrogram: Any) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            cepstra = dct(spec, type=2, axis=0, norm="ortho")[: self.n_mfcc]
            cepstra = np.pad(cepstra, ((0, self.n_mfcc - len(cepstra)), (0, 0)))
            spread = np.diff(cepstra, axis=1).std(axis=1)
            return np.concatenate([super().__call__(spectrogram), spread]).astype(np.float32)

    return DeltaCepstra


def recorded(run: dict[str, Any], key: str, part: Any, files: Any) -> Any:
    """The network's recorded probabilities of ``part``'s ``files``, as an array."""
    table = {str(Path(k).resolve()): np.asarray(v) for k, v in run[key].items()}
    return np.stack([table[str(Path(part.paths[i]).resolve())] for i in files])


def statistics_mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


if __name__ == "__main__":
    main()
