"""TensorFlow's and TFLite's known notices on standard error, dropped where melgenre starts them.

TensorFlow prints start-up lines from C++ to file descriptor 2 before Python's logging
exists (absl's "All log messages before absl::InitializeLog()", oneDNN and CPU-feature
notes, "Could not find cuda drivers", ``E0000 ... failed call to cuInit``), and the TFLite
interpreter announces its XNNPACK delegate when it first runs; to a newcomer they read as
failures. :func:`quietly` runs a block with descriptor 2 captured, drops those lines and
writes anything else back, so real errors still show. No TensorFlow import here: the TFLite
runner may run on ``ai_edge_litert`` alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["STARTUP_NOISE", "captured_stderr", "quietly"]

#: Lines TensorFlow prints while starting on a machine without a GPU, and TFLite's notice.
STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called|"
    r"port\.cc:\d+\] oneDNN custom operations are on|"
    r"cudart_stub\.cc:\d+\]|cuda_platform\.cc:\d+\] failed call to cuInit|"
    r"cuda_(dnn|fft|blas)\.cc:\d+\] Unable to register|computation_placer\.cc|"
    r"cpu_feature_guard\.cc:\d+\]|To enable the following instructions:|"
    r"TF-TRT Warning|rebuild TensorFlow with the appropriate compiler flags|"
    r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.$"
)


@contextlib.contextmanager
def captured_stderr() -> Iterator[list[str]]:
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


@contextlib.contextmanager
def quietly() -> Iterator[None]:
    """Run a block with :data:`STARTUP_NOISE` dropped from standard error, the rest kept.

    With ``TF_CPP_MIN_LOG_LEVEL=0`` (``melgenre --verbose`` sets it) nothing is dropped.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        yield
        return
    lines: list[str] = []
    try:
        with captured_stderr() as lines:
            yield
    finally:  # an error inside the block still gets its lines back
        kept = [line for line in lines if line.strip() and not STARTUP_NOISE.search(line)]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")
