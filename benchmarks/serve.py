"""``melgenre serve`` under load on loopback: latency, throughput, memory, errors; batched or not.

Run: .venv/bin/python benchmarks/serve.py [--requests 2000] [--clients 32] [--seconds 3]

The default GenreCNN on MelFeaturizer() windows (22.05 kHz, 128 x 128), trained one step on
random windows (speed only), saved as a bundle and served by the real command
(``python -m melgenre serve``) in its own process, once with micro-batching (the default)
and once with ``--max-batch 1`` (one request per model call). For each:

* single-request latency: one client, requests one after another (the baseline);
* ``--clients`` concurrent clients (threads with keep-alive connections) sending
  ``--requests`` requests in all: p50/p99 latency, requests/s, errors (anything but 200);
* the server's resident memory after a warm-up, after the load and its peak (psutil);
* model calls per request (from ``/health``).

Each request is a ``--seconds`` WAV (a tone in noise at 22.05 kHz, a different one per
request). Writes benchmarks/results/serve.json.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import soundfile as sf
from _common import speed_predictor, write_result

RATE = 22050


def clips(n: int, seconds: float) -> list[bytes]:
    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * RATE)) / RATE
    out = []
    for _ in range(n):
        x = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 1000) * t)
        x += 0.05 * rng.standard_normal(t.size)
        buffer = io.BytesIO()
        sf.write(buffer, x.astype(np.float32), RATE, format="WAV", subtype="PCM_16")
        out.append(buffer.getvalue())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive connection posting WAV bodies to /predict."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def predict(self, body: bytes) -> tuple[int, float]:
        start = time.perf_counter()
        try:
            self.conn.request("POST", "/predict", body=body, headers={"Content-Type": "audio/wav"})
            response = self.conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            status = 0
        return status, time.perf_counter() - start

    def get(self, path: str) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)  # a fresh one:
        try:  # an idle keep-alive connection may have been closed by the server
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())  # type: ignore[no-any-return]
        finally:
            conn.close()


def start_server(bundle: Path, extra: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [sys.executable, "-m", "melgenre", "serve", str(bundle), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--log-level", "warning", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            Client(port).get("/health")
            return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the server did not start")


def percentiles(latencies: list[float]) -> dict[str, float]:
    ms = np.asarray(latencies) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p90_ms": round(float(np.percentile(ms, 90)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


def load(port: int, bodies: list[bytes], clients: int, requests: int) -> dict[str, Any]:
    """``clients`` threads, each with its own connection, until ``requests`` are answered."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    issued = iter(range(requests))

    def worker() -> None:
        client = Client(port)
        while True:
            with lock:
                i = next(issued, None)
            if i is None:
                return
            status, seconds = client.predict(bodies[i % len(bodies)])
            with lock:
                latencies.append(seconds)
                if status != 200:
                    errors[str(status)] = errors.get(str(status), 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies),
        "errors": errors,
        "failed": sum(errors.values()),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        **percentiles(latencies),
    }


def run_mode(bundle: Path, extra: list[str], args: argparse.Namespace) -> dict[str, Any]:
    bodies = clips(64, args.seconds)
    process, port = start_server(bundle, extra)
    server = psutil.Process(process.pid)
    try:
        probe = Client(port)
        for body in bodies[:32]:  # warm-up: traced model, allocator, connections
            probe.predict(body)
        load(port, bodies, args.clients, args.requests // 10)  # ... and batch sizes, threads
        single = [probe.predict(bodies[i % len(bodies)])[1] for i in range(args.single)]
        before = probe.get("/health")
        rss_before = server.memory_info().rss
        cpu_before = sum(server.cpu_times()[:2])
        peak = [rss_before]
        done = threading.Event()

        def watch() -> None:
            while not done.wait(0.1):
                peak.append(server.memory_info().rss)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            concurrent = load(port, bodies, args.clients, args.requests)
        finally:
            done.set()
            watcher.join()
        rss_after = server.memory_info().rss
        cpu = sum(server.cpu_times()[:2]) - cpu_before
        after = probe.get("/health")
    finally:
        process.terminate()
        process.wait(30)
    single_stats = percentiles(single)
    calls = after["model_calls"] - before["model_calls"]
    served = after["served"] - before["served"]
    return {
        "server_flags": extra,
        "single": {"requests": len(single), **single_stats},
        "concurrent": concurrent,
        "p99_over_single_p50": round(concurrent["p99_ms"] / single_stats["p50_ms"], 2),
        "model_calls_per_request": round(calls / max(served, 1), 3),
        "server_cpu_ms_per_request": round(1000 * cpu / max(served, 1), 2),
        "rss_mb": {
            "after_warmup": round(rss_before / 2**20, 1),
            "quartiles_of_the_load": [
                round(peak[min(len(peak) - 1, len(peak) * q // 4)] / 2**20, 1) for q in (1, 2, 3)
            ],
            "after_load": round(rss_after / 2**20, 1),
            "peak": round(max(peak) / 2**20, 1),
            "growth": round((rss_after - rss_before) / 2**20, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each request's clip")
    parser.add_argument("--single", type=int, default=200, help="requests for the baseline")
    args = parser.parse_args()

    modes = {"batched": [], "one_per_call": ["--max-batch", "1"]}
    with tempfile.TemporaryDirectory() as tmp:
        bundle = speed_predictor().save(Path(tmp) / "bundle")
        results = {}
        for name, extra in modes.items():
            results[name] = run_mode(bundle, extra, args)
            r = results[name]
            print(
                f"{name:>13}: single p50 {r['single']['p50_ms']:.1f} ms | "
                f"{args.clients} clients: p50 {r['concurrent']['p50_ms']:.1f} ms, "
                f"p99 {r['concurrent']['p99_ms']:.1f} ms "
                f"({r['p99_over_single_p50']:.1f}x single), "
                f"{r['concurrent']['requests_per_s']:.0f} req/s, "
                f"{r['concurrent']['failed']} failed, "
                f"{r['model_calls_per_request']:.2f} model calls and "
                f"{r['server_cpu_ms_per_request']:.1f} server CPU ms per request, "
                f"RSS {r['rss_mb']['after_warmup']:.0f} -> "
                f"{r['rss_mb']['quartiles_of_the_load']} -> {r['rss_mb']['after_load']:.0f} MB"
            )
    batched, single = results["batched"], results["one_per_call"]
    write_result(
        "serve",
        {
            "settings": vars(args),
            "goals": {
                "failed_at_32_clients": 0,
                "p99_over_single_p50": 3.0,
                "memory": "flat across the requests",
            },
            **results,
            "throughput_batched_over_one_per_call": round(
                batched["concurrent"]["requests_per_s"] / single["concurrent"]["requests_per_s"], 2
            ),
            "p99_batched_over_one_per_call": round(
                batched["concurrent"]["p99_ms"] / single["concurrent"]["p99_ms"], 2
            ),
            "median_of_single": statistics.median(
                [batched["single"]["p50_ms"], single["single"]["p50_ms"]]
            ),
        },
    )


if __name__ == "__main__":
    main()
