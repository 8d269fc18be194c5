"""TensorFlow and Keras, imported once and quietly: ``from melgenre._tf import keras, tf``.

On a machine without a GPU, importing TensorFlow prints start-up lines to the
process's standard error from C++ before Python's logging exists (absl's
"All log messages before absl::InitializeLog()", oneDNN and CPU-feature notes,
"Could not find cuda drivers", and ``E0000 ... failed call to cuInit``), which
read as failures to a newcomer. Unless the user has chosen TensorFlow's log
level (``TF_CPP_MIN_LOG_LEVEL`` set before melgenre imports TensorFlow), the
import and the device discovery run with file descriptor 2 captured; the
known start-up lines are dropped and anything else is written back to
standard error, so real errors still show. Every module that needs TensorFlow
imports it from here; importing :mod:`melgenre` alone never does.

``import melgenre``, which runs before this module, has already set TensorFlow's
environment (:func:`melgenre._tfenv.enable_onednn`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["STARTUP_NOISE", "keras", "tf"]

#: Lines TensorFlow prints while starting on a machine without a GPU.
STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called|"
    r"port\.cc:\d+\] oneDNN custom operations are on|"
    r"cudart_stub\.cc:\d+\]|cuda_platform\.cc:\d+\] failed call to cuInit|"
    r"cuda_(dnn|fft|blas)\.cc:\d+\] Unable to register|computation_placer\.cc|"
    r"cpu_feature_guard\.cc:\d+\]|To enable the following instructions:|"
    r"TF-TRT Warning|rebuild TensorFlow with the appropriate compiler flags"
)


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Capture what C++ and Python write to file descriptor 2; yield the lines afterwards."""
    lines: list[str] = []
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. some notebooks)
        yield lines
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode(errors="replace").splitlines())


def _import_quietly() -> None:
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # later INFO and WARNING lines too
    with _captured_stderr() as lines:
        import tensorflow

        tensorflow.config.list_physical_devices()  # CUDA discovery prints here
    kept = [line for line in lines if line.strip() and not STARTUP_NOISE.search(line)]
    if kept:
        sys.stderr.write("\n".join(kept) + "\n")


_import_quietly()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
