"""Micro-batching: windows from concurrent requests joined into shared model calls.

:class:`MicroBatcher` needs no web framework: any asyncio program can put it in
front of a function of stacked rows (``Predictor``'s window model, here).
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from melgenre._typing import FloatArray
from melgenre._validation import check_int, check_real

__all__ = ["MicroBatcher"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class _Item:
    rows: FloatArray
    future: asyncio.Future[FloatArray]


class MicroBatcher:
    """Join the rows of concurrent requests into one call of ``function``.

    While ``function`` runs, new requests wait in a queue; when it returns, everything
    waiting (up to ``max_batch`` rows) goes into the next call, so a lone request is
    never delayed and a busy server batches by itself. ``max_wait`` adds a bounded
    wait for company before a call, for servers where a bigger batch pays for it.
    ``function`` runs in one dedicated thread, off the event loop. If a shared call
    fails, each request is retried alone, so an error reaches only the request that
    caused it.

    Parameters
    ----------
    function : callable
        Maps stacked rows ``(n, ...)`` to outputs ``(n, ...)``, row for row
        (e.g. a model's forward pass on feature windows).
    max_batch : int > 0, default=64
        Rows gathered into one call at most (a single request's rows are never split;
        ``function`` may chunk them itself).
    max_wait : float >= 0, default=0.0
        Seconds to wait for more rows once one request is queued. 0: call as soon
        as the previous call returns.

    Attributes
    ----------
    calls, requests, rows : int
        How many calls were made, and the requests and rows they carried.

    Examples
    --------
    >>> import asyncio, numpy as np
    >>> async def main():
    ...     async with MicroBatcher(lambda x: x * 2, max_batch=8) as batcher:
    ...         outs = await asyncio.gather(*(batcher(np.full((1, 2), i)) for i in range(3)))
    ...     return [o.tolist() for o in outs]
    >>> asyncio.run(main())
    [[[0, 0]], [[2, 2]], [[4, 4]]]
    """

    def __init__(
        self,
        function: Callable[[FloatArray], FloatArray],
        *,
        max_batch: int = 64,
        max_wait: float = 0.0,
    ) -> None:
        check_int("MicroBatcher", "max_batch", max_batch, low=1)
        check_real("MicroBatcher", "max_wait", max_wait, low=0.0)
        self.function = function
        self.max_batch = max_batch
        self.max_wait = float(max_wait)
        self.calls = self.requests = self.rows = 0
        self._queue: asyncio.Queue[_Item] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._thread: cf.ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"MicroBatcher(max_batch={self.max_batch}, max_wait={self.max_wait})"

    async def __aenter__(self) -> MicroBatcher:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start(self) -> None:
        """Start the worker task on the running event loop (``async with`` does this)."""
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._thread = cf.ThreadPoolExecutor(1, thread_name_prefix="melgenre-model")
            self._worker = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop the worker; requests still queued get ``asyncio.CancelledError``."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        while self._queue is not None and not self._queue.empty():
            self._queue.get_nowait().future.cancel()
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    async def __call__(self, rows: FloatArray) -> FloatArray:
        """``function(rows)``, computed in a call shared with other requests."""
        if self._worker is None or self._queue is None:
            self.start()
        assert self._queue is not None
        future: asyncio.Future[FloatArray] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Item(np.asarray(rows), future))
        return await future

    @property
    def pending(self) -> int:
        """Requests queued for the next call."""
        return 0 if self._queue is None else self._queue.qsize()

    # ----------------------------------------------------------------- private

    async def _gather(self) -> list[_Item]:
        """The next batch: the first queued item, then everything that joins in time."""
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        items = [await self._queue.get()]
        rows = len(items[0].rows)
        deadline = loop.time() + self.max_wait
        while rows < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            items.append(item)
            rows += len(item.rows)
        return [item for item in items if not item.future.done()]  # drop abandoned requests

    async def _run(self) -> None:
        while True:
            items = await self._gather()
            if items:
                await self._call(items)

    async def _call(self, items: list[_Item]) -> None:
        """One call for ``items``; if it fails, each alone, so only the culprit gets the error."""
        loop = asyncio.get_running_loop()
        batch = items[0].rows if len(items) == 1 else np.concatenate([i.rows for i in items])
        try:
            out: Any = await loop.run_in_executor(self._thread, self.function, batch)
        except asyncio.CancelledError:
            for item in items:
                item.future.cancel()
            raise
        except Exception as exc:
            if len(items) > 1:
                for item in items:
                    await self._call([item])
                return
            logger.exception("A model call of %d rows failed", len(batch))
            if not items[0].future.done():
                items[0].future.set_exception(exc)
            return
        self.calls += 1
        self.requests += len(items)
        self.rows += len(batch)
        start = 0
        for item in items:
            stop = start + len(item.rows)
            if not item.future.done():
                item.future.set_result(out[start:stop])
            start = stop
