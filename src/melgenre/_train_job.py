"""The training job behind ``melgenre train`` and ``melgenre demo``: :func:`train_job`.

Scan a folder per class, split it (or read a named split), fit the window to the
clips, extract the windows, plan and fit the default model, evaluate it on the
test split, draw the curves and save the bundle. :mod:`melgenre.cli` parses the
options, prints and exits; this module does the work and prints nothing itself.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from melgenre._validation import counted

__all__ = ["default_trainer", "named_split", "summary_lines", "train_job"]

logger = logging.getLogger(__name__)

#: The split's parts, as the summary counts them.
PARTS = ("train", "validation", "test")


def train_job(
    data_dir: Path,
    out: Path,
    *,
    epochs: int | None,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    split: str | None = None,
    groups: Path | None = None,
    group_column: str = "group",
    test_size: float = 0.2,
    validation_size: float | None = 0.1,
    seed: int = 42,
    sample_rate: int = 22050,
    cache_dir: Path | None = None,
    workers: int | None = None,
    patience: int | None = None,
    class_weight: str | None = None,
    pooling: str = "mean",
    statistics: bool = True,
    resume: bool = False,
    verbose: int = 2,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Scan, split, extract, fit, evaluate and save: the whole training journey.

    What ``melgenre train`` (and ``melgenre demo``) run. The keyword arguments are
    the command's options; ``say`` receives the lines the command shows before
    training (the window length and the training plan); ``verbose`` 0 shows no
    progress bars or epoch lines (2: one line an epoch). Returns
    the summary the command prints (``--json`` prints it as it is).
    """
    import melgenre
    from melgenre import plotting
    from melgenre._files import check_replaceable
    from melgenre.bundle import BUNDLE_CONFIG
    from melgenre.data.groups import read_groups
    from melgenre.errors import ConfigError
    from melgenre.plan import clip_seconds

    started = time.perf_counter()
    # a bad --out fails now, not after the training
    check_replaceable(out, BUNDLE_CONFIG, "a melgenre bundle", melgenre.BundleError)
    if split is not None and groups is not None:
        raise ConfigError(
            f"--split {split!r} names its files' sides already; --groups only groups a random "
            "split: give one or the other.",
            parameter="groups",
            value=str(groups),
        )
    if split is None:
        parts = melgenre.FolderDataset(data_dir).split(
            test_size=test_size,
            validation_size=validation_size or None,
            seed=seed,
            groups=read_groups(groups, group_column) if groups is not None else None,
        )
        split_record: dict[str, Any] = {"test_size": test_size, "validation_size": validation_size}
        if groups is not None:
            split_record.update(groups=str(groups), group_column=group_column)
    else:
        parts, split_record = named_split(data_dir, split), {"split": split}
    train, validation, test = parts.train, parts.validation, parts.test
    if patience and (validation is None or not len(validation)):
        raise ConfigError(
            f"patience={patience} stops on the validation files, but there are none "
            "(validation_size 0, or a split without validation.txt): give a validation "
            "share (--validation-size 0.1) or run the whole plan without --patience.",
            parameter="patience",
            value=patience,
        )
    classes = train.classes
    paths = [p for part in (train, validation, test) if part is not None for p in part.paths]
    featurizer = melgenre.MelFeaturizer.for_clips(clip_seconds(paths), sample_rate=sample_rate)
    preprocessing = melgenre.Preprocessing(featurizer)
    features = {
        name: part.features(
            preprocessing, cache_dir=cache_dir, workers=workers, progress=verbose > 0
        )
        for name, part in zip(PARTS, (train, validation, test), strict=True)
        if part is not None and len(part)
    }
    run_dir = out.parent / f".{out.name}.run"
    trainer = default_trainer(
        len(classes),
        preprocessing,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        verbose=verbose,
        run_dir=run_dir,
        patience=patience,  # with validation files: checked above
        class_weight=class_weight,
        pooling=pooling,
        statistics=statistics,
    )
    plan = trainer.plan(features["train"])
    if say is not None:
        say(f"Windows: {featurizer.window_seconds:.2f} s ({featurizer.frames} frames).")
        say(f"Training plan: {plan.describe(early_stopping=bool(trainer.early_stopping))}.")
    history = trainer.fit(features["train"], validation=features.get("validation"), resume=resume)
    report = trainer.evaluate(features["test"]) if "test" in features else None
    extra: dict[str, Any] = {}
    try:
        extra["curves.png"] = plotting.plot_history(history, run_dir / "curves.png")
        if report is not None:
            extra["confusion_matrix.png"] = plotting.plot_confusion_matrix(
                report, run_dir / "confusion_matrix.png"
            )
    except melgenre.MelgenreError as exc:  # matplotlib missing: the bundle is still saved
        logger.warning("No plots: %s", exc)
    predictor = trainer.to_predictor(
        preprocessing,
        labels=classes,
        metadata={
            "training": {
                "data_dir": str(data_dir),
                "seed": seed,
                "epochs_run": history.epochs,
                "split": {
                    **split_record,
                    "train_files": len(train),
                    "validation_files": len(validation) if validation is not None else 0,
                    "test_files": len(test),
                },
                "train_files_fingerprint": train.fingerprint(),
                "failed_files": [f.to_dict() for fs in features.values() for f in fs.failures],
                # decoded and used, but silent or damaged (the warnings named them)
                "silent_files": [f for fs in features.values() for f in fs.silent_files],
                "damaged_files": [f for fs in features.values() for f in fs.damaged_files],
            }
        },
    )
    predictor.save(out, history=history, report=report, extra_files=extra)
    shutil.rmtree(run_dir, ignore_errors=True)  # its files are in the bundle now
    return {
        "model_dir": str(out),
        "classes": classes,
        # files that took part, and those skipped at extraction (reasons: the warnings, and
        # the bundle's metadata.training.failed_files)
        "files": {part: features[part].n_files if part in features else 0 for part in PARTS},
        "skipped_files": {
            part: len(features[part].failures) if part in features else 0 for part in PARTS
        },
        "epochs_run": history.epochs,
        "plan": plan.to_dict(),
        "file_accuracy": report.file_accuracy if report is not None else None,
        "window_accuracy": report.window_accuracy if report is not None else None,
        "seconds": round(time.perf_counter() - started, 1),
        "statistics_head": history.params.get("statistics_head"),
    }


