"""The development suite's cross-validation on another machine, from exported spectrograms.

``cv.py`` trains each fold on 2 cores in minutes; a machine with many cores and an accelerator
runs dozens of folds at once, but it may have neither the audio (hundreds of MB) nor TensorFlow.
This script moves the suite there in two steps:

    # here: every file's log-mel spectrogram (the default featurizer's), quantised to 8 bits,
    # and its chroma (float16, for the statistics head's harmony), with the folds, labels,
    # groups and each fold's window settings (~60 MB for three domains)
    .venv/bin/python benchmarks/device_cv.py export --domain genres instruments digits \\
        --out data/export
    # there: the candidates' folds in parallel processes, through cv.run_fold; Keras runs on
    # whichever backend is installed (KERAS_BACKEND=torch where TensorFlow is missing)
    python3 benchmarks/device_cv.py run --data data/export --candidates library full-aug \\
        --workers 12 --deadline 480 --out results/

Where TensorFlow is missing, Keras and the few packages melgenre and the benchmarks import
travel as wheels (built for the other machine's Python), e.g. for a Python 3.12 machine with
PyTorch, NumPy, SciPy and scikit-learn: ``pip download --no-deps --only-binary=:all:
--python-version 3.12 --platform manylinux_2_28_x86_64 -d .whl keras namex optree soundfile
cffi pycparser``, then there ``pip install --no-index --no-deps --target /tmp/site .whl/*.whl``
and ``PYTHONPATH=/tmp/site:src``.

What differs from ``cv.py``, and why the figures are a screen, not the record:

* the spectrograms are quantised to 256 levels per file (steps of 80/255 = 0.31 dB over the
  featurizer's 80 dB range; the model standardises its input, so this is well below the noise:
  digits fold 0's test windows differ from ``cv.py``'s by at most 0.157 dB, labels identical);
* featurizer options that change the spectrogram itself (``frequency_scale``, ``n_mels``, the
  sample rate) cannot run from the export; options computed from windows (``deltas``,
  ``chroma``, ``tempogram``, ``frames``, the training hop) can;
* without TensorFlow, Keras' torch backend trains the same models (same settings, other kernels
  and random streams), so a fold's score is not the same number ``cv.py`` records.

Results are written fold by fold as ``<out>/<domain>.json`` in ``cv.py``'s format.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

#: the featurizer's dB range is at most ``top_db``; 8 bits per value over each file's range
LEVELS = 255
#: featurizer settings computed from the spectrogram's windows, so a candidate may change them
WINDOW_SETTINGS = {"frames", "window_hop", "resize_frames", "deltas", "tempogram", "chroma"}


def export(domains: list[str], k: int, out: Path) -> None:
    """Write ``<out>/<domain>.npz``: quantised spectrograms, labels, groups, folds."""
    import cv

    import melgenre
    from melgenre.plan import clip_seconds

    out.mkdir(parents=True, exist_ok=True)
    for domain in domains:
        dataset, groups = cv.load_dataset(domain)
        parts = cv.folds(dataset, groups, k)
        paths = [str(p) for p in dataset.paths]
        index = {p: i for i, p in enumerate(paths)}
        seconds = clip_seconds(dataset.paths, limit=len(paths))  # every file's duration
        if len(seconds) != len(paths):
            raise SystemExit(f"{domain}: some headers could not be read")
        featurizer = melgenre.MelFeaturizer.for_clips(seconds)
        preprocessing = melgenre.Preprocessing(featurizer)
        specs, lows, highs, chromas = [], [], [], []
        for path in paths:
            audio = preprocessing.load(path)
            chromas.append(preprocessing.chroma(audio).astype(np.float16))
            spec = featurizer.spectrogram(audio)
            low, high = float(spec.min()), float(spec.max())
            span = high - low if high > low else 1.0
            specs.append(np.round((spec - low) / span * LEVELS).astype(np.uint8))
            lows.append(low)
            highs.append(low + span)
        fold_files = np.full((k, len(paths)), -1, dtype=np.int8)  # 0 train, 1 validation, 2 test
        for number, fold in enumerate(parts):
            for role, part in enumerate(fold):
                fold_files[number, [index[str(p)] for p in part.paths]] = role
        lengths = np.array([s.shape[1] for s in specs], dtype=np.int64)
        np.savez_compressed(
            out / f"{domain}.npz",
            spec=np.concatenate(specs, axis=1),
            lengths=lengths,
            low=np.array(lows, np.float32),
            high=np.array(highs, np.float32),
            labels=np.asarray(dataset.labels, np.int64),
            classes=np.array(dataset.classes),
            paths=np.array(paths),
            groups=np.array([groups(Path(p)) if groups else p for p in paths]),
            seconds=np.array(seconds, np.float64),
            chroma=np.concatenate(chromas),
            chroma_lengths=np.array([len(c) for c in chromas], dtype=np.int64),
            folds=fold_files,
            featurizer=json.dumps(featurizer.get_config()),
        )
        size = (out / f"{domain}.npz").stat().st_size
        print(f"{domain}: {len(paths)} files, {lengths.sum()} frames, {size / 1e6:.1f} MB")


class _Part:
    """Stands in for a fold's FolderDataset: its paths, and features from the export."""

    def __init__(self, data: dict[str, Any], files: np.ndarray) -> None:
        self.data, self.files = data, files
        self.paths = tuple(str(data["paths"][i]) for i in files)

    def features(self, preprocessing: Any, **_: Any) -> Any:
        from melgenre import FeatureSet

        featurizer = preprocessing.featurizer
        exported, wanted = json.loads(str(self.data["featurizer"])), featurizer.get_config()
        differ = sorted(
            k for k in {*exported, *wanted} - WINDOW_SETTINGS if exported.get(k) != wanted.get(k)
        )
        if differ:
            raise RuntimeError(f"the export's spectrograms do not fit this featurizer: {differ}")
        starts = np.concatenate([[0], np.cumsum(self.data["lengths"])])
        has_chroma = "chroma" in self.data  # exports before 2026-12-05 have none
        chroma_starts = np.concatenate([[0], np.cumsum(self.data.get("chroma_lengths", []))])
        xs, groups, chromas, chroma_groups = [], [], [], []
        for local, i in enumerate(self.files):
            q = self.data["spec"][:, starts[i] : starts[i + 1]].astype(np.float32)
            low, high = float(self.data["low"][i]), float(self.data["high"][i])
            windows = featurizer.windows(low + q * ((high - low) / LEVELS))
            xs.append(windows)
            groups.append(np.full(len(windows), local, np.int64))
            if has_chroma:  # the harmony of the default statistics head
                chroma = self.data["chroma"][chroma_starts[i] : chroma_starts[i + 1]]
                chromas.append(chroma.astype(np.float32))
                chroma_groups.append(np.full(len(chroma), local, np.int64))
        group = np.concatenate(groups)
        return FeatureSet(
            x=np.concatenate(xs),
            labels=self.data["labels"][self.files][group],
            groups=group,
            paths=self.paths,
            classes=tuple(str(c) for c in self.data["classes"]),
            chroma=np.concatenate(chromas) if has_chroma else None,
            chroma_groups=np.concatenate(chroma_groups) if has_chroma else None,
        )


