"""Tag every audio file under a folder and write the results to CSV.

    python examples/batch_tagger.py MODEL_DIR FOLDER OUT.csv [--top-k 3]

Files that cannot be read get a row with the error instead of stopping the run.
``Predictor.predict_many`` batches the windows of many files through the model.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import melgenre
from melgenre.data import AUDIO_EXTENSIONS


def tag(model: Path, folder: Path, out: Path, top_k: int = 3, batch: int = 64) -> int:
    """Write one CSV row per file; return the number of files tagged."""
    predictor = melgenre.Predictor.load(model)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    tagged = 0
    with open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "confidence", "top_k", "error"])
        for start in range(0, len(files), batch):
            chunk = files[start : start + batch]
            for result in predictor.predict_many(chunk):  # one per file, in order
                if isinstance(result, melgenre.FailedFile):
                    writer.writerow([result.path, "", "", "", result.reason])
                    continue
                top = "; ".join(f"{t['label']}={t['score']:.2f}" for t in result.top_k(top_k))
                writer.writerow([result.source, result.label, f"{result.confidence:.4f}", top, ""])
                tagged += 1
    return tagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--top-k", type=int, default=3)
    args = parser.parse_args()
    count = tag(args.model, args.folder, args.out, args.top_k)
    print(f"tagged {count} files -> {args.out}")


if __name__ == "__main__":
    main()
