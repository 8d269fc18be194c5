"""Feature extraction speed: melgenre cold and warm beside the classic notebook loop, one run.

Run: .venv/bin/python benchmarks/features.py [--data-dir DIR] [--files N] [--classic-files N]

Data: --data-dir, else data/genres-dev (the set ../shared/bench/README.md builds) when it is
present, else a synthesized data set of the same size (8 classes x 80 clips of 15 s,
22.05 kHz WAV) in a temporary folder; --files N keeps the first N files (stratified by class order).

Pipelines, on the same files, in this process:

* classic: the notebook loop, one file after another: ``librosa.load(sr=44100)``, a mel
  spectrogram per 4 s chunk with 2 s overlap, ``power_to_db``, ``tf.image.resize`` to 128x128.
  Timed on --classic-files files (default 160) and reported per file.
* melgenre cold: ``FolderDataset.features(MelFeaturizer(), cache_dir=<empty>)``, all cores;
  --rounds rounds of (classic, cold) side by side, the median round's ratio reported.
* melgenre warm: the same call again (cache filled).

Also reports the time of each stage for one file, and peak resident memory (this process and
its children), and writes everything to benchmarks/results/features.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import write_result

GENRES = ["reel", "jig", "hornpipe", "chorale", "mass", "madrigal", "folksong", "quartet"]


def synthesize(root: Path, per_class: int, seconds: float, sr: int = 22050) -> None:
    """Clips of tones, chords and noise bursts; what they sound like does not matter for speed."""
    rng = np.random.default_rng(42)
    t = np.arange(int(seconds * sr)) / sr
    for c, genre in enumerate(GENRES):
        (root / genre).mkdir(parents=True)
        for i in range(per_class):
            f0 = 110 * 2 ** rng.uniform(0, 3)
            chord = sum(np.sin(2 * np.pi * f0 * r * t) for r in (1.0, 1.25, 1.5)) / 3
            beat = (np.sin(2 * np.pi * (1 + c / 4) * t) > 0.9) * rng.standard_normal(t.size) * 0.3
            x = 0.3 * chord * (1 + 0.2 * np.sin(2 * np.pi * 0.5 * t)) + beat
            sf.write(
                root / genre / f"{genre}{i:03d}.wav", x.astype(np.float32), sr, subtype="PCM_16"
            )


def classic_file(path: Path, tf: object) -> np.ndarray:
    import librosa

    y, sr = librosa.load(path, sr=44100)
    chunk, overlap = 4 * sr, 2 * sr
    n_chunks = int(np.ceil((len(y) - chunk) / (chunk - overlap))) + 1
    out = []
    for i in range(n_chunks):
        start = i * (chunk - overlap)
        piece = y[start : start + chunk]
        mel = librosa.feature.melspectrogram(y=piece, sr=sr)
        mel = librosa.power_to_db(mel, ref=np.max)
        out.append(tf.image.resize(np.expand_dims(mel, axis=-1), (128, 128)).numpy())  # type: ignore[attr-defined]
    return np.stack(out)


def peak_rss_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": own, "largest_child": children}


def stage_breakdown(path: Path, repeats: int = 20) -> dict[str, float]:
    """Milliseconds per stage for one file, in this process (warm)."""
    import melgenre
    from melgenre._dsp import log_mel

    loader, feat = melgenre.AudioLoader(), melgenre.MelFeaturizer()
    audio = loader.load(path)
    power = feat.mel_power(audio.samples)
    spec = log_mel(power, ref=feat.ref, top_db=feat.top_db)
    windows = feat.windows(spec)
    cache = melgenre.FeatureCache(tempfile.mkdtemp())
    stages = {
        "decode (soundfile)": lambda: loader.load(path),
        "hash file (blake2b)": lambda: melgenre.cache.file_digest(path),
        "STFT + mel (sparse)": lambda: feat.mel_power(audio.samples),
        "dB scaling": lambda: log_mel(power, ref=feat.ref, top_db=feat.top_db),
        "windows (slices)": lambda: feat.windows(spec),
        "cache write (npz, atomic)": lambda: cache.put("k", "d", windows),
        "cache read (CRC-checked)": lambda: cache.get("k", "d"),
    }
    result = {}
    for name, run in stages.items():
        run()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        result[name] = 1000 * statistics.median(times)
    return result


STARTUP = """
import time, melgenre._workers as _workers
start = time.perf_counter()
pool = _workers.process_pool(2)
pool.submit(int).result()
print(time.perf_counter() - start)
pool.shutdown()
"""


def worker_startup_seconds() -> float:
    """Seconds from creating the extraction pool to a worker ready, in a fresh process.

    The fixed cost of a cold extraction: paid once per process (the forkserver stays up),
    while the parent hashes the files.
    """
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", STARTUP], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--files", type=int, default=None, help="use only the first N files")
    parser.add_argument("--classic-files", type=int, default=160)
    parser.add_argument("--rounds", type=int, default=3, help="side-by-side cold rounds")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    import tensorflow as tf  # the classic loop needs it; imported first, as in a training script

    import melgenre

    with tempfile.TemporaryDirectory() as tmp:
        bench = Path(__file__).resolve().parent.parent / "data" / "genres-dev"
        if args.data_dir is None and bench.is_dir():
            args.data_dir = bench
        if args.data_dir is not None:
            root, source = args.data_dir, str(args.data_dir)
        else:
            root = Path(tmp) / "data"
            synthesize(root, per_class=80, seconds=15.0)
            source = "synthesized: 8 classes x 80 clips x 15 s, 22.05 kHz 16-bit WAV"
        ds = melgenre.FolderDataset(root)
        if args.files is not None:
            ds = dataclasses.replace(
                ds, items=ds.items[:: max(1, len(ds) // args.files)][: args.files]
            )
        paths = ds.paths
        audio_seconds = sum(sf.info(p).duration for p in paths)
        print(f"{len(paths)} files, {audio_seconds / 60:.1f} min of audio, from {source}")

        classic_paths = paths[: args.classic_files] if args.classic_files else paths
        classic_file(classic_paths[0], tf)  # warm up imports and kernels
        feat = melgenre.MelFeaturizer()
        # Rounds of (classic, cold) side by side: the machine is shared, so each round's
        # ratio compares the two under the same load; the median round is reported.
        rounds = []
        for r in range(args.rounds):
            start = time.perf_counter()
            classic_windows = sum(len(classic_file(p, tf)) for p in classic_paths)
            classic_s = time.perf_counter() - start
            cache_dir = Path(tmp) / f"cache{r}"
            start = time.perf_counter()
            cold_fs = ds.features(feat, cache_dir=cache_dir, workers=args.workers, progress=False)
            cold_s = time.perf_counter() - start
            classic_fps, cold_fps = len(classic_paths) / classic_s, len(paths) / cold_s
            rounds.append(
                {
                    "classic_files_per_second": classic_fps,
                    "cold_files_per_second": cold_fps,
                    "cold_ratio": cold_fps / classic_fps,
                    "cold_seconds": cold_s,
                }
            )
            print(
                f"round {r + 1}: classic {classic_fps:6.1f} files/s ({classic_windows} windows), "
                f"melgenre cold {cold_fps:6.1f} files/s = {cold_fps / classic_fps:5.1f}x"
                + ("  (includes starting the forkserver)" if r == 0 else "")
            )
        median = sorted(rounds, key=lambda x: x["cold_ratio"])[len(rounds) // 2]
        classic_fps, cold_fps = median["classic_files_per_second"], median["cold_files_per_second"]
        cold_s = median["cold_seconds"]
        classic_s = len(classic_paths) / classic_fps
        print(f"classic loop : {classic_fps:7.1f} files/s (median round)")

        start = time.perf_counter()
        warm_fs = ds.features(feat, cache_dir=cache_dir, workers=args.workers, progress=False)
        warm_s = time.perf_counter() - start
        start = time.perf_counter()
        no_cache = ds.features(feat, workers=args.workers, progress=False)
        no_cache_s = time.perf_counter() - start
        if not np.array_equal(cold_fs.x, warm_fs.x) or not np.array_equal(cold_fs.x, no_cache.x):
            raise SystemExit("cold, warm and uncached features differ")
        warm_fps = len(paths) / warm_s
        print(
            f"melgenre cold: {cold_fps:7.1f} files/s = "
            f"{cold_fps / classic_fps:6.1f}x classic (median)"
        )
        print(f"melgenre warm: {warm_fps:7.1f} files/s = {warm_fps / classic_fps:6.1f}x classic")
        print(f"melgenre, no cache: {len(paths) / no_cache_s:7.1f} files/s")
        breakdown = stage_breakdown(paths[0])
        for name, ms in breakdown.items():
            print(f"  {name:<28} {ms:7.3f} ms")
        memory = peak_rss_mb()
        startup = worker_startup_seconds()  # after the memory figures: its fork counts as a child
        print(f"worker start-up (fixed cost, once per process): {startup:.2f} s")
        print(
            f"peak RSS: this process {memory['self']:.0f} MB, "
            f"largest worker {memory['largest_child']:.0f} MB"
        )
        cache_mb = sum(f.stat().st_size for f in cache_dir.rglob("*") if f.is_file()) / 2**20
    write_result(
        "features",
        {
            "source": source,
            "files": len(paths),
            "audio_minutes": audio_seconds / 60,
            "cpus": os.cpu_count(),
            "classic_files_timed": len(classic_paths),
            "files_per_second": {
                "classic_loop": classic_fps,
                "melgenre_cold": cold_fps,
                "melgenre_warm": warm_fps,
                "melgenre_no_cache": len(paths) / no_cache_s,
            },
            "ratio_to_classic": {"cold": cold_fps / classic_fps, "warm": warm_fps / classic_fps},
            "cold_rounds": rounds,
            "seconds": {
                "cold": cold_s,
                "warm": warm_s,
                "no_cache": no_cache_s,
                "classic": classic_s,
            },
            "windows": {"melgenre": len(cold_fs), "classic": classic_windows},
            "stage_ms_one_file": breakdown,
            "worker_startup_seconds": startup,
            "peak_rss_mb": memory,
            "cache_mb": cache_mb,
        },
    )


if __name__ == "__main__":
    main()