def _without_tensorflow() -> None:
    """Let melgenre import where TensorFlow is missing: Keras runs on the torch backend.

    melgenre imports Keras through ``melgenre._tf``, which imports TensorFlow too; only
    distribution strategies and the in-graph export use it, and this script uses neither.
    """
    if "melgenre._tf" in sys.modules or importlib.util.find_spec("tensorflow") is not None:
        return  # done already in this process, or not needed
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    stand_in = types.ModuleType("melgenre._tf")
    stand_in.keras, stand_in.tf = keras, None  # type: ignore[attr-defined]
    sys.modules["melgenre._tf"] = stand_in
    from melgenre import FeatureSet

    FeatureSet.to_tf_dataset = _batches  # type: ignore[method-assign]
    _plain_layer_norm(keras)


def _plain_layer_norm(keras: Any) -> None:
    """GenreCNN standardises over axes (1, 2) of 4-D windows; Keras 3's torch layer norm
    assumes trailing axes and fails, so compute that case with plain ops."""
    layer = keras.layers.LayerNormalization
    original = layer.call

    def call(self: Any, inputs: Any) -> Any:
        axes = tuple(a % len(inputs.shape) for a in self.axis)
        if (
            self.center
            or self.scale
            or axes == tuple(range(len(inputs.shape) - len(axes), len(inputs.shape)))
        ):
            return original(self, inputs)
        mean, variance = keras.ops.moments(inputs, axes=axes, keepdims=True)
        return (inputs - mean) * keras.ops.rsqrt(variance + self.epsilon)

    layer.call = call


def _batches(
    self: Any,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int | None = None,
    augmentation: Any = None,
    initial_epoch: int = 0,
    **_: Any,
) -> Any:
    """FeatureSet.to_tf_dataset's batches (same order for a seed) as a Keras PyDataset.

    The library's augmentations are TensorFlow ops, so candidates with one cannot run here.
    """
    import keras

    from melgenre.data.featureset import epoch_batches, seed_base

    if augmentation is not None and not augmentation.is_identity:
        raise RuntimeError("augmentation needs TensorFlow (its ops run in tf.data)")
    features, base = self, seed_base(seed)

    class Batches(keras.utils.PyDataset):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.epoch = initial_epoch - 1
            self.on_epoch_end()

        def __len__(self) -> int:
            return len(self.batches)

        def __getitem__(self, number: int) -> tuple[Any, Any]:
            index = self.batches[number]
            return np.asarray(features.x[index]), features.y[index]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self.batches = epoch_batches(len(features), batch_size, base, self.epoch, shuffle)

    return Batches()


