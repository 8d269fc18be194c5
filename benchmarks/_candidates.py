"""``cv.py``'s domains and candidates: the data sets, and each candidate's library settings.

Kept apart from ``cv.py`` (which imports them as its own: ``cv.DOMAINS``, ``cv.CANDIDATES``)
so that the table of what was tried reads in one place.
"""

from __future__ import annotations

from typing import Any

DOMAINS: dict[str, tuple[str, str | None]] = {
    "genres": ("data/genres-dev", "group_id"),
    "digits": ("data/digits", "voice"),
    "instruments": ("data/instruments", "program"),
    # the same 75 programs with twice the clips of each (--per-class 120): does more of the
    # same programs help a held-out one?
    "instruments-120": ("data/instruments-120", "program"),
    # the same files split by file only, every program on both sides of a fold (stratified
    # only): how the bench README's and issue 15's first instrument figures were measured
    "instruments-files": ("data/instruments", None),
    "demo": ("data/demo", None),
    # other words than the digits the defaults were chosen on (a generalization check, not in
    # the suite): words.py --out data/commands --per-word 60 --words
    # yes,no,up,down,left,right,on,off,stop,go (Speech Commands' ten command words)
    "commands": ("data/commands", "voice"),
}

#: what ``--domain all`` runs: the development suite (instruments-120 is a study of data size)
SUITE = ("genres", "digits", "instruments", "demo")

#: name -> settings. Keys: "featurizer" (MelFeaturizer kwargs), "windows" ("for_clips": fit
#: the window to the training clips as `melgenre train` does), "model" (GenreCNN kwargs),
#: "trainer" (Trainer kwargs), "augmentation" (Augmentation kwargs), "train_hop_divisor"
#: (training windows every ``frames // divisor`` frames instead of every half window),
#: "ensemble" (seeds averaged), "seed" (the first seed, default 42), "train_fraction" (a share
#: of each class's training files, ``_folds.share``: a learning curve), "label_smoothing" (of
#: the cross-entropy), "weight_decay" (AdamW's decoupled decay, on the plan's warm-up +
#: cosine schedule).
#: Until 0.2 GenreCNN's first convolution had stride 2; the candidates measured then say so
#: explicitly (``S2``), so that their settings keep meaning what was run (``ES`` below does the
#: same for early stopping).
S2 = {"first_stride": 2}

