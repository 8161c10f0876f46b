"""One request can't stall the server (#15 item 6): body size limit and token budget (413), body read deadline (408),
header read timeout (half-sent heads are closed), and cancellation of work whose client has gone. Raw sockets on
loopback against a real uvicorn server, since these are transport behaviours."""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient


class SlowBackend:
    """The tiny onnx backend with a pause in every forward pass, counting the sequences it ran."""

    def __init__(self, inner, pause: float) -> None:
        self.inner, self.pause, self.sequences, self.batches = inner, pause, 0, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_ids(self, batch):
        time.sleep(self.pause)
        self.sequences += len(batch)
        self.batches += 1
        return self.inner.embed_ids(batch)


def _app(backend, **settings):
    from seaembed.engine.batching import BatchingConfig, Engine
    from seaembed.serve.app import ServerSettings, create_app

    engine = Engine(backend, BatchingConfig(max_batch_tokens=64, max_batch_size=4))
    return create_app(engine, None, ServerSettings(model_name="tiny", **settings))


@pytest.fixture(scope="module")
def client(onnx_backend):
    with TestClient(_app(onnx_backend, max_request_tokens=200, max_body_bytes=4000, max_small_body_bytes=300)) as c:
        yield c


def test_request_over_the_token_budget_is_413(client, onnx_backend):
    texts = ["sepatu lari pria ringan"] * 30
    n = sum(len(s) for s in onnx_backend.tokenize(texts, "query"))
    assert n > 200
    r = client.post("/v1/embeddings", json={"input": texts})
    assert r.status_code == 413, r.text
    assert f"{n} tokens; the limit is 200" in r.json()["error"]["message"]
    assert client.post("/v1/embeddings", json={"input": texts[:5]}).status_code == 200


def test_body_over_the_limit_is_413_by_content_length(client):
    r = client.post("/v1/embeddings", content=json.dumps({"input": ["x" * 30] * 200}),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "limit is 4000 bytes" in r.json()["error"]["message"]
    assert r.headers["connection"] == "close"


def test_body_over_the_limit_is_413_when_streamed_without_length(client):
    def chunks():
        yield b'{"input": ["'
        for _ in range(100):
            yield b"x" * 100
        yield b'"]}'

    r = client.post("/v1/embeddings", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert "over the limit of 4000 bytes" in r.json()["error"]["message"]


def test_search_has_the_small_body_limit(client):
    r = client.post("/search", json={"query": "x" * 400})
    assert r.status_code == 413 and "limit is 300 bytes" in r.json()["error"]["message"]


# --- transport: real server, raw sockets ------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["httptools", "h11"])
def slow_server(onnx_backend, request):
    from seaembed.serve.protocols import header_timeout_protocol
    from seaembed.serve.server import BackgroundServer

    if request.param == "httptools":
        pytest.importorskip("httptools")
    backend = SlowBackend(onnx_backend, pause=0.05)
    app = _app(backend, header_timeout=0.5, body_timeout=0.5)
    with BackgroundServer(app, http=header_timeout_protocol(0.5, request.param)) as url:
        yield backend, int(url.rsplit(":", 1)[1])


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def _closed_by_server(s: socket.socket, within: float) -> bool:
    """True if the server closes (EOF or reset) within `within` seconds; reads and drops anything it sends."""
    s.settimeout(within)
    try:
        while s.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_half_sent_heads_are_all_closed_after_the_header_timeout(slow_server):
    _, port = slow_server
    socks = []
    for i in range(100):
        s = _connect(port)
        if i % 2:
            s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-")  # a head cut in the middle
        socks.append(s)  # even ones: connected and silent
    start = time.monotonic()
    closed = [_closed_by_server(s, max(3.0 - (time.monotonic() - start), 0.01)) for s in socks]
    for s in socks:
        s.close()
    assert all(closed), f"{closed.count(False)} of 100 connections still open 3 s after a 0.5 s header timeout"


def test_a_dribbled_head_is_closed_too(slow_server):
    _, port = slow_server
    s = _connect(port)
    start = time.monotonic()
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    try:
        for byte in head:  # one byte every 50 ms: never idle 0.5 s, but the head is not done in 0.5 s
            s.sendall(bytes([byte]))
            time.sleep(0.05)
        closed = _closed_by_server(s, 2.0)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    finally:
        s.close()
    assert closed and time.monotonic() - start < 4.0


def test_a_kept_alive_connection_still_serves_requests(slow_server):
    _, port = slow_server
    s = _connect(port)
    f = s.makefile("rb")
    for _ in range(2):
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert f.readline().startswith(b"HTTP/1.1 200")
        length = 0
        while (line := f.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert b'"status":"ok"' in f.read(length)
        time.sleep(0.3)  # under the keep-alive timeout; twice that is over the header timeout: not counted idle
    s.close()


def test_a_slow_body_gets_408_and_the_connection_closed(slow_server):
    _, port = slow_server
    s = _connect(port)
    s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{\"input\": ")
    s.settimeout(3)
    data = b""
    try:
        while chunk := s.recv(4096):
            data += chunk
    except TimeoutError:
        pass
    s.close()
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert b"not received within 0.5 s" in data


def test_work_of_a_client_that_left_is_cancelled(slow_server):
    backend, port = slow_server
    texts = [f"produk nomor {i} sepatu" for i in range(200)]  # 50 batches of 4 at 50 ms: 2.5 s if it all ran
    body = json.dumps({"input": texts}).encode()
    s = _connect(port)
    before = backend.sequences
    s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(0.4)
    s.close()  # the client goes away
    time.sleep(1.5)
    ran = backend.sequences - before
    assert ran < 100, f"{ran} of 200 sequences ran after the client left"
    # the request ended as 'client closed' (499), not as a server error, and the server is fine afterwards
    import httpx

    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'endpoint="/v1/embeddings",status="499"' in metrics
    assert 'status="500"' not in metrics


def test_a_small_request_is_not_stalled_by_a_big_one(slow_server):
    backend, port = slow_server
    import httpx

    big = {"input": [f"produk nomor {i} sepatu" for i in range(160)]}  # ~2 s of 50 ms batches
    done = {}

    def send_big():
        with httpx.Client(timeout=30) as c:
            done["big"] = c.post(f"http://127.0.0.1:{port}/v1/embeddings", json=big).status_code

    t = threading.Thread(target=send_big)
    t.start()
    time.sleep(0.3)
    start = time.monotonic()
    with httpx.Client(timeout=30) as c:
        r = c.post(f"http://127.0.0.1:{port}/v1/embeddings", json={"input": "kaos"})
    small = time.monotonic() - start
    t.join()
    assert r.status_code == 200 and done["big"] == 200
    assert small < 1.0, f"the 1-text request took {small:.2f} s behind the big one"
    assert np.isfinite(r.json()["data"][0]["embedding"]).all()
