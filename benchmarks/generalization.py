"""Another soundfont, other file formats: do today's defaults hold up on a rendering never heard?

Run (the domain's data as cv.py reads it, and the same clips rendered again with another
General MIDI soundfont, in mixed formats; ../shared/bench/README.md):

    apt-get install -y timgm6mb-soundfont
    .bench-venv/bin/python ../shared/bench/instruments.py --out data/instruments-tim \
        --per-class 60 --seed 1 --soundfont /usr/share/sounds/sf2/TimGM6mb.sf2 --formats mixed
    .venv/bin/python benchmarks/generalization.py --domain instruments \
        --other data/instruments-tim --fold-ids 0 1 2

``--other`` takes several folders: the same clips rendered with the training soundfont in
mixed formats (the formats' share) and with the other soundfont as 22.05 kHz WAV (the
soundfont's share) tell the two causes apart.

The generators draw every clip from its seed, class and index alone, so the other rendering
holds the same clips (piece or program, key, tempo, excerpt, reverb, level): only the
soundfont's samples and the file format differ (44.1 kHz stereo WAV, 22.05 kHz mono WAV,
48 kHz stereo FLAC, 44.1 kHz stereo MP3 in turn).

Per fold of cv.py (the same grouped, stratified folds, seed 42), today's defaults (cv.py's
``full-stats``: what ``melgenre train`` does without flags) are trained on the training
part, then the test fold is scored once per rendering: its own files, and the same clips
from each other rendering. All are unseen pieces (programs, voices); the others are also an
unseen soundfont or format. File-level accuracy of the window mean, the statistics head alone and
their fusion (the default, and at every weight of the grid); the Trainer's own evaluation of
the test fold is recorded beside them as a check. Results are merged fold by fold into
benchmarks/results/generalization.json, keyed by domain.

With ``--replay data/generalization`` (a folder an earlier run's ``--keep`` filled), nothing is
trained: each fold's statistics head is refitted with today's defaults and fused with the kept
window probabilities, so a change of the head is checked on another soundfont in minutes
(key ``<domain>/replay<--tag>``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path
from typing import Any

import cv
import numpy as np
from _common import cpu, earlier_results, write_result

NAME = "full-stats"  # cv.py's candidate: melgenre train's defaults


def counterparts(test: Any, other_root: Path) -> Any:
    """The FolderDataset of ``other_root`` holding the clips of ``test`` (class, name) it has."""
    import melgenre

    other = melgenre.FolderDataset(other_root)
    if list(other.classes) != list(test.classes):
        raise SystemExit(f"{other_root}: classes {other.classes} differ from {test.classes}")
    by_clip = {(item.label_index, Path(item.path).stem): item for item in other.items}
    keys = [(y, Path(p).stem) for p, y in zip(test.paths, test.labels, strict=True)]
    missing = [key for key in keys if key not in by_clip]
    if len(missing) > len(keys) // 10:
        raise SystemExit(f"{other_root}: {len(missing)} of {len(keys)} clips missing")
    # a generator may fail a clip in one soundfont (errors.csv): the others are scored
    items = tuple(by_clip[key] for key in keys if key in by_clip)
    return dataclasses.replace(other, items=items)


def scores(trainer: Any, model: Any, features: Any, keep: Path | None = None) -> dict[str, Any]:
    """File-level accuracy of the window mean, the statistics head and their fusion.

    ``fused`` is the Trainer's (its head's weight); ``fused_by_weight`` every weight of
    ``WEIGHT_GRID`` (0: the window mean). With ``keep``, the files' window-mean
    probabilities, statistics and labels are saved there (``.npz``) for replays of other
    heads.
    """
    table = cv.file_table(model.predict_on_batch, features)
    network = np.stack([mean for _, mean, _ in table])
    truth = np.array([label for _, _, label in table])
    head = trainer.statistics_head_
    _, stats = head.statistics.transform(features)
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        np.savez(keep, network=network, statistics=stats, labels=truth)
    return accuracies(network, head, stats, truth)


def accuracies(network: Any, head: Any, stats: Any, truth: Any) -> dict[str, Any]:
    """File-level accuracy of the window mean, ``head`` on ``stats`` and their fusion."""
    from melgenre.fusion import WEIGHT_GRID, fuse

    alone = head.predict_proba(stats)

    def right(p: Any) -> float:
        return float(np.mean(np.asarray(p).argmax(1) == truth))

    return {
        "files": len(truth),
        "network": right(network),
        "statistics": right(alone),
        "fused": right(fuse(network, alone, head.weight)),
        "fused_by_weight": {str(w): right(fuse(network, alone, w)) for w in WEIGHT_GRID},
    }


def fold_renderings(
    parts: tuple[Any, Any, Any], others: list[Path], cache_dir: Path
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """A fold's training and validation features, its preprocessing, and every rendering.

    ``{"same": test features, <other folder's name>: the same clips' features there}``.
    """
    train, validation, test, preprocessing = cv.fold_features(NAME, parts, cache_dir)
    renderings = {"same": test}
    for root in others:
        files = counterparts(parts[2], root)
        renderings[root.name] = files.features(preprocessing, cache_dir=cache_dir, progress=False)
    return train, validation, preprocessing, renderings


def run_fold(
    parts: tuple[Any, Any, Any], others: list[Path], cache_dir: Path, keep: Path | None
) -> dict[str, Any]:
    import keras

    import melgenre

    keras.backend.clear_session()
    train, validation, preprocessing, renderings = fold_renderings(parts, others, cache_dir)
    model = melgenre.GenreCNN(
        num_classes=len(train.classes), input_shape=preprocessing.output_shape, seed=42
    )
    trainer = melgenre.Trainer(model, seed=42, verbose=0, **cv.CANDIDATES[NAME]["trainer"])
    start = time.perf_counter()
    trainer.fit(train, validation=validation)
    seconds = time.perf_counter() - start
    if keep is not None:  # the training files' statistics, to fit other heads on
        _, stats = trainer.statistics_head_.statistics.transform(train)
        _, labels = train.file_labels()
        keep.mkdir(parents=True, exist_ok=True)
        np.savez(keep / "train.npz", statistics=stats, labels=labels)
    return {
        "files": {"train": train.n_files, "validation": validation.n_files},
        "renderings": {
            name: scores(trainer, model, f, keep / f"{name}.npz" if keep else None)
            for name, f in renderings.items()
        },
        "trainer_file_accuracy": trainer.evaluate(renderings["same"]).file_accuracy,
        "train_seconds": seconds,
        "cpu": cpu(),
    }


def replay_fold(
    parts: tuple[Any, Any, Any],
    others: list[Path],
    cache_dir: Path,
    kept: Path,
    statistics: dict[str, Any],
    partials: bool = False,
    codebook: int = 0,
    drop_blocks: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Today's statistics head refitted on a fold's training files, fused with kept networks.

    The window model's file probabilities of every rendering come from ``--keep``'s
    ``<rendering>.npz`` of an earlier run (its labels must match, file for file); the
    head (``StatisticsHead``'s defaults, ``ClipStatistics(**statistics)``) is fitted on the
    fold's training files and scores each rendering's statistics, computed from its features
    today. No network is trained: a change of the head is checked on another soundfont in
    minutes. ``partials`` adds ``fusion.py --partials``' screened block, ``codebook``
    ``fusion.py --codebook``'s (its mixture fitted on the fold's training frames);
    ``drop_blocks`` leaves those blocks out (``fusion.py --drop-blocks``).
    """
    from melgenre.fusion import StatisticsHead
    from melgenre.statistics import ClipStatistics

    kind: Any = ClipStatistics
    if partials:
        import _audio_screens

        kind = _audio_screens.partials_statistics(ClipStatistics)
    head_kind: Any = StatisticsHead
    if codebook:
        import _codebook

        kind, head_kind = _codebook.screened(kind, head_kind, codebook)
    if drop_blocks:
        import _head_screens

        kind = _head_screens.without_blocks(kind, drop_blocks)
    train, _, _, renderings = fold_renderings(parts, others, cache_dir)
    head = head_kind(kind(**statistics)).fit(train)
    out: dict[str, Any] = {"statistics": repr(head.statistics), "renderings": {}}
    for name, features in renderings.items():
        recorded = np.load(kept / f"{name}.npz")
        _, truth = features.file_labels()
        if not np.array_equal(recorded["labels"], truth):
            raise SystemExit(f"{kept / name}.npz: its files differ from today's {name} features")
        _, stats = head.statistics.transform(features)
        out["renderings"][name] = accuracies(recorded["network"], head, stats, truth)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="instruments", choices=list(cv.DOMAINS))
    parser.add_argument(
        "--other", type=Path, nargs="+", required=True, help="the other renderings' folders"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--fold-ids", type=int, nargs="+", default=None)
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="save each fold's file probabilities and statistics under KEEP/<domain>/fold-N/",
    )
    parser.add_argument(
        "--replay",
        type=Path,
        default=None,
        help="train nothing: refit today's statistics head per fold and fuse it with the "
        "window probabilities an earlier --keep run saved under REPLAY/<domain>/fold-N/; "
        "results under the key '<domain>/replay' (--tag appended)",
    )
    parser.add_argument("--tag", default="", help="suffix of the replay's key")
    parser.add_argument(
        "--statistics",
        type=json.loads,
        default={},
        help="with --replay: ClipStatistics settings as JSON (e.g. '{\"harmony\": false}')",
    )
    parser.add_argument(
        "--partials",
        action="store_true",
        help="with --replay: the head with fusion.py --partials' screened block",
    )
    parser.add_argument(
        "--codebook",
        type=int,
        default=0,
        metavar="K",
        help="with --replay: the head with fusion.py --codebook K's screened blocks",
    )
    parser.add_argument(
        "--drop-blocks",
        nargs="+",
        default=[],
        metavar="BLOCK",
        help="with --replay: the head without these blocks (fusion.py --drop-blocks)",
    )
    args = parser.parse_args()
    dataset, groups = cv.load_dataset(args.domain)
    for number, parts in enumerate(cv.folds(dataset, groups, args.folds)):
        if args.fold_ids is not None and number not in args.fold_ids:
            continue
        keep = args.keep / args.domain / f"fold-{number}" if args.keep else None
        if args.replay is not None:
            kept = args.replay / args.domain / f"fold-{number}"
            row = {
                "fold": number,
                **replay_fold(
                    parts,
                    args.other,
                    args.cache_dir,
                    kept,
                    args.statistics,
                    args.partials,
                    args.codebook,
                    tuple(args.drop_blocks),
                ),
            }
        else:
            row = {"fold": number, **run_fold(parts, args.other, args.cache_dir, keep)}
        for name, score in row["renderings"].items():
            print(
                f"{args.domain} fold {number}, {name}: "
                + ", ".join(f"{k} {score[k]:.1%}" for k in ("network", "statistics", "fused")),
                flush=True,
            )
        results = earlier_results("generalization")
        key = f"{args.domain}/replay{args.tag}" if args.replay is not None else args.domain
        entry = results.setdefault(key, {"candidate": NAME, "folds": []})
        entry["folds"] = sorted(
            [f for f in entry["folds"] if f["fold"] != number] + [row], key=lambda f: f["fold"]
        )
        names = set.intersection(*(set(f["renderings"]) for f in entry["folds"]))
        entry["mean"] = {
            name: {
                k: statistics.fmean(f["renderings"][name][k] for f in entry["folds"])
                for k in ("network", "statistics", "fused")
            }
            for name in sorted(names)
        }
        write_result("generalization", results)


if __name__ == "__main__":
    main()
