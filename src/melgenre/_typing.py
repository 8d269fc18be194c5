"""Type aliases shared across melgenre."""

from __future__ import annotations

import os
from typing import IO, TypeAlias, Union

import numpy as np
import numpy.typing as npt

__all__ = ["AudioSource", "FloatArray", "IntArray", "PathLike"]

#: A float32 NumPy array.
FloatArray: TypeAlias = npt.NDArray[np.float32]
#: An int64 NumPy array.
IntArray: TypeAlias = npt.NDArray[np.int64]
#: A file system path.
PathLike: TypeAlias = Union[str, "os.PathLike[str]"]
#: Anything :meth:`melgenre.AudioLoader.load` accepts: a path, a binary file
#: object, the bytes of an encoded file, or a ``(samples, sample_rate)`` pair.
AudioSource: TypeAlias = Union[
    str,
    "os.PathLike[str]",
    IO[bytes],
    bytes,
    bytearray,
    memoryview,
    tuple[npt.ArrayLike, int],
]
