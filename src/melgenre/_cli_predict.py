"""The ``melgenre evaluate`` and ``melgenre predict`` commands (see :mod:`melgenre.cli`).

Both run a saved model or an export of one (``melgenre-export.json`` tells them apart):
a bundle through :class:`~melgenre.Predictor`, an export through
:class:`~melgenre.ExportedModel`, so a quantized artifact can be checked on labelled data
before it is deployed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from melgenre._cli_types import positive_int
from melgenre.data.featureset import FailedFile

if TYPE_CHECKING:
    from melgenre.prediction import Prediction

__all__ = ["add_commands"]


def add_commands(sub: Any) -> None:
    """Add ``evaluate`` and ``predict`` to the ``melgenre`` subparsers ``sub``."""
    evaluate = sub.add_parser("evaluate", help="evaluate MODEL_DIR on DATA_DIR")
    evaluate.add_argument(
        "model_dir", type=Path, metavar="MODEL_DIR", help="a saved model, or an export of one"
    )
    evaluate.add_argument(
        "data_dir", type=Path, metavar="DATA_DIR", help="one folder per class, as in training"
    )
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument(
        "--workers",
        type=positive_int,
        help="extraction processes for a saved model (default: one a CPU)",
    )
    evaluate.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(handler=_cmd_evaluate)

    predict = sub.add_parser("predict", help="classify audio files with MODEL_DIR")
    predict.add_argument(
        "model_dir", type=Path, metavar="MODEL_DIR", help="a saved model, or an export of one"
    )
    predict.add_argument(
        "files",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="audio files, or folders: every audio file under them",
    )
    predict.add_argument("--json", action="store_true", help="print results as JSON lines")
    predict.add_argument(
        "--top-k", type=positive_int, default=1, help="show the K most probable labels"
    )
    predict.add_argument("--timeline", action="store_true", help="show every window's label")
    predict.set_defaults(handler=_cmd_predict)


def _print(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import melgenre
    from melgenre.export import EXPORT_CONFIG

    dataset = melgenre.FolderDataset(args.data_dir)
    progress = not (args.json or args.quiet)
    if (args.model_dir / EXPORT_CONFIG).is_file():  # an export: its own accuracy
        report = melgenre.ExportedModel.load(args.model_dir).evaluate(dataset, progress=progress)
    else:
        predictor = melgenre.Predictor.load(args.model_dir)
        report = predictor.evaluate(dataset, workers=args.workers, progress=progress)
    _print(json.dumps(report.to_dict()) if args.json else str(report))
    return 0


#: Files given to one ``predict_many`` call: their answers are printed before the next
#: ones are read, so a folder of thousands shows progress and holds few answers at once.
PREDICT_CHUNK = 32


def _cmd_predict(args: argparse.Namespace) -> int:
    import melgenre
    from melgenre.export import EXPORT_CONFIG

    exported = (args.model_dir / EXPORT_CONFIG).is_file()  # an export directory: run it
    model = (melgenre.ExportedModel if exported else melgenre.Predictor).load(args.model_dir)
    files, failed = _audio_files(args.files)
    width = max((len(f) for f in files), default=0)
    with _skips_reported_here(args.verbose):
        for start in range(0, len(files), PREDICT_CHUNK):
            for result in model.predict_many(files[start : start + PREDICT_CHUNK]):
                failed += _show(result, args, width)
            sys.stdout.flush()
    return 1 if failed else 0


def _show(result: Prediction | FailedFile, args: argparse.Namespace, width: int) -> int:
    """Print one answer as ``predict`` was asked to; 1 for a file that failed, else 0."""
    if isinstance(result, FailedFile):
        if args.json:
            _print(json.dumps({"file": result.path, "error": result.reason}))
        else:
            sys.stderr.write(f"melgenre: {result.reason}\n")
        return 1
    if args.json:
        data: dict[str, Any] = {
            "file": result.source,
            "label": result.label,
            "confidence": result.confidence,
            "top_k": result.top_k(args.top_k),
            "silent": result.silent,
        }
        if args.timeline:
            data["timeline"] = [w.to_dict() for w in result.windows]
        _print(json.dumps(data))
        return 0
    others = ", ".join(f"{t['label']} {t['score']:.2f}" for t in result.top_k(args.top_k)[1:])
    _print(
        f"{result.source:<{width}}  {result.label:<12} {result.confidence:6.1%}"
        + (f"  ({others})" if others else "")
    )
    if args.timeline:
        for w in result.windows:
            _print(f"  {w.start:7.2f}-{w.end:7.2f} s  {w.label:<12} {w.confidence:6.1%}")
    return 0


def _audio_files(given: Sequence[Path]) -> tuple[list[str], int]:
    """Each file as given, each folder's audio files; a folder without any counts as failed."""
    from melgenre.data.scan import audio_files

    files, failed = [], 0
    for path in given:
        found = [str(p) for p in audio_files(path)] if path.is_dir() else [str(path)]
        if not found:
            failed += 1
            sys.stderr.write(f"melgenre: {str(path)!r} holds no audio files.\n")
        files.extend(found)
    return files, failed


@contextlib.contextmanager
def _skips_reported_here(verbose: bool) -> Iterator[None]:
    """Drop ``predict_many``'s per-file "Skipped" lines: the command reports each once."""

    def drop(record: logging.LogRecord) -> bool:
        return verbose or record.msg != "Skipped %s: %s"

    loggers = [logging.getLogger(name) for name in ("melgenre.prediction", "melgenre.artifact")]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)
