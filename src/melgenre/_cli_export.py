"""The ``melgenre export`` and ``melgenre check-parity`` commands (see :mod:`melgenre.cli`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_commands"]


def add_commands(sub: Any) -> None:
    """Add ``export`` and ``check-parity`` to the ``melgenre`` subparsers ``sub``."""
    export = sub.add_parser(
        "export",
        help="export MODEL_DIR with its preprocessing in the graph (SavedModel or TFLite)",
    )
    export.add_argument(
        "model_dir", type=Path, metavar="MODEL_DIR", help="a model saved by train or Predictor.save"
    )
    export.add_argument("out", type=Path, metavar="OUT", help="export directory to write")
    export.add_argument(
        "--format",
        choices=["saved_model", "tflite"],
        default="saved_model",
        help="a TensorFlow SavedModel (default) or a TFLite file",
    )
    export.add_argument(
        "--quantize",
        choices=["float16", "int8"],
        default=None,
        help="TFLite only: float16 weights, or int8 weights (dynamic range)",
    )
    _check_arguments(export)
    export.add_argument(
        "--allow-mismatch",
        action="store_true",
        help="write the export even if the parity check fails",
    )
    export.set_defaults(handler=_cmd_export)

    parity = sub.add_parser(
        "check-parity",
        help="compare MODEL_DIR's Predictor with its in-graph features and exports",
    )
    parity.add_argument(
        "model_dir", type=Path, metavar="MODEL_DIR", help="a model saved by train or Predictor.save"
    )
    parity.add_argument(
        "files", type=Path, nargs="*", metavar="FILE", help="recordings to check besides signals"
    )
    parity.add_argument(
        "--export",
        dest="exports",
        type=Path,
        action="append",
        default=[],
        metavar="EXPORT_DIR",
        help="an export to check (repeatable); default: fresh SavedModel and TFLite exports",
    )
    _check_arguments(parity, files=False)
    parity.add_argument("--out", type=Path, default=None, help="also write the report here")
    parity.set_defaults(handler=_cmd_check_parity)


def _check_arguments(parser: argparse.ArgumentParser, *, files: bool = True) -> None:
    if files:
        parser.add_argument(
            "--check-file",
            dest="check_files",
            type=Path,
            action="append",
            default=[],
            metavar="FILE",
            help="a recording to add to the parity check (repeatable)",
        )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DATA_DIR",
        help="a labelled folder: report each artifact's file accuracy beside the Predictor's",
    )
    parser.add_argument("--json", action="store_true", help="print the parity report as JSON")


def _print(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _cmd_export(args: argparse.Namespace) -> int:
    import melgenre
    from melgenre.export import PARITY_FILE, TFLITE_FILE

    predictor = melgenre.Predictor.load(args.model_dir)
    out = predictor.export(
        args.out,
        format=args.format,
        quantize=args.quantize,
        allow_mismatch=args.allow_mismatch,
        files=[str(f) for f in args.check_files],
        data=args.data,
    )
    report = melgenre.ExportedModel.load(out).parity()
    if args.json:
        _print(json.dumps({"export": str(out), "parity": report.to_dict() if report else None}))
        return 0
    artifact = out / TFLITE_FILE if args.format == "tflite" else out
    size = (
        artifact.stat().st_size
        if artifact.is_file()
        else sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file())
    )
    quantized = f", {args.quantize} weights" if args.quantize else ""
    _print(f"Exported {args.model_dir} as {args.format}{quantized} to {out} ({size / 1e6:.1f} MB)")
    if report is not None:
        _print(str(report))
        _print(f"Figures in {out / PARITY_FILE}")
    return 0


def _cmd_check_parity(args: argparse.Namespace) -> int:
    import melgenre
    from melgenre.parity import check_exports

    predictor = melgenre.Predictor.load(args.model_dir)
    report = check_exports(
        predictor, args.exports, files=[str(f) for f in args.files], data=args.data
    )
    if args.out is not None:
        report.save(args.out)
    if args.json:
        _print(json.dumps(report.to_dict()))
    else:
        _print(str(report))
    return 0 if report.passed else 1
