"""A long recording's timeline: which class, when.

    python examples/timeline.py MODEL_DIR RECORDING [--png timeline.png]

Prints the recording's segments (consecutive windows with the same label,
merged) and draws each class's probability over time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import melgenre
from melgenre import plotting


def segments(prediction: melgenre.Prediction) -> list[tuple[float, float, str]]:
    """Merge consecutive windows with the same label into (start, end, label) segments."""
    merged: list[tuple[float, float, str]] = []
    for window in prediction.windows:
        if merged and merged[-1][2] == window.label and window.start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], window.end, window.label)
        else:
            merged.append((window.start, window.end, window.label))
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("recording", type=Path)
    parser.add_argument("--png", type=Path, default=None, help="also draw the timeline")
    args = parser.parse_args()
    prediction = melgenre.Predictor.load(args.model).predict(args.recording)
    print(f"{args.recording.name}: {prediction.label} overall ({prediction.confidence:.0%})")
    for start, end, label in segments(prediction):
        print(f"  {start:7.1f} - {end:7.1f} s  {label}")
    if args.png is not None:
        plotting.plot_timeline(prediction, args.png)
        print(f"timeline drawn to {args.png}")


if __name__ == "__main__":
    main()
