"""One shared Predictor behind the HTTP routes: :class:`Service`.

Decoding and featurizing run in a thread pool, off the event loop, one block of
windows at a time (a long file never sits whole in memory); the windows of all
requests in flight meet in one :class:`~melgenre.serve.MicroBatcher` in front of
the model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from melgenre._typing import FloatArray
from melgenre._validation import counted
from melgenre.prediction import Prediction
from melgenre.predictor import Predictor
from melgenre.serve.batcher import MicroBatcher
from melgenre.serve.config import ServeConfig
from melgenre.serve.uploads import RequestError, Upload, decoded_seconds

__all__ = ["Service"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
WindowBlock = tuple[FloatArray, FloatArray]  # windows and their (start, end) seconds


class Service:
    """A predictor, its model information and the machinery that serves it.

    Parameters
    ----------
    predictor : Predictor
    config : ServeConfig
    info : dict, optional
        Extra facts for ``GET /info`` (a bundle's training record and metrics).
    """

    def __init__(
        self, predictor: Predictor, config: ServeConfig, info: dict[str, Any] | None = None
    ) -> None:
        self.predictor = predictor
        self.config = config
        self.extra_info = dict(info or {})
        self.batcher = MicroBatcher(
            predictor._window_outputs,
            max_batch=config.max_batch or predictor.batch_size,
            max_wait=config.max_wait,
        )
        self.in_flight = 0
        self.served = 0
        self._pool: cf.ThreadPoolExecutor | None = None

    async def start(self) -> None:
        """Start the batcher and the decoding threads, and trace the model once."""
        self._pool = cf.ThreadPoolExecutor(
            self.config.decode_threads, thread_name_prefix="melgenre-decode"
        )
        self.batcher.start()
        await asyncio.get_running_loop().run_in_executor(self._pool, self.predictor._compiled)

    async def stop(self) -> None:
        """Stop the batcher and the threads."""
        await self.batcher.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Count a request in progress, refusing it (503) past ``max_pending``."""
        if self.in_flight >= self.config.max_pending:
            raise RequestError(
                f"The server is busy ({counted(self.in_flight, 'request')} in progress, the "
                "most it takes at once); retry in a moment.",
                status=503,
                headers={"Retry-After": "1"},
            )
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def classify(self, upload: Upload) -> Prediction:
        """Decode, featurize and classify ``upload``; it is removed when nothing uses it.

        Raises
        ------
        RequestError
            413 when the audio is longer than ``max_seconds``.
        AudioError
            The upload cannot be decoded or used.
        """
        if self._pool is None:
            raise RuntimeError("Service.start() was not called")  # pragma: no cover
        job = _Job(self._pool, upload)
        stream, kept = self.predictor._stream()  # what the statistics head reads, as in predict
        try:
            limit = self.config.max_seconds
            outputs, times, held = [], [], []
            async for block in job.blocks(await job.run(self._open, upload, stream)):
                windows, window_times = block
                if len(window_times) and float(window_times[-1][0]) > limit:
                    raise self._too_long(upload.name, None)  # the header understated the length
                held.append(np.asarray(windows, dtype=np.float32))
                times.append(np.asarray(window_times))
                if sum(map(len, held)) >= self.predictor.batch_size:  # else join the next block
                    outputs.append(await self.batcher(np.concatenate(held)))
                    held = []
            if sum(map(len, held)):
                outputs.append(await self.batcher(np.concatenate(held)))
            clip = kept[0] if kept else None
            if self.predictor._pools or self.predictor.statistics_head is not None:
                # a clip head's model call, the clip statistics: off the loop
                prediction = await job.run(
                    self.predictor._prediction, upload.name, outputs, times, clip
                )
            else:  # averaging a few window rows: cheaper here than a thread hop
                prediction = self.predictor._prediction(upload.name, outputs, times, clip)
        finally:
            job.close()
        self.served += 1
        return prediction

    def _open(
        self, upload: Upload, stream: Callable[[str], Iterator[WindowBlock]]
    ) -> Iterator[WindowBlock]:
        """In a thread: refuse a file too long by its header, then read it block by block.

        ``stream`` is the predictor's (:meth:`Preprocessing.stream`, keeping what its
        statistics head needs). A recording of up to ten minutes is decoded once
        (``MelFeaturizer.stream`` keeps its spectrogram between its two passes), so
        streaming costs a short file nothing.
        """
        seconds = decoded_seconds(upload.path, self.predictor.preprocessing.loader)
        if seconds is not None and seconds > self.config.max_seconds:
            raise self._too_long(upload.name, seconds)
        return stream(str(upload.path))

    def _too_long(self, name: str, seconds: float | None) -> RequestError:
        length = "longer" if seconds is None else f"{seconds:,.1f} s long"
        return RequestError(
            f"The audio in {name!r} is {length}, over this server's limit of "
            f"{self.config.max_seconds:,.0f} s (melgenre serve --max-seconds).",
            status=413,
        )

    def info(self) -> dict[str, Any]:
        """What ``GET /info`` answers: labels, preprocessing, model, training, limits."""
        from melgenre._version import __version__

        predictor = self.predictor
        try:
            preprocessing: Any = predictor.preprocessing.get_config()
        except Exception:  # an unregistered component still serves; its config is unknown
            preprocessing = repr(predictor.preprocessing)
        featurizer = predictor.preprocessing.featurizer
        return {
            "labels": list(predictor.labels),
            "sample_rate": predictor.preprocessing.sample_rate,
            "window_shape": list(predictor.preprocessing.output_shape),
            "window_seconds": getattr(featurizer, "window_seconds", None),
            "aggregation": predictor.aggregation,
            "preprocessing": preprocessing,
            "model": {
                "class_name": type(predictor.model).__name__,
                "params": int(predictor.model.count_params()),
                "clip_head": predictor.clip_head is not None,
                "statistics_head": predictor.statistics_head is not None,
            },
            "metadata": predictor.metadata,
            **self.extra_info,
            "limits": self.config.to_dict(),
            "melgenre_version": __version__,
        }


class _Job:
    """The thread-side work of one upload; its stream and file outlive a cancelled request.

    A request that times out or disconnects stops awaiting at once, but a decoding
    step already running in a thread cannot be interrupted: the stream is closed and
    the file removed when that step ends (at most one block later).
    """

    def __init__(self, pool: cf.ThreadPoolExecutor, upload: Upload) -> None:
        self.pool = pool
        self.upload = upload
        upload.claimed = True
        self.stream: Any = None
        self._pending: cf.Future[Any] | None = None

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        self._pending = self.pool.submit(function, *args)
        return await asyncio.wrap_future(self._pending)

    async def blocks(
        self, blocks: list[WindowBlock] | Iterator[WindowBlock]
    ) -> AsyncIterator[WindowBlock]:
        """The blocks of a list as they are, or of a stream one thread step at a time."""
        if isinstance(blocks, list):
            for block in blocks:
                yield block
            return
        self.stream = blocks  # closed by close(), once no thread step is using it
        while (block := await self.run(next, blocks, None)) is not None:
            yield block

    def close(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            self._cleanup()
        else:
            pending.add_done_callback(lambda _: self._cleanup())

    def _cleanup(self) -> None:
        try:
            if self.stream is not None:
                self.stream.close()
        except Exception:  # pragma: no cover - closing a generator does not fail
            logger.exception("Closing the stream of %s failed", self.upload.name)
        finally:
            self.upload.remove()
