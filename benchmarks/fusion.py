"""Late fusion: the network's file probabilities with a clip-level descriptor's, on cv.py's folds.

Run (after ``cv.py ... --keep-probabilities`` has recorded the network's per-file probabilities):

    .venv/bin/python benchmarks/cv.py --domain genres --candidates library-full \
        --keep-probabilities --tag=-probs
    .venv/bin/python benchmarks/fusion.py --domain genres \
        --cv benchmarks/results/cv/genres-5fold-probs.json

Per fold of ``cv.py`` (the same grouped, stratified folds and the same windows, from the
cache), a :class:`melgenre.fusion.StatisticsHead` is fitted on the training part's files, as
``Trainer(statistics=True)`` fits it (not on the validation files), and its probabilities
for the test files multiply the network's recorded mean window probabilities
(:func:`melgenre.fusion.fuse`), with equal weights (``fused``), with the Trainer's fixed
``FUSION_WEIGHT`` (``fused_default``, since 2026-12-05; 1/2 until 2026-12-06, 1 since),
with every weight of the grid (``fused_by_weight``) and, where ``cv.py`` recorded the
validation files' probabilities too, with the weight chosen on them as the Trainer chose it
until then (``fused_weighted``). Since training on CPU is deterministic for a seed, this is
what ``Trainer(statistics=True)`` would report on the fold, without training the network again,
as far as the recorded probabilities are exact: ``cv.py`` wrote them to five decimals before
2026-12-04 (seven significant digits since), which can move the weight's choice, whose
log-likelihoods are sensitive to small probabilities (instruments fold 3: 1/4 replayed, the
Trainer's own run scored as with 0).
Reports file-level accuracy of the network, the statistics head alone and the fusion per fold;
writes benchmarks/results/cv/fusion.json. Descriptor variants screen the same way, cheaply (no
network is trained): ``--statistics '{"n_mfcc": 40}' --tag=-mfcc40`` (ClipStatistics settings),
``--delta-cepstra --tag=-deltas`` (the cepstra's frame-to-frame spread added),
``--modulation`` (band-group modulation spectra and level-change quantiles),
``--scale-transform`` (the tempogram over log lag, its magnitude spectrum),
``--onset-spectrum`` (the screen of what ``ClipStatistics(onset_rates_per_octave=12)`` now
computes itself, 0.5-16 Hz; its records were made without the library's),
``--harmony cqt`` (two blocks of pitch-class statistics from a chroma of each file's audio,
not of its mel bands; ``cqt12`` at 12 bins an octave and hop 2048, ``stft`` from a
2,048-point STFT), ``--weighted-cepstra DB`` (the cepstra's mean and spread weighted by
each frame's level, ``10 ** (level / DB)``: the screen of what
``ClipStatistics(power_weighted=True)`` now computes itself at DB 10; its records were made
with the library's cepstra weighted alike, which it replaces), ``--weighted-bands`` (the
similarity across bands over frames weighted by their power; not taken), ``--envelope``
(onset-triggered level envelopes: attack, decay, sustain; not taken) and ``--classifier``
(another classifier in the head's place: an RBF SVM, extra trees or shrunk LDA; not taken),
``--progressions`` (how the chroma moves: its correlation with itself 4 and 8 frames later,
rolled by 0-11 pitch classes; not taken) and ``--texture`` (voicing, motion and note lengths
from a semitone spectrogram of the audio; not taken); the flags combine. ``--network`` takes
the network's probabilities from another candidate of ``--cv`` (a probe's network beside the
library's head), ``--also JSON:CANDIDATE`` multiplies in another recorded network's (an
ensemble of two networks and the head).
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import cv
import numpy as np
from _common import RESULTS, write_result


def main() -> None:
    from melgenre.fusion import FUSION_WEIGHT, WEIGHT_GRID, StatisticsHead, fuse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", default="genres", choices=list(cv.DOMAINS))
    parser.add_argument("--cv", type=Path, required=True, help="cv.py JSON with probabilities")
    parser.add_argument("--candidate", default="library-full")
    parser.add_argument(
        "--network",
        default=None,
        help="the candidate of --cv whose recorded probabilities are the network's (default: "
        "--candidate, whose windows the head reads either way)",
    )
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="JSON:CANDIDATE",
        help="another recorded network's probabilities multiplied in, as a third expert "
        "(repeatable; a screen of an ensemble)",
    )
    parser.add_argument("--cache-dir", type=Path, default=Path("data/cache"))
    parser.add_argument(
        "--statistics",
        type=json.loads,
        default={},
        help="ClipStatistics settings as JSON, e.g. '{\"n_mfcc\": 40}' (default: its defaults)",
    )
    parser.add_argument(
        "--delta-cepstra",
        action="store_true",
        help="add the spread of the cepstra's frame-to-frame differences (a screen)",
    )
    parser.add_argument(
        "--modulation",
        action="store_true",
        help="add band-group modulation spectra and level-change quantiles (a screen)",
    )
    parser.add_argument(
        "--scale-transform",
        action="store_true",
        help="add the tempogram's magnitude spectrum over log lag (tempo-invariant; a screen)",
    )
    parser.add_argument(
        "--onset-spectrum",
        action="store_true",
        help="add the onsets' power spectrum on a log-frequency axis, 0.5-16 Hz: the screen "
        "that became ClipStatistics' own onset spectrum (kept to rerun its fusion.json "
        "records; pair it with --statistics "
        '\'{"onset_rates_per_octave": 0, "rate_ratios": []}\', else the vector holds both)',
    )
    parser.add_argument(
        "--weighted-cepstra",
        type=float,
        metavar="DB",
        help="the cepstra's mean and spread over time weighted by each frame's level, "
        "10 ** (level / DB) (20: by amplitude, 10: by power), so that a sound's timbre is "
        "read where it sounds, not in its silences and reverberant tails (a screen)",
    )
    parser.add_argument(
        "--weighted-bands",
        action="store_true",
        help="the similarity across bands summed over frames weighted by their share of the "
        "power, as the cepstra are (a screen)",
    )
    parser.add_argument(
        "--harmony",
        choices=("cqt", "cqt12", "lean", "stft"),
        help="add two blocks of key-invariant pitch-class statistics from each file's audio: "
        "a constant-Q chroma (librosa, from C1: 'cqt' 36 bins an octave, hop 512; 'cqt12' 12 "
        "bins, hop 2048; 'lean' the library's melgenre._pitch.constant_q_chroma, the same "
        "design, its rate halved by a binomial filter, formerly by resample_poly) or an STFT "
        "chroma "
        "(2,048 points, hop 512), all at A = 440 Hz (a screen; reads the audio files)",
    )
    parser.add_argument(
        "--balance",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="StatisticsHead(balance=...): each block of the statistics the same L2 say "
        "(the default; --no-balance: one penalty over all numbers, before 2026-12-05)",
    )
    parser.add_argument(
        "--envelope",
        action="store_true",
        help="add the onset-triggered level envelopes: each frame's level change 3 frames "
        "before to 32 after, averaged over frames weighted by their onset excess, broadband "
        "and in 4 band groups (attack, decay and sustain; a screen)",
    )
    parser.add_argument(
        "--classifier",
        choices=("svm", "trees", "lda"),
        help="the head's logistic regression replaced by another classifier on the same "
        "scaled statistics: an RBF SVM (C and gamma by 5-fold log loss, Platt scaling), 500 "
        "extra trees or LDA with Ledoit-Wolf shrinkage (a screen)",
    )
    parser.add_argument(
        "--progressions",
        action="store_true",
        help="add the chroma's correlation with itself 4 and 8 frames later, rolled by 0-11 "
        "pitch classes (how the harmony moves; a screen)",
    )
    parser.add_argument(
        "--texture",
        action="store_true",
        help="add the texture of a semitone spectrogram of the audio: how many pitches sound, "
        "start and stop together, how far they move, how long they hold (a screen)",
    )
    parser.add_argument("--tag", default="", help="suffix of the result's key in fusion.json")
    args = parser.parse_args()
    from melgenre.statistics import ClipStatistics

    kind: Any = ClipStatistics  # the screened variants add to it, in this order
    for flag, variant in (
        (args.delta_cepstra, delta_cepstra_statistics),
        (args.modulation, modulation_statistics),
        (args.scale_transform, scale_transform_statistics),
        (args.onset_spectrum, onset_spectrum_statistics),
    ):
        kind = variant(kind) if flag else kind
    if args.weighted_cepstra:
        kind = weighted_cepstra_statistics(kind, args.weighted_cepstra)
    if args.weighted_bands:
        kind = weighted_bands_statistics(kind)
    if args.envelope:
        kind = envelope_statistics(kind)
    if args.progressions:
        kind = progression_statistics(kind)
    if args.texture:
        kind = texture_statistics(kind)
    if args.harmony:  # the screen's harmony in place of the library's
        kind = harmony_statistics(kind, args.harmony)
        args.statistics = {"harmony": False, **args.statistics}
    clip_statistics = kind(**args.statistics)
    head_kind: Any = screened_head(args.classifier) if args.classifier else StatisticsHead
    record = json.loads(args.cv.read_text())
    network_name = args.network or args.candidate
    runs = {f["fold"]: f for f in record["candidates"][network_name]["folds"]}
    others = []
    for spec in args.also:
        path, _, name = spec.rpartition(":")
        other = json.loads(Path(path).read_text())["candidates"][name]["folds"]
        others.append({f["fold"]: f for f in other})
    if not runs or not all("file_probabilities" in f for f in runs.values()):
        raise SystemExit(f"{args.cv}: run cv.py with --keep-probabilities first")
    dataset, groups = cv.load_dataset(args.domain)
    classes = list(dataset.classes)
    rows: list[dict[str, Any]] = []
    for number, parts in enumerate(cv.folds(dataset, groups, record["folds"])):
        if number not in runs or any(number not in o for o in others):
            continue
        train, validation, test, _ = cv.fold_features(args.candidate, parts, args.cache_dir)
        start = time.perf_counter()
        head = head_kind(clip_statistics, balance=args.balance).fit(train)
        fit_seconds = time.perf_counter() - start
        files, stats = head.statistics.transform(test)
        descriptor = head.predict_proba(stats)
        network = recorded(runs[number], "file_probabilities", test, files)
        for other in others:  # a product of the recorded networks, as one expert
            network = fuse(network, recorded(other[number], "file_probabilities", test, files))
        fused = fuse(network, descriptor)
        _, truth = test.file_labels()
        truth = np.array([classes.index(test.classes[t]) for t in truth])
        weighted = None
        if "validation_probabilities" in runs[number] and not others:  # the rule until 12-05
            held, held_stats = head.statistics.transform(validation)
            _, held_truth = validation.file_labels()
            held_truth = np.array([classes.index(validation.classes[t]) for t in held_truth])
            held_network = recorded(runs[number], "validation_probabilities", validation, held)
            head.choose_weight(held_network, held_stats, held_truth)
            weighted = fuse(network, descriptor, head.weight)

        def right(probabilities: Any, truth: Any = truth) -> float:
            return float(np.mean(probabilities.argmax(1) == truth))

        row = {
            "fold": number,
            "files": len(files),
            "network": right(network),
            "statistics": right(descriptor),
            "fused": right(fused),
            "C": head.C_,
            "fit_seconds": fit_seconds,
        }
        if weighted is not None:
            row["weight"] = head.weight
            row["fused_weighted"] = right(weighted)
        # what each weight of the grid would have scored; the Trainer's is FUSION_WEIGHT
        # and the head trusted more than the network (1.5 to 4: not on the Trainer's grid)
        row["fused_by_weight"] = {
            str(w): right(fuse(network, descriptor, w)) for w in (*WEIGHT_GRID, 1.5, 2.0, 4.0)
        }
        row["fused_default"] = row["fused_by_weight"][str(FUSION_WEIGHT)]
        confusion = np.zeros((len(classes), len(classes)), dtype=int)
        np.add.at(confusion, (truth, fused.argmax(1)), 1)
        row["fused_confusion_matrix"] = confusion.tolist()
        rows.append(row)
        print(
            f"fold {number}: network {row['network']:.1%}, statistics {row['statistics']:.1%}, "
            f"fused {row['fused']:.1%}"
            + (
                f", weighted {row['fused_weighted']:.1%} (weight {row['weight']})"
                if weighted is not None
                else ""
            ),
            flush=True,
        )
    summary = {
        key: statistics_mean([r[key] for r in rows if key in r])
        for key in ("network", "statistics", "fused", "fused_weighted", "fused_default")
    }
    print(
        ", ".join(f"{k} {v:.1%}" for k, v in summary.items() if v == v), f"over {len(rows)} folds"
    )
    out = RESULTS / "cv" / "fusion.json"
    earlier = json.loads(out.read_text()) if out.exists() else {}
    results = {k: v for k, v in earlier.items() if k not in ("benchmark", "environment")}
    results[f"{args.domain}/{args.candidate}+statistics{args.tag}"] = {
        "network": f"cv.py candidate {network_name} ({args.cv.name})"
        + "".join(f" x {spec}" for spec in args.also),
        "statistics": repr(StatisticsHead(clip_statistics, balance=args.balance))
        + (f" with a {args.classifier} classifier" if args.classifier else ""),
        "fusion": "melgenre.fusion.fuse: normalised product, equal weights (fused) and, where "
        "validation probabilities were recorded, the weight chosen on the validation files as "
        "Trainer(statistics=True) chose it until 2026-12-05 (fused_weighted), the fixed "
        "FUSION_WEIGHT (fused_default)",
        "classes": classes,
        "folds": rows,
        "mean": summary,
    }
    write_result("cv/fusion", results)


def weighted_cepstra_statistics(base: Any, decibels: float) -> Any:
    """``base`` with its cepstra's mean and spread weighted by each frame's level.

    A screened variant, not in the library: a frame's level is the power mean of its dB
    bands, its weight ``10 ** (level / decibels)`` (normalised over the clip), so the loud
    frames, where an instrument or a voice sounds, give the timbre, and the silences and
    reverberant tails between notes or words count for little. The vector keeps its
    blocks and their lengths; only the first two blocks' values change.
    """
    import dataclasses

    from scipy.fft import dct

    from melgenre._clip_blocks import cepstra_moments

    @dataclasses.dataclass(frozen=True)
    class WeightedCepstra(base):
        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            out = super().__call__(spectrogram, chroma)
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            cepstra = dct(spec, type=2, axis=0, norm="ortho")[: self.n_mfcc]
            cepstra = np.pad(cepstra, ((0, self.n_mfcc - len(cepstra)), (0, 0)))
            level = 10 * np.log10(np.mean(10 ** (spec / 10), axis=0) + 1e-12)
            weight = 10 ** ((level - level.max()) / decibels)
            n = self.n_mfcc
            out[:n], out[n : 2 * n] = cepstra_moments(cepstra, weight / weight.sum())
            return out

    return WeightedCepstra


def weighted_bands_statistics(base: Any) -> Any:
    """``base`` with its similarity across bands summed over frames weighted by their power.

    A screened variant, not in the library: the products of each frame's detail (its
    bands less their neighbourhood's mean) with itself shifted count by the frame's share
    of the clip's power (``melgenre._clip_blocks.frame_weights``), as the cepstra's
    moments do with ``power_weighted``, so the partials' intervals are read where the
    sound is. The block keeps its length.
    """
    import dataclasses

    from scipy.ndimage import uniform_filter1d

    from melgenre._clip_blocks import BAND_SMOOTHING, frame_weights

    @dataclasses.dataclass(frozen=True)
    class WeightedBands(base):
        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            out = super().__call__(spectrogram, chroma)
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            bands = spec[self.band_from :]
            if not (len(bands) and self.band_shifts):
                return out
            detail = bands - uniform_filter1d(bands, BAND_SMOOTHING, axis=0, mode="nearest")
            detail = detail * np.sqrt(frame_weights(spec))
            n = len(detail)
            sums = [
                float(np.sum(detail[:-k] * detail[k:])) if k < n else 0.0
                for k in range(1, self.band_shifts + 1)
            ]
            start = 0
            for name, size in self.blocks.items():
                if name == "band_similarity":
                    out[start : start + size] = np.asarray(sums) / max(
                        float(np.sum(detail * detail)), 1e-12
                    )
                start += size
            return out

    return WeightedBands


def harmony_statistics(base: Any, source: str) -> Any:
    """``base`` plus ``_pitch.pitch_class_summaries`` of a chroma computed from each file's audio.

    A screened variant, not in the library: the mel bands are 1 to 2 semitones wide below
    about 1 kHz, too coarse for a chroma (``MelFeaturizer(chroma=True)``'s, folded from
    them, scored nothing here), so the audio is read again (22,050 Hz, mono) and its
    chroma taken from a constant-Q transform from C1 (``"cqt"``: 36 bins an octave, hop
    512; ``"cqt12"``: 12 bins, hop 2048, a quarter of the cost; ``"lean"``: the library's
    :func:`melgenre._pitch.constant_q_chroma`, the same design at a tenth of the cost) or
    from the power of a
    2,048-point STFT (``"stft"``, hop 512), at A = 440 Hz (no tuning estimate). Chromas
    are computed once per file and kept for the run.
    """
    import dataclasses

    import librosa

    import melgenre
    from melgenre import _pitch

    loader = melgenre.AudioLoader(sample_rate=22050)

    @functools.cache
    def chroma(path: str) -> Any:
        audio = loader.load(path)
        y, rate = audio.samples, audio.sample_rate
        if source == "lean":  # the library's (frames, 12)
            return _pitch.constant_q_chroma(y, rate).T
        if source.startswith("cqt"):
            bins, hop = (12, 2048) if source == "cqt12" else (36, 512)
            return librosa.feature.chroma_cqt(
                y=y, sr=rate, hop_length=hop, bins_per_octave=bins, tuning=0.0, norm=None
            )
        power = np.abs(librosa.stft(y, n_fft=2048, hop_length=512)) ** 2
        return librosa.feature.chroma_stft(S=power, sr=rate, tuning=0.0, norm=None)

    sizes = _pitch.HARMONY_BLOCKS

    @dataclasses.dataclass(frozen=True)
    class Harmony(base):
        @property
        def dim(self) -> int:
            return super().dim + sum(sizes.values())

        @property
        def blocks(self) -> dict[str, int]:
            return {**super().blocks, **sizes}

        def transform(self, features: Any) -> Any:
            plain = base(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
            files, rows = plain.transform(features)
            harmony = np.array(
                [_pitch.pitch_class_summaries(chroma(str(features.paths[f])).T) for f in files]
            )
            return files, np.concatenate([rows, harmony], 1).astype(np.float32)

    return Harmony


def delta_cepstra_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus the spread of the cepstra's frame-to-frame changes.

    A screened variant (how fast timbre changes: attacks, articulation), not in the library.
    """
    import dataclasses

    from scipy.fft import dct

    @dataclasses.dataclass(frozen=True)
    class DeltaCepstra(base):
        @property
        def dim(self) -> int:
            return super().dim + self.n_mfcc

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            cepstra = dct(spec, type=2, axis=0, norm="ortho")[: self.n_mfcc]
            cepstra = np.pad(cepstra, ((0, self.n_mfcc - len(cepstra)), (0, 0)))
            spread = np.diff(cepstra, axis=1).std(axis=1)
            return np.concatenate([super().__call__(spectrogram, chroma), spread]).astype(
                np.float32
            )

    return DeltaCepstra


