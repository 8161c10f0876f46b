"""A small closed-loop HTTP load generator (aiohttp + asyncio) and a server subprocess helper, for the serving
benchmarks and the load test. Loopback only: the URL must point at 127.0.0.1/localhost.

The client is aiohttp, not httpx: the load generator shares the 2 cores with the server, and httpx's client spent
1.67 ms of CPU per request against aiohttp's 0.16 ms (1-text requests at concurrency 32 on this machine), which
showed up as "server overhead" that the server did not cause.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlparse

import numpy as np


@dataclass
class LoadResult:
    """What a load run saw."""

    requests: int = 0
    errors: int = 0
    tokens: int = 0
    inputs: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        lat = np.array(self.latencies) * 1000 if self.latencies else np.array([np.nan])
        return {"requests": self.requests, "errors": self.errors, "seconds": round(self.seconds, 3),
                "requests_per_s": round(self.requests / self.seconds, 2) if self.seconds else None,
                "inputs_per_s": round(self.inputs / self.seconds, 2) if self.seconds else None,
                "tokens_per_s": round(self.tokens / self.seconds, 1) if self.seconds else None,
                "p50_ms": round(float(np.percentile(lat, 50)), 2), "p99_ms": round(float(np.percentile(lat, 99)), 2),
                "error_samples": self.error_samples[:5]}


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"load generation is for loopback only, got host {host}")


async def run_load(url: str, payloads: Sequence[dict], concurrency: int, *, headers: dict | None = None,
                   path: str = "/v1/embeddings", on_done: Callable[[int], None] | None = None,
                   timeout: float = 60.0) -> LoadResult:
    """POST every payload with `concurrency` workers (closed loop); collects latencies, tokens and errors."""
    import aiohttp

    check_loopback(url)
    result = LoadResult()
    next_index = 0
    bodies = [json.dumps(p).encode() for p in payloads]  # serialised up front: the client's CPU is not the server's
    send_headers = {"Content-Type": "application/json", **(headers or {})}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(url, connector=connector, headers=send_headers,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async def worker() -> None:
            nonlocal next_index
            while next_index < len(bodies):
                i = next_index
                next_index += 1
                start = time.perf_counter()
                body = None
                try:
                    async with session.post(path, data=bodies[i]) as r:
                        text = await r.text()
                        if r.status == 200:
                            body = json.loads(text)
                        else:
                            result.error_samples.append(f"{r.status}: {text[:200]}")
                except Exception as e:  # noqa: BLE001 - any transport error counts as an error
                    result.error_samples.append(repr(e)[:200])
                result.latencies.append(time.perf_counter() - start)
                result.requests += 1
                if body is not None:
                    result.tokens += (body.get("usage") or {}).get("total_tokens", 0)
                    result.inputs += len(body.get("data") or body.get("results") or [])
                else:
                    result.errors += 1
                if on_done is not None:
                    on_done(result.requests)

        start = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        result.seconds = time.perf_counter() - start
    return result


def start_server(args: Sequence[str], port: int, *, env: dict | None = None, timeout: float = 600.0,
                 log_path: str | None = None) -> subprocess.Popen:
    """Start `seaembed serve ARGS --port PORT` on 127.0.0.1 in a subprocess and wait for /health."""
    import httpx

    cmd = [sys.executable, "-m", "seaembed.cli", "serve", *args, "--host", "127.0.0.1", "--port", str(port)]
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see {log_path or 'its log'}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("the server did not become healthy in time")


def stop_server(proc: subprocess.Popen, timeout: float = 60.0) -> int:
    """SIGTERM (graceful: in-flight requests finish, the batcher drains) and wait."""
    proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
