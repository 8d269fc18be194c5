"""A screen for ``fusion.py --noise-copies SNR``: the head also learns from noisy copies.

Beside the library's rows (each training file and its varispeed copies), each training file
is read again with white and with pink (1/f power) Gaussian noise added at ``SNR`` dB below
the file's own mean power, seeded by the file's position and the colour, and the copies'
statistics join the rows with the file's label and group (so ``C``'s folds keep them with
their file). Test files are read as they are. Not in the library.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from typing import Any

import numpy as np

COLOURS = ("white", "pink")


def noise(n: int, colour: str, rng: np.random.Generator) -> Any:
    """Unit-power Gaussian noise of ``n`` samples, white or pink (power falling as 1/f)."""
    white = rng.standard_normal(n)
    if colour == "pink":
        spectrum = np.fft.rfft(white)
        spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
        spectrum[0] = 0
        white = np.fft.irfft(spectrum, n)
    return white / np.sqrt(np.mean(white**2) + 1e-20)


def noisy_rows(statistics: Any, features: Any, files: Any, snr_db: float) -> tuple[Any, Any]:
    """``(rows, owners)``: each file's noisy copies' statistics, colour after colour."""
    from melgenre import Audio

    prep = features.preprocessing

    def copies(position: int, file: int) -> list[Any]:
        audio = prep.load(features.paths[file])
        samples = np.asarray(audio.samples, np.float64)
        level = np.sqrt(np.mean(samples**2) / 10 ** (snr_db / 10))
        out = []
        for number, colour in enumerate(COLOURS):
            rng = np.random.default_rng([position, number])
            noisy = samples + level * noise(samples.shape[-1], colour, rng)
            copy = Audio(noisy.astype(np.float32), audio.sample_rate)
            chroma = prep.chroma(copy) if statistics.harmony else None
            out.append(statistics.from_windows(prep.transform(copy), chroma=chroma))
        return out

    listed = np.asarray(files).tolist()
    with cf.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        made = list(pool.map(copies, range(len(listed)), listed))
    rows = [made[p][c] for c in range(len(COLOURS)) for p in range(len(listed))]
    owners = np.tile(np.arange(len(listed)), len(COLOURS))
    return np.stack(rows).astype(np.float32), owners


def noisy_head(base: Any, snr_db: float) -> Any:
    """``base`` (a StatisticsHead class) fitted on noisy copies too (see the module notes)."""
    from melgenre._varispeed import with_copies

    class NoisyCopies(base):  # type: ignore[misc,valid-type]
        def fit(self, features: Any, *, progress: bool = False, workers: Any = None) -> Any:
            files, x = self.statistics.transform(features)
            _, labels = features.file_labels()
            rows, row_labels, groups = with_copies(
                self.statistics, self.varispeed, features, files, x, labels,
                self.varispeed_files, progress, workers,
            )  # fmt: skip
            if groups is None:
                groups = np.arange(len(files))
            extra, owners = noisy_rows(self.statistics, features, files, snr_db)
            self.fit_statistics(
                np.concatenate([rows, extra]),
                np.concatenate([row_labels, labels[owners]]),
                n_classes=len(features.classes),
                groups=np.concatenate([groups, owners]),
            )
            self.n_copies_ = len(rows) + len(extra) - len(files)
            return self

    return NoisyCopies
