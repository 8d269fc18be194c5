"""The local process pool feature extraction runs on.

Workers are forked from a forkserver (safe after TensorFlow started its threads,
unlike a plain fork) that imported the per-file code once (:data:`_PRELOAD`), and
keep the memory they free for the next file (glibc's ``mallopt``). What the MP3 decoder
prints about a damaged file is captured in a worker and reported with the file.

A worker started by ``multiprocessing`` imports the user's main script again (as
``__mp_main__``), for whatever was pickled from it. A script that begins ``from
melgenre import GenreCNN, Trainer`` thereby imports TensorFlow in every worker: about
600 MB each, and six times the extraction's own time on 200 demo files
(``benchmarks/worker_imports.py``). When
the work pickles nothing from the main script, the workers are started without it
(:func:`process_pool`'s ``import_main=False``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import multiprocessing.context
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["extraction_pool", "process_pool"]


@contextlib.contextmanager
def extraction_pool(
    executor: cf.Executor | None, workers: int | None, n_files: int, *, import_main: bool = True
) -> Iterator[cf.Executor | None]:
    """The executor to use (``None``: this process); a local process pool is shut down on exit.

    ``import_main``: whether a local pool's workers import the main script (see
    :func:`process_pool`).
    """
    if executor is not None:
        yield executor
        return
    n_workers = min(workers if workers is not None else (os.cpu_count() or 1), n_files)
    if n_workers <= 1 or n_files <= 2:
        yield None
        return
    pool = process_pool(n_workers, import_main=import_main)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def process_pool(workers: int, *, import_main: bool = True) -> cf.ProcessPoolExecutor:
    """A local process pool that is safe after TensorFlow was imported (no plain fork).

    forkserver forks workers from a clean server process (spawn where forkserver
    is unavailable); the server preloads what a worker runs (:data:`_PRELOAD`), so
    workers start warm. With ``import_main=False`` the workers do not import the
    main script again: only for work that pickles nothing defined there.
    """
    methods = multiprocessing.get_all_start_methods()
    context: multiprocessing.context.BaseContext
    if "forkserver" in methods:
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload(_PRELOAD)
        context = forkserver if import_main else _ForkServerWithoutMain()
    else:  # pragma: no cover - Windows and some macOS configurations
        context = multiprocessing.get_context("spawn")
        context = context if import_main else _SpawnWithoutMain()
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker
    )


@contextlib.contextmanager
def _main_unnamed() -> Iterator[None]:
    """Hide where the main script came from while a worker is started.

    ``multiprocessing.spawn.get_preparation_data`` reads the main module's
    ``__spec__`` and ``__file__`` to tell a new process which script to import again;
    without them it imports none. Restored as soon as the process is started.
    """
    main = sys.modules["__main__"]
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class _ForkServerProcessWithoutMain(multiprocessing.context.ForkServerProcess):
    def start(self) -> None:
        with _main_unnamed():
            super().start()


class _SpawnProcessWithoutMain(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        with _main_unnamed():
            super().start()


class _ForkServerWithoutMain(multiprocessing.context.ForkServerContext):
    """The forkserver context, its workers started without the main script."""

    Process = _ForkServerProcessWithoutMain


class _SpawnWithoutMain(multiprocessing.context.SpawnContext):
    """The spawn context, its workers started without the main script."""

    Process = _SpawnProcessWithoutMain


def _start_worker() -> None:
    """Prepare a worker process: its allocator, and the MP3 decoder's notes captured.

    A worker decodes one file at a time, so libmpg123's notes on a damaged MP3 can be
    taken off standard error (:func:`melgenre._stderr.capture_decoder_notes`) and
    reported with the file.
    """
    from melgenre._stderr import capture_decoder_notes

    capture_decoder_notes()
    _keep_freed_memory()


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
