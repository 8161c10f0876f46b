"""The closed-loop load generator against a real server on loopback: counts, tokens, errors."""

from __future__ import annotations

import asyncio

import pytest


def test_run_load_counts_requests_tokens_and_errors(onnx_backend):
    from seaembed.engine.batching import Engine
    from seaembed.serve.app import ServerSettings, create_app
    from seaembed.serve.loadgen import run_load
    from seaembed.serve.server import BackgroundServer

    engine = Engine(onnx_backend)
    app = create_app(engine, None, ServerSettings(api_key="k"), close_engine_on_shutdown=False)
    good = [{"input": [f"produk {i}", "sepatu"], "model": "m"} for i in range(10)]
    bad = [{"input": [], "model": "m"}, {"input": "x", "dimensions": 0}]
    expected_tokens = sum(len(s) for p in good for s in onnx_backend.tokenize(p["input"], "query"))
    done = []
    try:
        with BackgroundServer(app) as url:
            res = asyncio.run(run_load(url, good + bad, 3, headers={"Authorization": "Bearer k"},
                                       on_done=done.append))
            unauthorised = asyncio.run(run_load(url, good[:2], 2))
    finally:
        engine.close()
    assert res.requests == 12 and res.errors == 2 and done == list(range(1, 13))
    assert res.tokens == expected_tokens and res.inputs == 20
    assert len(res.latencies) == 12 and all(x > 0 for x in res.latencies)
    assert sorted(s[:3] for s in res.error_samples) == ["400", "400"]
    summary = res.summary()
    assert summary["requests"] == 12 and summary["p99_ms"] >= summary["p50_ms"] > 0
    assert unauthorised.errors == 2 and unauthorised.error_samples[0].startswith("401")


def test_run_load_refuses_remote_hosts():
    from seaembed.serve.loadgen import run_load

    with pytest.raises(ValueError, match="loopback only"):
        asyncio.run(run_load("http://example.com", [{"input": "x"}], 1))
