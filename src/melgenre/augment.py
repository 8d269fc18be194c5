"""Training-time augmentation of spectrogram windows: :class:`Augmentation`.

SpecAugment's time and frequency masks (Park et al., 2019), a random level
shift ("gain" in the log domain), a shift along the mel axis (a pitch shift,
approximately), a random smooth equaliser, a noise floor added in the power
domain and mixup (Zhang et al., 2018), applied to
whole batches as TensorFlow ops inside the ``tf.data`` input pipeline (a
``Dataset.map``), never in a Python loop and never at prediction time.

Every random draw is *stateless*: it comes from a seed derived from the
trainer's seed, the epoch and the batch index, so a run is reproducible and a
resumed run draws exactly what the interrupted one would have drawn.

This module imports TensorFlow only when a batch is augmented.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from melgenre._config import Component
from melgenre._registry import register_component
from melgenre._validation import check_int, check_real

if TYPE_CHECKING:
    from melgenre._tf import tf

__all__ = ["Augmentation"]


@register_component(package="melgenre")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Augmentation(Component):
    """Random masks, level shifts, pitch shifts, noise and mixup for batches of log-mel windows.

    Used by :class:`melgenre.Trainer` (``Trainer(augmentation=...)``) on the
    training batches only; validation, evaluation and prediction see the
    windows unchanged. Windows are ``(batch, n_bins, frames, 1)`` as
    :class:`melgenre.MelFeaturizer` makes them.

    Parameters
    ----------
    time_masks : int >= 0, default=2
        Number of time masks per window (SpecAugment's *T* masks).
    max_time_mask : int >= 0, default=16
        Widest time mask, in frames; each mask's width is uniform in
        ``[0, max_time_mask]``.
    freq_masks : int >= 0, default=2
        Number of frequency masks per window (SpecAugment's *F* masks).
    max_freq_mask : int >= 0, default=16
        Widest frequency mask, in mel bands.
    gain_db : float >= 0, default=0.0
        Shift each window's level by a uniform draw in ``[-gain_db, gain_db]``
        dB (a gain applied to the audio is an offset on a log spectrogram).
        :class:`melgenre.GenreCNN` standardises each window, which cancels an
        offset, so this matters for models that do not; 0 turns it off.
    mixup_alpha : float >= 0, default=0.0
        Mixup: each window becomes ``lam * x + (1 - lam) * x'`` with another
        window ``x'`` of the batch, and its one-hot label the same mix, with
        ``lam ~ Beta(alpha, alpha)``. 0 turns it off; 0.2-0.4 is usual.
    pitch_shift_bins : int >= 0, default=0
        Shift each window along the frequency axis by a uniform whole number
        of bands in ``[-pitch_shift_bins, pitch_shift_bins]``; the bands
        shifted in repeat the edge band. On a mel axis this is close to a
        pitch shift above about 1 kHz, where the mel scale is logarithmic
        (with 128 bands up to 11 kHz, a semitone is about 2 bands) and a
        smaller one below. Every channel moves alike, so delta channels stay
        consistent. 0 turns it off.
    eq_db : float >= 0, default=0.0
        A random equaliser: add a smooth gain curve across the bands to each
        window's first channel (dB), the same at every frame, as a different
        microphone, room or instrument body would colour a recording. The
        curve is a random mix of the first four cosines over the band axis
        (a tilt, a bow and two gentler waves: the spectral envelope's
        lowest cepstral terms), scaled so that its largest gain is uniform in
        ``[0, eq_db]`` dB. A curve constant in time leaves delta channels
        unchanged. 0 turns it off; 6-12 dB is a moderate colouring.
    noise_snr_db : float > 0 or None, default=None
        Add a flat noise floor in the power domain: each window's first
        channel (dB) becomes ``10 log10(10^(x/10) + 10^(n/10))`` with the
        floor ``n`` between ``noise_snr_db`` and ``noise_snr_db + 40`` dB
        (uniform) below the window's peak, as a quiet background would. Delta
        channels are not recomputed, so use it without ``deltas``.
        ``None`` turns it off.

    Notes
    -----
    Masked cells are set to the window's mean (each channel's), which a
    per-window standardisation maps to zero, as in SpecAugment. The pitch
    shift comes first, then the equaliser, the noise, the masks and the level shift, then
    mixup.

    Examples
    --------
    >>> import numpy as np
    >>> from melgenre import Augmentation
    >>> augment = Augmentation(time_masks=1, max_time_mask=4, freq_masks=0)
    >>> x = np.arange(2 * 8 * 8, dtype="float32").reshape(2, 8, 8, 1)
    >>> y = np.eye(2, dtype="float32")
    >>> xa, ya = augment(x, y, seed=(0, 1))
    >>> xa.shape, bool((ya.numpy() == y).all())
    (TensorShape([2, 8, 8, 1]), True)
    >>> Augmentation.from_config(augment.get_config()) == augment
    True
    """

    time_masks: int = 2
    max_time_mask: int = 16
    freq_masks: int = 2
    max_freq_mask: int = 16
    gain_db: float = 0.0
    mixup_alpha: float = 0.0
    pitch_shift_bins: int = 0
    noise_snr_db: float | None = None
    eq_db: float = 0.0

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for name in (
            "time_masks",
            "max_time_mask",
            "freq_masks",
            "max_freq_mask",
            "pitch_shift_bins",
        ):
            check_int(owner, name, getattr(self, name), low=0)
        check_real(owner, "gain_db", self.gain_db, low=0.0)
        check_real(owner, "mixup_alpha", self.mixup_alpha, low=0.0)
        check_real(owner, "eq_db", self.eq_db, low=0.0)
        check_real(
            owner, "noise_snr_db", self.noise_snr_db, low=0.0, closed_low=False, allow_none=True
        )

    @property
    def is_identity(self) -> bool:
        """True when every augmentation is turned off."""
        return (
            (self.time_masks == 0 or self.max_time_mask == 0)
            and (self.freq_masks == 0 or self.max_freq_mask == 0)
            and self.gain_db == 0
            and self.mixup_alpha == 0
            and self.pitch_shift_bins == 0
            and self.noise_snr_db is None
            and self.eq_db == 0
        )

    def __call__(self, x: Any, y: Any, seed: Any) -> tuple[tf.Tensor, tf.Tensor]:
        """Augment one batch.

        Parameters
        ----------
        x : tensor or array, shape (batch, n_bins, frames, channels)
        y : tensor or array, shape (batch, n_classes)
            One-hot (or soft) labels; only mixup changes them.
        seed : tensor or sequence of two ints
            The stateless seed of this batch; the same seed gives the same
            augmentation.

        Returns
        -------
        x, y : tf.Tensor
        """
        from melgenre._tf import tf

        x = tf.convert_to_tensor(x, dtype=tf.float32)
        y = tf.convert_to_tensor(y, dtype=tf.float32)
        base = tf.cast(tf.convert_to_tensor(seed), tf.int64)
        seeds = tf.random.experimental.stateless_split(base, num=5)
        batch = tf.shape(x)[0]
        # seeds of their own for the later additions, so the earlier draws are unchanged
        if self.pitch_shift_bins:
            shift_seed = tf.random.experimental.stateless_fold_in(base, 5)
            x = _shift_bands(x, shift_seed, self.pitch_shift_bins)
        if self.eq_db:
            eq_seed = tf.random.experimental.stateless_fold_in(base, 7)
            x = _on_first_channel(x, x[..., :1] + _eq_curves(x, eq_seed, self.eq_db))
        if self.noise_snr_db is not None:
            noise_seed = tf.random.experimental.stateless_fold_in(base, 6)
            x = _add_noise_floor(x, noise_seed, self.noise_snr_db)
        masked = tf.zeros(tf.shape(x)[:3], dtype=tf.bool)
        if self.freq_masks and self.max_freq_mask:
            bands = _band_masks(
                seeds[0], batch, tf.shape(x)[1], self.freq_masks, self.max_freq_mask
            )
            masked = masked | bands[:, :, None]
        if self.time_masks and self.max_time_mask:
            frames = _band_masks(
                seeds[1], batch, tf.shape(x)[2], self.time_masks, self.max_time_mask
            )
            masked = masked | frames[:, None, :]
        if self.freq_masks or self.time_masks:
            mean = tf.reduce_mean(x, axis=(1, 2), keepdims=True)
            x = tf.where(masked[..., None], mean, x)
        if self.gain_db:
            shift = tf.random.stateless_uniform(
                (batch, 1, 1, 1), seeds[2], -self.gain_db, self.gain_db
            )
            x = _on_first_channel(x, x[..., :1] + shift)
        if self.mixup_alpha:
            alpha = tf.fill((batch,), tf.constant(self.mixup_alpha, tf.float32))
            a = tf.random.stateless_gamma((batch,), seeds[3], alpha=alpha)
            b = tf.random.stateless_gamma((batch,), seeds[4], alpha=alpha)
            lam = a / tf.maximum(a + b, 1e-12)
            partner = tf.argsort(tf.random.stateless_uniform((batch,), seeds[4] + 1))
            x = _mix(x, tf.gather(x, partner), lam[:, None, None, None])
            y = _mix(y, tf.gather(y, partner), lam[:, None])
        return x, y


def _band_masks(seed: Any, batch: Any, size: Any, count: int, widest: int) -> tf.Tensor:
    """``(batch, size)`` booleans: ``count`` random bands of width ``[0, widest]`` per row."""
    from melgenre._tf import tf

    width_seed, start_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    widths = tf.random.stateless_uniform(
        (batch, count), width_seed, minval=0, maxval=widest + 1, dtype=tf.int32
    )
    widths = tf.minimum(widths, size)
    room = tf.cast(size - widths + 1, tf.float32)
    starts = tf.cast(tf.random.stateless_uniform((batch, count), start_seed) * room, tf.int32)
    position = tf.range(size)[None, None, :]
    inside = (position >= starts[..., None]) & (position < (starts + widths)[..., None])
    return tf.reduce_any(inside, axis=1)


def _mix(a: tf.Tensor, b: tf.Tensor, lam: tf.Tensor) -> tf.Tensor:
    return lam * a + (1.0 - lam) * b


def _on_first_channel(x: tf.Tensor, first: tf.Tensor) -> tf.Tensor:
    """``x`` with its first channel replaced by ``first`` (the dB channel; deltas stay)."""
    from melgenre._tf import tf

    return tf.concat([first, x[..., 1:]], axis=-1)


def _shift_bands(x: tf.Tensor, seed: Any, widest: int) -> tf.Tensor:
    """Each window moved by a random whole number of bands in ``[-widest, widest]``."""
    from melgenre._tf import tf

    batch, bands = tf.shape(x)[0], tf.shape(x)[1]
    shift = tf.random.stateless_uniform(
        (batch,), seed, minval=-widest, maxval=widest + 1, dtype=tf.int32
    )
    # band i of the result is band i - shift of the input, clamped to the edges
    source = tf.clip_by_value(tf.range(bands)[None, :] - shift[:, None], 0, bands - 1)
    return tf.gather(x, source, axis=1, batch_dims=1)


#: Cosines over the band axis mixed into an equaliser curve (1: a tilt, 2: a bow, ...).
EQ_TERMS = 4


def _eq_curves(x: tf.Tensor, seed: Any, largest_db: float) -> tf.Tensor:
    """``(batch, n_bins, 1, 1)`` smooth random gain curves, each peaking at ``U(0, largest_db)``."""
    from melgenre._tf import tf

    batch, bands = tf.shape(x)[0], tf.shape(x)[1]
    mix_seed, size_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    weights = tf.random.stateless_uniform((batch, EQ_TERMS), mix_seed, -1.0, 1.0)
    centres = (tf.range(bands, dtype=tf.float32) + 0.5) / tf.cast(bands, tf.float32)
    order = tf.range(1, EQ_TERMS + 1, dtype=tf.float32)
    basis = tf.cos(math.pi * order[:, None] * centres[None, :])
    curves = weights @ basis  # (batch, bands)
    largest = tf.reduce_max(tf.abs(curves), axis=1, keepdims=True)
    size = tf.random.stateless_uniform((batch, 1), size_seed, 0.0, largest_db)
    curves = curves * size / tf.maximum(largest, 1e-6)
    return curves[:, :, None, None]


def _add_noise_floor(x: tf.Tensor, seed: Any, snr_db: float) -> tf.Tensor:
    """A flat noise floor ``snr_db`` to ``snr_db + 40`` dB below the peak, added as power."""
    from melgenre._tf import tf

    db = x[..., :1]
    peak = tf.reduce_max(db, axis=(1, 2, 3), keepdims=True)
    below = tf.random.stateless_uniform((tf.shape(x)[0], 1, 1, 1), seed, snr_db, snr_db + 40.0)
    floor = peak - below
    # log-sum-exp in dB: 10 log10(10^(a/10) + 10^(b/10)), stable for large differences
    high = tf.maximum(db, floor)
    low = tf.minimum(db, floor)
    mixed = high + 10.0 * tf.math.log(1.0 + tf.pow(10.0, (low - high) / 10.0)) / tf.math.log(10.0)
    return _on_first_channel(x, mixed)
