"""The ``melgenre`` command: train, cv, evaluate, predict, info, demo, export, check-parity, serve.

Errors print one line naming the problem and exit with status 1 (2 for bad
arguments); ``--verbose`` shows the traceback and INFO logs. Only this module
configures logging or prints: the library itself does neither.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from melgenre._cli_types import (
    at_least_two,
    fraction,
    fraction_or_zero,
    non_negative_int,
    positive_float,
    positive_int,
)
from melgenre._cv_job import cv_job, cv_line
from melgenre._train_job import summary_lines, train_job

__all__ = ["main"]

logger = logging.getLogger("melgenre.cli")


def _parser() -> argparse.ArgumentParser:
    from melgenre._version import __version__

    parser = argparse.ArgumentParser(
        prog="melgenre",
        description="Audio classification: train on a folder per class, predict new recordings.",
    )
    parser.add_argument("--version", action="version", version=f"melgenre {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log details and show tracebacks"
    )
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (a dotted name, found from the current directory, or a .py "
        "file): where a model's custom loader, featurizer or layers are registered; repeatable",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a model on DATA_DIR (one folder per class)")
    train.add_argument(
        "data_dir", type=Path, metavar="DATA_DIR", help="one folder of audio files per class"
    )
    train.add_argument(
        "--out", type=Path, required=True, metavar="MODEL_DIR", help="bundle to write"
    )
    train.add_argument(
        "--split",
        default=None,
        metavar="PRESET_OR_DIR",
        help="a published split instead of a random one: a preset (gtzan-fault-filtered), "
        "'folders' (DATA_DIR/train/<class>/..., DATA_DIR/test/<class>/..., optionally "
        "DATA_DIR/validation/...) or a folder with train.txt, test.txt and optionally "
        "validation.txt",
    )
    train.add_argument(
        "--test-size", type=fraction, default=0.2, help="share of the files tested (default: 0.2)"
    )
    train.add_argument(
        "--validation-size",
        type=fraction_or_zero,
        default=0.1,
        help="share of the files validated every epoch (default: 0.1)",
    )
    train.add_argument(
        "--patience",
        type=non_negative_int,
        help="stop after N epochs without improvement of the smoothed validation loss and keep "
        "the best epoch (default, or 0: no early stopping; the planned run goes to its end)",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run of the same command from its last finished epoch",
    )
    _training_options(train, "the random split")

    cv = sub.add_parser(
        "cv",
        help="cross-validate the defaults (or the options given) on DATA_DIR: k folds, each "
        "file tested once",
    )
    cv.add_argument(
        "data_dir", type=Path, metavar="DATA_DIR", help="one folder of audio files per class"
    )
    cv.add_argument(
        "--folds", type=at_least_two, default=5, help="folds, each a model (default: 5)"
    )
    _training_options(cv, "every fold")

    from melgenre._cli_predict import add_commands as add_predict

    add_predict(sub)  # evaluate and predict
    from melgenre._cli_info import add_command as add_info

    add_info(sub)
    demo = sub.add_parser(
        "demo", help="make demo data, train, evaluate, save and predict (no download)"
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("melgenre-demo"),
        metavar="DIR",
        help="where the data and the model go (default: melgenre-demo)",
    )
    demo.add_argument("--clips", type=positive_int, default=40, help="clips per class")
    demo.add_argument(
        "--epochs", type=positive_int, default=10, help="training epochs (default: 10)"
    )

    from melgenre._cli_export import add_commands
    from melgenre._cli_serve import add_command as add_serve

    add_commands(sub)
    add_serve(sub)
    return parser


def _training_options(parser: argparse.ArgumentParser, grouped: str) -> None:
    """The options ``train`` and ``cv`` share: the model, its training and the data's groups."""
    parser.add_argument(
        "--epochs", type=positive_int, help="default: planned from the data (~3000 updates)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=32, help="windows a step (default: 32)"
    )
    parser.add_argument(
        "--learning-rate",
        type=positive_float,
        default=1e-3,
        help="peak of the warm-up + cosine schedule (default: 0.001)",
    )
    parser.add_argument(
        "--groups",
        type=Path,
        default=None,
        metavar="CSV",
        help="a CSV file naming each file's group (a piece, an artist, a speaker: columns "
        f"'path', relative to the CSV's folder, and --group-column); in {grouped} a group's "
        "files stay on one side, so the test files are unheard",
    )
    parser.add_argument(
        "--group-column",
        default="group",
        metavar="NAME",
        help="the --groups column holding the group (default: group)",
    )
    parser.add_argument("--seed", type=int, default=42, help="split and training (default: 42)")
    parser.add_argument(
        "--sample-rate",
        type=positive_int,
        default=22050,
        help="Hz the audio is resampled to (22050)",
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="feature cache directory")
    parser.add_argument(
        "--workers", type=positive_int, help="extraction processes (default: one a CPU)"
    )
    parser.add_argument(
        "--class-weight",
        choices=["balanced"],
        default=None,
        help="weigh classes inversely to their number of windows",
    )
    parser.add_argument(
        "--pooling",
        choices=["mean", "attention"],
        default="mean",
        help="how a file's label comes from its windows: the mean of their probabilities, or "
        "an attention head trained on their embeddings after the window model",
    )
    parser.add_argument(
        "--clip-statistics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the window model, fit a logistic regression on each file's clip "
        "statistics (tempo, periodicity, timbre, harmony of the whole file) whose probabilities "
        "multiply the windows' (default: on; "
        "--no-clip-statistics answers with the windows alone)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars or epoch lines: the plan and the summary only",
    )


