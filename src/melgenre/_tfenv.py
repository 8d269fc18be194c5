"""TensorFlow's environment, set before it is imported (this module does not import it)."""

from __future__ import annotations

import os
import platform
import sys

__all__ = ["X86_64", "enable_onednn"]

#: ``platform.machine()`` names (lower case) of the machines oneDNN is turned on for.
X86_64 = ("x86_64", "amd64")


def enable_onednn() -> None:
    """Turn TensorFlow's oneDNN kernels on for x86-64 CPUs without AVX-512 too.

    TensorFlow enables them by itself only on CPUs with AVX-512; on an AVX2-only AMD
    EPYC they trained :class:`~melgenre.GenreCNN` 1.75x and ran it 1.6x faster, and the
    test suite (bit-for-bit resume, export parity) passes either way. A value the user
    set is kept (``TF_ENABLE_ONEDNN_OPTS=0`` turns them off). Called by ``import
    melgenre``; once TensorFlow is imported the variable no longer matters, so a
    program that imports TensorFlow or Keras before melgenre sets it itself.
    """
    if "tensorflow" not in sys.modules and platform.machine().lower() in X86_64:
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
