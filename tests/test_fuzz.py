"""Property tests: whatever bytes `load` is given, only melgenre errors come out, and fast."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from melgenre import Audio, AudioLoader
from melgenre.errors import MelgenreError

#: Generous: a normal decode here takes milliseconds. Anything near this is a hang.
HANG_SECONDS = 20

FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@contextlib.contextmanager
def no_hang(seconds: int) -> Iterator[None]:
    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"load() did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def load_or_melgenre_error(data: bytes) -> None:
    loader = AudioLoader(sample_rate=16000)
    with no_hang(HANG_SECONDS):
        try:
            audio = loader.load(data)
        except MelgenreError:
            return
    # Some mutations still decode: then the result must be valid audio.
    assert isinstance(audio, Audio)
    assert audio.samples.dtype == np.float32
    assert audio.n_samples > 0
    assert np.all(np.isfinite(audio.samples))


@FUZZ_SETTINGS
@given(data=st.binary(min_size=0, max_size=4096))
def test_random_bytes_raise_only_melgenre_errors(data: bytes) -> None:
    load_or_melgenre_error(data)


@pytest.mark.parametrize("kind", ["wav", "flac", "mp3", "ogg"])
@FUZZ_SETTINGS
@given(
    flips=st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1, max_size=12),
    cut=st.one_of(st.none(), st.floats(0.0, 1.0)),
    header_bias=st.booleans(),
)
def test_mutated_valid_files_raise_only_melgenre_errors(
    encoded_files: dict[str, bytes],
    kind: str,
    flips: list[tuple[int, int]],
    cut: float | None,
    header_bias: bool,
) -> None:
    data = bytearray(encoded_files[kind])
    # Half of the examples aim at the first 64 bytes, where headers live.
    span = min(64, len(data)) if header_bias else len(data)
    for position, value in flips:
        data[position % span] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    load_or_melgenre_error(bytes(data))