@functools.cache
def _load(data_dir: str, domain: str) -> dict[str, Any]:
    """A domain's export, read once per worker process (workers run many jobs)."""
    return dict(np.load(Path(data_dir) / f"{domain}.npz"))


def _job(args: tuple[str, str, int, str]) -> tuple[str, str, int, dict[str, Any] | str]:
    domain, name, number, data_dir = args
    _without_tensorflow()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    import cv
    import soundfile

    data = _load(data_dir, domain)
    seconds = dict(zip(data["paths"].tolist(), data["seconds"].tolist(), strict=True))
    # melgenre.plan.clip_seconds reads durations from headers; the audio is not here
    soundfile.info = lambda path: types.SimpleNamespace(duration=seconds[str(path)])
    roles = data["folds"][number]
    parts = tuple(_Part(data, np.flatnonzero(roles == role)) for role in (0, 1, 2))
    group_of = dict(zip(data["paths"].tolist(), data["groups"].tolist(), strict=True))
    try:
        row = cv.run_fold(name, parts, Path("unused"), 0, lambda p: group_of[str(p)])
    except Exception as exc:  # one broken candidate must not end the sweep
        return domain, name, number, f"{type(exc).__name__}: {exc}"
    return domain, name, number, row


def run(
    data_dir: Path,
    domains: list[str],
    names: list[str],
    k: int,
    workers: int,
    deadline: float,
    out: Path,
) -> None:
    """Run every (domain, candidate, fold) in ``workers`` processes until ``deadline`` s."""
    import concurrent.futures as cf
    import multiprocessing

    _without_tensorflow()
    import cv

    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    jobs = [(d, n, f, str(data_dir)) for n in names for d in domains for f in range(k)]
    results: dict[str, Any] = {d: {"candidates": {}} for d in domains}
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending = {pool.submit(_job, j) for j in jobs}
        while pending:
            left = deadline - (time.monotonic() - start)
            done, pending = cf.wait(pending, timeout=max(1.0, left), return_when=cf.FIRST_COMPLETED)
            for future in done:
                domain, name, number, row = future.result()
                seconds = time.monotonic() - start
                if isinstance(row, str):
                    print(
                        f"{seconds:5.0f} s {domain} {name} fold {number}: FAILED {row}", flush=True
                    )
                    continue
                entry = results[domain]["candidates"].setdefault(
                    name, {"settings": cv.CANDIDATES[name], "folds": []}
                )
                entry["folds"].append({"fold": number, **row})
                cv.summarize(entry)
                (out / f"{domain}.json").write_text(json.dumps(results[domain], indent=2) + "\n")
                print(
                    f"{seconds:5.0f} s {domain} {name} fold {number}: file "
                    f"{row['file_accuracy']:.1%} epochs {row['epochs_run']} "
                    f"({row['train_seconds']:.0f} s)",
                    flush=True,
                )
            if time.monotonic() - start > deadline:
                print(f"deadline: {len(pending)} jobs not finished", flush=True)
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.kill()
                break
        summary(results)
        sys.stdout.flush()
        os._exit(0)  # leave the unfinished workers to the operating system, now


def summary(results: dict[str, Any]) -> None:
    for domain, result in results.items():
        for name, entry in result["candidates"].items():
            folds = " ".join(
                f"{f['file_accuracy']:.3f}" for f in sorted(entry["folds"], key=lambda f: f["fold"])
            )
            print(
                f"{domain:>11} {name:>16}: {entry['file_accuracy_mean']:.1%} "
                f"+- {entry['file_accuracy_std']:.1%} over {len(entry['folds'])} folds "
                f"[{folds}]",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("--domain", nargs="+", required=True)
    ex.add_argument("--folds", type=int, default=5)
    ex.add_argument("--out", type=Path, default=Path("data/export"))
    rn = sub.add_parser("run")
    rn.add_argument("--data", type=Path, default=Path("data/export"))
    rn.add_argument("--domain", nargs="+", required=True)
    rn.add_argument("--candidates", nargs="+", required=True)
    rn.add_argument("--folds", type=int, default=5)
    rn.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    rn.add_argument("--deadline", type=float, default=480.0, help="seconds before stopping")
    rn.add_argument("--out", type=Path, default=Path("benchmarks/results/device"))
    args = parser.parse_args()
    if args.command == "export":
        export(args.domain, args.folds, args.out)
    else:
        run(
            args.data,
            args.domain,
            args.candidates,
            args.folds,
            args.workers,
            args.deadline,
            args.out,
        )


if __name__ == "__main__":
    main()
