"""A small HTTP service around a Predictor, on the standard library only.

For a real service (micro-batching, limits, timeouts, OpenAPI, a page to try the
model) use ``melgenre serve MODEL_DIR`` (``pip install "melgenre[serve]"``); this
sketch shows the Predictor's part with nothing but the standard library.

    python examples/http_service.py MODEL_DIR [--port 8000]

    curl --data-binary @song.flac http://localhost:8000/predict
    {"label": "jazz", "confidence": 0.91, "probabilities": {...}, "windows": [...]}
    curl http://localhost:8000/health

The model is loaded once; ``ThreadingHTTPServer`` answers requests in threads,
which one :class:`melgenre.Predictor` serves safely (its compiled inference is
shared). Bad audio gets a 400 with melgenre's message; oversized bodies a 413.
"""

from __future__ import annotations

import argparse
import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import melgenre

MAX_BYTES = 50 * 2**20


def make_server(predictor: melgenre.Predictor, host: str, port: int) -> ThreadingHTTPServer:
    """A server (not started) answering ``POST /predict`` and ``GET /health``."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._reply(HTTPStatus.OK, {"status": "ok", "labels": list(predictor.labels)})
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            if self.path != "/predict":
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BYTES:
                self._reply(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"body over {MAX_BYTES} bytes"}
                )
                return
            body = self.rfile.read(length)
            try:
                prediction = predictor.predict(body)  # bytes of any supported format
            except melgenre.MelgenreError as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            self._reply(HTTPStatus.OK, prediction.to_dict())

        def log_message(self, format: str, *args: Any) -> None:
            logging.getLogger("http_service").info(format, *args)

    return ThreadingHTTPServer((host, port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    server = make_server(melgenre.Predictor.load(args.model), args.host, args.port)
    print(f"serving on http://{args.host}:{server.server_port}/predict")
    server.serve_forever()


if __name__ == "__main__":
    main()
