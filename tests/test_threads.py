"""melgenre's own matrix products run on one BLAS thread, and leave the count as it was."""

from __future__ import annotations

import threading

import numpy as np
from threadpoolctl import threadpool_info

from melgenre import _pitch
from melgenre._threads import single_blas_thread


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_one_thread_inside_and_the_counts_restored_after() -> None:
    before = _blas_threads()
    with single_blas_thread():
        assert all(n == 1 for n in _blas_threads())
        with single_blas_thread():  # re-entrant
            assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before


def test_concurrent_callers_leave_the_counts_as_they_were() -> None:
    before = _blas_threads()
    t = np.arange(22050 * 2) / 22050
    tone = np.sin(2 * np.pi * 440.0 * t).astype(np.float32)
    results: list[np.ndarray] = []

    def work() -> None:
        results.extend(_pitch.fine_chroma(tone, 22050) for _ in range(5))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _blas_threads() == before
    assert len(results) == 20
    assert all(np.array_equal(r, results[0]) for r in results)
