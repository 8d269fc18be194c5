"""One BLAS thread for melgenre's own matrix products: :func:`single_blas_thread`.

A matrix product large enough for OpenBLAS (NumPy's) to split over threads leaves those
threads spinning for a while after it returns, waiting for more work. On a machine with
few cores they then compete with the threads of whatever runs next: a Predictor's
model call after the chroma's products took 17 ms instead of 10 on 2 cores
(``benchmarks/inference.py``). melgenre's products are small (a few MFLOP), so running
them on one thread costs little (0.2 ms a 15 s file for the chroma) and leaves the cores
to the model. threadpoolctl (a dependency of scikit-learn) changes the thread count of
the BLAS libraries loaded in this process for the duration, under a lock, so that
concurrent callers cannot leave it at one thread; a BLAS it cannot control runs as it is.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["single_blas_thread"]

_LOCK = threading.RLock()
#: The ThreadpoolController and how many modules were imported when it was made: it knows
#: the BLAS libraries loaded then, so one loaded since (scipy's, with scipy.linalg) makes
#: it anew (about 4 ms, once per such import; len(sys.modules) costs nothing to read).
_CONTROLLER: list[Any] = []


def _new_lock() -> None:
    """A fresh lock in a forked child (another thread may have held the parent's at the fork)."""
    global _LOCK
    _LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_new_lock)


@contextlib.contextmanager
def single_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread, then restore the BLAS libraries' own counts."""
    with _LOCK:
        if not _CONTROLLER or _CONTROLLER[1] != len(sys.modules):
            from threadpoolctl import ThreadpoolController

            _CONTROLLER[:] = [ThreadpoolController(), len(sys.modules)]
        with _CONTROLLER[0].limit(limits=1, user_api="blas"):
            yield
