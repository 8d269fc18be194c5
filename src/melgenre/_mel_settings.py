"""The checks of :class:`~melgenre.MelFeaturizer`'s settings, run when one is made; its presets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from melgenre._filters import FREQUENCY_SCALES, LOG_FMIN
from melgenre._validation import check_bool, check_choice, check_int, check_real
from melgenre.errors import ConfigError

if TYPE_CHECKING:
    from melgenre.features import MelFeaturizer

__all__ = ["CLASSIC_SETTINGS", "check_settings", "clip_frames"]

#: :meth:`MelFeaturizer.classic`'s settings: the classic notebook's 4 s chunks every 2 s
#: at 44.1 kHz (345 and 172 frames), each resized to 128 x 128.
CLASSIC_SETTINGS: dict[str, Any] = {
    "sample_rate": 44100,
    "n_fft": 2048,
    "hop_length": 512,
    "n_mels": 128,
    "frames": 345,
    "window_hop": 172,
    "resize_frames": 128,
}


def check_settings(featurizer: MelFeaturizer) -> None:
    """Raise :class:`~melgenre.ConfigError` naming the first setting out of its range.

    The chroma channel's matrix is computed here, once, so that settings under which
    it cannot tell pitch classes apart fail when the featurizer is made.
    """
    owner = type(featurizer).__name__
    check_int(owner, "n_fft", featurizer.n_fft, low=16)
    check_int(owner, "hop_length", featurizer.hop_length, low=1)
    check_int(
        owner, "win_length", featurizer.win_length, low=1, high=featurizer.n_fft, allow_none=True
    )
    check_int(owner, "n_mels", featurizer.n_mels, low=1)
    fmin, fmax, rate = featurizer.fmin, featurizer.fmax, featurizer.sample_rate
    nyquist = rate / 2
    check_real(owner, "fmin", fmin, low=0.0, high=nyquist)
    check_real(owner, "fmax", fmax, low=0.0, high=nyquist, allow_none=True)
    if fmax is not None and fmax <= fmin:
        raise ConfigError(
            f"The 'fmax' parameter of {owner} must be greater than 'fmin'. "
            f"Got fmin={fmin!r}, fmax={fmax!r} instead.",
            parameter="fmax",
            value=fmax,
        )
    check_choice(owner, "frequency_scale", featurizer.frequency_scale, FREQUENCY_SCALES)
    if featurizer.frequency_scale == "log" and (fmin or LOG_FMIN) >= (fmax or nyquist):
        raise ConfigError(
            f"{owner}(frequency_scale='log') spaces its bands from fmin (55 Hz when it is 0) "
            f"to fmax; got fmin={fmin!r}, fmax={fmax!r} at {rate} Hz.",
            parameter="fmax",
            value=fmax,
        )
    if featurizer.ref != "max":
        check_real(owner, "ref", featurizer.ref, low=0.0, closed_low=False)
    check_real(owner, "top_db", featurizer.top_db, low=0.0, closed_low=False, allow_none=True)
    check_int(owner, "frames", featurizer.frames, low=1)
    check_int(owner, "window_hop", featurizer.window_hop, low=1, allow_none=True)
    check_int(owner, "resize_frames", featurizer.resize_frames, low=1, allow_none=True)
    check_int(owner, "deltas", featurizer.deltas, low=0, high=2)
    check_bool(owner, "tempogram", featurizer.tempogram)
    check_bool(owner, "chroma", featurizer.chroma)
    if featurizer.chroma:
        check_int(owner, "n_mels", featurizer.n_mels, low=12)
        try:
            featurizer._chroma_operator  # noqa: B018 - computed (and checked) once, here
        except ValueError as exc:
            raise ConfigError(
                f"{owner}(chroma=True) cannot tell pitch classes apart: {exc}.",
                parameter="chroma",
                value=featurizer.chroma,
            ) from exc


def clip_frames(median_seconds: float, sample_rate: int, hop_length: int) -> int:
    """:meth:`MelFeaturizer.for_clips`'s window: the median clip's frames, in 32..128.

    Rounded up to a multiple of 16, so a 1 s word gets 48 frames and songs keep 128.
    """
    frames = 1 + int(median_seconds * sample_rate) // hop_length
    return min(128, max(32, -(-frames // 16) * 16))
