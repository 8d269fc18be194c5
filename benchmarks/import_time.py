"""How long `import melgenre` takes in a fresh process, beside `import numpy`.

Run: .venv/bin/python benchmarks/import_time.py [--repeats 7]

Each import runs in its own interpreter; both are timed alternately in the same
run and reported as medians and as a ratio (the machines are shared and noisy).
Also reports the first `MelFeaturizer.transform` in a fresh process, which pays
for importing librosa's signal processing (and numba) once.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

from _common import write_result

SNIPPETS = {
    "python": "pass",
    "numpy": "import numpy",
    "melgenre": "import melgenre",
    "first_transform": (
        "import numpy as np, melgenre as m; "
        "m.MelFeaturizer().transform(m.Audio(np.zeros(22050 * 3, np.float32), 22050))"
    ),
}


def time_once(code: str) -> float:
    timed = f"import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"
    out = subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in SNIPPETS}
    for _ in range(args.repeats):
        for name, code in SNIPPETS.items():
            samples[name].append(time_once(code))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name:>16}: {value * 1000:8.1f} ms (median of {args.repeats})")
    ratio = medians["melgenre"] / medians["numpy"]
    print(f"import melgenre / import numpy = {ratio:.2f}")
    write_result(
        "import_time",
        {
            "repeats": args.repeats,
            "median_seconds": medians,
            "all_seconds": samples,
            "melgenre_over_numpy": ratio,
        },
    )


if __name__ == "__main__":
    main()
