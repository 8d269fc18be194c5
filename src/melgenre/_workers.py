"""The local process pool feature extraction runs on.

Workers are forked from a forkserver (safe after TensorFlow started its threads,
unlike a plain fork) that imported the per-file code once (:data:`_PRELOAD`), and
keep the memory they free for the next file (glibc's ``mallopt``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import os
from collections.abc import Iterator

__all__ = ["extraction_pool", "process_pool"]


@contextlib.contextmanager
def extraction_pool(
    executor: cf.Executor | None, workers: int | None, n_files: int
) -> Iterator[cf.Executor | None]:
    """The executor to use (``None``: this process); a local process pool is shut down on exit."""
    if executor is not None:
        yield executor
        return
    n_workers = min(workers if workers is not None else (os.cpu_count() or 1), n_files)
    if n_workers <= 1 or n_files <= 2:
        yield None
        return
    pool = process_pool(n_workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A local process pool that is safe after TensorFlow was imported (no plain fork).

    forkserver forks workers from a clean server process (spawn where forkserver
    is unavailable); the server preloads what a worker runs (:data:`_PRELOAD`), so
    workers start warm.
    """
    methods = multiprocessing.get_all_start_methods()
    context: multiprocessing.context.BaseContext
    if "forkserver" in methods:
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(_PRELOAD)
        context = forkserver
    else:  # pragma: no cover - Windows and some macOS configurations
        context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_keep_freed_memory
    )


def _keep_freed_memory() -> None:
    """Let a worker's allocator reuse freed memory instead of returning it to the OS.

    Every file allocates and frees the same few megabyte-sized arrays; glibc hands
    those back to the kernel and page-faults them in again for the next file, which
    cost about 40 % of a worker's time. Only melgenre's own worker processes are
    tuned (glibc's ``mallopt``; elsewhere this does nothing).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 64 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        pass


#: Modules the forkserver imports once for all workers: the per-file code path. Not
#: librosa (two seconds and 200 MB to import): the DSP it defines is in ``_filters``.
_PRELOAD = ["melgenre._extract_files", "scipy.fft", "scipy.sparse", "soundfile", "soxr"]

#: glibc's ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
