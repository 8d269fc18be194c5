"""Harmony from the audio: a constant-Q chroma and its key-invariant summaries.

The mel bands are one to two semitones wide below about 1 kHz, too coarse to tell
pitch classes apart (a chroma folded from them scored nothing on the development
suite), so :func:`constant_q_chroma` reads them from the samples: octave by octave
from the top one down to C1, semitone-wide filters (Hann-windowed complex tones a
constant number of periods long) centred three to a semitone correlate with frames
every :func:`chroma_hop` samples (:func:`fine_chroma`), and between octaves the audio
is halved in rate by a five-tap binomial filter (its small droop divided out of the
next octaves' filters), so the same filters serve every octave. The recording's
tuning is read from that fine profile (:func:`tuning`) and each pitch class read at
it (:func:`tuned_chroma`): a recording a quarter of a semitone sharp reads as one in
tune. On 15 s at 22,050 Hz this takes about 2 ms; in tune, it matches librosa's
``chroma_cqt(bins_per_octave=12, hop_length=2048, tuning=0)`` to a median frame
correlation of 0.99.

:func:`pitch_class_summaries` turns a clip's chroma into the numbers
:class:`~melgenre.statistics.ClipStatistics` appends (``harmony=True``), all
continuous in the chroma (no thresholds or counts, so an exported graph can match
them) and unchanged when the music is transposed or played louder:

* *intervals* (18): the magnitudes of the first six DFT coefficients over the
  pitch classes of the clip's mean distribution, and the mean and spread of each
  frame's (the interval content: the fifth's coefficient says how diatonic, the
  third's how triadic); frames weigh by their share of the pitched energy;
* *chords* (22): the best correlation with a major and with a minor
  Krumhansl-Kessler key profile over the twelve keys and the three best of the 24;
  each frame's best correlation with seven chord types over their transpositions
  (the mean, and a soft count: a softmax at :data:`CHORD_SHARPNESS` over the
  types); the frame-to-frame change of the distribution (mean, spread, and how far
  it rises above one spread over its mean, in spreads).
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from melgenre._threads import single_blas_thread
from melgenre._typing import FloatArray
from melgenre.errors import ConfigError

__all__ = [
    "CHROMA_SECONDS",
    "HARMONY_BLOCKS",
    "audio_chroma",
    "chroma_hop",
    "chroma_octaves",
    "constant_q_chroma",
    "fine_chroma",
    "octave_magnitudes",
    "pitch_class_summaries",
    "tuned_chroma",
    "tuning",
]

#: The summaries' parts in order and their lengths (:func:`pitch_class_summaries`).
HARMONY_BLOCKS = {"intervals": 18, "chords": 22}
#: Krumhansl-Kessler key profiles (C major, C minor).
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
#: Chord types (pitch classes above the root) whose best transposition each frame is matched to:
#: major, minor, dominant seventh, diminished, augmented, suspended fourth, open fifth.
CHORD_TYPES = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 3, 6), (0, 4, 8), (0, 5, 7), (0, 7))
#: The softmax sharpness of the soft count of chord types (correlations are in [-1, 1]).
CHORD_SHARPNESS = 8.0
#: The lowest pitch of the chroma: C1 at A = 440 Hz (32.7 Hz).
C1_HZ = 440.0 * 2 ** (-9 / 12) / 8
#: The filters' quality factor: twelve bins an octave, each a semitone wide.
SEMITONE_Q = 1 / (2 ** (1 / 12) - 1)
#: Centres a semitone of the fine profile the tuning is read from (:func:`fine_chroma`).
SUBDIVISIONS = 3
#: The power of the profile's magnitudes (relative to each frame's largest) in :func:`tuning`.
TUNING_SHARPNESS = 8
#: At most this many octaves from C1 (to B7, 3.95 kHz).
MAX_OCTAVES = 7
#: The chroma's hop, in seconds (2,048 samples at 22,050 Hz).
HOP_SECONDS = 2048 / 22050
#: An octave is read only when its top (the next C) lies below this share of the rate.
NYQUIST_SHARE = 0.45
#: The chroma covers a recording's first ten minutes, as ClipStatistics' ``max_frames`` does.
CHROMA_SECONDS = 600.0
#: The binomial filter that halves the rate between octaves: ``cos(pi f / rate) ** 4``.
HALVING_TAPS = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)
#: Floors of the summaries' divisions: a frame's chroma energy and a centred profile's norm
#: count as at least this, the change's spread as at least :data:`SPREAD_FLOOR`. Normal
#: float16 numbers (the smallest is 6.1e-5), so an export quantized to float16 keeps them.
ENERGY_FLOOR = 1e-4
NORM_FLOOR = 1e-4
SPREAD_FLOOR = 1e-3


def chroma_octaves(rate: float) -> int:
    """Octaves read from C1 at ``rate`` Hz: those whose top lies below 0.45 of it, at most 7.

    Raises
    ------
    ConfigError
        The rate is too low for even the C1 octave (under about 145 Hz).
    """
    count = 0
    while count < MAX_OCTAVES and C1_HZ * 2 ** (count + 1) <= NYQUIST_SHARE * rate:
        count += 1
    if not count:
        raise ConfigError(f"A chroma from C1 needs a sample rate above 145 Hz; got {rate}.")
    return count


def chroma_hop(rate: float) -> int:
    """The chroma's hop in samples at ``rate``: about 93 ms, a multiple of 64 (the halvings)."""
    return int(64 * max(1, round(rate * HOP_SECONDS / 64)))