def modulation_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus how the level of 8 band groups moves, and how fast.

    A screened variant, not in the library: per group of 16 mel bands (its mean dB), the
    power of its envelope's modulation in 7 octave-wide bands from 0.34 to 21.5 Hz
    (128-frame Hann windows every 32 frames, mean removed, averaged; log10), the envelope
    dynamics that tell a plucked or struck note's decay from a bowed or blown one's steady
    tone and tremolo or vibrato (4-8 Hz) from none; and the 5, 25, 50, 75 and 95 % quantiles
    of the whole spectrum's frame-to-frame level change (dB): how it rises and falls.
    """
    import dataclasses

    groups, width, hop = 8, 128, 32
    edges = [1, 2, 3, 5, 9, 17, 33]  # rfft bins of 128 frames: octaves from ~0.34 Hz

    @dataclasses.dataclass(frozen=True)
    class Modulation(base):
        @property
        def dim(self) -> int:
            return super().dim + groups * len(edges) + 5

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            bands = np.array_split(spec, groups, axis=0)
            envelope = np.stack([b.mean(axis=0) for b in bands])  # (groups, frames)
            if envelope.shape[1] < width:
                pad = width - envelope.shape[1]
                envelope = np.pad(envelope, ((0, 0), (0, pad)), mode="edge")
            view = np.lib.stride_tricks.sliding_window_view(envelope, width, axis=1)[:, ::hop]
            view = view - view.mean(axis=-1, keepdims=True)
            power = np.abs(np.fft.rfft(view * np.hanning(width), axis=-1)) ** 2
            power = power.mean(axis=1)  # (groups, width // 2 + 1)
            bounds = [*edges, width // 2 + 1]
            modulation = np.stack(
                [power[:, a:b].mean(axis=1) for a, b in itertools.pairwise(bounds)],
                axis=1,
            )
            level = np.diff(spec.mean(axis=0))
            quantiles = np.quantile(level, [0.05, 0.25, 0.5, 0.75, 0.95]) if len(level) else 0
            extra = np.concatenate([np.log10(modulation + 1e-6).ravel(), np.ravel(quantiles)])
            return np.concatenate([super().__call__(spectrogram, chroma), extra]).astype(np.float32)

    return Modulation


def scale_transform_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus the tempogram's magnitude spectrum over log lag.

    A screened variant, not in the library (after Holzapfel and Stylianou's scale transform
    for rhythmic similarity, 2011): the global tempogram, sampled at 64 lags spaced evenly in
    log lag from 2 frames to ``tempo_lags``, is one rhythm drawn on a log-time axis, on which a
    change of tempo is a shift; the magnitude of its Fourier transform does not see the shift.
    So the pattern of beats and their subdivisions (a jig's three against a reel's two or
    four) reaches the classifier whatever the tempo.
    """
    import dataclasses

    points, keep = 64, 24

    @dataclasses.dataclass(frozen=True)
    class ScaleTransform(base):
        @property
        def dim(self) -> int:
            return super().dim + keep

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            base = super().__call__(spectrogram, chroma)
            start = 2 * self.n_mfcc
            tempogram = np.asarray(base[start : start + self.tempo_lags], np.float64)
            lags = np.geomspace(2, self.tempo_lags, points)
            curve = np.interp(lags, np.arange(1, self.tempo_lags + 1), tempogram)
            curve = (curve - curve.mean()) * np.hanning(points)
            magnitude = np.abs(np.fft.rfft(curve))[1 : keep + 1]
            return np.concatenate([base, magnitude]).astype(np.float32)

    return ScaleTransform


