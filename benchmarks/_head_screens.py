"""The statistics head's screened variants for ``fusion.py``: descriptors and classifiers.

Each ``*_statistics(base)`` returns a subclass of ``base`` (a
:class:`melgenre.statistics.ClipStatistics`) whose vector gains or changes blocks, none of
them in the library (``fusion.py``'s flags of the same names, and ``docs/training.rst`` for
what each scored); :func:`screened_head` puts another classifier in the logistic
regression's place.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import warnings
from typing import Any

import numpy as np


def weighted_cepstra_statistics(base: Any, decibels: float) -> Any:
    """``base`` with its cepstra's mean and spread weighted by each frame's level.

    A screened variant, not in the library: a frame's level is the power mean of its dB
    bands, its weight ``10 ** (level / decibels)`` (normalised over the clip), so the loud
    frames, where an instrument or a voice sounds, give the timbre, and the silences and
    reverberant tails between notes or words count for little. The vector keeps its
    blocks and their lengths; only the first two blocks' values change.
    """
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

    def summaries(path: str) -> Any:
        return _pitch.pitch_class_summaries(chroma(path).T)

    return file_blocks(base, "Harmony", _pitch.HARMONY_BLOCKS, summaries)


def file_blocks(base: Any, name: str, sizes: dict[str, int], per_file: Any) -> Any:
    """``base`` whose vector gains the blocks ``sizes``, ``per_file(path)`` of each file.

    For screens computed from a file's audio rather than its spectrogram: the statistics
    of ``base`` come first, as its ``transform`` gives them, then ``per_file``'s numbers
    (as many as ``sizes`` adds up to); the class is named ``name``.
    """

    @dataclasses.dataclass(frozen=True)
    class FileBlocks(base):
        @property
        def blocks(self) -> dict[str, int]:
            return {**super().blocks, **sizes}

        def transform(self, features: Any) -> Any:
            plain = base(**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})
            files, rows = plain.transform(features)
            extra = np.array([per_file(str(features.paths[f])) for f in files])
            return files, np.concatenate([rows, extra], 1).astype(np.float32)

    FileBlocks.__name__ = FileBlocks.__qualname__ = name
    return FileBlocks


def audio_numbers(numbers: Any) -> Any:
    """``path -> numbers(samples, rate)`` of each file's audio (22,050 Hz mono), once per file."""
    import melgenre

    loader = melgenre.AudioLoader(sample_rate=22050)

    @functools.cache
    def per_file(path: str) -> Any:
        audio = loader.load(path)
        return numbers(np.asarray(audio.samples, np.float32), audio.sample_rate)

    return per_file


def thirds_of_semitones(y: Any, rate: int) -> Any:
    """The library's constant-Q magnitudes every 1,024 samples (46 ms) at 22,050 Hz.

    ``(frames, 36 x octaves)`` float64, three bins a semitone ascending from C1 (A = 440
    Hz): ``melgenre._pitch.octave_magnitudes``' octaves side by side, at a hop rounded
    to a multiple of 64 samples as the chroma's is.
    """
    from melgenre import _pitch

    hop = int(64 * max(1, round(rate * 1024 / 22050 / 64)))
    return np.concatenate(_pitch.octave_magnitudes(y, rate, hop)[::-1], axis=1).astype(np.float64)


def delta_cepstra_statistics(base: Any) -> Any:
    """``base`` (a ``ClipStatistics``) plus the spread of the cepstra's frame-to-frame changes.

    A screened variant (how fast timbre changes: attacks, articulation), not in the library.
    """
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
    from melgenre import _pitch

    lags = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
    shifts = np.arange(-12, 13)
    sizes = {"voicing": 9, "motion": len(shifts), "persistence": len(lags)}
    eps = 1e-12

    def semitones(y: Any, rate: int) -> Any:
        bins = 12 * _pitch.SUBDIVISIONS
        fine = thirds_of_semitones(y, rate)
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

    texture = audio_numbers(lambda y, rate: numbers(semitones(y, rate)))
    return file_blocks(base, "Texture", sizes, texture)


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
    from melgenre import _pitch

    lags = (4, 8)

    def numbers(chroma: Any) -> list[float]:
        frames = np.asarray(chroma, np.float64)
        energy = frames.sum(1)
        centred = _pitch._centred(frames, axis=1)  # as the chord templates are correlated
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


def partials_statistics(base: Any) -> Any:
    """``base`` plus the levels of a sound's harmonic partials relative to its fundamental.

    A screened variant, not in the library: the classic timbre descriptor of pitched
    instruments (a clarinet's weak even partials, a flute's few, a bowed string's many),
    read whatever note is played, where the cepstra describe the envelope at the notes a
    clip happens to play. The library's constant-Q filters (``_pitch.octave_magnitudes``,
    three to a semitone, C1 to B7) read the audio every 1,024 samples (46 ms); each
    frame's fundamental is the bin whose harmonic series (partials 1 to 8, weighted
    ``0.8 ** (k - 1)``) sums the most magnitude; partial ``k`` is read ``36 log2 k`` bins
    above it. 20 numbers, one block: for partials 2 to 10, their level in dB relative to
    the fundamental's (within -60 to +20 dB), mean and spread over the frames where they
    lie below B7 (weighted by the frame's magnitude), and the share of each frame's
    magnitude that lies on its harmonic series (mean and spread): how harmonic the sound is.
    """
    from melgenre import _pitch

    steps = _pitch.SUBDIVISIONS * 12
    offsets = np.round(steps * np.log2(np.arange(1, 11))).astype(int)  # partials 1-10
    salience_weights = 0.8 ** np.arange(8)
    eps = 1e-9

    def numbers(y: Any, rate: int) -> Any:
        fine = thirds_of_semitones(y, rate)
        frames, bins = fine.shape
        padded = np.pad(fine, ((0, 0), (0, offsets[-1] + 1)))
        salience = sum(
            w * padded[:, o : o + bins] for w, o in zip(salience_weights, offsets[:8], strict=True)
        )
        f0 = salience.argmax(1)
        rows = np.arange(frames)
        base_level = fine[rows, f0]
        energy = fine.sum(1)
        out: list[float] = []
        for o in offsets[1:]:
            where = f0 + o
            valid = where < bins
            level = 20 * np.log10((padded[rows, where] + eps) / (base_level + eps))
            level = np.clip(level, -60.0, 20.0)  # an absent partial reads -60 dB, not eps
            weight = energy * valid
            total = weight.sum()
            if total <= eps:
                out += [0.0, 0.0]
                continue
            mean = float(level @ weight / total)
            spread = float(np.sqrt(max((level - mean) ** 2 @ weight / total, 0.0)))
            out += [mean, spread]
        on_series = sum(padded[rows, f0 + o] for o in offsets) / np.maximum(energy, eps)
        total = max(energy.sum(), eps)
        mean = float(on_series @ energy / total)
        out += [mean, float(np.sqrt(max((on_series - mean) ** 2 @ energy / total, 0.0)))]
        return np.array(out)

    return file_blocks(base, "Partials", {"partials": 20}, audio_numbers(numbers))


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
