"""The service's limits and batching settings: :class:`ServeConfig`."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from melgenre._validation import check_int, check_real

__all__ = ["ServeConfig"]


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """Limits and batching of a ``melgenre serve`` service (see :func:`create_app`).

    Parameters
    ----------
    max_bytes : int > 0, default=50 MiB
        Largest request body; a bigger one gets 413 (as soon as its
        ``Content-Length`` says so, or when the upload passes the limit).
    max_seconds : float > 0, default=1800.0
        Most seconds of audio a request may decode (after the model's loader
        ``offset``/``duration``): read from the file's header before decoding,
        and checked again while decoding; more gets 413.
    timeout : float > 0, default=60.0
        Seconds to decode and classify one upload; past it, 504.
    read_timeout : float > 0, default=30.0
        Seconds to receive one request's body; past it, 408.
    max_batch : int > 0 or None, default=None
        Windows per shared model call (see :class:`MicroBatcher`); ``None``: the
        predictor's ``batch_size``. 1 turns batching across requests off.
    max_wait : float >= 0, default=0.0
        Seconds a model call waits for more requests (0: none; requests that
        arrive while the model is busy are batched anyway).
    max_pending : int > 0, default=256
        Requests in progress at once; more get 503 with ``Retry-After``.
    workers : int > 0 or None, default=None
        Threads that decode and featurize uploads; ``None``: the CPU count, at most 8.
    upload_dir : str or None, default=None
        Where uploads are spooled (default: the system's temporary directory).

    Examples
    --------
    >>> ServeConfig(max_bytes=10 * 2**20).max_seconds
    1800.0
    """

    max_bytes: int = 50 * 2**20
    max_seconds: float = 1800.0
    timeout: float = 60.0
    read_timeout: float = 30.0
    max_batch: int | None = None
    max_wait: float = 0.0
    max_pending: int = 256
    workers: int | None = None
    upload_dir: str | None = None

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_int(owner, "max_bytes", self.max_bytes, low=1)
        for name in ("max_seconds", "timeout", "read_timeout"):
            check_real(owner, name, getattr(self, name), low=0.0, closed_low=False)
        check_int(owner, "max_batch", self.max_batch, low=1, allow_none=True)
        check_real(owner, "max_wait", self.max_wait, low=0.0)
        check_int(owner, "max_pending", self.max_pending, low=1)
        check_int(owner, "workers", self.workers, low=1, allow_none=True)

    @property
    def decode_threads(self) -> int:
        """Threads for decoding and featurizing."""
        return self.workers or min(8, os.cpu_count() or 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (as ``GET /info`` reports the limits)."""
        return dataclasses.asdict(self)