CANDIDATES: dict[str, dict[str, Any]] = {
    # what `melgenre train` did before the adaptive defaults (0.1.0)
    "cli-0.1": {
        "model": S2,
        "trainer": {
            "epochs": 30,
            "learning_rate": 3e-4,
            "schedule": "constant",
            "monitor": "val_accuracy",
            "patience": 8,
            "smoothing": 0.0,
        },
    },
    # the library's defaults today: exactly `melgenre train` without flags (windows fitted to
    # the clips, training planned by updates, warm-up + cosine to the plan's end, no early
    # stopping, GenreCNN's first convolution at stride 1). library-full ran these settings
    # before they became the default.
    "library": {"windows": "for_clips"},
    # the defaults before the whole plan became the default: the same with smoothed early
    # stopping on the validation loss (best epoch restored). Its first folds are
    # library-s1only's, which ran these settings before stride 1 became the default.
    "library-es": {"windows": "for_clips"},
    # the defaults before 0.2: the same with the first convolution at stride 2
    "library-s2": {"windows": "for_clips", "model": S2},
    # the plan with the 128-frame window whatever the clip length
    "plan-128": {"model": S2},
    # library-s2, early stopping on the smoothed validation accuracy instead of the loss
    "library-acc": {
        "windows": "for_clips",
        "model": S2,
        "trainer": {"monitor": "val_accuracy"},
    },
    # library-acc with SpecAugment (2 time and 2 frequency masks, each up to 1/8 of the window's
    # frames / bands: 16 of 128 as in the old recipes, 6 of a 48-frame word) and mixup (0.3)
    "library-aug": {
        "windows": "for_clips",
        "model": S2,
        "trainer": {"monitor": "val_accuracy"},
        "augmentation": "scaled",
    },
    # library-aug with the first convolution at stride 1
    "library-s1": {
        "windows": "for_clips",
        "trainer": {"monitor": "val_accuracy"},
        "augmentation": "scaled",
        "model": {"first_stride": 1},
    },
    # library-s2 with only the first convolution at stride 1 (the lever isolated): today's default
    "library-s1only": {"windows": "for_clips", "model": {"first_stride": 1}},
    # a clip-level model: attention pooling over the window embeddings of a file, trained on
    # bags of random windows of each file (benchmarks/_clip.py), 30 epochs, early stopping
    "clip-attn": {"windows": "for_clips", "model": S2, "clip": {"epochs": 30, "batch_size": 8}},
    # library-s2's window model, then attention pooling trained on its frozen embeddings; the
    # JSON keeps both file-level scores of the same encoder (pooled, and the window mean)
    "clip-2stage": {"windows": "for_clips", "model": S2, "clip": {"two_stage": True}},
    # library-s2 with delta and delta-delta channels (MelFeaturizer(deltas=2))
    "library-deltas": {"windows": "for_clips", "model": S2, "featurizer": {"deltas": 2}},
    # today's defaults (stride 1) with delta and delta-delta channels
    "library-s1-deltas": {"windows": "for_clips", "featurizer": {"deltas": 2}},
    # stride 1 with a pitch shift (up to 4 mel bands, ~2 semitones up high) and a noise
    # floor 20-60 dB below each window's peak, without masks or mixup
    "library-s1-pitch-noise": {
        "windows": "for_clips",
        "model": {"first_stride": 1},
        "augmentation": {
            "time_masks": 0,
            "freq_masks": 0,
            "pitch_shift_bins": 4,
            "noise_snr_db": 20.0,
        },
    },
    # the library's clip-level path: Trainer(pooling="attention") (melgenre.pooling), the head
    # starting from the window classifier; each fold also records the window mean of the same
    # window model, so the head's own gain is paired
    "library-attn": {"windows": "for_clips", "model": S2, "trainer": {"pooling": "attention"}},
    "library-s1-attn": {
        "windows": "for_clips",
        "model": {"first_stride": 1},
        "trainer": {"pooling": "attention"},
    },
    # today's defaults, pooling over time only: the dense layer sees the frequency axis
    # (GenreCNN(global_pooling="time"))
    "library-time-pool": {"windows": "for_clips", "model": {"global_pooling": "time"}},
    # today's defaults, mean over frequency then mean + max over time
    # (GenreCNN(global_pooling="mean-max"))
    "library-mean-max": {"windows": "for_clips", "model": {"global_pooling": "mean-max"}},
    # today's defaults with 256-frame windows (6 s at 22.05 kHz) instead of 128: longer context
    "library-long": {"windows": "for_clips", "featurizer": {"frames": 256}},
    # today's defaults planned for about 6000 updates instead of 3000 (Trainer(target_updates=
    # 6000)): genre folds 1, 2 and 4 of `library` peak at their last planned epoch
    "library-6k": {"windows": "for_clips", "trainer": {"target_updates": 6000}},
    # today's defaults with training windows every 1/8 window instead of every half window
    # (validation and test windows unchanged): more distinct crops for the same updates
    "library-dense": {"windows": "for_clips", "train_hop_divisor": 8},
    # width and depth: today's defaults with half the filters per block (about a quarter of
    # the computation), and with a fifth block of 256 filters (on the 8x8 maps: ~1.3x)
    "library-narrow": {"windows": "for_clips", "model": {"filters": [8, 16, 32, 64]}},
    "library-deep": {"windows": "for_clips", "model": {"filters": [16, 32, 64, 128, 256]}},
    # today's defaults with the rhythm channel (MelFeaturizer(tempogram=True)): the
    # autocorrelation tempogram of each window's onset strength, for metre and tempo
    "library-tempogram": {"windows": "for_clips", "featurizer": {"tempogram": True}},
    # today's defaults with the harmony channel (MelFeaturizer(chroma=True)): each window's mel
    # power folded onto the twelve pitch classes, for chords and keys
    "library-chroma": {"windows": "for_clips", "featurizer": {"chroma": True}},
    # an ensemble of 3 of today's defaults trained on the same fold with seeds 42, 43, 44,
    # their window probabilities averaged at prediction time (3x the cost of training and
    # prediction); each fold also records every member's own accuracy, so the gain is paired
    "library-ens3": {"windows": "for_clips", "ensemble": 3},
    # regularisation against learning the training programs (instrument families peak at
    # epochs 8-13 of ~130): label smoothing 0.1, AdamW's decoupled weight decay 0.05 on the
    # same schedule, dropout 0.5 instead of 0.3
    "library-ls": {"windows": "for_clips", "label_smoothing": 0.1},
    "library-wd": {"windows": "for_clips", "weight_decay": 0.05},
    "library-drop5": {"windows": "for_clips", "model": {"dropout": 0.5}},
    # a random smooth equaliser on the training windows (Augmentation(eq_db=12)): up to 12 dB
    # of tilt and gentle waves across the bands, drawn per window, against learning the
    # training programs' spectral colouring (instrument folds hold out whole GM programs)
    "library-eq": {
        "windows": "for_clips",
        "augmentation": {"time_masks": 0, "freq_masks": 0, "eq_db": 12.0},
    },
    # the peak learning rate of the plan's warm-up and cosine decay (Trainer(learning_rate=...)),
    # 3x above and below the default 1e-3: the one optimizer setting never cross-validated
    "library-lr3e-3": {"windows": "for_clips", "trainer": {"learning_rate": 3e-3}},
    "library-lr3e-4": {"windows": "for_clips", "trainer": {"learning_rate": 3e-4}},
    # a frequency-position channel beside the log-mel (GenreCNN(frequency_position=True)):
    # the global mean pooling forgets where in the spectrum a pattern lies (register, formants)
    "library-freqpos": {"windows": "for_clips", "model": {"frequency_position": True}},
    # residual blocks (GenreCNN(block="residual")) at half the filters: two convolutions per
    # block at half the width cost about what today's one convolution per block costs
    "library-res-narrow": {
        "windows": "for_clips",
        "model": {"block": "residual", "filters": [8, 16, 32, 64]},
    },
    # bands spaced evenly in log frequency from 55 Hz (MelFeaturizer(frequency_scale="log")):
    # a pitch change moves a harmonic pattern along the bands without changing its shape
    "library-log": {"windows": "for_clips", "featurizer": {"frequency_scale": "log"}},
    # the whole plan, no early stopping: the cosine decay to zero ends the run, the last
    # epoch's weights are kept (does stopping on ~50 validation files help at all?)
    "library-full": {"windows": "for_clips", "trainer": {"early_stopping": False}},
    # re-screens on the whole plan (early stopping had judged these): today's defaults with
    # SpecAugment + mixup (the "scaled" masks of library-aug), with attention pooling over the
    # window embeddings, with delta channels, and planned for about 6000 updates
    "full-aug": {"windows": "for_clips", "augmentation": "scaled"},
    "full-attn": {"windows": "for_clips", "trainer": {"pooling": "attention"}},
    "full-deltas": {"windows": "for_clips", "featurizer": {"deltas": 2}},
    "full-6k": {"windows": "for_clips", "trainer": {"target_updates": 6000}},
    # more re-screens on the whole plan: training windows every 1/8 window, a fifth block,
    # 256-frame windows, label smoothing 0.1, mean + max over time, peak learning rate 3e-3
    "full-dense": {"windows": "for_clips", "train_hop_divisor": 8},
    "full-deep": {"windows": "for_clips", "model": {"filters": [16, 32, 64, 128, 256]}},
    "full-long": {"windows": "for_clips", "featurizer": {"frames": 256}},
    "full-ls": {"windows": "for_clips", "label_smoothing": 0.1},
    "full-mean-max": {"windows": "for_clips", "model": {"global_pooling": "mean-max"}},
    "full-lr3e-3": {"windows": "for_clips", "trainer": {"learning_rate": 3e-3}},
    # the whole plan + a StatisticsHead on each file's clip statistics (tempo, periodicity,
    # timbre of the whole file), its probabilities multiplied with the window mean's
    "full-stats": {"windows": "for_clips", "trainer": {"statistics": True}},
    # the validation files decide nothing by default (no early stopping, a fixed fusion
    # weight): does training on them too pay? (the same folds; nothing held out inside)
    "full-stats-all": {"windows": "for_clips", "trainer": {"statistics": True}, "all": True},
    # a probe: the window network reads each window's bands centred over time (how the
    # spectrum moves, not its colour; _probes.BandCentredCNN), the head reads the colour
    "full-stats-centred": {
        "windows": "for_clips",
        "trainer": {"statistics": True},
        "model_class": "band_centred",
    },
    # the window network alone (no head) trained on each training file's varispeed copies
    # too (+-1 and +-2 semitones, pitch and tempo together: the head's default copies), for
    # as many updates as full-stats; replayed beside the library's head with fusion.py
    # --network full-varispeed
    "full-varispeed": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "varispeed_windows": [-2, -1, 1, 2],
    },
    # a probe: the window network alone (no head) on a constant-Q transform's 128 rows from
    # C1 to B7 instead of the mel bands (_probes.ConstantQFeaturizer): pitch to a third of a
    # semitone down to the bass, for a network that reads lines and chords; its probabilities
    # are replayed beside full-stats' head with fusion.py --network
    "full-cqt": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "featurizer_class": "constant_q",
    },
    # a probe: the window network alone (no head) on windows whose time axis is counted in
    # notes (_probes.NotePeriodFeaturizer: each file's spectrogram resampled so that its note
    # period lasts 8 frames, 16 notes a window): metre patterns at one scale whatever the
    # tempo; replayed beside full-stats' head with fusion.py --network full-period
    "full-period": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "featurizer_class": "note_period",
    },
    # probes: the window network alone (no head) reading each dB window's per-channel energy
    # normalisation (_probes.WindowPCEN: each band over a 0.4 s low-pass of itself, then a
    # root, librosa.pcen's defaults; steady levels such as a room's tail flattened, onsets and
    # attacks kept), computed by the network (a matmul over the window's frames: in any
    # export), in the decibels' place (full-pcen-net) or as a second channel beside them
    # (full-pcen-channel, the bands' colour kept); the windows' cache is the library's;
    # replayed beside full-stats' head with fusion.py --cv ...-pcen.json --candidate
    # full-stats --network full-pcen-channel (--also ...-stats.json:full-stats: both networks)
    "full-pcen-net": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "model_class": "pcen",
    },
    "full-pcen-channel": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "model_class": "pcen_channel",
    },
    # the noise floor of a screen: today's window network with another seed (its initial
    # weights, batch order and dropout), nothing else changed; replayed beside full-stats'
    # head with fusion.py --cv ...-seed.json --candidate full-stats --network full-seed43,
    # paired with the recorded seed 42 (fusion.json */full-stats+statistics-library-attack)
    "full-seed43": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "seed": 43,
    },
    # a learning curve: today's window network on half and a quarter of each class's training
    # files (_folds.share, seed 0; the validation and test files as always), replayed beside the
    # head fitted on the same files (fusion.py --candidate full-half: fold_features draws them)
    "full-half": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "train_fraction": 0.5,
    },
    "full-quarter": {
        "windows": "for_clips",
        "trainer": {"statistics": False},
        "train_fraction": 0.25,
    },
    # does augmentation need a longer run to pay? full-aug with about 6000 updates (against
    # full-6k, the same length without it)
    "full-aug-6k": {
        "windows": "for_clips",
        "augmentation": "scaled",
        "trainer": {"target_updates": 6000},
    },
}
#: Candidates measured on the whole plan (no early stopping, today's default).
WHOLE_PLAN = ("library", "library-full", *(n for n in CANDIDATES if n.startswith("full-")))
#: Until the whole plan became the default, the trainer stopped early on the smoothed validation
#: loss whenever it had a validation set (``Trainer(early_stopping=None)`` today); every candidate
#: measured then says so explicitly (``ES``), so that its settings keep meaning what was run.
ES = {"early_stopping": None}
for _name, _settings in CANDIDATES.items():
    if _name not in WHOLE_PLAN:
        _settings["trainer"] = {**_settings.get("trainer", {}), **ES}
#: Until the clip statistics head became the default (``full-stats``), candidates trained
#: without it; they say so explicitly, for the same reason.
for _settings in CANDIDATES.values():
    _settings["trainer"] = {"statistics": False, **_settings.get("trainer", {})}
