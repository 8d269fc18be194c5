"""Pure numerical functions under the components (like ``torchaudio.functional``).

Everything here takes and returns NumPy arrays, knows nothing about files or
configuration, and is cheap to import. librosa defines the features and is the
reference in the tests; the few of its functions used per file are written out in
NumPy (:mod:`melgenre._filters`), so worker processes never import it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from melgenre._filters import analysis_window, power_to_db
from melgenre._typing import FloatArray, IntArray

__all__ = [
    "analysis_window",
    "frame_windows",
    "log_mel",
    "mel_power",
    "mix_to_mono",
    "pcm_to_float",
    "resample",
    "resize_time",
    "stft_power",
    "stream_mel_power",
    "window_seconds",
    "window_starts",
    "windows_from_blocks",
]


def pcm_to_float(samples: npt.NDArray[np.generic]) -> FloatArray:
    """Convert PCM samples to float32 in ``[-1, 1)``.

    Signed integers are divided by ``2**(bits-1)``; unsigned 8-bit (WAV's
    ``PCM_U8``) is centred on 128 first; floats are cast to float32.

    Raises
    ------
    TypeError
        For non-numeric, boolean or complex dtypes.
    """
    kind = samples.dtype.kind
    if kind == "f":
        return samples.astype(np.float32, copy=False)
    if kind == "i":
        scale = float(2 ** (8 * samples.dtype.itemsize - 1))
        return (samples.astype(np.float64) / scale).astype(np.float32)
    if kind == "u":
        offset = float(2 ** (8 * samples.dtype.itemsize - 1))
        return ((samples.astype(np.float64) - offset) / offset).astype(np.float32)
    raise TypeError(f"unsupported sample dtype {samples.dtype}; expected integer or float PCM")


def mix_to_mono(samples: FloatArray) -> FloatArray:
    """Average the channels of a ``(channels, n)`` array into ``(n,)``."""
    if samples.ndim == 1:
        return samples
    if samples.shape[0] == 1:  # the mean of one channel is that channel
        only: FloatArray = samples[0]
        return only
    mono: FloatArray = samples.mean(axis=0, dtype=np.float64).astype(np.float32)
    return mono


def resample(samples: FloatArray, orig_rate: int, target_rate: int, *, quality: str) -> FloatArray:
    """Resample ``(n,)`` or ``(channels, n)`` float32 audio with soxr.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,) or (channels, n), dtype=float32]
    orig_rate, target_rate : int > 0
        Sample rates in Hz.
    quality : {"QQ", "LQ", "MQ", "HQ", "VHQ"}
        soxr's quality recipe.
    """
    if orig_rate == target_rate:
        return samples
    import soxr

    out = soxr.resample(samples.T, orig_rate, target_rate, quality=quality)
    return np.ascontiguousarray(out.T, dtype=np.float32)


def stft_power(
    samples: FloatArray, *, n_fft: int, hop_length: int, window: FloatArray
) -> FloatArray:
    """Power spectrogram ``|STFT|**2`` of mono float32 audio, ``(1 + n_fft // 2, t)``.

    Equal to ``abs(librosa.stft(y, n_fft=n_fft, hop_length=hop_length, center=True,
    pad_mode="constant")) ** 2`` (to float32 precision), about twice as fast: frames are
    contiguous rows transformed in single precision by ``scipy.fft``. There are
    ``1 + len(samples) // hop_length`` frames; audio shorter than ``n_fft`` is zero-padded
    to ``n_fft`` samples first.
    """
    return _frames_power(
        _centred(samples, n_fft), n_fft=n_fft, hop_length=hop_length, window=window
    )


def _centred(samples: FloatArray, n_fft: int) -> FloatArray:
    """Float32 samples zero-padded to ``n_fft`` if shorter, then by ``n_fft // 2`` each side."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.shape[-1] < n_fft:
        samples = np.pad(samples, (0, n_fft - samples.shape[-1]))
    return np.pad(samples, (n_fft // 2, n_fft // 2))


def _frames_power(
    padded: FloatArray, *, n_fft: int, hop_length: int, window: FloatArray, count: int | None = None
) -> FloatArray:
    """``|rfft|**2`` of the frames of ``padded`` that start every ``hop_length`` samples."""
    import scipy.fft

    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:count]
    spectrum = scipy.fft.rfft(frames * window, axis=1)
    power: FloatArray = (spectrum.real**2 + spectrum.imag**2).T
    return power


#: Frames transformed together by :func:`_frames_mel`: small enough that the windowed
#: frames, their spectrum and its power stay in the CPU cache (2x faster than all at once
#: for a 15 s clip), large enough to amortise the FFT call.
_CHUNK_FRAMES = 128


def _frames_mel(
    padded: FloatArray,
    *,
    mel_basis: Any,
    n_fft: int,
    hop_length: int,
    window: FloatArray,
    count: int | None = None,
) -> FloatArray:
    """``mel_basis @ |rfft|**2`` of the frames of ``padded``, ``_CHUNK_FRAMES`` at a time.

    Each chunk's values are exactly those of :func:`_frames_power` for the same frames.
    """
    import scipy.fft

    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:count]
    out = np.empty((mel_basis.shape[0], len(frames)), dtype=np.float32)
    chunk = np.empty((min(_CHUNK_FRAMES, len(frames)), n_fft), dtype=np.float32)
    for start in range(0, len(frames), _CHUNK_FRAMES):
        part = frames[start : start + _CHUNK_FRAMES]
        windowed = np.multiply(part, window, out=chunk[: len(part)])
        spectrum = scipy.fft.rfft(windowed, axis=1, overwrite_x=True)
        power = spectrum.real**2 + spectrum.imag**2
        out[:, start : start + len(part)] = mel_basis @ power.T
    return out


def mel_power(
    samples: FloatArray,
    *,
    mel_basis: Any,
    n_fft: int,
    hop_length: int,
    window: FloatArray,
) -> FloatArray:
    """Mel power spectrogram ``mel_basis @ |STFT|**2`` of mono audio (see :func:`stft_power`).

    ``mel_basis`` is a ``(n_mels, 1 + n_fft // 2)`` array or scipy sparse matrix.

    Returns
    -------
    S : np.ndarray [shape=(n_mels, 1 + n // hop_length), dtype=float32]
    """
    return _frames_mel(
        _centred(samples, n_fft),
        mel_basis=mel_basis,
        n_fft=n_fft,
        hop_length=hop_length,
        window=window,
    )


def stream_mel_power(
    blocks: Iterable[FloatArray],
    *,
    mel_basis: Any,
    n_fft: int,
    hop_length: int,
    window: FloatArray,
) -> Iterator[FloatArray]:
    """:func:`mel_power` of the concatenated ``blocks``, computed block by block.

    Yields the columns of ``mel_power(np.concatenate(blocks), ...)`` in order,
    the same values, while holding only one block and one frame of samples:
    memory does not grow with the length of the audio. The audio must be at
    least ``n_fft`` samples long (shorter audio is padded by :func:`stft_power`
    and belongs in memory anyway).
    """
    half = n_fft // 2
    buffer = np.zeros(half, dtype=np.float32)  # the centred STFT's left padding
    consumed = 0  # position in the padded signal of buffer[0]
    frame = 0  # the next frame to compute
    for piece in itertools.chain(blocks, [np.zeros(half, dtype=np.float32)]):
        buffer = np.concatenate([buffer, np.asarray(piece, dtype=np.float32)])
        last = (consumed + len(buffer) - n_fft) // hop_length  # last complete frame
        if last >= frame:
            yield _frames_mel(
                buffer[frame * hop_length - consumed :],
                mel_basis=mel_basis,
                n_fft=n_fft,
                hop_length=hop_length,
                window=window,
                count=last - frame + 1,
            )
            frame = last + 1
        drop = frame * hop_length - consumed
        if drop > 0:
            buffer = buffer[drop:]
            consumed += drop


def log_mel(
    power: FloatArray, *, ref: float | str | np.floating[Any], top_db: float | None
) -> FloatArray:
    """Convert a power spectrogram to decibels (``librosa.power_to_db``).

    Parameters
    ----------
    power : np.ndarray [shape=(n_mels, t)]
    ref : float > 0 or "max"
        0 dB reference: a fixed power, or the spectrogram's own maximum.
    top_db : float > 0 or None
        Clip everything more than ``top_db`` below the peak.
    """
    # a float32 peak stays float32, so streamed and in-memory decibels agree to the bit
    reference = np.max(power) if isinstance(ref, str) else ref
    return power_to_db(power, ref=reference, top_db=top_db)


def windows_from_blocks(
    blocks: Iterable[FloatArray], starts: IntArray, frames: int
) -> Iterator[FloatArray]:
    """The windows of a spectrogram given as consecutive ``(n_bins, t)`` blocks of frames.

    Yields ``(k, n_bins, frames)`` arrays of the windows starting at ``starts`` (in
    order), each batch as soon as its last frame has arrived; only the frames of
    windows not yet complete are held. Joined, the batches equal
    ``frame_windows(whole_spectrogram, starts, frames)`` when every window fits.
    """
    held: FloatArray | None = None
    first, k = 0, 0  # frame index of held[:, 0]; next window
    for block in blocks:
        held = block if held is None else np.concatenate([held, block], axis=1)
        j = k
        while j < len(starts) and starts[j] + frames <= first + held.shape[1]:
            j += 1
        if j > k:
            yield frame_windows(held, starts[k:j] - first, frames, pad_value=0.0)
            k = j
        keep = int(starts[k]) - first if k < len(starts) else held.shape[1]
        held, first = held[:, keep:], first + keep


def window_starts(n_frames: int, frames: int, hop: int) -> IntArray:
    """First frame of each window that covers ``n_frames`` frames.

    Windows start every ``hop`` frames. When the last regular window does not
    reach the end, one more window, aligned to the end, covers the tail, so no
    audio is dropped. A spectrogram shorter than one window gives one window
    starting at 0 (the caller pads it).

    Examples
    --------
    >>> window_starts(300, frames=128, hop=64).tolist()
    [0, 64, 128, 172]
    >>> window_starts(100, frames=128, hop=64).tolist()
    [0]
    """
    if n_frames <= frames:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n_frames - frames + 1, hop, dtype=np.int64)
    if starts[-1] + frames < n_frames:
        starts = np.append(starts, n_frames - frames)
    return starts


