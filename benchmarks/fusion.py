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
rolled by 0-11 pitch classes; not taken), ``--texture`` (voicing, motion and note lengths
from a semitone spectrogram of the audio; not taken), ``--partials`` (the harmonic partials'
levels relative to each frame's fundamental; not taken), ``--vibrato`` (how pitch and
level waver, by a NumPy YIN: vibrato and tremolo; not taken), ``--codebook K`` (a Fisher vector of
the frames on a mixture fitted to the training frames, ``_codebook.py``; not taken),
``--chroma-network`` (a third expert, a transposition-invariant network on each file's
chroma sequence, ``_chroma_net.py``; not taken), ``--grouped-c`` (the head's L2 strength
chosen by folds grouped by the domain's groups, not by file; not taken), ``--varispeed S
...`` (the copies ``StatisticsHead(varispeed=...)`` learns from, in semitones; the
library's default since 2026-12-06, screened first by a wrapper of the head, whose records
the library's reproduce; none: the files alone), ``--noise-copies SNR`` (noisy copies too,
``_noise_copies.py``), ``--crop-copies F`` (two excerpts of the fraction F of each training
file too, ``_crop_copies.py``), ``--attack`` (the cepstra of the attacks: the screen of what
``ClipStatistics(attack=True)`` computes since 2026-12-06), ``--decay`` (the bands' change
3 and 8 frames after the onsets; not taken), ``--drop-blocks B ...`` (the head without
these blocks: an ablation), ``--test-copies S ...`` (the
head's test answers averaged over each file and its varispeed copies; not taken),
``--cepstra-correlation K`` (the power-weighted correlations of the first K cepstra,
``_timbre_screens.py``), ``--block-relevance N`` (each block scaled by the root of its
coefficients' norm, N reweighted refits: toward the group lasso) and ``--head-c C`` (the
head's C fixed); the flags combine.
``--recorded-folds`` takes each fold's files from the record (its test and validation files,
the rest trained on) instead of drawing the folds again: a regenerated set that differs by a
file or two would draw other folds, whose test files the record has no probabilities for.
``--network`` takes the network's probabilities from another candidate of ``--cv`` (a
probe's network beside the library's head), ``--also JSON:CANDIDATE`` multiplies in another
recorded network's (an ensemble of two networks and the head). The screened variants' code
is in ``_head_screens.py`` and ``_onset_screens.py`` (from the cached spectrogram and
chroma) and ``_audio_screens.py`` (from the audio).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import _audio_screens as audio_screens
import _codebook
import _folds
import _fusion_args
import _head_screens as screens
import _onset_screens as onset_screens
import _timbre_screens
import cv
import numpy as np
from _common import earlier_results, write_result


def main() -> None:
    from melgenre.fusion import FUSION_WEIGHT, WEIGHT_GRID, StatisticsHead, fuse

    args = _fusion_args.parser(__doc__.splitlines()[0]).parse_args()
    from melgenre.statistics import ClipStatistics

    kind: Any = ClipStatistics  # the screened variants add to it, in this order
    for flag, variant in (
        (args.delta_cepstra, screens.delta_cepstra_statistics),
        (args.modulation, screens.modulation_statistics),
        (args.scale_transform, onset_screens.scale_transform_statistics),
        (args.onset_spectrum, onset_screens.onset_spectrum_statistics),
    ):
        kind = variant(kind) if flag else kind
    if args.cepstra_correlation:
        kind = _timbre_screens.cepstra_correlation_statistics(kind, args.cepstra_correlation)
    if args.weighted_cepstra:
        kind = screens.weighted_cepstra_statistics(kind, args.weighted_cepstra)
    if args.weighted_bands:
        kind = screens.weighted_bands_statistics(kind)
    if args.envelope:
        kind = onset_screens.envelope_statistics(kind)
    if args.decay:
        kind = onset_screens.decay_statistics(kind)
    if args.attack:  # the screen's attacks (after the harmony) in place of the library's
        kind = onset_screens.attack_statistics(kind)
        args.statistics = {"attack": False, **args.statistics}
    if args.progressions:
        kind = screens.progression_statistics(kind)
    if args.texture:
        kind = audio_screens.texture_statistics(kind)
    if args.partials:
        kind = audio_screens.partials_statistics(kind)
    if args.vibrato:
        kind = _timbre_screens.vibrato_statistics(kind)
    head_kind: Any = screens.screened_head(args.classifier) if args.classifier else StatisticsHead
    if args.codebook:
        kind, head_kind = _codebook.screened(kind, head_kind, args.codebook, args.codebook_orders)
    if args.harmony:  # the screen's harmony in place of the library's
        kind = audio_screens.harmony_statistics(kind, args.harmony)
        args.statistics = {"harmony": False, **args.statistics}
    if args.drop_blocks:
        kind = screens.without_blocks(kind, tuple(args.drop_blocks))
    clip_statistics = kind(**args.statistics)
    copies = {} if args.varispeed is None else {"varispeed": tuple(args.varispeed)}
    record = json.loads(args.cv.read_text())
    dataset, groups = cv.load_dataset(args.domain)
    if args.grouped_c:
        if groups is None:
            raise SystemExit(f"--grouped-c: {args.domain} has no group column")
        head_kind = screens.grouped_c_head(head_kind, groups)
    if args.block_relevance:
        head_kind = screens.relevance_head(head_kind, args.block_relevance)
    if args.noise_copies is not None:
        import _noise_copies

        head_kind = _noise_copies.noisy_head(head_kind, args.noise_copies)
    if args.crop_copies is not None:
        import _crop_copies

        head_kind = _crop_copies.cropped_head(head_kind, args.crop_copies)
    network_name = args.network or args.candidate
    runs = {f["fold"]: f for f in record["candidates"][network_name]["folds"]}
    others = []
    for spec in args.also:
        path, _, name = spec.rpartition(":")
        other = json.loads(Path(path).read_text())["candidates"][name]["folds"]
        others.append({f["fold"]: f for f in other})
    if not runs or not all("file_probabilities" in f for f in runs.values()):
        raise SystemExit(f"{args.cv}: run cv.py with --keep-probabilities first")
    classes = list(dataset.classes)
    rows: list[dict[str, Any]] = []
    drawn = (
        _folds.recorded_folds(dataset, record["candidates"][network_name])
        if args.recorded_folds
        else cv.folds(dataset, groups, record["folds"])
    )
    for number, parts in enumerate(drawn):
        if number not in runs or any(number not in o for o in others):
            continue
        train, validation, test, _ = cv.fold_features(args.candidate, parts, args.cache_dir)
        start = time.perf_counter()
        head = head_kind(clip_statistics, C=args.head_c or "auto", balance=args.balance, **copies)
        head = head.fit(train)
        fit_seconds = time.perf_counter() - start
        files, stats = head.statistics.transform(test)
        descriptor = head.predict_proba(stats)
        plain = None
        if args.test_copies:  # the head's answer averaged over the file and its copies
            from melgenre._varispeed import copy_statistics

            plain = descriptor
            rows_, owners = copy_statistics(head.statistics, test, files, args.test_copies)
            total = descriptor.copy()
            np.add.at(total, owners, head.predict_proba(rows_))
            descriptor = total / (1 + np.bincount(owners, minlength=len(files)))[:, np.newaxis]
        network = recorded(runs[number], "file_probabilities", test, files)
        for other in others:  # a product of the recorded networks, as one expert
            network = fuse(network, recorded(other[number], "file_probabilities", test, files))
        fused = fuse(network, descriptor)
        chroma = None
        if args.chroma_network is not None:
            import _chroma_net

            chroma = _chroma_net.fit_predict(train, test, classes, **args.chroma_network)
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
        if hasattr(head, "relevance_"):  # --block-relevance: each block's scale
            row["relevance"] = head.relevance_
        if chroma is not None:  # the third expert alone, and multiplied in at 1 and 1/2
            row["chroma_network"] = right(chroma)
            row["fused_chroma"] = right(fuse(fused, chroma))
            row["fused_chroma_half"] = right(fuse(fused, chroma, 0.5))
        if plain is not None:
            row["statistics_plain"] = right(plain)
            row["fused_plain"] = right(fuse(network, plain))
        if weighted is not None:
            row["weight"] = head.weight
            row["fused_weighted"] = right(weighted)
        # what each weight of the grid would have scored; the Trainer's is FUSION_WEIGHT
        # and the head trusted more than the network (1.5 to 4: not on the Trainer's grid)
        row["fused_by_weight"] = {
            str(w): right(fuse(network, descriptor, w)) for w in (*WEIGHT_GRID, 1.5, 2.0, 4.0)
        }
        row["fused_default"] = row["fused_by_weight"][str(FUSION_WEIGHT)]
        if args.keep_answers:  # path: "true network head fused" class indices
            answers = zip(
                truth, network.argmax(1), descriptor.argmax(1), fused.argmax(1), strict=True
            )
            row["answers"] = {
                str(test.paths[f]): " ".join(str(int(a)) for a in answer)
                for f, answer in zip(files, answers, strict=True)
            }
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
        + (("statistics_plain", "fused_plain") if args.test_copies else ())
        + (
            ("chroma_network", "fused_chroma", "fused_chroma_half")
            if args.chroma_network is not None
            else ()
        )
    }
    print(
        ", ".join(f"{k} {v:.1%}" for k, v in summary.items() if v == v), f"over {len(rows)} folds"
    )
    results = earlier_results("cv/fusion")
    results[f"{args.domain}/{args.candidate}+statistics{args.tag}"] = {
        "network": f"cv.py candidate {network_name} ({args.cv.name})"
        + "".join(f" x {spec}" for spec in args.also),
        "statistics": repr(StatisticsHead(clip_statistics, balance=args.balance))
        + (f" with a {args.classifier} classifier" if args.classifier else ""),
        "fusion": "melgenre.fusion.fuse: normalised product, equal weights (fused) and, where "
        "validation probabilities were recorded, the weight chosen on the validation files as "
        "Trainer(statistics=True) chose it until 2026-12-05 (fused_weighted), the fixed "
        "FUSION_WEIGHT (fused_default)",
        **(
            {"chroma_network": f"_chroma_net.fit_predict({chroma_settings(args.chroma_network)})"}
            if args.chroma_network is not None
            else {}
        ),
        "classes": classes,
        "folds_from": "the record's files (--recorded-folds)" if args.recorded_folds else "drawn",
        "folds": rows,
        "mean": summary,
    }
    write_result("cv/fusion", results)


def recorded(run: dict[str, Any], key: str, part: Any, files: Any) -> Any:
    """The network's recorded probabilities of ``part``'s ``files``, as an array."""
    table = {str(Path(k).resolve()): np.asarray(v) for k, v in run[key].items()}
    return np.stack([table[str(Path(part.paths[i]).resolve())] for i in files])


def chroma_settings(given: dict[str, Any]) -> dict[str, Any]:
    """``_chroma_net.fit_predict``'s settings as run: its keyword defaults, updated by ``given``."""
    import inspect

    import _chroma_net

    parameters = inspect.signature(_chroma_net.fit_predict).parameters.values()
    defaults = {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}
    return {**defaults, **given}


def statistics_mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


if __name__ == "__main__":
    main()
