"""Inference speed: Predictor beside the classic notebook's way, in one run.

Run: .venv/bin/python benchmarks/inference.py [--files 40] [--repeats 15]

Models: the default GenreCNN on MelFeaturizer() windows with a statistics head, as ``melgenre
train`` makes them (melgenre), and GenreCNN.classic on
MelFeaturizer.classic() chunks (the classic way). Both are trained one step on random windows
(only speed is measured here; see accuracy.py for accuracy) and saved to disk.

* cold start: a fresh process that imports, loads the model from disk and predicts one 15 s
  file (melgenre: ``Predictor.load(dir).predict(path)``; classic: ``keras.models.load_model``,
  ``librosa.load(sr=44100)``, per-chunk mel + ``power_to_db`` + ``tf.image.resize``,
  ``model.predict``);
* warm latency per 15 s file, median of --repeats, in this process: first the Predictor alone
  in a loop over the files, as a warm service sees it (the figure for the issue's goal; five
  other files predicted first, the classic model's first call before them: until 2026-12-05
  that call came between the Predictor's warm-up and its loop, and its threads and weights
  slowed the loop's first predictions), then
  interleaved with the classic way and the variants below, for the ratios (there the classic
  model's 58 MB of weights run between two predictions and evict the caches);
* files per second for ``Predictor.predict_many`` over --files files vs the classic way one
  file at a time;
* warm latency of variants of the default, interleaved with it in the same loop (so the ratios
  hold on a busy machine): the first convolution at stride 2 (the default before 0.2), the
  default with a clip head (``aggregation="attention"``), the default with its batch
  normalisations run as layers rather than folded into the convolutions (as before 0.3),
  the default without its statistics head (``Trainer(statistics=False)``) and with the head
  before its attack blocks (``ClipStatistics(attack=False)``, the default until 2026-12-06);
* where the warm time goes: decoding, features, the compiled forward pass, the chroma of the
  statistics' harmony (``Preprocessing.chroma``) and the statistics head (the clip statistics
  and its answer), medians.

Writes benchmarks/results/inference.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import one_step, speed_predictor, synthesize, write_result

import melgenre
from melgenre.statistics import window_starts

CLASSIC_PREDICT = textwrap.dedent(
    """
    def classic_predict(model, path, tf, librosa, np):
        y, sr = librosa.load(path, sr=44100)
        chunk, overlap = 4 * sr, 2 * sr
        n = int(np.ceil((len(y) - chunk) / (chunk - overlap))) + 1
        images = []
        for i in range(n):
            piece = y[i * (chunk - overlap) : i * (chunk - overlap) + chunk]
            mel = librosa.power_to_db(librosa.feature.melspectrogram(y=piece, sr=sr), ref=np.max)
            images.append(tf.image.resize(np.expand_dims(mel, -1), (128, 128)).numpy())
        probabilities = model.predict(np.array(images), verbose=0)
        return int(np.argmax(probabilities.mean(axis=0)))
    """
)


class Unfolded(melgenre.Predictor):
    """The default as before 0.3: batch normalisation run as its own layers."""

    def _compiled(self) -> Any:
        if self._infer is None:
            from melgenre._tf import tf

            spec = tf.TensorSpec((None, *self.preprocessing.output_shape), tf.float32)
            model = self.model
            self._infer = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        return self._infer


def cold(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=600)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    import librosa
    import tensorflow as tf

    namespace: dict[str, object] = {}
    exec(CLASSIC_PREDICT, namespace)
    classic_predict = namespace["classic_predict"]
    labels = [f"class{i}" for i in range(8)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = synthesize(root, args.files)
        predictor = speed_predictor()
        feat, model = predictor.preprocessing.featurizer, predictor.model
        predictor.save(root / "bundle")
        from melgenre.pooling import ClipHead

        stride2 = melgenre.GenreCNN(
            num_classes=8, input_shape=feat.output_shape, first_stride=2, seed=0
        )
        one_step(stride2, feat.output_shape)
        variants = {
            "first_stride=2": melgenre.Predictor(
                preprocessing=melgenre.Preprocessing(feat), model=stride2, labels=labels
            ),
            "attention": melgenre.Predictor(
                preprocessing=melgenre.Preprocessing(feat),
                model=model,
                labels=labels,
                clip_head=ClipHead(8, model.get_layer("probabilities").input.shape[-1], seed=0),
            ),
        }
        variants["batch norm not folded"] = Unfolded(
            preprocessing=melgenre.Preprocessing(feat),
            model=model,
            labels=labels,
            statistics_head=predictor.statistics_head,
        )
        variants["no statistics head"] = melgenre.Predictor(
            preprocessing=melgenre.Preprocessing(feat), model=model, labels=labels
        )
        before = melgenre.StatisticsHead(melgenre.ClipStatistics(attack=False), C=1.0)
        x = np.random.default_rng(0).normal(size=(32, before.statistics.dim))
        before.fit_statistics(x, np.arange(32) % 8, n_classes=8)
        variants["head before the attacks"] = melgenre.Predictor(
            preprocessing=melgenre.Preprocessing(feat),
            model=model,
            labels=labels,
            statistics_head=before,
        )
        for variant in variants.values():
            variant.predict(paths[0])
        classic = melgenre.GenreCNN.classic(8, seed=0)
        one_step(classic, (128, 128, 1))
        classic.save(root / "classic.keras")

        cold_melgenre = statistics.median(
            cold(
                "import melgenre; "
                f"melgenre.Predictor.load({str(root / 'bundle')!r}).predict({str(paths[0])!r})"
            )
            for _ in range(3)
        )
        classic_cold_code = (
            "import numpy as np, librosa, tensorflow as tf, keras\n"
            "import melgenre.model  # registers the classic preset's class with Keras\n"
            + CLASSIC_PREDICT
            + f"\nm = keras.models.load_model({str(root / 'classic.keras')!r})\n"
            + f"classic_predict(m, {str(paths[0])!r}, tf, librosa, np)\n"
        )
        cold_classic = statistics.median(cold(classic_cold_code) for _ in range(3))

        classic_predict(classic, str(paths[0]), tf, librosa, np)  # type: ignore[operator]
        loaded = melgenre.Predictor.load(root / "bundle")
        for path in paths[-5:]:  # warm, as a service is: the files timed next are others
            loaded.predict(path)
        alone = []
        for i in range(args.repeats):
            start = time.perf_counter()
            loaded.predict(paths[i % len(paths)])
            alone.append(time.perf_counter() - start)
        warm_m, warm_c = [], []
        warm_v: dict[str, list[float]] = {name: [] for name in variants}
        parts: dict[str, list[float]] = {
            "load": [],
            "features": [],
            "model": [],
            "chroma": [],
            "statistics": [],
        }
        infer = loaded._compiled()
        for i in range(args.repeats):
            path = paths[i % len(paths)]
            # where the time goes: decoding, features, the compiled forward pass
            start = time.perf_counter()
            audio = loaded.preprocessing.load(path)
            parts["load"].append(time.perf_counter() - start)
            start = time.perf_counter()
            windows = loaded.preprocessing.transform(audio)
            times = loaded.featurizer.window_times(audio)
            parts["features"].append(time.perf_counter() - start)
            start = time.perf_counter()
            np.asarray(infer(windows))
            parts["model"].append(time.perf_counter() - start)
            start = time.perf_counter()  # the harmony's chroma, from the audio
            chroma = loaded.preprocessing.chroma(audio)
            parts["chroma"].append(time.perf_counter() - start)
            start = time.perf_counter()  # the clip statistics and the head's answer, given
            starts = window_starts(loaded.featurizer, times)  # the starts, as the Predictor is
            loaded.statistics_head.predict_windows(windows[..., :1], starts, chroma)
            parts["statistics"].append(time.perf_counter() - start)
            start = time.perf_counter()
            loaded.predict(path)
            warm_m.append(time.perf_counter() - start)
            for name, variant in variants.items():
                start = time.perf_counter()
                variant.predict(path)
                warm_v[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            classic_predict(classic, str(path), tf, librosa, np)  # type: ignore[operator]
            warm_c.append(time.perf_counter() - start)
        start = time.perf_counter()
        results = loaded.predict_many(paths)
        many_s = time.perf_counter() - start
        assert all(isinstance(r, melgenre.Prediction) for r in results)
        start = time.perf_counter()
        for path in paths:
            classic_predict(classic, str(path), tf, librosa, np)  # type: ignore[operator]
        classic_many_s = time.perf_counter() - start

    latency_m, latency_c = statistics.median(warm_m), statistics.median(warm_c)
    summary = {
        "cold_start_seconds": {"melgenre": cold_melgenre, "classic": cold_classic},
        "warm_latency_seconds_per_15s_file_alone": statistics.median(alone),
        "warm_latency_seconds_per_15s_file": {"melgenre": latency_m, "classic": latency_c},
        "warm_latency_ratio_melgenre_over_classic": latency_m / latency_c,
        "warm_latency_seconds_per_15s_file_variants": {
            name: statistics.median(times) for name, times in warm_v.items()
        },
        "warm_latency_ratio_default_over_variant": {
            name: latency_m / statistics.median(times) for name, times in warm_v.items()
        },
        "warm_seconds_per_15s_file_by_stage": {
            name: statistics.median(times) for name, times in parts.items()
        },
        "windows_per_15s_file": len(windows),
        "files_per_second": {
            "melgenre_predict_many": len(paths) / many_s,
            "classic_one_by_one": len(paths) / classic_many_s,
        },
        "files": len(paths),
        "repeats": args.repeats,
    }
    print(json.dumps(summary, indent=2))
    write_result("inference", summary)


if __name__ == "__main__":
    main()
