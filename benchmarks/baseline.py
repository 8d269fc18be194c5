"""The simple baseline on the development suite's own folds: MFCC statistics + logistic regression.

Run (after building the data sets as ../shared/bench/README.md says):

    .venv/bin/python benchmarks/baseline.py --domain instruments genres digits
    .venv/bin/python benchmarks/baseline.py --domain genres --features mfcc rhythm mfcc+rhythm

Each file becomes the mean and standard deviation over time of 20 MFCCs (librosa's defaults
on a 22.05 kHz log-mel; 40 numbers), standardised and classified by scikit-learn's
``LogisticRegression`` (C=1, its default: nothing tuned). It is scored on exactly the folds
of ``benchmarks/cv.py`` (grouped by piece, voice or program, stratified, seed 42; the inner
validation split joins the training part, since nothing stops early), so its figure sits
beside the network's fold by fold. The same features are also scored on folds that are only
stratified (``ungrouped``): a program, voice or piece then appears on both sides, as in the
figures the bench README quotes, and the gap between the two is what grouping costs.

``--features rhythm`` scores a clip-level rhythm descriptor instead, the "rhythm patterns" of
music information retrieval computed over the whole clip: the global tempogram (the onset
strength's autocorrelation, averaged over time, 129 lags = 3 s) and the log-mel's
self-similarity by lag (how alike the spectrum is to itself 1..160 frames later: the melody's
and the harmony's period, bar lengths), plus the onset strength's mean, spread and peak rate
(292 numbers). ``mfcc+rhythm`` joins both. It asks whether a clip-level descriptor of metre and
tempo carries what the window CNN misses (jig against reel and hornpipe).

Writes benchmarks/results/cv/baselines.json (key ``<domain>`` for MFCCs,
``<domain>/<features>`` for the others).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from typing import Any

import cv
import numpy as np
from _common import earlier_results, write_result


def mfcc_statistics(path: Path) -> Any:
    """The mean and standard deviation over time of 20 MFCCs of one file (22.05 kHz, mono)."""
    import librosa

    samples, rate = librosa.load(path, sr=22050, mono=True)
    mfcc = librosa.feature.mfcc(y=samples, sr=rate, n_mfcc=20)
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])


def rhythm_descriptor(path: Path) -> Any:
    """Global tempogram, log-mel self-similarity by lag and onset statistics of one file."""
    import librosa

    samples, rate = librosa.load(path, sr=22050, mono=True)
    onset = librosa.onset.onset_strength(y=samples, sr=rate)
    tempogram = librosa.feature.tempogram(onset_envelope=onset, sr=rate, win_length=256)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=samples, sr=rate))
    centred = mel - mel.mean(axis=1, keepdims=True)
    lags = librosa.autocorrelate(centred, max_size=161, axis=1).sum(axis=0)
    spread = float(onset.std())
    return np.concatenate(
        [
            tempogram.mean(axis=1)[:129],
            lags[1:] / (lags[0] + 1e-9),
            [onset.mean(), spread, float(np.mean(onset > onset.mean() + spread))],
        ]
    )


FEATURES = {"mfcc": mfcc_statistics, "rhythm": rhythm_descriptor}
DESCRIPTIONS = {
    "mfcc": "20 MFCCs, mean and std over time (librosa, 22.05 kHz)",
    "rhythm": "global tempogram (129 lags), log-mel self-similarity by lag (160), onset stats",
}


def rows(part: Any, index: dict[str, int]) -> Any:
    """The rows of ``part``'s files in the domain's feature matrix."""
    return np.array([index[str(Path(p).resolve())] for p in part.paths])


def scores(features: Any, labels: Any, splits: list[tuple[Any, Any]]) -> list[float]:
    """File-level accuracy of standardised logistic regression on each ``(train, test)`` split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = []
    for train, test in splits:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        model.fit(features[train], labels[train])
        out.append(float(np.mean(model.predict(features[test]) == labels[test])))
    return out


def summary(accuracies: list[float]) -> dict[str, Any]:
    return {
        "folds": accuracies,
        "file_accuracy_mean": statistics.fmean(accuracies),
        "file_accuracy_std": statistics.stdev(accuracies),
    }


def main() -> None:
    from sklearn.model_selection import StratifiedKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", nargs="+", default=["genres", "digits", "instruments"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--features", nargs="+", default=["mfcc"], choices=["mfcc", "rhythm", "mfcc+rhythm"]
    )
    args = parser.parse_args()
    results = earlier_results("cv/baselines")  # other domains' figures are kept
    for domain in args.domain:
        dataset, groups = cv.load_dataset(domain)
        paths = list(dataset.paths)
        index = {str(Path(p).resolve()): i for i, p in enumerate(paths)}
        computed = {
            name: np.stack([function(Path(p)) for p in paths])
            for name, function in FEATURES.items()
            if any(name in choice.split("+") for choice in args.features)
        }
        labels = np.asarray(dataset.labels)
        grouped = [
            (np.concatenate([rows(train, index), rows(validation, index)]), rows(test, index))
            for train, validation, test in cv.folds(dataset, groups, args.folds)
        ]
        stratified = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=42)
        ungrouped = list(stratified.split(paths, labels))
        for choice in args.features:
            parts = choice.split("+")
            features = np.hstack([computed[name] for name in parts])
            key = domain if choice == "mfcc" else f"{domain}/{choice}"
            results[key] = {
                "features": " + ".join(DESCRIPTIONS[name] for name in parts),
                "classifier": "StandardScaler + LogisticRegression(C=1)",
                "grouped": summary(scores(features, labels, grouped)),
                "ungrouped": summary(scores(features, labels, ungrouped)),
            }
            entry = results[key]
            print(
                f"{key:>24}: grouped {entry['grouped']['file_accuracy_mean']:.1%} "
                f"+- {entry['grouped']['file_accuracy_std']:.1%}, ungrouped "
                f"{entry['ungrouped']['file_accuracy_mean']:.1%} "
                f"+- {entry['ungrouped']['file_accuracy_std']:.1%}",
                flush=True,
            )
        write_result("cv/baselines", results)


if __name__ == "__main__":
    main()
