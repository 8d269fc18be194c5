"""Clip statistics: what a file's whole spectrogram says beside its windows.

A window model hears a few seconds at a time and a file's answer averages its
windows, so what only the whole clip shows (its tempo, the period at which its
melody and harmony repeat, how its timbre varies) reaches the answer only as far
as each window carries it. :class:`ClipStatistics` summarises a file's log-mel
spectrogram in one vector, the descriptors of music information retrieval:

* the mean and standard deviation over time of ``n_mfcc`` cepstral
  coefficients (the DCT of the dB bands: timbre and its spread), with
  ``power_weighted=True`` each frame weighted by its share of the clip's power, so
  that a sound's timbre is read where it sounds, not in the silences and reverberant
  tails between its notes or words;
* the global tempogram: the autocorrelation of the onset strength (the mean
  rise of the bands from one frame to the next) in windows of
  ``tempo_window`` frames, each normalised, averaged over the clip, for lags
  1 to ``tempo_lags`` (tempo and the grouping of beats);
* the onset spectrum: the same windows' power spectra (mean removed, each
  normalised by its total, averaged), read in log10 at rates a
  ``1 / onset_rates_per_octave`` octave apart from one per ``tempo_lags`` frames
  to one per two frames: the rate of the notes read finely (the tempogram's lags
  are whole frames, 23 ms at the defaults, 15 % of a fast reel's 0.15 s note),
  and, on a log axis, as a position;
* the spectrum's self-similarity by lag: how alike the (mean-removed) bands
  are to themselves 1 to ``similarity_lags`` frames later, relative to lag 0
  (the periods of melody, harmony and bars);
* the onset strength's mean, spread and mean excess over one spread above
  its mean, in spreads (how peaked the onsets are);
* the similarity by note period: the self-similarity read at ``period_multiples``
  of the clip's note period (the strongest rate of the onset spectrum between
  ``note_periods``, weighted softly; ``melgenre._periods``): after how many notes
  the music repeats, whatever its tempo (a jig's figures of three and six notes, a
  reel's of four and eight);
* the onset spectrum by note rate: the onset spectrum read at ``rate_ratios`` of
  the note rate, relative to its level there: how the onsets group (a jig's threes,
  a hornpipe's dotted pairs), whatever the tempo;
* the similarity across bands: how alike each frame's spectrum is to itself shifted
  by 1 to ``band_shifts`` bands, from band ``band_from`` up (1 kHz at the default 128
  mel bands, where the mel scale is logarithmic: a shift is an interval, 0.46
  semitones a band), after each band has had the mean of the :data:`BAND_SMOOTHING`
  bands around it taken away (the spectral envelope), summed over frames and
  relative to shift 0: the intervals between a sound's partials, whatever its pitch
  (a full harmonic series, a clarinet's odd partials, a bell's inharmonic ones);
* the similarity by phrase: the self-similarity read, as the similarity by note period
  is, at ``phrase_multiples`` of the note period (four and eight bars of six- and
  eight-note bars at the defaults: 24, 32, 48 and 64 notes), up to ``phrase_lags``
  frames, at the lags where at least :data:`PHRASE_OVERLAP` frames of the clip
  overlap their repetition (0 at the others, so a short clip reads zeros rather than
  the few frame pairs near its end): whether the music comes back after four or
  eight bars of threes or of fours;
* with ``attack=True``, the attacks: the cepstra of each band's mean rise at the onsets
  and of the bands' level there less their level over the clip (how a sound starts: a
  brass note brightens, a hammer or a bow's scrape rises in its own bands);
* with ``harmony=True``, the harmony: key-invariant summaries of the file's
  constant-Q chroma (:meth:`Preprocessing.chroma <melgenre.Preprocessing.chroma>`,
  computed from the audio: the mel bands are too coarse below 1 kHz to tell pitch
  classes apart), its interval content and its fit to keys and chord types
  (:func:`melgenre._pitch.pitch_class_summaries`).

A :class:`~melgenre.fusion.StatisticsHead` (standardisation and a multinomial
logistic regression) classifies these vectors; its file probabilities multiply
the window model's (:func:`~melgenre.fusion.fuse`, a product of experts).
``Trainer(statistics=True)`` fits one after the window model, on the training
files.

The statistics are computed from a file's windows (:func:`spectrogram_from_windows`
puts the spectrogram back together from the overlapping slices) and, for the
harmony, its chroma, which feature extraction stores beside the windows
(:attr:`FeatureSet.chroma <melgenre.FeatureSet.chroma>`) and the predictor and an
exported model compute from the audio.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import Any

import numpy as np

from melgenre import _periods, _pitch
from melgenre._clip_blocks import (
    BAND_SMOOTHING,
    attack_cepstra,
    band_similarity,
    cepstra_moments,
    frame_weights,
    peakiness,
    rhythm,
    self_similarity,
)
from melgenre._reassembly import slices_spectrogram, spectrogram_from_windows, window_starts
from melgenre._typing import FloatArray, IntArray
from melgenre._validation import check_bool, check_int
from melgenre.data import FeatureSet
from melgenre.errors import ConfigError

__all__ = [
    "BAND_SMOOTHING",
    "PHRASE_OVERLAP",
    "ClipStatistics",
    "slices_spectrogram",
    "spectrogram_from_windows",
    "window_starts",
]

logger = logging.getLogger(__name__)

#: Frames of a clip that must overlap their repetition for the similarity by phrase to read
#: a lag (a window's length at the defaults: 3 s).
PHRASE_OVERLAP = 128
#: ``ClipStatistics.rate_ratios``' default: 1/8, 1/6, 1/4, 1/3, 1/2, 2/3, 3/4, 3/2, 2, 3, 4.
_RATE_RATIOS = (0.125, 1 / 6, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 1.5, 2.0, 3.0, 4.0)


@dataclasses.dataclass(frozen=True)
class ClipStatistics:
    """A file's log-mel spectrogram summarised as one vector (timbre, tempo, periodicity).

    Parameters
    ----------
    n_mfcc : int > 0, default=20
        Cepstral coefficients whose mean and spread are taken.
    tempo_window : int > 1, default=256
        Frames per autocorrelation window of the tempogram (about 6 s at
        22.05 kHz and a 512-sample hop).
    tempo_lags : int > 0, default=128
        Lags of the tempogram kept (about 3 s).
    tempo_hop : int > 0, default=4
        Frames between tempogram windows.
    onset_rates_per_octave : int >= 0, default=12
        Resolution of the onset spectrum: its rates are this many to an
        octave, from ``1 / tempo_lags`` to 1/2 per frame (73 rates at the
        defaults: 0.34 to 21.5 Hz at 22.05 kHz and a 512-sample hop). 0 leaves
        the onset spectrum out.
    similarity_lags : int > 0, default=320
        Lags of the spectrum's self-similarity kept (about 7.4 s; 160 until
        2026-12-05).
    period_multiples : tuple of float > 0, default=(1, 1.5, 2, 3, 4, 5, 6, 8, 9, 12, 16)
        The multiples of the note period at which the similarity is read (one
        number each); ``()`` leaves the block out.
    rate_ratios : tuple of float > 0, default=(1/8, 1/6, 1/4, 1/3, 1/2, 2/3, 3/4, 3/2, 2, 3, 4)
        The ratios of the note rate at which the onset spectrum is read, less its
        level at the note rate (one number each); ``()`` leaves the block out. It
        needs the onset spectrum (``onset_rates_per_octave > 0``).
    band_shifts : int >= 0, default=40
        Shifts of the similarity across bands kept (18 semitones above 1 kHz at
        the default mel bands); 0 leaves the block out.
    band_from : int >= 0, default=38
        The lowest band the similarity across bands reads (the 39th: 1 kHz at
        22.05 kHz and 128 mel bands, where the mel scale turns logarithmic). A
        spectrogram with fewer bands gives zeros.
    phrase_multiples : tuple of float > 0, default=(24, 32, 48, 64)
        The multiples of the note period at which the similarity by phrase reads the
        similarity (one number each; since 2026-12-07); ``()`` leaves the block out.
    phrase_lags : int > 0, default=1024
        The longest lag the similarity by phrase reads (about 24 s); readings past it
        are 0.
    note_periods : (float, float), default=(4.3, 28.7)
        The shortest and longest note period considered, in frames (10 to 1.5
        notes a second at 22.05 kHz and a 512-sample hop); at least 2 frames, and
        at least one period ``2 ** (k / 12)`` between them.
    max_frames : int > 0, default=25840
        Longer spectrograms are summarised by their first ``max_frames``
        frames (ten minutes at the defaults; a chroma covers ten minutes too).
    harmony : bool, default=True
        Append the harmony's 40 numbers (blocks ``intervals`` and ``chords``),
        summarised from the file's chroma, passed beside its spectrogram (``False``
        for configs written before the harmony, so their heads still fit).
    power_weighted : bool, default=True
        Weight each frame by its share of the clip's power (the power mean of its dB
        bands) in the cepstra's mean and spread, instead of alike (``False`` for configs
        written before 2026-12-05, so their heads still fit). Chosen by the development
        suite: spoken words' head +3.3 points, ten other words' answers +1.7, the rest
        unchanged within a few files (``docs/defaults.rst``).
    attack : bool, default=True
        Append the attacks' ``2 * n_mfcc`` numbers (blocks ``attack_rise`` and
        ``attack_level``; ``False`` for configs written before 2026-12-06, so their
        heads still fit). Chosen by the development suite (``docs/defaults.rst``).

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import Audio, Preprocessing
    >>> stats = ClipStatistics()
    >>> rng = np.random.default_rng(0)
    >>> audio = Audio(rng.normal(size=22050 * 5).astype(np.float32) * 0.1, 22050)
    >>> spec = rng.normal(size=(128, 600)).astype(np.float32)
    >>> chroma = Preprocessing().chroma(audio)       # (frames, 12), from the audio
    >>> stats(spec, chroma).shape == (stats.dim,), stats.dim - ClipStatistics(harmony=False).dim
    (True, 40)
    """

    n_mfcc: int = 20
    tempo_window: int = 256
    tempo_lags: int = 128
    tempo_hop: int = 4
    onset_rates_per_octave: int = 12
    similarity_lags: int = 320
    period_multiples: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 9.0, 12.0, 16.0)
    rate_ratios: tuple[float, ...] = _RATE_RATIOS
    note_periods: tuple[float, float] = (4.3, 28.7)
    band_shifts: int = 40
    band_from: int = 38
    phrase_multiples: tuple[float, ...] = (24.0, 32.0, 48.0, 64.0)
    phrase_lags: int = 1024
    max_frames: int = 25_840
    harmony: bool = True
    power_weighted: bool = True
    attack: bool = True

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_int(owner, "n_mfcc", self.n_mfcc, low=1)
        check_int(owner, "tempo_window", self.tempo_window, low=2)
        check_int(owner, "tempo_lags", self.tempo_lags, low=1, high=self.tempo_window - 1)
        check_int(owner, "tempo_hop", self.tempo_hop, low=1)
        check_int(owner, "onset_rates_per_octave", self.onset_rates_per_octave, low=0)
        if self.onset_rates_per_octave and self.tempo_lags < 2:
            raise ConfigError(
                f"{owner}: the onset spectrum (onset_rates_per_octave > 0) needs tempo_lags "
                f">= 2 (its lowest rate is one per tempo_lags frames); got {self.tempo_lags}."
            )
        check_int(owner, "similarity_lags", self.similarity_lags, low=1)
        check_int(owner, "band_shifts", self.band_shifts, low=0)
        check_int(owner, "band_from", self.band_from, low=0)
        check_int(owner, "phrase_lags", self.phrase_lags, low=1)
        check_int(owner, "max_frames", self.max_frames, low=1)
        check_bool(owner, "harmony", self.harmony)
        check_bool(owner, "power_weighted", self.power_weighted)
        check_bool(owner, "attack", self.attack)
        sequences = ("period_multiples", "rate_ratios", "note_periods", "phrase_multiples")
        for name in sequences:  # JSON's lists: tuples
            object.__setattr__(self, name, _periods.checked(self, name))

    @property
    def dim(self) -> int:
        """Length of the vector."""
        return sum(self.blocks.values())

    @property
    def blocks(self) -> dict[str, int]:
        """The vector's parts in order, by name, and their lengths (summing to :attr:`dim`)."""
        return {
            "cepstra_mean": self.n_mfcc,
            "cepstra_std": self.n_mfcc,
            "tempogram": self.tempo_lags,
            "onset_spectrum": len(self.onset_rates),
            "similarity": self.similarity_lags,
            "onset": 3,
            "similarity_by_period": len(self.period_multiples),
            "onset_by_note_rate": len(self.rate_ratios),
            "band_similarity": self.band_shifts,
            "similarity_by_phrase": len(self.phrase_multiples),
            "attack_rise": self.n_mfcc if self.attack else 0,
            "attack_level": self.n_mfcc if self.attack else 0,
            **(_pitch.HARMONY_BLOCKS if self.harmony else {}),
        }

    @property
    def similarity_reach(self) -> int:
        """Lags of the self-similarity computed: the block's, or the phrases' when longer."""
        return max(self.similarity_lags, self.phrase_lags if self.phrase_multiples else 0)

    @property
    def note_period_grid(self) -> FloatArray:
        """The note periods the blocks read relative to them weigh, in frames (ascending)."""
        return _periods.note_period_grid(*self.note_periods)

    @property
    def onset_rates(self) -> FloatArray:
        """The onset spectrum's rates, in cycles per frame (empty when it is off)."""
        if not self.onset_rates_per_octave:
            return np.zeros(0, np.float64)
        per_octave = self.onset_rates_per_octave
        count = int(np.floor(per_octave * np.log2(self.tempo_lags / 2) + 1e-9)) + 1
        return np.asarray(2.0 ** (np.arange(count) / per_octave) / self.tempo_lags)

    def __call__(self, spectrogram: FloatArray, chroma: FloatArray | None = None) -> FloatArray:
        """The statistics of one ``(n_bins, n_frames)`` dB spectrogram, shape ``(dim,)``.

        With ``harmony=True``, ``chroma`` is the file's ``(frames, 12)`` chroma
        (:meth:`Preprocessing.chroma <melgenre.Preprocessing.chroma>`).
        """
        from scipy.fft import dct

        if self.harmony and chroma is None:
            raise ConfigError(
                "ClipStatistics(harmony=True) needs the file's chroma beside its spectrogram "
                "(Preprocessing.chroma of its audio)."
            )

        spec = np.asarray(spectrogram, dtype=np.float64)[:, : self.max_frames]
        if spec.ndim != 2 or spec.shape[1] < 2:
            raise ConfigError(
                f"Expected a spectrogram (n_bins, n_frames >= 2); got {np.shape(spectrogram)}."
            )
        cepstra = dct(spec, type=2, axis=0, norm="ortho")[: self.n_mfcc]
        cepstra = np.pad(cepstra, ((0, self.n_mfcc - len(cepstra)), (0, 0)))
        weights = frame_weights(spec) if self.power_weighted else None  # the attacks' too
        moments = cepstra_moments(cepstra, weights)
        rises = np.maximum(np.diff(spec, axis=1), 0.0)
        onset = np.concatenate([[0.0], rises.mean(axis=0)])
        spread = float(onset.std())
        relative = self.period_multiples or self.rate_ratios
        tempogram, onset_spectrum, period_log_power = rhythm(
            onset,
            window=self.tempo_window,
            hop=self.tempo_hop,
            lags=self.tempo_lags,
            rates=self.onset_rates,
            periods=self.note_period_grid if relative else self.onset_rates[:0],
        )
        reach = self_similarity(spec, self.similarity_reach)
        similarity = reach[: self.similarity_lags]
        by_period, by_rate, by_phrase = _periods.relative_blocks(
            self, reach, onset_spectrum, period_log_power, spec.shape[1], PHRASE_OVERLAP
        )
        return np.concatenate(
            [
                *moments,
                tempogram,
                onset_spectrum,
                similarity,
                [onset.mean(), spread, peakiness(onset, spread)],
                by_period,
                by_rate,
                band_similarity(spec, band_from=self.band_from, shifts=self.band_shifts),
                by_phrase,
                attack_cepstra(spec, rises, weights, self.n_mfcc) if self.attack else [],
                _pitch.pitch_class_summaries(chroma) if self.harmony and chroma is not None else [],
            ]
        ).astype(np.float32)

    def from_windows(
        self, windows: FloatArray, starts: IntArray | None = None, chroma: FloatArray | None = None
    ) -> FloatArray:
        """The statistics of one file from its windows (:func:`spectrogram_from_windows`)."""
        return self(spectrogram_from_windows(windows, starts), chroma)

    def transform(self, features: FeatureSet) -> tuple[IntArray, FloatArray]:
        """Every file's statistics: ``(file indices, (n_files, dim) array)``, files sorted.

        Reads one file's windows at a time (memory-mapped sets stay on disk).
        """
        groups = np.asarray(features.groups)
        files, first = np.unique(groups, return_index=True)
        bounds = np.append(np.sort(first), len(groups))
        rows = np.zeros((len(files), self.dim), np.float32)
        for start, stop in itertools.pairwise(bounds):
            file = int(groups[start])
            if not np.all(groups[start:stop] == file):
                raise ConfigError("A FeatureSet's windows must come file after file.")
            chroma = features.file_chroma(file) if self.harmony else None
            rows[int(np.searchsorted(files, file))] = self.from_windows(
                features.x[start:stop], chroma=chroma
            )
        return files, rows

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-safe: sequences as lists, as JSON gives them back)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClipStatistics:
        """Rebuild from :meth:`get_config`.

        A config without ``onset_rates_per_octave`` was written before the onset
        spectrum existed, one without ``period_multiples`` or ``rate_ratios`` before
        the similarity by note period or the onset spectrum by note rate, one without
        ``band_shifts`` before the similarity across bands, one without
        ``phrase_multiples`` before the similarity by phrase, one without ``harmony``
        before the harmony, one without ``power_weighted`` before the cepstra were
        weighted by power, one without ``attack`` before the attacks: they are rebuilt
        without them, so their head's weights still fit.
        """
        earlier = {
            "onset_rates_per_octave": 0,
            "period_multiples": (),
            "rate_ratios": (),
            "band_shifts": 0,
            "phrase_multiples": (),
            "harmony": False,
            "power_weighted": False,
            "attack": False,
        }
        return cls(**{**earlier, **config})
