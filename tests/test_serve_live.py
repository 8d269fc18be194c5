"""``melgenre serve`` as a real process: its page in a real browser, a slow upload, concurrency.

The server is the command itself (``python -m melgenre serve``) on a free loopback port.
The browser is Debian's Chromium driven by Playwright with ``executable_path`` (no browser
download); ``.ci/run`` installs it. Outside CI a missing browser skips that one test.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("uvicorn")

from melgenre import Predictor
from serving import SR
from signals import noise, tone

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("MELGENRE_CHROMIUM", "/usr/bin/chromium")
#: Chromium's flags for a closed network, as root, without a screen.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",  # allow the microphone without a prompt
    "--use-fake-device-for-media-stream",  # ... and feed it Chromium's test tone
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(serve_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    command = [sys.executable, "-m", "melgenre", "serve", str(serve_bundle), "--port", str(port)]
    command += ["--read-timeout", "1", "--max-seconds", "120", "--log-level", "warning"]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if json.load(response)["status"] == "ok":
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"melgenre serve did not start:\n{log.read_text()}")
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()


def wav(x: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, x, SR, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def post(url: str, body: bytes, query: str = "") -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/predict{query}", data=body, headers={"Content-Type": "audio/wav"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def tone_then_noise() -> np.ndarray:
    return np.concatenate(
        [
            tone(frequency=600.0, duration=3.0, sample_rate=SR),
            noise(duration=3.0, sample_rate=SR, seed=4),
        ]
    )


def _read_reply(conn: socket.socket) -> str:
    """A whole HTTP response: headers and a body of Content-Length (segments may be split)."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length and (chunk := conn.recv(65536)):
        body += chunk
    return (head + b"\r\n\r\n" + body).decode("latin-1")


def test_slow_upload_is_408_and_the_server_goes_on(server: str) -> None:
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            b"Content-Length: 100000\r\n\r\n" + b"RIFF" + b"\x00" * 60
        )  # ... and then nothing: the server's --read-timeout is 1 s
        reply = _read_reply(conn)
    assert reply.startswith("HTTP/1.1 408"), reply
    assert "--read-timeout" in reply
    status, body = post(server, wav(tone(frequency=500.0, duration=2.0, sample_rate=SR)))
    assert status == 200
    assert body["label"] == "tone"


def test_concurrent_requests_all_answered_correctly(server: str, serve_bundle: Path) -> None:
    predictor = Predictor.load(serve_bundle)
    rng = np.random.default_rng(0)
    signals = [
        tone(
            frequency=float(rng.uniform(300, 1500)),
            duration=float(rng.uniform(1, 4)),
            sample_rate=SR,
        )
        if i % 2
        else noise(duration=float(rng.uniform(1, 4)), sample_rate=SR, seed=i)
        for i in range(48)
    ]
    bodies = [wav(x) for x in signals]
    with cf.ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(lambda b: post(server, b, "?timeline=true"), bodies))
    for body, (status, answer) in zip(bodies, answers, strict=True):
        assert status == 200, answer
        expected = predictor.predict(body)
        assert answer["label"] == expected.label
        assert [w["label"] for w in answer["windows"]] == [w.label for w in expected.windows]
        for label, p in expected.probabilities.items():
            assert answer["probabilities"][label] == pytest.approx(p, abs=1e-4)


def _browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not shutil.which(CHROMIUM):
        message = f"needs Playwright and Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs both: a missing browser is a broken setup
        pytest.skip(message)
    return sync_playwright


def test_page_in_a_real_browser(server: str, serve_bundle: Path, tmp_path: Path) -> None:
    sync_playwright = _browser()
    predictor = Predictor.load(serve_bundle)
    clip = tmp_path / "tone-then-noise.wav"
    clip.write_bytes(wav(tone_then_noise()))
    expected = predictor.predict(clip)
    bad = tmp_path / "notes.txt"
    bad.write_text("not audio\n" * 20)
    shot = Path(os.environ.get("MELGENRE_SCREENSHOT", tmp_path / "page.png"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 760})
            page.goto(server)
            page.wait_for_function("document.getElementById('info').textContent.includes('labels')")
            assert "chirp, noise, tone" in page.text_content("#info")

            page.set_input_files("#file", str(clip))
            page.wait_for_selector("#result:not([hidden])")
            assert page.text_content("#label") == expected.label
            assert page.text_content("#source") == clip.name
            segments = page.eval_on_selector_all(
                "#timeline .segment",
                "els => els.map(e => [e.dataset.label, +e.dataset.start, +e.dataset.end])",
            )
            assert [s[0] for s in segments] == [w.label for w in expected.windows]
            assert {"tone", "noise"} <= {s[0] for s in segments}
            assert segments[-1][2] == pytest.approx(expected.windows[-1].end, abs=1e-3)
            assert page.is_hidden("#silent")  # the note on silence only for silence
            bars = page.eval_on_selector_all("#topk li", "els => els.map(e => e.dataset.label)")
            assert bars == [k["label"] for k in expected.top_k(3)]
            widths = page.eval_on_selector_all(
                "#topk .fill", "els => els.map(e => e.getBoundingClientRect().width)"
            )
            assert widths[0] > widths[-1] > 0  # the bars are drawn, longest first
            summary = page.text_content("#timeline-summary") or ""
            assert summary == f"{len(segments)} windows over {segments[-1][2]:.1f} s"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)

            short = tmp_path / "short.wav"  # under one window: "1 window", not "1 windows"
            short.write_bytes(wav(tone(frequency=440.0, duration=0.3, sample_rate=SR)))
            page.set_input_files("#file", str(short))
            page.wait_for_function("document.getElementById('source').textContent === 'short.wav'")
            assert (page.text_content("#timeline-summary") or "").startswith("1 window over ")
            hush = tmp_path / "hush.wav"
            hush.write_bytes(wav(np.zeros(SR, np.float32)))
            page.set_input_files("#file", str(hush))
            page.wait_for_selector("#silent:not([hidden])")
            assert "arbitrary" in (page.text_content("#silent") or "")

            page.set_input_files("#file", str(bad))  # an error is shown, the page goes on
            page.wait_for_selector("#error:not([hidden])")
            assert "400" in page.text_content("#error")
            assert "notes.txt" in page.text_content("#error")

            page.click("#record")  # Chromium's fake microphone plays a beep
            page.wait_for_function(
                "document.getElementById('status').textContent.includes('Recording')"
            )
            page.wait_for_timeout(1500)
            page.click("#record")
            page.wait_for_function(
                "document.getElementById('source').textContent === 'recording.wav'"
            )
            assert page.text_content("#label") in predictor.labels
            assert page.is_hidden("#error")
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