def _print(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _shared(args: argparse.Namespace) -> dict[str, Any]:
    """What :func:`_training_options` parsed, as ``train_job`` and ``cv_job`` take it."""
    return {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "groups": args.groups,
        "group_column": args.group_column,
        "seed": args.seed,
        "sample_rate": args.sample_rate,
        "cache_dir": args.cache_dir,
        "workers": args.workers,
        "class_weight": args.class_weight,
        "pooling": args.pooling,
        "statistics": args.clip_statistics,
        "verbose": 0 if args.json or args.quiet else 2,
        "say": None if args.json else _print,
    }


def _cmd_train(args: argparse.Namespace) -> int:
    summary = train_job(
        args.data_dir,
        args.out,
        split=args.split,
        test_size=args.test_size,
        validation_size=args.validation_size,
        patience=args.patience,
        resume=args.resume,
        **_shared(args),
    )
    if args.json:
        _print(json.dumps(summary))
    else:
        for line in summary_lines(summary):
            _print(line)
    return 0


def _cmd_cv(args: argparse.Namespace) -> int:
    summary = cv_job(args.data_dir, folds=args.folds, **_shared(args))
    _print(json.dumps(summary) if args.json else cv_line(summary))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import melgenre
    from melgenre import demo

    out: Path = args.out
    data_dir, model_dir = out / "data", out / "model"
    started = time.perf_counter()
    _print(
        f"1/4 Making the demo data set in {data_dir} "
        f"({args.clips} clips x {len(demo.CLASSES)} classes) ..."
    )
    demo.make_dataset(data_dir, clips_per_class=args.clips)
    _print("2/4 Extracting features and training (less than a minute on 2 cores) ...")
    summary = train_job(
        data_dir, model_dir, epochs=args.epochs, cache_dir=out / "cache", verbose=2, say=_print
    )
    _print("3/4 " + "\n    ".join(summary_lines(summary)))
    fresh = out / "fresh-clip.wav"
    import soundfile as sf

    label = demo.CLASSES[2]
    sf.write(fresh, demo.make_clip(label, seed=987_654, duration=8.0), 22050)
    prediction = melgenre.Predictor.load(model_dir).predict(fresh)
    _print(
        f"4/4 A fresh {label!r} clip ({fresh}) is predicted as {prediction.label!r} "
        f"with confidence {prediction.confidence:.1%}."
    )
    _print(
        f"Done in {time.perf_counter() - started:.0f} s. "
        f"Curves and confusion matrix: {model_dir}/*.png. "
        f"Try: melgenre predict {model_dir} {fresh} --timeline"
    )
    return 0


_COMMANDS = {
    "train": _cmd_train,
    "cv": _cmd_cv,
    "demo": _cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``melgenre`` command; return its exit status."""
    args = _parser().parse_args(argv)
    if args.verbose:  # TensorFlow's own start-up lines too (melgenre._tf hides them otherwise)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="melgenre: %(levelname)s: %(message)s",
    )
    from melgenre._registry import import_components
    from melgenre._stderr import decoder_notes_captured
    from melgenre._tfenv import use_tensorflow_backend

    use_tensorflow_backend()  # before --import or a model imports Keras
    from melgenre.errors import MelgenreError

    try:
        for module in args.imports:
            import_components(module)
        handler = getattr(args, "handler", None) or _COMMANDS[args.command]
        # libmpg123's notes on a damaged MP3 become one warning naming the file, where this
        # process decodes in one thread (serve's threads decode side by side)
        capture = args.command != "serve" and not args.verbose
        with decoder_notes_captured() if capture else contextlib.nullcontext():
            return int(handler(args))
    except (MelgenreError, OSError) as exc:  # OSError: a file the command was told to write
        if args.verbose:
            raise
        sys.stderr.write(f"melgenre: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        hint = (
            " (run the same command with --resume to continue)" if args.command == "train" else ""
        )
        sys.stderr.write(f"melgenre: interrupted{hint}\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
