"""A screen: the statistics head trained on varispeed copies of its training files too.

The head is a logistic regression on some 670 numbers fitted on a few hundred files. Each
training file is also played a few semitones faster and slower (varispeed: resampled, so
that pitch and tempo move together by the same ratio, as a tape or a turntable does; no
phase vocoder, so no artefacts), its statistics computed from the copy's windows and chroma
as from the original's, and the copies join the training rows with the original's label.
The regression's L2 strength is chosen by folds that keep each file and its copies on one
side (``_head_screens.choose_c_by_groups``), so that a copy never scores its own original.
The test files are read as they are; prediction is unchanged.

Label-safe where a class does not hang on absolute pitch or tempo within the ratios: the
genre generator itself draws every clip's tempo from x0.9-1.1 and its key from -3 to +3
semitones, a word said a semitone higher and 6 % faster is the same word; an instrument's
formants move with it, so it is least safe there.
"""

from __future__ import annotations

import hashlib
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from _head_screens import choose_c_by_groups

CACHE = Path("data/cache/varispeed")


def ratio(semitones: float) -> Fraction:
    """The speed ratio of ``semitones`` (2 ** (semitones / 12)) as a small fraction."""
    return Fraction(2 ** (semitones / 12)).limit_denominator(100)


def copy_statistics(statistics: Any, preprocessing: Any, path: str, semitones: float) -> Any:
    """``statistics`` of the file at ``path`` played ``semitones`` higher and faster.

    Read as the training cache reads a file: the loader's audio, resampled by the ratio
    and taken as if at the original rate, cut into the featurizer's windows, the statistics
    from the windows put back together and the copy's own chroma. Cached on disk under
    ``data/cache/varispeed`` by the statistics', preprocessing's and file's keys.
    """
    from scipy.signal import resample_poly

    from melgenre import Audio

    key = hashlib.sha1(
        json.dumps(
            [repr(statistics), preprocessing.cache_key, str(Path(path).resolve()), semitones]
        ).encode()
    ).hexdigest()[:20]
    stored = CACHE / f"{key}.npy"
    if stored.exists():
        return np.load(stored)
    audio = preprocessing.load(path)
    speed = ratio(semitones)  # faster by `speed`: fewer samples at the same rate
    samples = resample_poly(
        np.asarray(audio.samples, np.float64), speed.denominator, speed.numerator
    )
    copy = Audio(
        samples.astype(np.float32), audio.sample_rate, source=f"{path} x{float(speed):.4f}"
    )
    chroma = preprocessing.chroma(copy) if statistics.harmony else None
    row = np.asarray(statistics.from_windows(preprocessing.transform(copy), chroma=chroma))
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(stored, row)
    return row


def varispeed_head(base: Any, preprocessing: Any, semitones: tuple[float, ...]) -> Any:
    """``base`` (a ``StatisticsHead`` class) fitted on its files and their varispeed copies.

    ``semitones`` lists the copies (e.g. ``(-1, 1)``); an empty tuple fits the originals
    alone but chooses C by the same file-grouped folds (the control). A screen.
    """

    class VarispeedHead(base):  # type: ignore[misc, valid-type]
        def fit(self, features: Any) -> Any:
            files, x = self.statistics.transform(features)
            _, labels = features.file_labels()
            rows, row_labels, groups = [x], [labels], [np.arange(len(files))]
            for shift in semitones:
                rows.append(
                    np.stack(
                        [
                            copy_statistics(
                                self.statistics, preprocessing, str(features.paths[f]), shift
                            )
                            for f in files
                        ]
                    )
                )
                if rows[-1].shape[1] != x.shape[1]:  # a FileBlocks screen reads the audio
                    raise SystemExit("--varispeed: blocks read from the audio have no copies")
                row_labels.append(labels)
                groups.append(np.arange(len(files)))
            self.groups_ = np.concatenate(groups)
            return self.fit_statistics(
                np.concatenate(rows), np.concatenate(row_labels), n_classes=len(features.classes)
            )

        def _choose_c(self, x: Any, labels: Any, grid: Any) -> float:
            return choose_c_by_groups(x, labels, grid, self.groups_)

    return VarispeedHead
