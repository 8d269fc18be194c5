"""The ``melgenre info`` command (see :mod:`melgenre.cli`).

What a saved model is, read from its bundle's JSON alone (no TensorFlow).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from melgenre._validation import counted, some_of

__all__ = ["add_command", "describe", "describe_export"]

#: The training files a bundle's metadata lists, and how ``melgenre info`` names them.
_FILE_LISTS = (
    ("failed", "skipped as unreadable"),
    ("silent", "used though silent"),
    ("damaged", "used though damaged"),
)


def add_command(sub: Any) -> None:
    """Add ``info`` to the ``melgenre`` subparsers ``sub``."""
    info = sub.add_parser("info", help="describe a saved model")
    info.add_argument(
        "model_dir", type=Path, metavar="MODEL_DIR", help="a saved model, or an export of one"
    )
    info.add_argument(
        "--json", action="store_true", help="print the bundle's (or export's) manifest as JSON"
    )
    info.set_defaults(handler=_cmd_info)


def _cmd_info(args: argparse.Namespace) -> int:
    from melgenre.artifact import read_export_config
    from melgenre.bundle import BUNDLE_CONFIG, read_manifest
    from melgenre.errors import BundleError
    from melgenre.export import EXPORT_CONFIG

    lines: Callable[[Path, dict[str, Any]], list[str]]
    if (args.model_dir / EXPORT_CONFIG).is_file():  # an export, as `predict` takes one
        root, file, config = args.model_dir, EXPORT_CONFIG, read_export_config(args.model_dir)
        lines = describe_export
    else:
        (root, config), file, lines = read_manifest(args.model_dir), BUNDLE_CONFIG, describe
    try:  # the keys the loaders need were checked; a description reads more of them
        text = json.dumps(config) if args.json else "\n".join(lines(root, config))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        again = "export the model again" if file == EXPORT_CONFIG else "save the model again"
        raise BundleError(
            f"{str(root / file)!r} is damaged ({type(exc).__name__}: {exc}); {again}."
        ) from exc
    sys.stdout.write(text + "\n")
    return 0


def describe_export(root: Path, config: dict[str, Any]) -> list[str]:
    """The lines ``melgenre info`` prints for an export directory."""
    from melgenre.export import PARITY_FILE

    head = config.get("statistics_head")
    parity = _json(root / PARITY_FILE) if (root / PARITY_FILE).is_file() else None
    return [
        f"Export: {root}",
        f"  labels: {', '.join(config['labels'])}",
        f"  format: {config['artifact']}"
        + (f", {config['quantize']} weights" if config.get("quantize") else ""),
        f"  input: mono float32 samples at {config['sample_rate']} Hz "
        "(the preprocessing runs in the graph)",
        f"  clip statistics head: in the graph, fused with the windows at weight {head['weight']:g}"
        if head
        else "  clip statistics head: none",
        "  parity check: "
        + ("not recorded" if parity is None else "passed" if parity.get("passed") else "FAILED")
        + (f" ({PARITY_FILE})" if parity is not None else ""),
        f"  written by melgenre {config.get('melgenre_version', '?')}",
    ]


def describe(root: Path, manifest: dict[str, Any]) -> list[str]:
    """The lines ``melgenre info`` prints for the bundle at ``root``."""
    featurizer = manifest["featurizer"]["config"]
    model = manifest.get("model") or {}
    metrics = manifest.get("metrics") or {}
    training = (manifest.get("metadata") or {}).get("training", {})
    lines = [
        f"Model: {root}",
        f"  labels: {', '.join(manifest['labels'])}",
        f"  loader: {manifest['loader']['class_name']} "
        f"(sample_rate={manifest['loader']['config'].get('sample_rate')})",
        f"  featurizer: {manifest['featurizer']['class_name']} "
        f"(n_mels={featurizer.get('n_mels')}, frames={featurizer.get('frames')}, "
        f"hop_length={featurizer.get('hop_length')})",
        f"  model: {model.get('class_name', '?')}, input {model.get('input_shape', '?')}, "
        f"{format(model['params'], ',') if 'params' in model else '?'} parameters; "
        f"aggregation: {manifest.get('aggregation', 'mean')}",
        *_statistics_head(root, manifest),
    ]
    if metrics:
        lines.append(
            f"  test accuracy: file-level {metrics['file_accuracy']:.1%}, "
            f"window-level {metrics['window_accuracy']:.1%} "
            f"({counted(int(metrics['n_files']), 'file')})"
        )
    if training:
        lines.append(
            f"  trained on {training.get('data_dir')} for "
            f"{counted(int(training.get('epochs_run', 0)), 'epoch')}"
        )
        for key, what in _FILE_LISTS:
            files = training.get(f"{key}_files", [])
            if named := [
                Path(str(f.get("path", "?") if key == "failed" else f)).name for f in files
            ]:
                why = "reasons in --json, " if key == "failed" else ""
                lines.append(
                    f"  {what}: {counted(len(named), 'file')} ({some_of(named, shown=3)}; "
                    f"{why}metadata.training.{key}_files)"
                )
    env = manifest.get("environment", {})
    lines.append(
        f"  written by melgenre {manifest.get('melgenre_version', '?')} "
        f"(tensorflow {env.get('tensorflow', '?')}, keras {env.get('keras', '?')})"
    )
    return lines


def _statistics_head(root: Path, manifest: dict[str, Any]) -> list[str]:
    """The clip statistics head's line, when the bundle has one (its answer is fused in)."""
    from melgenre.bundle import STATISTICS_HEAD_FILE

    if STATISTICS_HEAD_FILE not in manifest.get("files", {}):
        return []
    saved = _json(root / STATISTICS_HEAD_FILE)
    weights, statistics = saved["weights"], saved["config"].get("statistics", {})
    harmony = " (with the harmony)" if statistics.get("harmony") else ""
    return [
        f"  clip statistics head: {counted(len(weights['mean']), 'number')} per file{harmony}, "
        f"C={weights['C_']:g}, fused with the windows at weight {weights['weight']:g}"
    ]


def _json(path: Path) -> Any:
    from melgenre.errors import BundleError

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"Cannot read {str(path)!r} ({exc}).") from exc
