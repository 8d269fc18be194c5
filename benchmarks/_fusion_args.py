"""``fusion.py``'s command line: the replay's inputs and the screened variants' flags."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv


def parser(description: str) -> argparse.ArgumentParser:
    """The parser of ``fusion.py``'s arguments (its docstring says what each screen adds)."""
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
        "--cepstra-correlation",
        type=int,
        default=0,
        metavar="K",
        help="add the power-weighted correlations of the first K cepstra (a screen)",
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
    parser.add_argument(
        "--partials",
        action="store_true",
        help="add the levels of the harmonic partials 2-10 relative to the fundamental, read "
        "in a constant-Q spectrogram of the audio (a screen)",
    )
    parser.add_argument(
        "--vibrato",
        action="store_true",
        help="add how the pitch and level waver (vibrato and tremolo: depth, share at 3.5-8.5 "
        "Hz, rate), read by librosa.yin from the audio (a screen)",
    )
    parser.add_argument(
        "--codebook",
        type=int,
        metavar="K",
        help="add the Fisher vector of the clip's frames (cepstra and level) on a K-component "
        "Gaussian mixture fitted to the training frames (_codebook.py; a screen)",
    )
    parser.add_argument(
        "--codebook-orders",
        type=int,
        default=2,
        choices=(0, 1, 2),
        help="with --codebook: the Fisher vector's orders kept (0: the occupancy alone)",
    )
    parser.add_argument(
        "--chroma-network",
        type=json.loads,
        nargs="?",
        const={},
        default=None,
        metavar="JSON",
        help="train a third expert on each fold, a transposition-invariant network on the "
        "files' chroma sequences (_chroma_net.fit_predict, its settings as JSON, e.g. "
        '\'{"epochs": 80, "crop": 96}\'; default: its defaults), and record it alone and '
        "multiplied in (a screen)",
    )
    parser.add_argument(
        "--grouped-c",
        action="store_true",
        help="the head's L2 strength chosen by folds grouped by the domain's group column "
        "(program, voice, piece) rather than by file (a screen)",
    )
    parser.add_argument(
        "--block-relevance",
        type=int,
        default=0,
        metavar="N",
        help="N times, scale each block of the statistics by the root of the norm of the "
        "regression's coefficients on it and refit: the reweighted ridge whose fixed point "
        "is the group lasso (_head_screens.relevance_head; a screen)",
    )
    parser.add_argument(
        "--head-c",
        type=float,
        help="the head's L2 strength fixed at this C instead of chosen by cross-validation",
    )
    parser.add_argument(
        "--varispeed",
        type=float,
        nargs="*",
        metavar="SEMITONES",
        help="the varispeed copies the head also learns each training file from "
        "(StatisticsHead(varispeed=...); default: the library's VARISPEED; none: no copies)",
    )
    parser.add_argument(
        "--attack",
        action="store_true",
        help="add the cepstra of the attacks: each band's rise and level at the onsets (a screen)",
    )
    parser.add_argument(
        "--decay",
        action="store_true",
        help="add the cepstra of the bands' change 3 and 8 frames after the onsets (a screen)",
    )
    parser.add_argument(
        "--drop-blocks",
        nargs="+",
        default=[],
        metavar="BLOCK",
        help="leave these blocks of ClipStatistics.blocks out of the head (an ablation)",
    )
    parser.add_argument(
        "--test-copies",
        type=float,
        nargs="+",
        default=None,
        metavar="SEMITONES",
        help="the head's answer for a test file is the mean of its probabilities for the file "
        "and its varispeed copies at SEMITONES (test-time augmentation; a screen: the fold's "
        "plain answers are kept as statistics_plain and fused_plain)",
    )
    parser.add_argument(
        "--noise-copies",
        type=float,
        default=None,
        metavar="SNR",
        help="the head also learns from each training file with white and with pink noise at "
        "SNR dB (_noise_copies.py; a screen)",
    )
    parser.add_argument(
        "--crop-copies",
        type=float,
        default=None,
        metavar="FRACTION",
        help="the head also learns from two excerpts of FRACTION of each training file, one "
        "from its start and one to its end (_crop_copies.py; a screen)",
    )
    parser.add_argument(
        "--keep-answers",
        action="store_true",
        help="record each test file's class index: true, network's, head's and fused (for "
        "errors.py)",
    )
    parser.add_argument(
        "--recorded-folds",
        action="store_true",
        help="each fold's files as the record holds them (a regenerated set that differs)",
    )
    parser.add_argument("--tag", default="", help="suffix of the result's key in fusion.json")
    return parser
