"""The job behind ``melgenre cv``: :func:`cv_job`, the defaults cross-validated on a folder.

``melgenre train`` reports one test split, a few dozen files whose accuracy moves by
several points with the draw; ``melgenre cv`` fits the same model on each of k folds
(:meth:`FolderDataset.folds <melgenre.FolderDataset.folds>`) and reports the mean and
spread over every file tested once. :mod:`melgenre.cli` parses and prints.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from melgenre._train_job import default_trainer
from melgenre._validation import counted

__all__ = ["cv_job", "cv_line"]


def cv_job(
    data_dir: Path,
    *,
    folds: int = 5,
    epochs: int | None = None,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    groups: Path | None = None,
    group_column: str = "group",
    seed: int = 42,
    sample_rate: int = 22050,
    cache_dir: Path | None = None,
    workers: int | None = None,
    class_weight: str | None = None,
    pooling: str = "mean",
    statistics: bool = True,
    verbose: int = 2,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Cross-validate what ``melgenre train`` fits: ``folds`` models, each file tested once.

    What ``melgenre cv`` runs. The folds are :meth:`FolderDataset.folds
    <melgenre.FolderDataset.folds>` (grouped by ``groups``' column); each fold's model is
    the one ``train`` would fit on its training files (the window fitted to all the
    clips, the plan, the statistics head). Files are extracted once, into ``cache_dir``
    or a temporary cache; a fold's training and test windows are joined there into one
    array each, which ``cache_dir`` keeps for a rerun (the folds' sets: about ``folds``
    times the features on disk) and the temporary cache drops after each fold. ``say``
    receives a line per fold. Returns the summary.
    """
    import tempfile

    import numpy as np

    import melgenre
    from melgenre.data.groups import read_groups
    from melgenre.plan import clip_seconds

    started = time.perf_counter()
    dataset = melgenre.FolderDataset(data_dir)
    keyed = read_groups(groups, group_column) if groups is not None else None
    parts = dataset.folds(folds, seed=seed, groups=keyed)
    featurizer = melgenre.MelFeaturizer.for_clips(
        clip_seconds(list(dataset.paths)), sample_rate=sample_rate
    )
    preprocessing = melgenre.Preprocessing(featurizer)
    if say is not None:
        say(f"Windows: {featurizer.window_seconds:.2f} s ({featurizer.frames} frames).")
    results = []
    with tempfile.TemporaryDirectory(prefix="melgenre-cv-") as scratch:
        cache = cache_dir if cache_dir is not None else Path(scratch)
        for number, fold in enumerate(parts, start=1):
            begun = time.perf_counter()
            train, test = (
                part.features(preprocessing, cache_dir=cache, workers=workers, progress=verbose > 0)
                for part in (fold.train, fold.test)
            )
            trainer = default_trainer(
                len(dataset.classes),
                preprocessing,
                epochs=epochs,
                batch_size=batch_size,
                learning_rate=learning_rate,
                seed=seed,
                verbose=verbose,
                class_weight=class_weight,
                pooling=pooling,
                statistics=statistics,
            )
            trainer.fit(train)
            report = trainer.evaluate(test)
            result = {
                "fold": number,
                "train_files": train.n_files,
                "test_files": test.n_files,
                "file_accuracy": report.file_accuracy,
                "window_accuracy": report.window_accuracy,
                "seconds": round(time.perf_counter() - begun, 1),
            }
            results.append(result)
            if say is not None:
                say(
                    f"Fold {number}/{folds}: {counted(test.n_files, 'test file')}, file-level "
                    f"{report.file_accuracy:.1%}, window-level {report.window_accuracy:.1%} "
                    f"(trained on {counted(train.n_files, 'file')} in {result['seconds']} s)."
                )
            if cache_dir is None:  # this fold's joined sets: the entries serve the next folds
                del train, test, trainer
                shutil.rmtree(cache / "sets", ignore_errors=True)

    def spread(key: str) -> dict[str, float]:
        values = np.array([r[key] for r in results], dtype=np.float64)
        return {"mean": float(values.mean()), "std": float(values.std())}

    return {
        "data_dir": str(data_dir),
        "classes": dataset.classes,
        "files": len(dataset),
        "folds": results,
        "file_accuracy": spread("file_accuracy"),
        "window_accuracy": spread("window_accuracy"),
        "seconds": round(time.perf_counter() - started, 1),
    }


def cv_line(summary: dict[str, Any]) -> str:
    """The line ``melgenre cv`` ends with, from :func:`cv_job`'s summary."""
    files, windows = summary["file_accuracy"], summary["window_accuracy"]
    return (
        f"Cross-validated file-level accuracy {files['mean']:.1%} +- {files['std']:.1%} "
        f"(window-level {windows['mean']:.1%} +- {windows['std']:.1%}) over "
        f"{len(summary['folds'])} folds of {counted(summary['files'], 'file')}, in "
        f"{summary['seconds']} s."
    )
