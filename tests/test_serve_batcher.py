"""``melgenre serve``'s micro-batcher: requests that wait are joined, errors and abandoned requests.

A model that blocks until told (``BlockedModel``) makes the queue's states happen on cue.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette")

import melgenre
from melgenre.serve import MicroBatcher, RequestError


class BlockedModel:
    """Records each call's rows; the first call blocks until ``release`` is set."""

    def __init__(self, function: Any = lambda x: x) -> None:
        self.function = function
        self.sizes: list[int] = []
        self.release = threading.Event()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.sizes.append(len(x))
        if len(self.sizes) == 1:
            self.release.wait(5)  # the first call blocks until the others are queued
        return self.function(x)  # type: ignore[no-any-return]


async def queue_behind(
    batcher: MicroBatcher, model: BlockedModel, first: np.ndarray, rows: list[np.ndarray]
) -> tuple[asyncio.Future[Any], list[asyncio.Future[Any]]]:
    """Start ``first`` (the blocked call), then queue ``rows`` behind it; nothing released."""
    lone = asyncio.ensure_future(batcher(first))
    while not model.sizes:
        await asyncio.sleep(0.001)
    queued = [asyncio.ensure_future(batcher(r)) for r in rows]
    while batcher.pending < len(rows):
        await asyncio.sleep(0.001)
    return lone, queued


def test_batcher_joins_requests_that_wait() -> None:
    """While a call runs, queued requests go into the next call together."""
    model = BlockedModel(lambda x: x * 10)

    async def scenario() -> list[np.ndarray]:
        async with MicroBatcher(model, max_batch=64) as batcher:
            rows = [np.full((i + 1, 3), i) for i in range(5)]
            first, rest = await queue_behind(batcher, model, np.ones((2, 3)), rows)
            model.release.set()
            return await asyncio.gather(first, *rest)

    outs = asyncio.run(scenario())
    sizes = model.sizes
    assert sizes == [2, 1 + 2 + 3 + 4 + 5]  # one call for the lone request, one for the five
    assert outs[0].tolist() == (np.ones((2, 3)) * 10).tolist()
    for i, out in enumerate(outs[1:]):
        assert out.shape == (i + 1, 3)
        assert (out == 10 * i).all()


def test_batcher_respects_max_batch_and_survives_errors() -> None:
    def refuse_negative(x: np.ndarray) -> np.ndarray:
        if (x < 0).any():
            raise ValueError("negative rows")
        return x

    model = BlockedModel(refuse_negative)

    async def scenario() -> tuple[list[Any], Any]:
        async with MicroBatcher(model, max_batch=4) as batcher:
            rows = [np.full((3, 1), v) for v in (1, -1, 2)]
            first, queued = await queue_behind(batcher, model, np.ones((1, 1)), rows)
            model.release.set()
            results = await asyncio.gather(first, *queued, return_exceptions=True)
            after = await batcher(np.full((2, 1), 5.0))  # the worker is still alive
            return results, after

    results, after = asyncio.run(scenario())
    sizes = model.sizes
    # 3 + 3 rows reach max_batch=4: the third request waits for the call after. The
    # shared call fails, so its two requests are retried alone: only the culprit fails.
    assert sizes == [1, 6, 3, 3, 3, 2]
    assert results[1].tolist() == [[1.0]] * 3
    assert isinstance(results[2], ValueError)
    assert results[3].tolist() == [[2.0]] * 3
    assert after.tolist() == [[5.0]] * 2


def test_batcher_drops_abandoned_requests() -> None:
    model = BlockedModel()

    async def scenario() -> np.ndarray:
        async with MicroBatcher(model) as batcher:
            rows = [np.ones((7, 1)), np.ones((2, 1))]
            first, (gone, kept) = await queue_behind(batcher, model, np.ones((1, 1)), rows)
            gone.cancel()
            model.release.set()
            await first
            return await kept  # type: ignore[no-any-return]

    assert asyncio.run(scenario()).shape == (2, 1)
    assert model.sizes == [1, 2]


def test_batcher_max_wait_gathers_company() -> None:
    sizes: list[int] = []

    def model(x: np.ndarray) -> np.ndarray:
        sizes.append(len(x))
        return x

    async def scenario() -> None:
        async with MicroBatcher(model, max_batch=8, max_wait=5.0) as batcher:
            await asyncio.gather(*(batcher(np.ones((2, 1))) for _ in range(4)))

    asyncio.run(scenario())
    assert sizes == [8]  # full before the wait ran out


def test_request_error_carries_status() -> None:
    exc = RequestError("nope", status=413)
    assert isinstance(exc, melgenre.MelgenreError)
    assert exc.status == 413
    assert exc.headers == {}
