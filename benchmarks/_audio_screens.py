"""The statistics head's screened variants that read each file's audio again, for ``fusion.py``.

As in ``_head_screens.py``, each ``*_statistics(base)`` returns a subclass of ``base`` (a
:class:`melgenre.statistics.ClipStatistics`) whose vector gains blocks, none of them in the
library; these compute theirs from the file's audio (22,050 Hz, mono) rather than from the
cached spectrogram: :func:`file_blocks` appends them, :func:`audio_numbers` reads each file
once.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np


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
    _copies_borrow_extra(FileBlocks, base, per_file)
    return FileBlocks


def _copies_borrow_extra(kind: Any, base: Any, per_file: Any) -> None:
    """Give the head's varispeed copies of a file the numbers ``per_file`` reads of it.

    The copies are read from the spectrogram (``melgenre._varispeed.copy_statistics``),
    without the file's audio; each copy's row gets ``base``'s statistics of the copy and
    the extra numbers of its original file (an approximation of the screen: pitch and
    tempo shifted by one or two semitones change a vibrato's or a partial's reading little).
    """
    import melgenre._varispeed as varispeed

    original = varispeed.copy_statistics

    def copy_statistics(statistics: Any, features: Any, files: Any, *args: Any, **kw: Any) -> Any:
        if not isinstance(statistics, kind):
            return original(statistics, features, files, *args, **kw)
        plain = base(**{f.name: getattr(statistics, f.name) for f in dataclasses.fields(base)})
        rows, owners = original(plain, features, files, *args, **kw)
        owned = np.asarray(files)[owners]
        extra = np.array([per_file(str(features.paths[f])) for f in owned])
        return np.concatenate([rows, extra], 1).astype(np.float32), owners

    varispeed.copy_statistics = copy_statistics


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