def onset_spectrum_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus the onsets' power spectrum at log-spaced rates.

    A screened variant, not in the library: the tempogram's windows' power spectra
    (each normalised by its total, averaged over the clip), read at 61 rates spaced a
    twelfth of an octave apart from 0.5 to 16 Hz, in log10. The lags of the
    tempogram are whole frames (23 ms), 15 % of a 0.15 s note; its spectrum at 0.084 Hz
    steps reads the rate of the notes (a reel's 7 Hz, a jig's 6, a hornpipe's 5) finely,
    and in the log domain a rate is a position, not a sum of cosines.
    """
    import dataclasses

    rates = 0.5 * 2.0 ** (np.arange(61) / 12)

    @dataclasses.dataclass(frozen=True)
    class OnsetSpectrum(base):
        @property
        def dim(self) -> int:
            return super().dim + len(rates)

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            onset = np.concatenate([[0.0], np.maximum(np.diff(spec, axis=1), 0.0).mean(axis=0)])
            width = self.tempo_window
            padded = np.pad(onset, width // 2, mode="linear_ramp")
            frames = np.lib.stride_tricks.sliding_window_view(padded, width)[:: self.tempo_hop]
            frames = frames - frames.mean(axis=1, keepdims=True)
            power = np.abs(np.fft.rfft(frames * np.hanning(width + 2)[1:-1], 2 * width)) ** 2
            power = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-10)
            mean = power.mean(axis=0)
            frame_rate = 22050 / 512  # the default featurizer's; a screen, not general
            hertz = np.fft.rfftfreq(2 * width, 1 / frame_rate)
            curve = np.log10(np.interp(rates, hertz, mean) + 1e-6)
            return np.concatenate([super().__call__(spectrogram, chroma), curve]).astype(np.float32)

    return OnsetSpectrum


def envelope_statistics(base: Any) -> Any:
    """``base`` plus onset-triggered level envelopes: how a sound starts, decays or holds.

    A screened variant, not in the library: for lags of -3 to 32 frames, the level change
    ``L[t + lag] - L[t]`` (dB, the power mean of the bands) averaged over the frames ``t``
    weighted by their onset excess (the onset strength above its mean plus one spread,
    continuous, as ``peakiness`` reads it), broadband and in 4 equal groups of bands: a
    plucked or struck note falls after its onset, a bowed or blown one holds, a soft
    attack rises over the frames after it.
    """
    import dataclasses

    lags = (-3, -2, -1, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
    groups = 4

    def changes(level: Any, weight: Any) -> list[float]:
        out = []
        for lag in lags:
            if abs(lag) >= len(level):
                out.append(0.0)
                continue
            if lag > 0:
                change, at = level[lag:] - level[:-lag], weight[:-lag]
            else:
                change, at = level[:lag] - level[-lag:], weight[-lag:]
            total = at.sum()
            out.append(float((at * change).sum() / total) if total > 0 else 0.0)
        return out

    @dataclasses.dataclass(frozen=True)
    class Envelope(base):
        @property
        def dim(self) -> int:
            return super().dim + len(lags) * (groups + 1)

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            spec = np.asarray(spectrogram, np.float64)[:, : self.max_frames]
            onset = np.concatenate([[0.0], np.maximum(np.diff(spec, axis=1), 0.0).mean(axis=0)])
            weight = np.maximum(onset - onset.mean() - onset.std(), 0.0)
            power = 10 ** ((spec - spec.max()) / 10)
            parts = [power, *np.array_split(power, groups, axis=0)]
            numbers = [x for p in parts for x in changes(10 * np.log10(p.mean(0) + 1e-10), weight)]
            return np.concatenate([super().__call__(spectrogram, chroma), numbers]).astype(
                np.float32
            )

    return Envelope


def texture_statistics(base: Any) -> Any:
    """``base`` plus the texture read from a semitone spectrogram: voices, motion, note lengths.

    A screened variant, not in the library. The library's constant-Q filters
    (``melgenre._pitch.octave_filters``) read each file's audio every 1,024 samples (46 ms)
    without folding the octaves: a ``(frames, 12 x octaves)`` spectrogram, one bin a semitone
    from C1, at the recording's tuning (``_pitch.tuning``). From it, 44 numbers in three
    blocks, all unchanged by transposition and level:

    * *voicing* (9): how many semitones sound in a frame (the participation ratio of its
      distribution, as a log: mean and spread over frames weighted by their energy), the
      spread of pitch in a frame and over the clip, and how many semitones *start* and *stop*
      together (the participation ratio of the frame's rises and of its falls of the
      magnitude's square root, weighted by their totals; mean and spread): a chorale's
      chords move together, a mass's voices one at a time;
    * *motion* (25): how far pitch moves between frames, -12 to +12 semitones: the falls of
      frame ``t`` correlated with its rises ``k`` semitones higher (in constant Q, a note's
      partials all shift by ``k``), as shares of their sum: stepwise lines against leaps;
    * *persistence* (10): each semitone's log magnitude correlated with itself 1 to 32
      frames later (centred over time, bins weighted by their energy): how long notes hold.
    """
    import dataclasses

    import melgenre
    from melgenre import _pitch

    loader = melgenre.AudioLoader(sample_rate=22050)
    hop_seconds = 1024 / 22050
    lags = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
    shifts = np.arange(-12, 13)
    sizes = {"voicing": 9, "motion": len(shifts), "persistence": len(lags)}
    eps = 1e-12

    def semitones(y: Any, rate: int) -> Any:
        octaves = _pitch.chroma_octaves(rate)
        hop = int(64 * max(1, round(rate * hop_seconds / 64)))
        bins = 12 * _pitch.SUBDIVISIONS
        frames = 1 + len(y) // hop
        parts = []
        for octave, kernel in enumerate(_pitch.octave_filters(float(rate), octaves)):
            width, step = len(kernel), hop // 2**octave
            padded = np.pad(y, (width // 2, width // 2 + step))
            cut = np.lib.stride_tricks.sliding_window_view(padded, width)[::step][:frames]
            out = cut @ kernel
            parts.append(np.sqrt(out[:, :bins] ** 2 + out[:, bins:] ** 2))
            if octave < octaves - 1:
                y = _pitch.halve(y)
        fine = np.concatenate(parts[::-1], axis=1).astype(np.float64)  # ascending from C1
        folded = fine.reshape(len(fine), -1, bins).sum(1)
        position = _pitch.SUBDIVISIONS * (np.arange(fine.shape[1] // 3) + _pitch.tuning(folded))
        low = np.clip(np.floor(position).astype(int), 0, fine.shape[1] - 1)
        high = np.clip(low + 1, 0, fine.shape[1] - 1)
        frac = position - np.floor(position)
        return (1 - frac) * fine[:, low] + frac * fine[:, high]

    def moments(values: Any, weights: Any) -> list[float]:
        total = weights.sum()
        if total <= eps:
            return [0.0, 0.0]
        mean = float(values @ weights / total)
        return [mean, float(np.sqrt(max((values - mean) ** 2 @ weights / total, 0.0)))]

    def numbers(p: Any) -> Any:
        energy = p.sum(1)
        share = p / np.maximum(energy, eps)[:, None]
        count = np.log(1 / np.maximum((share**2).sum(1), eps))
        pitch = np.arange(p.shape[1])
        centre = share @ pitch
        spread = np.sqrt(np.maximum(share @ pitch**2 - centre**2, 0))
        whole = energy @ share / max(energy.sum(), eps)
        whole_spread = np.sqrt(max(whole @ pitch**2 - (whole @ pitch) ** 2, 0))
        root = np.sqrt(p)
        change = np.diff(root, axis=0)
        rises, falls = np.maximum(change, 0), np.maximum(-change, 0)
        voicing = [*moments(count, energy), *moments(spread, energy), whole_spread]
        for moves in (rises, falls):
            total = moves.sum(1)
            ratio = np.log(total**2 / np.maximum((moves**2).sum(1), eps) + eps * (total <= eps))
            voicing += moments(np.where(total > eps, ratio, 0.0), total)
        n = p.shape[1]

        def moved(k: int) -> float:  # falls at a pitch, rises k semitones above it
            return float(
                np.sum(falls[:, max(0, -k) : n - max(0, k)] * rises[:, max(0, k) : n + min(0, k)])
            )

        motion = np.array([moved(int(k)) for k in shifts])
        motion = motion / max(motion.sum(), eps)
        level = np.log(p + 1e-3 * max(p.max(), eps))
        level = level - level.mean(0)
        bin_weight = p.mean(0) / max(p.mean(0).sum(), eps)
        power = max(float((level**2).sum(0) @ bin_weight), eps)
        persistence = [
            float((level[:-d] * level[d:]).sum(0) @ bin_weight) / power if d < len(level) else 0.0
            for d in lags
        ]
        return np.concatenate([voicing, motion, persistence])

    @functools.cache
    def texture(path: str) -> Any:
        audio = loader.load(path)
        return numbers(semitones(np.asarray(audio.samples, np.float32), audio.sample_rate))

    @dataclasses.dataclass(frozen=True)
    class Texture(base):
        @property
        def blocks(self) -> dict[str, int]:
            return {**super().blocks, **sizes}

        def transform(self, features: Any) -> Any:
            plain = base(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
            files, rows = plain.transform(features)
            extra = np.array([texture(str(features.paths[f])) for f in files])
            return files, np.concatenate([rows, extra], 1).astype(np.float32)

    return Texture


def progression_statistics(base: Any) -> Any:
    """``base`` plus how the chroma moves: its correlation with itself later, transposed.

    A screened variant, not in the library: each chroma frame (the file's, as the harmony
    blocks read it; 93 ms) centred over its pitch classes and scaled to a unit norm, then
    correlated with the frame ``d`` later rolled down ``k`` pitch classes, for ``k`` 0 to 11
    and ``d`` 4 and 8 frames (0.37 and 0.74 s), averaged over frames weighted by the pair's
    energy: 24 numbers, unchanged by transposition. A chord that moves to the one a fourth
    above (a dominant to its tonic) raises ``k = 5``; modal music's steps and thirds raise
    others; ``k = 0`` is how long the harmony holds.
    """
    import dataclasses

    lags = (4, 8)

    def numbers(chroma: Any) -> list[float]:
        frames = np.asarray(chroma, np.float64)
        energy = frames.sum(1)
        centred = frames - frames.mean(1, keepdims=True)
        centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-4)
        out: list[float] = []
        for d in lags:
            if d >= len(frames):
                out += [0.0] * 12
                continue
            weight = np.sqrt(energy[:-d] * energy[d:])
            weight = weight / max(weight.sum(), 1e-12)
            later = centred[d:]
            for k in range(12):
                product = (centred[:-d] * np.roll(later, -k, axis=1)).sum(1)
                out.append(float(product @ weight))
        return out

    @dataclasses.dataclass(frozen=True)
    class Progression(base):
        @property
        def blocks(self) -> dict[str, int]:
            return {**super().blocks, "progressions": 12 * len(lags)}

        def __call__(self, spectrogram: Any, chroma: Any = None) -> Any:
            out = super().__call__(spectrogram, chroma)
            return np.concatenate([out, numbers(chroma)]).astype(np.float32)

    return Progression


def screened_head(kind: str) -> Any:
    """A ``StatisticsHead`` whose logistic regression gives way to another classifier.

    A screen: the head scales the statistics as the library's does (its block balance
    included), then fits ``kind`` on them: ``"svm"`` an RBF SVM (C in 1, 3, 10, 30 and gamma
    a third, one and three times ``1 / (dim * variance)``, by 5-fold log loss; Platt's
    probabilities), ``"trees"`` 500 extra trees, ``"lda"`` linear discriminants with
    Ledoit-Wolf shrinkage.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import ExtraTreesClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import SVC

    from melgenre.fusion import StatisticsHead

    class ScreenedHead(StatisticsHead):
        def fit_statistics(self, x: Any, labels: Any, *, n_classes: int) -> Any:
            super().fit_statistics(x, labels, n_classes=n_classes)
            scaled = self._scaled(x)
            if kind == "svm":
                gamma = 1.0 / (scaled.var() * scaled.shape[1])
                search = GridSearchCV(
                    SVC(kernel="rbf", probability=True, random_state=0),
                    {"C": [1, 3, 10, 30], "gamma": [gamma / 3, gamma, gamma * 3]},
                    scoring="neg_log_loss",
                    cv=StratifiedKFold(5, shuffle=True, random_state=0),
                )
                with warnings.catch_warnings():  # SVC(probability=True), deprecated in 1.9
                    warnings.simplefilter("ignore", FutureWarning)
                    self.other_ = search.fit(scaled, labels).best_estimator_
            elif kind == "trees":
                self.other_ = ExtraTreesClassifier(500, random_state=0, n_jobs=2)
                self.other_.fit(scaled, labels)
            else:
                self.other_ = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
                self.other_.fit(scaled, labels)
            self.n_classes_ = n_classes
            return self

        def _scaled(self, x: Any) -> Any:
            assert self.weights_ is not None
            return (np.asarray(x, np.float64) - self.weights_["mean"]) / self.weights_["scale"]

        def predict_proba(self, x: Any) -> Any:
            out = np.zeros((len(x), self.n_classes_), np.float32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                out[:, self.other_.classes_] = self.other_.predict_proba(self._scaled(x))
            return out

    return ScreenedHead


def recorded(run: dict[str, Any], key: str, part: Any, files: Any) -> Any:
    """The network's recorded probabilities of ``part``'s ``files``, as an array."""
    table = {str(Path(k).resolve()): np.asarray(v) for k, v in run[key].items()}
    return np.stack([table[str(Path(part.paths[i]).resolve())] for i in files])


def statistics_mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


if __name__ == "__main__":
    main()
