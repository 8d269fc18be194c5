"""The in-graph twins of :class:`~melgenre.MelFeaturizer`'s steps (a mixin it inherits).

Each NumPy step has a TensorFlow twin that an exported model runs instead
(:mod:`melgenre._graph` holds the ops):

=====================  =====================  =========================================
NumPy step             in-graph twin          shapes of the twin
=====================  =====================  =========================================
``mel_power``          ``tf_mel_power``       ``(n,)`` samples to ``(t, n_mels)`` power
``scale``              ``tf_scale``           ``(t, n_mels)`` to ``(t, n_bins)``
``spectrogram``        ``tf_spectrogram``     ``(n,)`` to ``(t, n_bins)``
``windows``            ``tf_windows``         ``(t, n_bins)`` to ``(k, *output_shape)``
``transform``          ``tf_transform``       ``(n,)`` to ``(k, *output_shape)``
``window_times``       ``tf_window_times``    ``()`` sample count to ``(k, 2)`` seconds
=====================  =====================  =========================================

Twins are time-major (``(t, bins)``, as :func:`tf.signal.stft` returns them); the
NumPy steps are ``(bins, t)``. A subclass that replaces a NumPy step replaces its
twin too; where it does not, export raises :class:`~melgenre.ExportError` naming
the twin to write (a twin higher up, such as ``tf_transform``, covers the steps
below it). The parity check then proves the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from melgenre.errors import ExportError

__all__ = ["MelGraphTwins"]

#: NumPy step -> the twins that cover it (its own first, then those composed of it).
_COVERED_BY = {
    "mel_power": ("tf_mel_power", "tf_spectrogram", "tf_transform"),
    "scale": ("tf_scale", "tf_spectrogram", "tf_transform"),
    "spectrogram": ("tf_spectrogram", "tf_transform"),
    "windows": ("tf_windows", "tf_transform"),
    "_channels": ("tf_windows", "tf_transform"),
    "window_starts": ("tf_windows", "tf_transform"),
    "transform": ("tf_transform",),
}
_TIMES_COVERED_BY = {"window_starts": ("tf_window_times",), "window_times": ("tf_window_times",)}


class MelGraphTwins:
    """TensorFlow versions of the log-mel steps, with the same constants as NumPy's."""

    def tf_mel_power(self, samples: Any) -> Any:
        """:meth:`mel_power` in ops: centred STFT, librosa's window and filter bank."""
        from melgenre._graph import mel_power

        return mel_power(self, samples)  # type: ignore[arg-type]

    def tf_scale(self, power: Any) -> Any:
        """:meth:`scale` in ops: decibels re ``ref``, ``top_db`` below this recording's peak."""
        from melgenre._graph import scale

        return scale(self, power)  # type: ignore[arg-type]

    def tf_spectrogram(self, samples: Any) -> Any:
        """:meth:`spectrogram` in ops: ``tf_scale(tf_mel_power(samples))``, ``(t, n_bins)``."""
        return self.tf_scale(self.tf_mel_power(samples))

    def tf_windows(self, spec: Any) -> Any:
        """:meth:`windows` in ops: the same starts, padding, resize and delta channels."""
        from melgenre._graph import windows

        return windows(self, spec)  # type: ignore[arg-type]

    def tf_transform(self, samples: Any) -> Any:
        """:meth:`transform` in ops (see :meth:`Featurizer.tf_transform`).

        Raises
        ------
        ExportError
            A subclass replaced a NumPy step without its twin (named in the message).
        """
        self._check_twins(_COVERED_BY)
        return self.tf_windows(self.tf_spectrogram(samples))

    def tf_window_times(self, n_samples: Any) -> Any:
        """:meth:`window_times` in ops (see :meth:`Featurizer.tf_window_times`)."""
        self._check_twins(_TIMES_COVERED_BY)
        from melgenre._graph import window_times

        return window_times(self, n_samples)  # type: ignore[arg-type]

    def _check_twins(self, covered_by: Mapping[str, tuple[str, ...]]) -> None:
        from melgenre.features import MelFeaturizer

        owner = type(self)

        def replaced(name: str) -> bool:
            return getattr(owner, name) is not getattr(MelFeaturizer, name)

        missing = {
            step: twins[0]
            for step, twins in covered_by.items()
            if replaced(step) and not any(replaced(twin) for twin in twins)
        }
        if missing:
            steps = ", ".join(missing)
            twins = " and ".join(f"{owner.__name__}.{t}" for t in dict.fromkeys(missing.values()))
            raise ExportError(
                f"{owner.__name__} overrides {steps}, so MelFeaturizer's in-graph features "
                f"would differ from its own: implement {twins} (see 'Extending melgenre' in the "
                "docs) to export models trained on it."
            )
