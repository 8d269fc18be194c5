"""What exporting (and quantizing) costs in accuracy on held-out recordings, not on test signals.

Run (after building data/genres-dev as ../shared/bench/README.md says):

    .venv/bin/python benchmarks/export_accuracy.py [--data data/genres-dev] [--model DIR]

Trains the default model as a user would, ``melgenre train DATA --groups DATA/manifest.csv
--group-column group_id --out MODEL`` (its test split by piece; or takes ``--model``, a
bundle trained so), rebuilds the command's split (20 % test, 10 % validation, seed 42, the
same groups) and checks it against the test figures the bundle recorded, then exports the
bundle as a SavedModel and as TFLite in float32, float16 and int8 (each with its parity
check), and evaluates the bundle (``Predictor.evaluate``) and each export
(``ExportedModel.evaluate``: each file decoded by the export's loader and run through the
artifact) on the test files. The parity check compares the artifacts with the Predictor on
a few signals; this says what the deployed artifact scores on real data. Writes
benchmarks/results/export_accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import write_result

#: (name, format, quantize) of each export.
ARTIFACTS = (
    ("saved_model", "saved_model", None),
    ("tflite", "tflite", None),
    ("tflite-float16", "tflite", "float16"),
    ("tflite-int8", "tflite", "int8"),
)


def _train(data: Path, out: Path, groups: Path, column: str) -> float:
    command = [
        sys.executable, "-m", "melgenre", "train", str(data), "--out", str(out), "--json",
        "--groups", str(groups), "--group-column", column, "--quiet",
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=7200)
    return time.perf_counter() - start


def _figures(report: Any) -> dict[str, Any]:
    return {
        "file_accuracy": report.file_accuracy,
        "window_accuracy": report.window_accuracy,
        "n_files": report.n_files,
        "confusion_matrix": report.confusion_matrix,
    }


def main() -> None:
    import melgenre
    from melgenre.bundle import read_manifest
    from melgenre.data.groups import read_groups

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/genres-dev"))
    parser.add_argument("--model", type=Path, help="a bundle trained as above (else trained)")
    parser.add_argument("--group-column", default="group_id")
    args = parser.parse_args()
    groups = args.data / "manifest.csv"
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or Path(tmp) / "model"
        train_seconds = None
        if args.model is None:
            train_seconds = _train(args.data, model, groups, args.group_column)
            print(f"trained in {train_seconds:.0f} s")
        test = (
            melgenre.FolderDataset(args.data)
            .split(
                test_size=0.2,
                validation_size=0.1,
                seed=42,
                groups=read_groups(groups, args.group_column),
            )
            .test
        )
        predictor = melgenre.Predictor.load(model)
        results: dict[str, Any] = {"bundle": _figures(predictor.evaluate(test, workers=1))}
        recorded = read_manifest(model)[1]["metrics"]
        if recorded["n_files"] != len(test) or (
            abs(recorded["file_accuracy"] - results["bundle"]["file_accuracy"]) > 1e-9
        ):
            raise SystemExit(f"the rebuilt test split differs from the bundle's: {recorded}")
        print(f"bundle: {results['bundle']['file_accuracy']:.1%} of {len(test)} test files")
        for name, format, quantize in ARTIFACTS:
            out = predictor.export(Path(tmp) / name, format=format, quantize=quantize)
            exported = melgenre.ExportedModel.load(out)
            start = time.perf_counter()
            results[name] = _figures(exported.evaluate(test))
            results[name]["evaluate_seconds"] = time.perf_counter() - start
            parity = exported.parity()
            results[name]["parity_passed"] = None if parity is None else parity.passed
            change = results[name]["file_accuracy"] - results["bundle"]["file_accuracy"]
            print(
                f"{name:15s} file {results[name]['file_accuracy']:.1%} ({change:+.1%}), "
                f"window {results[name]['window_accuracy']:.1%}"
            )
    write_result(
        "export_accuracy",
        {
            "data": str(args.data),
            "command": "melgenre train DATA --groups DATA/manifest.csv --group-column "
            f"{args.group_column} --out MODEL; each export evaluated on the test split",
            "train_seconds": train_seconds,
            "results": results,
        },
    )
    print(json.dumps({k: round(v["file_accuracy"], 4) for k, v in results.items()}))


if __name__ == "__main__":
    main()
