"""An HTTP service and a page to try a model: ``melgenre serve MODEL_DIR``.

Needs the ``serve`` extra (Starlette, uvicorn, python-multipart)::

    pip install "melgenre[serve]"
    melgenre serve model-dir --port 8000
    curl -H "Content-Type: audio/wav" --data-binary @song.wav "localhost:8000/predict?top_k=3"
    curl -F file=@song.mp3 "localhost:8000/predict?timeline=true"

Embed it in your own program with :func:`create_app` (an ASGI application) or
:func:`run`. The pieces: :class:`ServeConfig` (limits and batching),
:class:`MicroBatcher` (concurrent requests share model calls; no web framework
needed), :class:`RequestError` (what a 4xx/5xx answer carries).

.. autosummary::

    create_app
    run
    ServeConfig
    MicroBatcher
    RequestError
    prediction_json
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from melgenre.serve.batcher import MicroBatcher
from melgenre.serve.config import ServeConfig
from melgenre.serve.uploads import RequestError

if TYPE_CHECKING:
    from melgenre.serve.app import create_app, prediction_json, run

INSTALL_HINT = 'melgenre serve needs the serve extra: pip install "melgenre[serve]"'

_APP_NAMES = ("create_app", "prediction_json", "run")


def __getattr__(name: str) -> Any:
    """Import the application only when asked (the batcher and config need no framework)."""
    if name not in _APP_NAMES:
        raise AttributeError(f"module 'melgenre.serve' has no attribute {name!r}")
    try:
        from melgenre.serve import app
    except ImportError as exc:  # starlette or python-multipart missing
        if exc.name not in ("starlette", "multipart", "python_multipart"):
            raise
        raise ImportError(f"{INSTALL_HINT} ({exc.name} is not installed).", name=exc.name) from exc
    return getattr(app, name)


__all__ = [
    "INSTALL_HINT",
    "MicroBatcher",
    "RequestError",
    "ServeConfig",
    "create_app",
    "prediction_json",
    "run",
]
