"""The ``melgenre serve`` command (see :mod:`melgenre.cli` and :mod:`melgenre.serve`)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_command"]

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}


def _bytes(text: str) -> int:
    """``"50M"`` -> 52428800: a byte count with an optional K, M or G (binary) suffix."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a size such as 50M or 1048576, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def add_command(sub: Any) -> None:
    """Add ``serve`` to the ``melgenre`` subparsers ``sub``."""
    from melgenre.serve.config import ServeConfig

    defaults = ServeConfig()
    serve = sub.add_parser(
        "serve",
        help="serve MODEL_DIR over HTTP: POST /predict, /info, /health and a page at /",
        description="An HTTP API and a page to try a model (needs melgenre[serve]).",
    )
    serve.add_argument(
        "model_dir", type=Path, metavar="MODEL_DIR", help="a model saved by train or Predictor.save"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    serve.add_argument(
        "--max-bytes",
        type=_bytes,
        default=defaults.max_bytes,
        help="largest upload, e.g. 50M (default: 50M)",
    )
    serve.add_argument(
        "--max-seconds",
        type=float,
        default=defaults.max_seconds,
        help=f"most seconds of audio per request (default: {defaults.max_seconds:g})",
    )
    serve.add_argument(
        "--timeout",
        type=float,
        default=defaults.timeout,
        help=f"seconds to classify one upload before 504 (default: {defaults.timeout:g})",
    )
    serve.add_argument(
        "--read-timeout",
        type=float,
        default=defaults.read_timeout,
        help=f"seconds to receive one upload before 408 (default: {defaults.read_timeout:g})",
    )
    serve.add_argument(
        "--max-batch",
        type=int,
        default=None,
        help="windows per shared model call (default: the model's batch size; 1: no batching)",
    )
    serve.add_argument(
        "--max-wait-ms",
        type=float,
        default=1000 * defaults.max_wait,
        help="milliseconds a model call waits for more requests (default: 0)",
    )
    serve.add_argument(
        "--workers", type=int, default=None, help="decoding threads (default: CPU count, <= 8)"
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="the server's log (default: info)",
    )
    serve.set_defaults(handler=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn  # noqa: F401

        from melgenre.serve import create_app
    except ImportError as exc:
        from melgenre.serve import INSTALL_HINT

        sys.stderr.write(f"melgenre: error: {INSTALL_HINT} ({exc.name} is not installed).\n")
        return 1
    from melgenre.serve.app import serve_app
    from melgenre.serve.config import ServeConfig

    config = ServeConfig(
        max_bytes=args.max_bytes,
        max_seconds=args.max_seconds,
        timeout=args.timeout,
        read_timeout=args.read_timeout,
        max_batch=args.max_batch,
        max_wait=args.max_wait_ms / 1000,
        workers=args.workers,
    )
    app = create_app(args.model_dir, config)  # a folder it cannot serve: said before "serving"
    sys.stderr.write(
        f"melgenre: serving {args.model_dir} on http://{args.host}:{args.port}/ "
        "(the page at /, the API at /predict, /info, /health, /openapi.json; Ctrl+C stops)\n"
    )
    serve_app(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
