"""Peak memory of predicting a long recording: streamed (today) beside in one piece, one run.

Run: .venv/bin/python benchmarks/long_files.py [--minutes 15 60 180] [--whole-up-to 60]

Writes mono 22.05 kHz FLAC files of the given lengths (a synthesized arrangement of chords,
plucks and noise bursts; what it sounds like does not matter for memory), trains a default-sized
model bundle for one epoch on a few demo clips, then measures each file under ``/usr/bin/time -v``
in a fresh process:

* streamed: ``melgenre predict BUNDLE FILE --json --timeline`` (block by block);
* in one piece: the file decoded whole with soundfile and given to ``Predictor.predict`` as an
  array, which is what ``melgenre predict`` did before 0.2 (only up to ``--whole-up-to`` minutes).

Reports the maximum resident set size, wall time and the number of windows in the timeline (both
paths must agree), and the largest probability difference between the two. Writes
benchmarks/results/long_files.json.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from _common import write_result

SR = 22050
BIN = Path(sys.executable).parent


def write_long(path: Path, minutes: float) -> None:
    """A FLAC of ``minutes`` minutes written 10 s at a time (memory flat while writing)."""
    rng = np.random.default_rng(7)
    block = 10 * SR
    t = np.arange(block) / SR
    with sf.SoundFile(path, "w", samplerate=SR, channels=1, format="FLAC") as out:
        for _ in range(int(minutes * 60 / 10)):
            f0 = 110 * 2 ** rng.uniform(0, 3)
            chord = sum(np.sin(2 * np.pi * f0 * r * t) for r in (1.0, 1.25, 1.5)) / 3
            bursts = (np.sin(2 * np.pi * rng.uniform(1, 4) * t) > 0.95) * rng.standard_normal(block)
            out.write((0.3 * chord + 0.2 * bursts).astype(np.float32))


def make_bundle(root: Path) -> Path:
    """A default-sized GenreCNN bundle, trained for one epoch (memory does not care how well)."""
    import melgenre
    from melgenre import demo

    data = demo.make_dataset(root / "data", clips_per_class=4, duration=4.0)
    prep = melgenre.Preprocessing(melgenre.MelFeaturizer())
    ds = melgenre.FolderDataset(data)
    features = ds.features(prep, workers=1, progress=False)
    model = melgenre.GenreCNN(num_classes=len(ds.classes), input_shape=prep.output_shape, seed=0)
    melgenre.Trainer(model, epochs=1, seed=0, verbose=0).fit(features)
    bundle = root / "model"
    melgenre.Predictor(preprocessing=prep, model=model, labels=ds.classes).save(bundle)
    return bundle


WHOLE = """
import json, sys, soundfile as sf, melgenre
predictor = melgenre.Predictor.load(sys.argv[1])
samples, rate = sf.read(sys.argv[2], dtype="float32")
p = predictor.predict((samples, rate))
print(json.dumps({"probabilities": p.probabilities, "timeline": [w.to_dict() for w in p.windows]}))
"""


def measure(argv: list[str]) -> tuple[dict[str, float], dict[str, Any]]:
    """Run ``argv`` under /usr/bin/time -v; return (memory and time figures, parsed JSON output)."""
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))  # type: ignore[union-attr]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"peak_rss_mb": rss_kb / 1024, "seconds": wall}, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[15, 60, 180])
    parser.add_argument("--whole-up-to", type=float, default=60)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bundle = make_bundle(root)
        for minutes in args.minutes:
            path = root / f"set-{minutes:g}min.flac"
            write_long(path, minutes)
            mb = path.stat().st_size / 2**20
            streamed, s_out = measure(
                [str(BIN / "melgenre"), "predict", str(bundle), str(path), "--json", "--timeline"]
            )
            run: dict[str, Any] = {
                "minutes": minutes,
                "file_mb": mb,
                "streamed": streamed,
                "windows": len(s_out["timeline"]),
                "timeline_end_s": s_out["timeline"][-1]["end"],
            }
            line = (
                f"{minutes:5g} min ({mb:6.1f} MB FLAC): streamed {streamed['peak_rss_mb']:7.0f} MB"
                f" in {streamed['seconds']:5.1f} s"
            )
            if minutes <= args.whole_up_to:
                whole, w_out = measure([sys.executable, "-c", WHOLE, str(bundle), str(path)])
                got = np.array([list(w["probabilities"].values()) for w in s_out["timeline"]])
                ref = np.array([list(w["probabilities"].values()) for w in w_out["timeline"]])
                run["in_one_piece"] = whole
                run["max_probability_difference"] = float(np.abs(got - ref).max())
                run["timelines_agree"] = len(got) == len(ref) and [
                    (w["start"], w["end"]) for w in s_out["timeline"]
                ] == [(w["start"], w["end"]) for w in w_out["timeline"]]
                line += (
                    f"; in one piece {whole['peak_rss_mb']:7.0f} MB in {whole['seconds']:5.1f} s"
                    f" (max |dp| {run['max_probability_difference']:.1e})"
                )
            print(line, flush=True)
            runs.append(run)
            path.unlink()
    write_result(
        "long_files",
        {
            "command": "melgenre predict BUNDLE FILE --json --timeline, under /usr/bin/time -v",
            "sample_rate": SR,
            "runs": runs,
            "goal": "peak memory under 1 GB for a 1-hour file",
        },
    )


if __name__ == "__main__":
    main()
