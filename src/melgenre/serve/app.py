"""The ASGI application: routes, error responses, and :func:`create_app` / :func:`run`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from collections.abc import AsyncIterator, Awaitable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from melgenre._typing import PathLike
from melgenre.errors import AudioError, ConfigError, MelgenreError, MelgenreTypeError
from melgenre.prediction import Prediction
from melgenre.predictor import Predictor
from melgenre.serve.config import ServeConfig
from melgenre.serve.openapi import openapi_document
from melgenre.serve.service import Service
from melgenre.serve.uploads import (
    RequestError,
    Upload,
    check_content_type,
    check_declared_length,
    receive_raw,
    receive_upload,
)

__all__ = ["create_app", "prediction_json", "run"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
T = TypeVar("T")

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def create_app(
    model: Predictor | PathLike, config: ServeConfig | None = None, **settings: Any
) -> Starlette:
    """An ASGI application that classifies uploaded recordings with one shared Predictor.

    Routes: ``POST /predict`` (a raw audio body, or a multipart upload with the
    field ``file``; ``?top_k=3&timeline=false``), ``GET /info``, ``GET /health``,
    ``GET /openapi.json`` and the page at ``/``. Errors are JSON
    ``{"status", "title", "error", "detail"}`` with status 400 (audio that cannot be
    decoded or used, bad parameters), 413 (over ``max_bytes`` or ``max_seconds``), 415
    (not audio), 408 (upload slower than ``read_timeout``), 504 (past ``timeout``) or
    503 (over ``max_pending``).

    Parameters
    ----------
    model : Predictor or path
        A predictor, or a bundle directory to load one from (its training record
        and test metrics then appear in ``/info``).
    config : ServeConfig, optional
        Limits and batching; keyword ``settings`` override its fields.

    Returns
    -------
    starlette.applications.Starlette
        Run it with any ASGI server (``uvicorn.run(app)``), or mount it in your own.

    Examples
    --------
    >>> from starlette.testclient import TestClient  # doctest: +SKIP
    >>> with TestClient(create_app("model-dir", max_seconds=60)) as client:  # doctest: +SKIP
    ...     client.post("/predict", content=wav_bytes, headers={"content-type": "audio/wav"})
    """
    config = ServeConfig(**{**(config.to_dict() if config else {}), **settings})
    extra: dict[str, Any] = {}
    if isinstance(model, Predictor):
        predictor = model
    else:
        from melgenre.bundle import read_manifest

        predictor = Predictor.load(model)
        root, manifest = read_manifest(model)
        extra = {
            "bundle": root.name,
            "training": manifest.get("training"),
            "metrics": manifest.get("metrics"),
        }
    service = Service(predictor, config, extra)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    routes = [
        Route("/", _page, methods=["GET"]),
        Route("/predict", _predict, methods=["POST"]),
        Route("/info", _info, methods=["GET"]),
        Route("/health", _health, methods=["GET"]),
        Route("/openapi.json", _openapi, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )
    app.state.service = service
    return app


def run(
    model: Predictor | PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    config: ServeConfig | None = None,
    log_level: str = "info",
    **settings: Any,
) -> None:
    """Serve ``model`` with uvicorn until interrupted (what ``melgenre serve`` runs)."""
    serve_app(create_app(model, config, **settings), host=host, port=port, log_level=log_level)


def serve_app(app: Starlette, *, host: str, port: int, log_level: str) -> None:
    """Run an application :func:`create_app` made with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


def prediction_json(prediction: Prediction, *, top_k: int, timeline: bool) -> dict[str, Any]:
    """The JSON answer of ``POST /predict`` for one prediction."""
    body: dict[str, Any] = {
        "source": prediction.source,
        "label": prediction.label,
        "confidence": prediction.confidence,
        "top_k": prediction.top_k(top_k),
        "probabilities": prediction.probabilities,
        "n_windows": len(prediction.windows),
        "duration": prediction.windows[-1].end if prediction.windows else 0.0,
        "peak": prediction.peak,
        "silent": prediction.silent,
    }
    if timeline:
        body["windows"] = [window.to_dict() for window in prediction.windows]
    return body


# ------------------------------------------------------------------ routes


