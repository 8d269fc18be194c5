"""TensorFlow's and TFLite's known notices on standard error, dropped where melgenre starts them.

TensorFlow prints start-up lines from C++ to file descriptor 2 before Python's logging
exists (absl's "All log messages before absl::InitializeLog()", oneDNN and CPU-feature
notes, "Could not find cuda drivers", ``E0000 ... failed call to cuInit``), and the TFLite
interpreter announces its XNNPACK delegate when it first runs; to a newcomer they read as
failures. :func:`quietly` runs a block with descriptor 2 captured, drops those lines and
writes anything else back, so real errors still show. No TensorFlow import here: the TFLite
runner may run on ``ai_edge_litert`` alone.

libmpg123, which libsndfile decodes MP3 with, prints "Note: Illegal Audio-MPEG-Header ..."
and "[src/libmpg123/layer3.c:...] error: ..." for each damaged frame it skips.
:func:`decoder_notes` keeps them off standard error and hands them to the caller, in the
processes where capturing descriptor 2 is safe: melgenre's extraction workers
(:func:`capture_decoder_notes`) and the command line but ``melgenre serve``
(:func:`decoder_notes_captured`); :func:`damage_reported` turns them into one warning
naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = [
    "DECODER_NOTES",
    "STARTUP_NOISE",
    "capture_decoder_notes",
    "captured_stderr",
    "damage_reported",
    "decoder_notes",
    "decoder_notes_captured",
    "quietly",
]

logger = logging.getLogger(__name__)

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
    with _kept_off(STARTUP_NOISE):
        yield


@contextlib.contextmanager
def _kept_off(pattern: re.Pattern[str]) -> Iterator[list[str]]:
    """Run a block with standard error captured: yields the lines matching ``pattern``.

    The list is filled when the block ends (with or without an error); the other lines
    are written back to standard error, so real errors still show.
    """
    matched: list[str] = []
    lines: list[str] = []
    try:
        with captured_stderr() as lines:
            yield matched
    finally:
        matched.extend(line for line in lines if pattern.search(line))
        kept = [line for line in lines if line.strip() and not pattern.search(line)]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")


#: What libmpg123 prints about a damaged MP3 stream: its errors (prefixed with their
#: source file) and its notes on resyncing. Any other line is written back.
DECODER_NOTES = re.compile(
    r"^\[[^\]]*libmpg123/|^Note: (Illegal Audio-MPEG-Header|Trying to resync|Skipped \d+ bytes|"
    r"Hit end of \(available\) data)"
)

_capture_decoder_notes = False


def capture_decoder_notes() -> None:
    """Let :func:`decoder_notes` capture in this process: one that decodes in one thread.

    Descriptor 2 belongs to the whole process, so capturing it while another thread
    decodes would swap the descriptors under that thread; melgenre's own extraction
    workers (one file at a time) call this when they start, and nothing else does.
    """
    global _capture_decoder_notes
    _capture_decoder_notes = True


@contextlib.contextmanager
def decoder_notes_captured() -> Iterator[None]:
    """Let :func:`decoder_notes` capture in this process while the block runs.

    For the command line's own process, which decodes in its main thread only (every
    command but ``melgenre serve``, whose threads decode uploads side by side).
    """
    global _capture_decoder_notes
    before = _capture_decoder_notes
    _capture_decoder_notes = True
    try:
        yield
    finally:
        _capture_decoder_notes = before


@contextlib.contextmanager
def damage_reported(name: str) -> Iterator[None]:
    """Decode ``name`` in the block; warn once, naming it, if the decoder skipped damaged data.

    Only where :func:`decoder_notes` captures; a block that raises warns of nothing (its
    error names the file).
    """
    with decoder_notes() as notes:
        yield
    if notes:
        logger.warning(
            "%s holds damaged data that the decoder skipped (e.g. corrupt MP3 frames); "
            "the answer is from the rest.",
            name,
        )


@contextlib.contextmanager
def decoder_notes() -> Iterator[list[str]]:
    """Run a decode with :data:`DECODER_NOTES` kept off standard error: yields them after it.

    The list is filled when the block ends (with or without an error); lines of other
    origin are written back to standard error. In a process that has not called
    :func:`capture_decoder_notes` nothing is captured and the list stays empty.
    """
    if not _capture_decoder_notes:
        yield []
        return
    with _kept_off(DECODER_NOTES) as notes:
        yield notes
