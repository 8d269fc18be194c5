"""melgenre's own matrix products run on one BLAS thread, and leave the count as it was."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import numpy as np
import pytest
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


def _chroma_frames(queue: Any) -> None:
    t = np.arange(2205) / 22050
    queue.put(_pitch.fine_chroma(np.sin(2 * np.pi * 440.0 * t).astype(np.float32), 22050).shape)


def test_a_forked_child_is_not_blocked_by_a_lock_its_parent_held() -> None:
    """A process forked by one thread while another holds the lock computes its chroma."""
    import multiprocessing
    import os

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child: list[Any] = []

    def fork() -> None:  # from a thread other than the lock's holder
        child.append(context.Process(target=_chroma_frames, args=(queue,)))
        child[0].start()

    with single_blas_thread():
        starter = threading.Thread(target=fork)
        starter.start()
        starter.join()
    child[0].join(timeout=60)
    if child[0].is_alive():
        child[0].terminate()
    assert child[0].exitcode == 0
    assert queue.get(timeout=5)[1] == 36


def test_a_blas_loaded_after_the_first_use_is_limited_too() -> None:
    """scipy.linalg loads a second OpenBLAS; the next block limits it as well as NumPy's."""
    code = """
import json
import numpy
from threadpoolctl import threadpool_info
from melgenre._threads import single_blas_thread

def blas():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

with single_blas_thread():
    first = blas()
import scipy.linalg
with single_blas_thread():
    later = blas()
print(json.dumps([first, later]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, later = json.loads(out.stdout)
    assert len(later) > len(first)  # scipy's own BLAS came in between
    assert all(n == 1 for n in later)
