"""The OpenAPI 3.1 description of the service (``GET /openapi.json``).

Written out by hand rather than generated, so that it describes exactly what the
routes accept (raw audio bodies and multipart uploads) and every status they answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from melgenre._version import __version__

if TYPE_CHECKING:
    from melgenre.serve.service import Service

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/schemas/Error"}

_ERRORS = {
    "400": "Audio that cannot be decoded or used (empty, corrupt, NaN), or a bad parameter.",
    "408": "The upload was not received within the read timeout.",
    "413": "The body is over the byte limit, or its audio over the seconds limit.",
    "415": "The body is not audio (nor a multipart upload of audio).",
    "503": "Too many requests in progress; retry after the Retry-After header's seconds.",
    "504": "Classifying the upload took longer than the timeout.",
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(service: Service) -> dict[str, Any]:
    """The service's OpenAPI description, with its labels and limits filled in."""
    labels = list(service.predictor.labels)
    limits = service.config
    label = {"type": "string", "enum": labels}
    scores = {"type": "object", "additionalProperties": {"type": "number"}}
    window = {
        "type": "object",
        "required": ["start", "end", "label", "confidence", "probabilities"],
        "properties": {
            "start": {"type": "number", "description": "seconds"},
            "end": {"type": "number", "description": "seconds"},
            "label": label,
            "confidence": {"type": "number"},
            "probabilities": scores,
        },
    }
    prediction = {
        "type": "object",
        "required": ["source", "label", "confidence", "top_k", "probabilities", "n_windows"],
        "properties": {
            "source": {"type": "string", "description": "the upload's file name, or <body>"},
            "label": label,
            "confidence": {"type": "number"},
            "top_k": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"label": label, "score": {"type": "number"}},
                },
            },
            "probabilities": scores,
            "n_windows": {"type": "integer"},
            "duration": {"type": "number", "description": "seconds covered by the windows"},
            "peak": {
                "type": ["number", "null"],
                "description": "the recording's largest absolute sample (full scale 1.0)",
            },
            "silent": {
                "type": "boolean",
                "description": "no sample above -90 dBFS: the answer is arbitrary unless the "
                "model learned a class of silence",
            },
            "windows": {
                "type": "array",
                "items": window,
                "description": "the per-window timeline (with timeline=true)",
            },
        },
    }
    error = {
        "type": "object",
        "required": ["status", "title", "error", "detail"],
        "properties": {
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "error": {"type": "string", "description": "melgenre's exception class"},
            "detail": {"type": "string", "description": "what is wrong and how to fix it"},
        },
    }
    audio_body = {"schema": {"type": "string", "format": "binary"}}
    predict = {
        "summary": "Classify one recording",
        "description": (
            "Send the audio file itself (WAV, FLAC, OGG, MP3, ...) as the body, or as the "
            f"field 'file' of a multipart upload. At most {limits.max_bytes} bytes and "
            f"{limits.max_seconds:g} s of audio."
        ),
        "operationId": "predict",
        "parameters": [
            {
                "name": "top_k",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "default": 3},
                "description": "how many of the most probable labels to list",
            },
            {
                "name": "timeline",
                "in": "query",
                "schema": {"type": "boolean", "default": False},
                "description": "include every window's label and probabilities",
            },
        ],
        "requestBody": {
            "required": True,
            "content": {
                "audio/*": audio_body,
                "application/octet-stream": audio_body,
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        },
        "responses": {
            "200": _json({"$ref": "#/components/schemas/Prediction"}, "The prediction."),
            **{code: _json(_ERROR, text) for code, text in _ERRORS.items()},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "melgenre",
            "version": __version__,
            "description": f"Audio classification into {', '.join(labels)}.",
        },
        "paths": {
            "/predict": {"post": predict},
            "/info": {
                "get": {
                    "summary": "The model: labels, preprocessing, training summary, limits",
                    "operationId": "info",
                    "responses": {"200": _json({"type": "object"}, "Model information.")},
                }
            },
            "/health": {
                "get": {
                    "summary": "Liveness and load",
                    "operationId": "health",
                    "responses": {"200": _json({"type": "object"}, "The service is up.")},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This description",
                    "operationId": "openapi",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")},
                }
            },
            "/": {
                "get": {
                    "summary": "A page to try the model in a browser",
                    "operationId": "page",
                    "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}},
                }
            },
        },
        "components": {"schemas": {"Prediction": prediction, "Window": window, "Error": error}},
    }
