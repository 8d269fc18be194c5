"""Helpers shared by the benchmark scripts: environment record, JSON output, test inputs."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

# before any benchmark imports TensorFlow: TensorFlow then runs with the environment that
# `import melgenre` gives a user's program (oneDNN's kernels on x86-64, melgenre._tfenv)
import melgenre

RESULTS = Path(__file__).parent / "results"


def cpu() -> dict[str, Any]:
    """The CPU model and vector extensions, and TensorFlow's oneDNN switch.

    Machines of the same name differ: TensorFlow turns its oneDNN kernels on by itself
    only on CPUs with AVX-512, and those kernels trained GenreCNN 1.75x faster on an
    AVX2-only EPYC (``TF_ENABLE_ONEDNN_OPTS=1``), so figures name both.
    """
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return {
        "model": model,
        "avx512": any(f.startswith("avx512") for f in flags),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }


def environment() -> dict[str, Any]:
    return {
        "melgenre": melgenre.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": cpu(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        # anything else running shares the cores: above ~cpus, timings are inflated
        "load_average_1min": os.getloadavg()[0],
    }


def earlier_results(name: str) -> dict[str, Any]:
    """The entries ``write_result(name, ...)`` wrote before, less its run's environment.

    For results merged key by key over runs: the entries this run does not touch are kept,
    and ``write_result`` records this run's environment.
    """
    path = RESULTS / f"{name}.json"
    earlier = json.loads(path.read_text()) if path.exists() else {}
    return {k: v for k, v in earlier.items() if k not in ("benchmark", "environment")}


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "environment": environment(), **result}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)
    print(f"wrote {path}")
    return path


def synthesize(folder: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    t = np.arange(15 * 22050) / 22050
    paths = []
    for i in range(n):
        x = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 1000) * t) + 0.05 * rng.standard_normal(
            t.size
        )
        path = folder / f"clip{i:03d}.wav"
        sf.write(path, x.astype(np.float32), 22050)
        paths.append(path)
    return paths


def one_step(model: object, shape: tuple[int, ...]) -> None:
    import keras

    x = np.random.default_rng(0).normal(size=(8, *shape)).astype(np.float32)
    y = keras.utils.to_categorical(np.arange(8) % 8, 8)
    model.compile(optimizer="adam", loss="categorical_crossentropy")  # type: ignore[attr-defined]
    model.fit(x, y, epochs=1, verbose=0)  # type: ignore[attr-defined]


def speed_predictor(n_classes: int = 8, *, statistics: bool = True) -> Any:
    """The default GenreCNN on MelFeaturizer() windows, trained one step: for speed only.

    With ``statistics`` (the default, as ``Trainer`` and ``melgenre train`` have it), a
    ``StatisticsHead`` fitted on random statistics (its cost does not depend on what it
    learnt) fuses its answer with the windows'.
    """
    import numpy as np

    feat = melgenre.MelFeaturizer()
    model = melgenre.GenreCNN(num_classes=n_classes, input_shape=feat.output_shape, seed=0)
    one_step(model, feat.output_shape)
    head = None
    if statistics:
        head = melgenre.StatisticsHead(C=1.0)
        x = np.random.default_rng(0).normal(size=(4 * n_classes, head.statistics.dim))
        head.fit_statistics(x, np.arange(4 * n_classes) % n_classes, n_classes=n_classes)
    return melgenre.Predictor(
        preprocessing=melgenre.Preprocessing(feat),
        model=model,
        labels=[f"class{i}" for i in range(n_classes)],
        statistics_head=head,
    )