def window_seconds(
    starts: IntArray, frames: int, hop_length: int, sample_rate: int, n_samples: int
) -> FloatArray:
    """``(len(starts), 2)`` float32 start and end of each window, in seconds.

    The ends are clipped to the duration of ``n_samples`` samples.

    Examples
    --------
    >>> window_seconds(np.array([0, 64]), 128, 512, 22050, 44100).round(2).tolist()
    [[0.0, 2.0], [1.49..., 2.0]]
    """
    per_frame = hop_length / sample_rate
    begin = starts.astype(np.float64) * per_frame
    end = np.minimum((starts + frames) * per_frame, n_samples / sample_rate)
    return np.stack([begin, end], axis=1).astype(np.float32)


def frame_windows(
    spec: FloatArray, starts: IntArray, frames: int, *, pad_value: float
) -> FloatArray:
    """Cut ``(bins, t)`` into ``(len(starts), bins, frames)`` windows.

    The windows are slices of ``spec`` (nothing is recomputed); a spectrogram
    shorter than ``frames`` is padded on the right with ``pad_value``.
    """
    if spec.shape[1] < frames:
        width = frames - spec.shape[1]
        spec = np.pad(spec, ((0, 0), (0, width)), mode="constant", constant_values=pad_value)
    view = np.lib.stride_tricks.sliding_window_view(spec, frames, axis=1)  # (bins, t', frames)
    return np.ascontiguousarray(view[:, starts, :].transpose(1, 0, 2), dtype=np.float32)


