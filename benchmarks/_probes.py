"""Window networks for ``cv.py`` probes that the library does not offer (``model_class``).

``band_centred``: :class:`melgenre.GenreCNN` with each window's mel bands centred over
time first (each band's mean over the window's frames taken away), so that the network
reads how the spectrum moves, not its colour: the timbre of the instruments, the room
and the recording, which on ``genres-dev`` come from one pool for every class and are
the statistics head's to read (its cepstra's mean) where they do matter.
"""

from __future__ import annotations

from typing import Any

import keras

import melgenre


class BandCentre(keras.layers.Layer):
    """Each band's mean over the window's frames taken away (axis 2: the frames)."""

    def call(self, x: Any) -> Any:
        return x - keras.ops.mean(x, axis=2, keepdims=True)


class BandCentredCNN(melgenre.GenreCNN):
    """``GenreCNN`` reading band-centred windows (a probe)."""

    def body(self, inputs: Any, *, filters: list[int], dense_units: int, dropout: float) -> Any:
        centred = BandCentre(name="band_centre")(inputs)
        return super().body(centred, filters=filters, dense_units=dense_units, dropout=dropout)


MODELS: dict[str, Any] = {"band_centred": BandCentredCNN}