async def _predict(request: Request) -> Response:
    service: Service = request.app.state.service
    config = service.config
    upload: Upload | None = None
    try:
        top_k, timeline = _query(request, len(service.predictor.labels))
        kind = check_content_type(request.headers.get("content-type"))
        check_declared_length(request.headers, config.max_bytes)
        with service.admitted():
            if kind == "multipart/form-data":
                receiving = receive_upload(
                    request.headers,
                    request.stream(),
                    max_bytes=config.max_bytes,
                    directory=config.upload_dir,
                )
            else:
                receiving = receive_raw(
                    request.stream(),
                    kind=kind,
                    max_bytes=config.max_bytes,
                    directory=config.upload_dir,
                )
            upload = await _within(
                receiving,
                config.read_timeout,
                408,
                f"The upload was not received within {config.read_timeout:g} s "
                "(melgenre serve --read-timeout).",
            )
            prediction = await _within(
                service.classify(upload),
                config.timeout,
                504,
                f"Classifying {upload.name!r} took longer than {config.timeout:g} s "
                "(melgenre serve --timeout).",
            )
    except RequestError as exc:
        return _problem(exc.status, exc, upload, headers=exc.headers)
    except (AudioError, ConfigError, MelgenreTypeError) as exc:
        return _problem(400, exc, upload)
    except ClientDisconnect:
        logger.info("The client went away before its upload was received")
        return Response(status_code=400)
    finally:
        if upload is not None and not upload.claimed:  # classify never started
            upload.remove()
    return JSONResponse(prediction_json(prediction, top_k=top_k, timeline=timeline))


async def _info(request: Request) -> Response:
    return JSONResponse(_finite(request.app.state.service.info()))


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None`` (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


async def _health(request: Request) -> Response:
    service: Service = request.app.state.service
    return JSONResponse(
        {
            "status": "ok",
            "labels": len(service.predictor.labels),
            "in_flight": service.in_flight,
            "served": service.served,
            "model_calls": service.batcher.calls,
        }
    )


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(request.app.state.service))


async def _page(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


# ------------------------------------------------------------------ errors


_TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _problem(
    status: int,
    exc: BaseException | str,
    upload: Upload | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON error: the status, its title, the exception's class and melgenre's message."""
    detail = str(exc)
    if upload is not None:  # name the upload as the client knows it, not its temporary path
        detail = detail.replace(str(upload.path), upload.name)
        detail = detail.replace(os.path.basename(upload.path), upload.name)
    error = type(exc).__name__ if isinstance(exc, BaseException) else "HTTPException"
    if status >= 500 or status == 408:
        logger.warning("%d %s", status, detail)
    else:
        logger.info("%d %s", status, detail)
    body = {
        "status": status,
        "title": _TITLES.get(status, "Error"),
        "error": error,
        "detail": detail,
    }
    return JSONResponse(body, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.status_code != 404 else f"No route {request.url.path!r}."
    return _problem(exc.status_code, str(detail), headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    logger.exception("Unexpected error serving %s %s", request.method, request.url.path)
    message = "The server failed to answer; its log has the details."
    if isinstance(exc, MelgenreError):
        message = str(exc)
    return _problem(500, message)


def _query(request: Request, n_labels: int) -> tuple[int, bool]:
    """``top_k`` (clamped to the number of labels) and ``timeline`` from the query string."""
    params = request.query_params
    raw_k = params.get("top_k", "3")
    if not raw_k.isdigit() or int(raw_k) < 1:
        raise RequestError(f"top_k must be a positive integer; got {raw_k!r}.", status=400)
    raw_timeline = params.get("timeline", "false").lower()
    if raw_timeline not in _TRUE + _FALSE:
        raise RequestError(
            f"timeline must be true or false; got {params.get('timeline')!r}.", status=400
        )
    return min(int(raw_k), n_labels), raw_timeline in _TRUE


async def _within(work: Awaitable[T], seconds: float, status: int, message: str) -> T:
    """``await work``, rejected with ``status`` if it takes longer than ``seconds``."""
    try:
        return await asyncio.wait_for(work, seconds)
    except asyncio.TimeoutError:
        raise RequestError(message, status=status) from None