def _width(rate: float, octaves: int) -> int:
    """Samples per frame: the longest filter of the top octave, to the next power of two."""
    top = C1_HZ * 2 ** (octaves - 1)
    return int(2 ** np.ceil(np.log2(SEMITONE_Q * rate / top)))


@functools.cache
def octave_filters(rate: float, octaves: int) -> tuple[npt.NDArray[np.float32], ...]:
    """Each octave's filters, top octave first: ``(width, 72)``, real parts then imaginary.

    Filter ``j`` of an octave is a Hann-windowed complex tone ``j / 3`` semitones above its
    C (three centres a semitone: :data:`SUBDIVISIONS`), ``Q`` periods long, normalised to
    a unit L1 norm (as librosa's constant-Q filters are) and conjugated for a correlation;
    the octaves below the top one are read after one halving each, so their tones are
    divided by the halvings' gain at their pitch.
    """
    width = _width(rate, octaves)
    top = C1_HZ * 2 ** (octaves - 1)
    bins = 12 * SUBDIVISIONS
    out = []
    for octave in range(octaves):
        local = rate / 2**octave
        kernel = np.zeros((width, 2 * bins))
        for j in range(bins):
            hz = top / 2**octave * 2 ** (j / bins)
            length = min(int(np.ceil(SEMITONE_Q * local / hz)), width)
            n = np.arange(length) - (length - 1) / 2
            tone = np.hanning(length + 2)[1:-1] * np.exp(2j * np.pi * hz * n / local)
            tone = np.conj(tone / np.abs(tone).sum())
            for stage in range(octave):  # the halving from rate / 2**stage
                tone /= np.cos(np.pi * hz / (rate / 2**stage)) ** 4
            start = (width - length) // 2
            kernel[start : start + length, j] = tone.real
            kernel[start : start + length, bins + j] = tone.imag
        out.append(kernel.astype(np.float32))
    return tuple(out)


