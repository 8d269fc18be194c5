"""A model's body built for its windows: channels last, and too small a window an error.

:class:`~melgenre.GenreCNN` checks its own blocks before building them
(:func:`check_blocks`); another body (the classic network's, a user's) is checked as it
is built (:func:`checked_body`): Keras 3.13 and later refuse a layer whose output would
be empty, Keras 3.12 builds it with an empty axis.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from melgenre._tf import keras
from melgenre.errors import ConfigError

__all__ = ["check_blocks", "checked_body"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Held while a body is built under channels_last: Keras' setting is one for the process.
_FORMAT = threading.RLock()


def check_blocks(owner: str, size: tuple[int, int], filters: list[int], stride: int) -> None:
    """Raise unless each block of :meth:`GenreCNN.body` has at least 2 x 2 to pool."""
    sizes = [-(-int(d) // stride) for d in size]  # the first convolution ("same" padding)
    for _ in filters:
        if min(sizes) < 2:
            raise ConfigError(
                f"{owner}: windows of {size[0]} x {size[1]} are too small for {len(filters)} "
                f"blocks (each halves both axes, after a first stride of {stride}): give windows "
                f"of at least {stride * (2 ** len(filters) - 1) + 1} bands and frames, or fewer "
                "filters.",
                parameter="input_shape",
                value=size,
            )
        sizes = [d // 2 for d in sizes]


def checked_body(owner: str, inputs: Any, build: Callable[[], Any]) -> Any:
    """``build()``'s features from ``inputs``; windows too small for its layers raise.

    The body is built with Keras' image data format set to ``channels_last`` (and put
    back after, one body at a time): windows are ``(bins, frames, channels)`` whatever
    ``keras.json`` says, so every layer of every body, a subclass's too, reads them so.
    """
    shape = tuple(inputs.shape[1:])
    with _FORMAT:
        chosen = keras.config.image_data_format()
        keras.config.set_image_data_format("channels_last")
        try:
            features = build()
        except ValueError as exc:  # Keras 3.13+: "Computed output size would be zero or negative"
            plain = _ANSI.sub("", str(exc))  # Keras colours its messages
            said = [line for line in plain.splitlines() if "would be zero or negative" in line]
            if not said:
                raise
            raise _too_small(owner, shape, f"Keras: {said[0].strip()}") from exc
        finally:
            keras.config.set_image_data_format(chosen)
    for layer in keras.Model(inputs, features).layers:  # Keras 3.12 builds empty axes
        for output in keras.tree.flatten(layer.output):  # the first call's, if shared
            if 0 in (empty := tuple(output.shape)):
                raise _too_small(owner, shape, f"layer {layer.name!r} gives shape {empty}")
    return features


def _too_small(owner: str, shape: tuple[Any, ...], why: str) -> ConfigError:
    return ConfigError(
        f"{owner}: windows of {shape[0]} x {shape[1]} are too small for its layers ({why})",
        parameter="input_shape",
        value=shape,
    )
