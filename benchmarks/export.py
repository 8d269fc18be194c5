"""Exported models: latency and size of SavedModel and TFLite beside Predictor.predict, and parity.

Run: .venv/bin/python benchmarks/export.py [--files 10] [--repeats 21]

The default GenreCNN on MelFeaturizer() windows, trained one step on random windows (only
speed, size and agreement are measured here), exported four ways: SavedModel, TFLite float32,
float16 and int8 (each export runs its parity check; its figures are recorded). Then, in one
interleaved loop so the ratios hold on a busy machine, the warm latency per 15 s file (mono
float32 samples already at 22.05 kHz, so decoding is left out of every side) of:

* ``Predictor.predict((samples, rate))``: NumPy features + Keras;
* each artifact through ``melgenre.ExportedModel`` (features in the graph).

Writes benchmarks/results/export.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from _common import speed_predictor, synthesize, write_result

VARIANTS: dict[str, dict[str, Any]] = {
    "saved_model": {"format": "saved_model"},
    "tflite": {"format": "tflite"},
    "tflite-float16": {"format": "tflite", "quantize": "float16"},
    "tflite-int8": {"format": "tflite", "quantize": "int8"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()

    import melgenre
    from melgenre.export import EXPORT_CONFIG, LABELS_FILE, PARITY_FILE, TFLITE_FILE

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = synthesize(root, args.files)
        clips = [sf.read(p, dtype="float32")[0] for p in paths]
        predictor = speed_predictor()
        bundle = predictor.save(root / "bundle")
        artifacts: dict[str, melgenre.ExportedModel] = {}
        exports: dict[str, Any] = {}
        for name, settings in VARIANTS.items():
            start = time.perf_counter()
            out = predictor.export(root / name, files=[str(paths[0])], **settings)
            seconds = time.perf_counter() - start
            artifact = out / TFLITE_FILE if settings["format"] == "tflite" else out
            sidecars = {EXPORT_CONFIG, LABELS_FILE, PARITY_FILE}
            exports[name] = {
                "export_seconds": seconds,
                "artifact_bytes": (
                    artifact.stat().st_size
                    if artifact.is_file()
                    else sum(
                        p.stat().st_size
                        for p in artifact.rglob("*")
                        if p.is_file() and p.name not in sidecars
                    )
                ),
                "parity": json.loads((out / PARITY_FILE).read_text()),
            }
            artifacts[name] = melgenre.ExportedModel.load(out)
        model_bytes = (bundle / "model.keras").stat().st_size

        rate = predictor.preprocessing.sample_rate
        predictor.predict((clips[0], rate))
        for artifact in artifacts.values():
            artifact(clips[0])
        times: dict[str, list[float]] = {"predictor": [], **{name: [] for name in artifacts}}
        for i in range(args.repeats):
            x = clips[i % len(clips)]
            start = time.perf_counter()
            predictor.predict((x, rate))
            times["predictor"].append(time.perf_counter() - start)
            for name, artifact in artifacts.items():
                start = time.perf_counter()
                artifact(x)
                times[name].append(time.perf_counter() - start)
        agreement = {
            name: float(
                np.mean(
                    [
                        np.argmax(artifact(x)["probabilities"])
                        == np.argmax(list(predictor.predict((x, rate)).probabilities.values()))
                        for x in clips
                    ]
                )
            )
            for name, artifact in artifacts.items()
        }

    latency = {name: statistics.median(t) for name, t in times.items()}
    summary = {
        "warm_latency_seconds_per_15s_file": latency,
        "latency_ratio_over_predictor": {
            name: latency[name] / latency["predictor"] for name in artifacts
        },
        "model_keras_bytes": model_bytes,
        "artifact_bytes": {name: row["artifact_bytes"] for name, row in exports.items()},
        "size_ratio_over_model_keras": {
            name: row["artifact_bytes"] / model_bytes for name, row in exports.items()
        },
        "label_agreement_on_files": agreement,
        "parity": {
            name: {
                "passed": row["parity"]["passed"],
                "features_max_db": row["parity"]["features_max_db"],
                "artifacts": {
                    k: {
                        key: v[key]
                        for key in (
                            "probabilities_max_diff",
                            "window_probabilities_max_diff",
                            "label_agreement",
                            "clear_decisions",
                            "clear_decisions_changed",
                        )
                    }
                    for k, v in row["parity"]["artifacts"].items()
                },
            }
            for name, row in exports.items()
        },
        "export_seconds": {name: row["export_seconds"] for name, row in exports.items()},
        "files": len(clips),
        "repeats": args.repeats,
    }
    print(json.dumps(summary, indent=2))
    write_result("export", summary)


if __name__ == "__main__":
    main()