def halve(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Every other sample after the binomial low-pass :data:`HALVING_TAPS` (zero phase).

    Output sample ``n`` is centred on input sample ``2 n``: the times stay aligned.
    """
    a, b, c = (np.float32(t) for t in HALVING_TAPS[:3])
    size = (len(samples) + 1) // 2
    p = np.pad(samples, (2, 2 + len(samples) % 2))
    out: npt.NDArray[np.float32] = (
        (p[0 : 2 * size : 2] + p[4 : 4 + 2 * size : 2]) * a
        + (p[1 : 1 + 2 * size : 2] + p[3 : 3 + 2 * size : 2]) * b
        + p[2 : 2 + 2 * size : 2] * c
    )
    return out


def octave_magnitudes(samples: FloatArray, rate: int, hop: int) -> list[FloatArray]:
    """Each octave's ``(frames, 36)`` constant-Q magnitudes, top octave first.

    Column ``j`` of octave ``k`` (counted down from the top one, :func:`octave_filters`)
    is the semitone-wide filter ``j / 3`` semitones above that octave's C (A = 440 Hz);
    frame ``t`` is centred on sample ``t * hop``, which must be a multiple of
    ``2 ** (octaves - 1)`` (the lowest octave's step after its halvings).
    """
    octaves = chroma_octaves(rate)
    if hop < 2 ** (octaves - 1) or hop % 2 ** (octaves - 1):
        raise ConfigError(f"The hop must be a multiple of {2 ** (octaves - 1)}; got {hop}.")
    bins = 12 * SUBDIVISIONS
    y = np.asarray(samples, np.float32)
    frames = 1 + len(y) // hop
    out: list[FloatArray] = []
    with single_blas_thread():  # BLAS threads left spinning would slow the model's call
        for octave, kernel in enumerate(octave_filters(float(rate), octaves)):
            width, step = len(kernel), hop // 2**octave
            padded = np.pad(y, (width // 2, width // 2 + step))
            cut = np.lib.stride_tricks.sliding_window_view(padded, width)[::step][:frames]
            product = cut @ kernel
            out.append(np.sqrt(product[:, :bins] ** 2 + product[:, bins:] ** 2))
            if octave < octaves - 1:
                y = halve(y)
    return out


def fine_chroma(samples: FloatArray, rate: int) -> FloatArray:
    """The ``(frames, 36)`` constant-Q profile, three centres a semitone (summed magnitudes).

    Column ``j`` sums the octaves' semitone-wide filters ``j / 3`` semitones above C (A =
    440 Hz); frame ``t`` is centred on sample ``t * chroma_hop(rate)``.
    """
    hop = chroma_hop(rate)
    fine = np.zeros((1 + len(samples) // hop, 12 * SUBDIVISIONS), np.float32)
    for magnitudes in octave_magnitudes(samples, rate, hop):
        fine += magnitudes
    return fine


def tuning(fine: FloatArray) -> float:
    """The recording's tuning in semitones from A = 440 Hz, in ``[-0.5, 0.5]``.

    The circular mean of the three centres a semitone, each weighted by the profile's
    magnitudes there, relative to the frame's largest and raised to
    :data:`TUNING_SHARPNESS` (so the peaks speak, not the semitone-wide filters' broad
    skirts, which give every centre about the same sum): within 2 cents on steady tones
    and 5 on the suite's music, 0 for silence.
    """
    f = np.asarray(fine, np.float64)
    f = f / np.maximum(f.max(axis=1, keepdims=True), ENERGY_FLOOR)
    share = (f**TUNING_SHARPNESS).reshape(-1, 12, SUBDIVISIONS).sum(axis=(0, 1))
    angles = 2 * np.pi * np.arange(SUBDIVISIONS) / SUBDIVISIONS
    # the floor keeps silence (no share anywhere) at 0: TFLite's atan2(0, 0) is not 0
    angle = np.arctan2(share @ np.sin(angles), share @ np.cos(angles) + ENERGY_FLOOR)
    return float(angle / (2 * np.pi))


def tuned_chroma(fine: FloatArray, offset: float) -> FloatArray:
    """The ``(frames, 12)`` chroma read from ``fine`` ``offset`` semitones above each class.

    Pitch class ``c`` reads the profile at ``3 (c + offset)`` centres, linearly between the
    two around it (the profile is circular): continuous in the offset, and at an offset of
    0 the centres on the semitones themselves.
    """
    position = SUBDIVISIONS * offset
    shift = int(np.floor(position))
    fraction = np.float32(position - shift)
    bins = 12 * SUBDIVISIONS
    below = (SUBDIVISIONS * np.arange(12) + shift) % bins
    f = np.asarray(fine, np.float32)
    out: FloatArray = (1 - fraction) * f[:, below] + fraction * f[:, (below + 1) % bins]
    return out


def constant_q_chroma(samples: FloatArray, rate: int) -> FloatArray:
    """The ``(frames, 12)`` constant-Q chroma of mono ``samples``, at their own tuning.

    :func:`fine_chroma` read at the recording's :func:`tuning` (:func:`tuned_chroma`), so a
    recording a quarter of a semitone sharp reads as one in tune. Frame ``t`` is centred on
    sample ``t * chroma_hop(rate)``; there are ``1 + len(samples) // hop`` of them. Pitch
    class 0 is C (A = 440 Hz before the tuning); octaves from C1 up (:func:`chroma_octaves`).

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre._pitch import constant_q_chroma
    >>> t = np.arange(22050 * 2) / 22050
    >>> a = np.sin(2 * np.pi * 440.0 * t).astype(np.float32)
    >>> chroma = constant_q_chroma(a, 22050)
    >>> chroma.shape, int(chroma.mean(axis=0).argmax())   # A is pitch class 9
    ((22, 12), 9)
    """
    fine = fine_chroma(samples, rate)
    return tuned_chroma(fine, tuning(fine))


def audio_chroma(samples: FloatArray, rate: int) -> FloatArray:
    """:func:`constant_q_chroma` of the first :data:`CHROMA_SECONDS` of mono or ``(channels, n)``.

    What feature extraction stores for each file and the predictor computes: the chroma
    of the preprocessing's decoded audio, channels mixed to mono.
    """
    y = np.asarray(samples, np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0)
    return constant_q_chroma(y[: int(CHROMA_SECONDS * rate)], rate)


def _centred(v: npt.NDArray[np.float64], axis: int = 0) -> npt.NDArray[np.float64]:
    """``v`` less its mean along ``axis``, scaled to a unit norm there (a correlation's operand)."""
    v = v - v.mean(axis, keepdims=True)
    norm = np.linalg.norm(v, axis=axis, keepdims=True)
    out: npt.NDArray[np.float64] = v / np.maximum(norm, NORM_FLOOR)
    return out


@functools.cache
def templates() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The 24 keys' centred profiles ``(24, 12)`` and the chord types' ``(7, 12, 12)``."""

    def transpositions(profile: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return np.stack([_centred(np.roll(np.asarray(profile, float), r)) for r in range(12)])

    keys = np.concatenate([transpositions(MAJOR_PROFILE), transpositions(MINOR_PROFILE)])
    chords = np.stack([transpositions(np.isin(np.arange(12), chord)) for chord in CHORD_TYPES])
    return keys, chords


def pitch_class_summaries(chroma: FloatArray) -> FloatArray:
    """The 40 summaries (:data:`HARMONY_BLOCKS`) of a ``(frames, 12)`` non-negative chroma.

    See the module's description. Silence and a single frame give finite numbers.
    """
    frames = np.asarray(chroma, np.float64).T
    if frames.ndim != 2 or frames.shape[0] != 12:
        raise ConfigError(f"Expected a chroma of shape (frames, 12); got {np.shape(chroma)}.")
    energy = frames.sum(0)
    weight = energy / max(float(energy.sum()), ENERGY_FLOOR)
    frames = frames / np.maximum(energy, ENERGY_FLOOR)
    mean = frames @ weight
    dft = np.abs(np.fft.rfft(frames, axis=0))[1:7]
    dft_mean = dft @ weight
    dft_spread = np.sqrt(np.maximum(dft**2 @ weight - dft_mean**2, 0.0))
    keys, types = templates()
    key = keys @ _centred(mean)
    chords = (types @ _centred(frames)).max(axis=1)  # (types, frames)
    soft = np.exp(CHORD_SHARPNESS * chords)
    soft /= soft.sum(0, keepdims=True)
    change = np.abs(np.diff(frames, axis=1)).sum(0)
    if len(change):
        spread = float(change.std())
        excess = np.maximum(change - change.mean() - spread, 0).mean() / max(spread, SPREAD_FLOOR)
        moves = [change.mean(), spread, excess]
    else:
        moves = [0.0, 0.0, 0.0]
    return np.concatenate(
        [
            np.abs(np.fft.rfft(mean))[1:7],
            dft_mean,
            dft_spread,
            [key[:12].max(), key[12:].max()],
            np.sort(key)[-3:],
            soft @ weight,
            chords @ weight,
            moves,
        ]
    ).astype(np.float32)