def default_trainer(
    n_classes: int,
    preprocessing: Any,
    *,
    epochs: int | None,
    batch_size: int,
    learning_rate: float,
    seed: int,
    verbose: int,
    run_dir: Path | None = None,
    patience: int | None = None,
    class_weight: str | None = None,
    pooling: str = "mean",
    statistics: bool = True,
) -> Any:
    """The default model and its Trainer, as ``train`` and ``cv`` fit them."""
    import melgenre

    model = melgenre.GenreCNN(
        num_classes=n_classes, input_shape=preprocessing.output_shape, seed=seed
    )
    return melgenre.Trainer(
        model,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        verbose=verbose,
        run_dir=run_dir,
        early_stopping=bool(patience),
        patience=patience,
        class_weight=class_weight,
        pooling=pooling,
        statistics=statistics,
    )


def named_split(data_dir: Path, split: str) -> Any:
    """The :class:`~melgenre.data.Split` that ``--split`` names: a preset or a folder of lists."""
    import melgenre
    from melgenre.data import SPLIT_PRESETS

    if split in SPLIT_PRESETS:
        return melgenre.FolderDataset.from_split_preset(data_dir, split)
    if split == "folders":
        return _split_folders(data_dir)
    folder = Path(split)
    if not (folder / "train.txt").is_file() or not (folder / "test.txt").is_file():
        raise melgenre.DatasetError(
            f"--split {split!r} is neither a preset ({', '.join(sorted(SPLIT_PRESETS))}), nor "
            "'folders' (DATA_DIR/train/<class>/..., DATA_DIR/test/<class>/...), nor a "
            "folder holding train.txt and test.txt (and optionally validation.txt)."
        )
    validation = folder / "validation.txt"
    return melgenre.FolderDataset.from_split_lists(
        data_dir,
        train=folder / "train.txt",
        validation=validation if validation.is_file() else None,
        test=folder / "test.txt",
    )


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The lines ``melgenre train`` prints after training, from :func:`train_job`'s summary."""
    lines = [
        f"Trained on {counted(summary['files']['train'], 'file')} ({len(summary['classes'])} "
        f"classes: {', '.join(summary['classes'])}) for {counted(summary['epochs_run'], 'epoch')} "
        f"in {summary['seconds']} s."
    ]
    skipped = sum(summary.get("skipped_files", {}).values())
    if skipped:
        lines.append(
            f"Skipped {counted(skipped, 'file')} that could not be read "
            "(named above; also in the bundle's metadata, training.failed_files)."
        )
    if summary["file_accuracy"] is not None:
        lines.append(
            f"Test accuracy on {summary['files']['test']} files: file-level "
            f"{summary['file_accuracy']:.1%}, window-level {summary['window_accuracy']:.1%}."
        )
    head = summary.get("statistics_head")
    if head:
        harmony = head.get("statistics", {}).get("harmony", False)
        lines.append(
            f"Clip statistics head{' (with the harmony)' if harmony else ''}: "
            f"C={head['C_']:g}, fusion weight {head['weight']:g}"
            + (
                " (chosen on the validation files)."
                if head.get("weight_rule") == "validation"
                else "."
            )
        )
    lines.append(f"Model saved to {summary['model_dir']}")
    return lines


def _split_folders(data_dir: Path) -> Any:
    """``--split folders``: DATA_DIR's train, (validation and) test folders of class folders."""
    import melgenre
    from melgenre.data.scan import SPLIT_FOLDER_NAMES, split_folders
    from melgenre.data.split import Split

    if not data_dir.is_dir():
        raise melgenre.DatasetError(f"Dataset root {str(data_dir)!r} does not exist.")
    order = split_folders(data_dir)
    sides = [SPLIT_FOLDER_NAMES[name.lower()] for name in order]
    if "train" not in sides or "test" not in sides or len(set(sides)) != len(sides):
        raise melgenre.DatasetError(
            f"--split folders needs {str(data_dir)!r} to hold one train and one test folder "
            "(train/training, test/testing/eval/evaluation; optionally one validation folder, "
            "validation/valid/val/dev), each with one folder per class; it holds "
            f"{sorted(p.name for p in data_dir.iterdir() if p.is_dir())}."
        )
    found = melgenre.FolderDataset.from_split_folders(data_dir, splits=order)
    parts = dict(zip(sides, found, strict=True))
    return Split(parts["train"], parts.get("validation"), parts["test"])