def resize_time(windows: FloatArray, size: int) -> FloatArray:
    """Linearly resample the last (time) axis to ``size`` points.

    Uses half-pixel centres, like ``tf.image.resize(..., method="bilinear")``,
    so a window resized here matches the classic notebook's resize along time.
    """
    n = windows.shape[-1]
    if n == size:
        return windows
    centres = (np.arange(size, dtype=np.float64) + 0.5) * (n / size) - 0.5
    centres = np.clip(centres, 0.0, n - 1)
    left = np.floor(centres).astype(np.int64)
    right = np.minimum(left + 1, n - 1)
    frac = (centres - left).astype(np.float32)
    out = windows[..., left] * (1.0 - frac) + windows[..., right] * frac
    return np.ascontiguousarray(out, dtype=np.float32)


def window_deltas(windows: FloatArray, order: int, width: int = 9) -> list[FloatArray]:
    """Delta features of each window along time, up to ``order``, each window on its own.

    The same as ``librosa.feature.delta(windows, width=width, order=k, axis=-1)`` for
    ``k = 1..order`` (a Savitzky-Golay derivative, ``mode="interp"`` at the edges); a
    window shorter than ``width`` frames uses the longest odd width that fits (at least 3).

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(16, dtype=np.float32), (1, 2, 1))  # rising by 1 per frame
    >>> [np.abs(np.round(d[0, 0, [0, 7, 15]], 4)).tolist() for d in window_deltas(ramp, 2)]
    [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]
    """
    import scipy.signal

    frames = windows.shape[-1]
    width = min(width, frames if frames % 2 else frames - 1)
    if width < 3:
        return [np.zeros_like(windows) for _ in range(order)]
    return [
        scipy.signal.savgol_filter(
            windows, width, polyorder=k, deriv=k, axis=-1, mode="interp"
        ).astype(np.float32)
        for k in range(1, order + 1)
    ]
