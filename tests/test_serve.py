"""``melgenre serve``'s application through Starlette's test client.

Every status the service answers is provoked here (200, 400, 404, 405, 413, 415, 503,
504), each followed by a good request to show the service keeps serving; uploads are
spooled to a directory the tests watch, which must be empty afterwards. The micro-batcher
has its own tests (test_serve_batcher.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("starlette")
from starlette.testclient import TestClient

import melgenre
import melgenre.serve.service
from melgenre import Predictor
from melgenre.cli import main
from melgenre.serve import ServeConfig, create_app, prediction_json
from serving import SR
from signals import chirp, noise, tone


def wav_bytes(x: np.ndarray, *, rate: int = SR, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, x, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


TONE = tone(frequency=700.0, duration=3.0, sample_rate=SR)
CHIRP = chirp(fmin=200.0, fmax=1600.0, duration=2.5, sample_rate=SR)


@pytest.fixture(scope="module")
def predictor(serve_bundle: Path) -> Predictor:
    return Predictor.load(serve_bundle)


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def client(serve_bundle: Path, uploads: Path) -> Iterator[TestClient]:
    app = create_app(serve_bundle, upload_dir=str(uploads), max_bytes=2**20, max_seconds=120)
    with TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, body: bytes, kind: str | None = "audio/wav", query: str = "") -> Any:
    headers = {"content-type": kind} if kind else {}
    return client.post(f"/predict{query}", content=body, headers=headers)


def assert_problem(response: Any, status: int, error: str, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["error"] == error
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


def assert_still_serving(client: TestClient) -> None:
    response = post(client, wav_bytes(TONE))
    assert response.status_code == 200
    assert response.json()["label"] == "tone"


# ------------------------------------------------------------------ answers


def test_raw_body_matches_the_predictor(client: TestClient, predictor: Predictor) -> None:
    response = post(client, wav_bytes(TONE))
    assert response.status_code == 200
    body = response.json()
    expected = predictor.predict(wav_bytes(TONE))
    assert body["label"] == expected.label == "tone"
    assert body["source"] == "<body>"
    assert body["n_windows"] == len(expected.windows)
    for label, p in expected.probabilities.items():
        assert body["probabilities"][label] == pytest.approx(p, abs=1e-5)
    assert [k["label"] for k in body["top_k"]] == [k["label"] for k in expected.top_k(3)]
    assert "windows" not in body  # the timeline only when asked
    assert (body["silent"], body["peak"]) == (False, pytest.approx(expected.peak))
    silent = post(client, wav_bytes(np.zeros(SR, np.float32))).json()  # answered, and said
    assert (silent["silent"], silent["peak"]) == (True, 0.0)


def test_multipart_upload_with_timeline_and_top_k(client: TestClient, predictor: Predictor) -> None:
    response = client.post(
        "/predict?timeline=true&top_k=2",
        files={"file": ("sweep.wav", wav_bytes(CHIRP), "audio/wav")},
    )
    assert response.status_code == 200
    body = response.json()
    expected = predictor.predict(wav_bytes(CHIRP))
    assert body["source"] == "sweep.wav"
    assert body["label"] == expected.label
    assert len(body["top_k"]) == 2
    assert [(w["start"], w["end"], w["label"]) for w in body["windows"]] == [
        (pytest.approx(w.start), pytest.approx(w.end), w.label) for w in expected.windows
    ]
    assert body.keys() == prediction_json(expected, top_k=2, timeline=True).keys()


@pytest.mark.parametrize(
    ("fmt", "subtype", "kind"),
    [
        ("FLAC", "PCM_16", "audio/flac"),
        ("OGG", "VORBIS", "application/octet-stream"),
        ("MP3", "MPEG_LAYER_III", None),  # no content type: the decoder sniffs the format
    ],
)
def test_other_formats(client: TestClient, fmt: str, subtype: str, kind: str | None) -> None:
    response = post(client, wav_bytes(TONE, fmt=fmt, subtype=subtype), kind)
    assert response.status_code == 200, response.text
    assert response.json()["label"] == "tone"


def test_top_k_is_clamped_to_the_labels(client: TestClient) -> None:
    body = post(client, wav_bytes(TONE), query="?top_k=10").json()
    assert len(body["top_k"]) == 3


def test_long_file_is_streamed(client: TestClient, predictor: Predictor) -> None:
    x = np.tile(np.concatenate([TONE, noise(duration=3.0, sample_rate=SR, seed=1)]), 12)  # 72 s
    assert len(x) / SR > 2 * 30.0  # three of Preprocessing.stream's 30 s blocks
    body = wav_bytes(x, fmt="FLAC")  # under the client's 1 MiB
    response = post(client, body, "audio/flac", query="?timeline=true")
    assert response.status_code == 200
    expected = predictor.predict(body)
    assert response.json()["n_windows"] == len(expected.windows) > 100
    labels = [w["label"] for w in response.json()["windows"]]
    assert labels == [w.label for w in expected.windows]


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        (b"", "AudioDecodeError", ("'<body>'", "empty")),
        (b"RIFF....WAVEfmt " + b"\x00" * 200, "AudioDecodeError", ("'<body>'",)),
        (b"not audio at all " * 64, "AudioDecodeError", ("'<body>'", "not an audio file")),
        (
            wav_bytes(np.full(800, np.nan, np.float32), subtype="FLOAT"),
            "AudioUnusableError",
            ("'<body>'", "NaN"),
        ),
    ],
    ids=["empty", "header-only", "garbage", "nan"],
)
def test_bad_audio_is_400(
    client: TestClient, body: bytes, error: str, words: tuple[str, ...], uploads: Path
) -> None:
    response = assert_problem(post(client, body), 400, error, *words)
    assert str(uploads) not in response["detail"]  # the temporary file is never named
    assert_still_serving(client)


def test_bad_upload_names_the_file(client: TestClient) -> None:
    response = client.post("/predict", files={"file": ("notes.txt", b"hello " * 50, "text/plain")})
    assert_problem(response, 400, "AudioDecodeError", "'notes.txt'")


def test_multipart_without_a_file_is_400(client: TestClient) -> None:
    response = client.post(
        "/predict", data={"comment": "no file"}, files={"a": ("", b"", "")}, headers={}
    )
    assert response.status_code == 400
    assert_still_serving(client)


def test_one_recording_a_request(client: TestClient) -> None:
    two = [
        ("file", ("a.wav", wav_bytes(TONE), "audio/wav")),
        ("file", ("b.wav", wav_bytes(CHIRP), "audio/wav")),
    ]
    response = client.post("/predict", files=two)  # not one answer for one of them
    assert_problem(response, 400, "RequestError", "holds 2 files in the field 'file'")
    unnamed = [(name, part) for name, (_, part) in zip(("x", "y"), two, strict=True)]
    response = client.post("/predict", files=unnamed)
    assert_problem(response, 400, "RequestError", "and none in the field 'file'")
    response = client.post(  # the field 'file' beside another file: the field is the recording
        "/predict",
        files=[two[1], ("notes", ("notes.txt", b"hello", "text/plain"))],
    )
    assert response.status_code == 200
    assert response.json()["source"] == "b.wav"
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("query", "word"),
    [("?top_k=0", "top_k"), ("?top_k=two", "top_k"), ("?timeline=maybe", "timeline")],
)
def test_bad_parameters_are_400(client: TestClient, query: str, word: str) -> None:
    assert_problem(post(client, wav_bytes(TONE), query=query), 400, "RequestError", word)


@pytest.mark.parametrize(
    "kind", ["text/plain", "application/json", "application/x-www-form-urlencoded", "image/png"]
)
def test_wrong_content_type_is_415(client: TestClient, kind: str) -> None:
    body = assert_problem(post(client, wav_bytes(TONE), kind), 415, "RequestError", kind)
    if kind.endswith("urlencoded"):
        assert "curl" in body["detail"]
    assert_still_serving(client)


def test_over_max_bytes_is_413_before_reading(client: TestClient) -> None:
    big = wav_bytes(np.zeros(SR * 70, np.float32))  # 1.1 MB > 1 MiB
    assert_problem(post(client, big), 413, "RequestError", "MiB", "--max-bytes")
    assert_still_serving(client)


def test_over_max_bytes_without_content_length_is_413(client: TestClient) -> None:
    big = wav_bytes(np.zeros(SR * 70, np.float32))

    def chunks() -> Iterator[bytes]:  # sent chunked: no Content-Length to check first
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    response = client.post("/predict", content=chunks(), headers={"content-type": "audio/wav"})
    assert_problem(response, 413, "RequestError", "--max-bytes")
    assert_still_serving(client)


def test_long_silent_flac_is_413_before_decoding(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "silence.flac"  # 2 hours of silence: a few kilobytes of FLAC
    with sf.SoundFile(path, "w", samplerate=SR, channels=1, format="FLAC") as out:
        block = np.zeros(SR * 600, np.int16)
        for _ in range(12):
            out.write(block)
    assert path.stat().st_size < 2**20

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the audio was decoded")

    monkeypatch.setattr(melgenre.Preprocessing, "stream", never)
    monkeypatch.setattr(melgenre.Preprocessing, "load", never)
    body = assert_problem(
        post(client, path.read_bytes(), "audio/flac"),
        413,
        "RequestError",
        "7,200.0 s",
        "--max-seconds",
    )
    assert "120 s" in body["detail"]
    monkeypatch.undo()
    assert_still_serving(client)


def test_length_is_checked_while_decoding_too(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("melgenre.serve.service.decoded_seconds", lambda *a: None)  # no header
    long = wav_bytes(np.zeros(SR * 150, np.float32), fmt="FLAC")  # 150 s > 120 s, small
    assert len(long) < 2**20
    assert_problem(post(client, long, "audio/flac"), 413, "RequestError", "longer", "--max-seconds")


def test_busy_is_503_with_retry_after(client: TestClient) -> None:
    service = client.app.state.service  # type: ignore[attr-defined]
    service.in_flight += service.config.max_pending
    try:
        response = post(client, wav_bytes(TONE))
    finally:
        service.in_flight -= service.config.max_pending
    assert_problem(response, 503, "RequestError", "busy")
    assert response.headers["retry-after"] == "1"
    assert f"({service.config.max_pending} requests in progress" in response.text
    assert_still_serving(client)


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    assert_problem(client.get("/nowhere"), 404, "HTTPException", "/nowhere")
    assert client.get("/predict").status_code == 405
    assert client.get("/predict").json()["status"] == 405


def test_timeout_is_504_and_cleans_up(serve_bundle: Path, tmp_path: Path) -> None:
    app = create_app(serve_bundle, upload_dir=str(tmp_path), timeout=1e-6)
    with TestClient(app) as slow:
        response = post(slow, wav_bytes(TONE))
        assert_problem(response, 504, "RequestError", "--timeout")
        assert slow.get("/health").json()["status"] == "ok"
    # the decoding thread finishes its step, then removes the upload
    assert not list(tmp_path.iterdir())


def test_uploads_are_removed(client: TestClient, uploads: Path) -> None:
    post(client, wav_bytes(TONE))
    post(client, b"garbage" * 10)
    assert not list(uploads.iterdir())


# ------------------------------------------------------------------ other routes


def test_info_health_openapi_and_page(client: TestClient, predictor: Predictor) -> None:
    info = client.get("/info").json()
    assert info["labels"] == predictor.labels
    assert info["sample_rate"] == SR
    assert info["window_shape"] == [32, 32, 1]
    assert info["preprocessing"] == predictor.preprocessing.get_config()
    assert 0.0 <= info["metrics"]["file_accuracy"] <= 1.0
    assert info["training"]["epochs"] >= 1
    assert info["limits"]["max_bytes"] == 2**20
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["served"] >= 0
    spec = client.get("/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    routes = {getattr(r, "path", None) for r in client.app.routes} - {"/static"}  # type: ignore[attr-defined]
    assert routes <= set(spec["paths"])
    responses = spec["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "408", "413", "415", "503", "504"} <= set(responses)
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/app.js"' in page.text


def test_info_has_no_nan(serve_bundle: Path, predictor: Predictor) -> None:
    """A training record with NaN (no validation loss, say) is still valid JSON."""
    import dataclasses

    nan_predictor = Predictor(
        preprocessing=predictor.preprocessing,
        model=predictor.model,
        labels=predictor.labels,
        metadata={"val_loss": float("nan"), "curve": [1.0, float("inf")]},
    )
    with TestClient(create_app(nan_predictor)) as c:
        info = c.get("/info").json()
    assert info["metadata"] == {"val_loss": None, "curve": [1.0, None]}
    assert dataclasses.is_dataclass(ServeConfig())


def test_page_fetches_nothing_from_the_internet(client: TestClient) -> None:
    from melgenre.serve.app import STATIC_DIR

    names = sorted(p.name for p in STATIC_DIR.iterdir())
    assert names == ["app.js", "index.html", "style.css"]
    for name in names:
        text = (STATIC_DIR / name).read_text()
        assert "http://" not in text
        assert "https://" not in text
        assert client.get(f"/static/{name}").status_code == 200


def test_config_is_validated() -> None:
    with pytest.raises(melgenre.errors.ConfigError, match="max_bytes"):
        ServeConfig(max_bytes=0)
    with pytest.raises(melgenre.errors.ConfigError, match="timeout"):
        ServeConfig(timeout=-1)
    assert ServeConfig().to_dict()["max_seconds"] == 1800.0


# ------------------------------------------------------------------ CLI


def test_cli_without_the_extra_says_how_to_install(
    serve_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    assert main(["serve", str(serve_bundle)]) == 1
    err = capsys.readouterr().err
    assert 'pip install "melgenre[serve]"' in err
    assert "uvicorn" in err


def test_cli_names_a_folder_it_cannot_serve_before_announcing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export"
    export.mkdir()
    (export / "melgenre-export.json").write_text("{}")
    assert main(["serve", str(export), "--port", "1"]) == 1
    err = capsys.readouterr().err
    assert "serving" not in err
    assert "not a melgenre bundle but an export" in err
