"""The HTTP API through FastAPI's TestClient: every endpoint and every bad input."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from fastapi.testclient import TestClient

KEY = "s3cret"


@pytest.fixture(scope="module")
def client(engine, index_dir):
    from seaembed.search.search_index import SearchIndex
    from seaembed.serve.app import ServerSettings, create_app

    settings = ServerSettings(model_name="tiny", api_key=KEY, max_inputs=4, max_chars=50)
    app = create_app(engine, SearchIndex.load(index_dir), settings, close_engine_on_shutdown=False)
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as c:
        yield c


def _err(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_embeddings_float_matches_engine_and_reports_usage(client, onnx_backend):
    r = client.post("/v1/embeddings", json={"input": ["sepatu lari", "tas"], "model": "whatever"})
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list" and body["model"] == "tiny"
    assert [d["index"] for d in body["data"]] == [0, 1] and body["data"][0]["object"] == "embedding"
    got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
    ids = onnx_backend.tokenize(["sepatu lari", "tas"], "query")  # default input_type is query
    np.testing.assert_allclose(got, onnx_backend.embed_ids(ids), atol=1e-5)
    n = sum(len(s) for s in ids)
    assert body["usage"] == {"prompt_tokens": n, "total_tokens": n}


def test_embeddings_single_string_base64_and_passage_prompt(client, onnx_backend):
    r = client.post("/v1/embeddings", json={"input": "sepatu", "encoding_format": "base64", "input_type": "passage"})
    assert r.status_code == 200
    (item,) = r.json()["data"]
    vec = np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4")
    ref = onnx_backend.embed_ids(onnx_backend.tokenize(["sepatu"], "passage"))[0]
    np.testing.assert_allclose(vec, ref, atol=1e-5)


def test_dimensions_truncate_and_renormalise(client):
    full = np.array(client.post("/v1/embeddings", json={"input": "kaos"}).json()["data"][0]["embedding"])
    cut = np.array(client.post("/v1/embeddings", json={"input": "kaos", "dimensions": 8}).json()["data"][0]["embedding"])
    assert cut.shape == (8,)
    assert abs(np.linalg.norm(cut) - 1) < 1e-5
    np.testing.assert_allclose(cut, full[:8] / np.linalg.norm(full[:8]), atol=1e-5)


@pytest.mark.parametrize("payload, message", [
    ({"input": []}, "empty list"),
    ({"input": ["ok", 3.5]}, "input[1] must be a string"),
    ({"input": [1, 2, 3]}, "token-id input is not supported"),
    ({"input": [[1, 2]]}, "token-id input is not supported"),
    ({"input": {"text": "x"}}, "must be a string or a list"),
    ({"input": ["a"] * 5}, "limit is 4"),
    ({"input": ["x" * 51]}, "51 characters; the limit is 50"),
    ({"input": ["  "]}, "input[0] is empty"),
    ({}, "'input' is required"),
    ({"input": "x", "dimensions": 0}, "dimensions=0 is not supported"),
    ({"input": "x", "dimensions": 33}, "dimensions=33 is not supported"),
    ({"input": "x", "dimensions": "8"}, "must be an integer"),
    ({"input": "x", "encoding_format": "int4"}, "encoding_format"),
    ({"input": "x", "input_type": "document"}, "input_type"),
])
def test_bad_embedding_requests_get_400_with_message(client, payload, message):
    err = _err(client.post("/v1/embeddings", json=payload), 400)
    assert message in err["message"]
    assert err["type"] == "invalid_request_error"


def test_malformed_json_is_400(client):
    err = _err(client.post("/v1/embeddings", content=b"{not json", headers={"Content-Type": "application/json"}), 400)
    assert "invalid request" in err["message"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}])
def test_missing_or_wrong_key_is_401(client, headers):
    from fastapi.testclient import TestClient

    bare = TestClient(client.app)
    for method, path, body in (("post", "/v1/embeddings", {"input": "x"}), ("post", "/search", {"query": "x"}),
                               ("get", "/metrics", None)):
        r = getattr(bare, method)(path, json=body, headers=headers) if body else bare.get(path, headers=headers)
        err = _err(r, 401)
        assert "API key" in err["message"] and r.headers["www-authenticate"] == "Bearer"
    assert bare.get("/health").status_code == 200  # health and the page stay open
    assert bare.get("/").status_code == 200


def test_search_modes_filters_and_fields(client):
    for mode in ("dense", "bm25", "hybrid"):
        r = client.post("/search", json={"query": "sepatu running", "k": 3, "mode": mode})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["mode"] == mode and 1 <= len(body["results"]) <= 3
        hit = body["results"][0]
        assert {"id", "title", "category", "price", "lang", "score", "rank"} <= set(hit)
    bm25 = client.post("/search", json={"query": "sepatu running", "mode": "bm25"}).json()["results"]
    assert bm25[0]["id"] == "p1"
    r = client.post("/search", json={"query": "sepatu", "k": 10, "mode": "dense",
                                     "filters": {"category": "electronics", "price_max": 1_000_000}})
    ids = {h["id"] for h in r.json()["results"]}
    assert ids == {"p5", "p10"}
    r = client.post("/search", json={"query": "sepatu", "k": 10, "filters": {"lang": ["th", "vi"]}})
    assert {h["lang"] for h in r.json()["results"]} <= {"th", "vi"}


@pytest.mark.parametrize("payload, status, message", [
    ({"query": ""}, 400, "'query' is empty"),
    ({"query": "x" * 51}, 400, "the limit is 50"),
    ({"query": "x", "k": 0}, 400, "k"),
    ({"query": "x", "k": 101}, 400, "over the limit"),
    ({"query": "x", "mode": "sparse"}, 400, "mode"),
    ({"query": "x", "filters": {"colour": "red"}}, 400, "colour"),
    ({"query": "x", "filters": {"price_min": -1}}, 400, "price_min"),
    ({"k": 3}, 400, "query"),
])
def test_bad_search_requests(client, payload, status, message):
    assert message in _err(client.post("/search", json=payload), status)["message"]


def test_search_without_index_is_404(engine):
    from seaembed.serve.app import create_app

    with TestClient(create_app(engine, None, close_engine_on_shutdown=False)) as c:
        err = _err(c.post("/search", json={"query": "x"}), 404)
        assert "--index" in err["message"]
        assert c.get("/health").json()["index"] is None
        assert c.post("/v1/embeddings", json={"input": "x"}).status_code == 200  # no key configured: open


def test_health_metrics_page_and_unknown_route(client):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["dim"] == 32 and h["backend"] == "onnx-fp32" and h["auth"] is True
    assert h["index"]["size"] == 10 and "Fashion" in h["index"]["categories"]
    client.post("/v1/embeddings", json={"input": ["a", "b"]})
    text = client.get("/metrics").text
    assert 'seaembed_requests_total{endpoint="/v1/embeddings",status="200"}' in text
    assert "seaembed_request_latency_seconds_bucket" in text
    assert "seaembed_batch_size_count" in text and "seaembed_tokens_total" in text
    page = client.get("/")
    assert page.status_code == 200 and "search-form" in page.text
    assert client.get("/static/app.js").status_code == 200
    err = _err(client.get("/nope"), 404)
    assert err["message"] == "Not Found"


def test_backend_resolution_and_loopback_only_load(tiny_model_dir, onnx_dir):
    from seaembed.engine.export_meta import resolve_backend
    from seaembed.errors import ConfigError
    from seaembed.serve.loadgen import check_loopback

    assert resolve_backend(str(onnx_dir), "auto") == "onnx"
    assert resolve_backend(str(tiny_model_dir), "auto") == "torch"
    with pytest.raises(ConfigError, match="seaembed export"):
        resolve_backend(str(tiny_model_dir), "onnx")
    check_loopback("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="loopback only"):
        check_loopback("http://example.com:80")


def test_serve_cli_reports_bad_backend_as_one_line(tiny_model_dir):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "seaembed.cli", "serve", "--model", str(tiny_model_dir), "--backend",
                        "onnx"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "error: --backend onnx needs a `seaembed export` directory" in r.stderr
    assert "Traceback" not in r.stderr


def test_the_search_index_is_closed_at_shutdown(onnx_backend, index_dir):
    """A backend that holds a connection (Qdrant's client) is closed when the app shuts down."""
    from seaembed.engine.batching import BatchingConfig, Engine
    from seaembed.search.search_index import SearchIndex
    from seaembed.serve.app import ServerSettings, create_app

    class ClosingIndex(SearchIndex):
        closed = 0

        def close(self) -> None:
            ClosingIndex.closed += 1

    index = ClosingIndex.load(index_dir)
    with TestClient(create_app(Engine(onnx_backend, BatchingConfig(max_wait_ms=1)), index, ServerSettings())) as c:
        assert c.post("/search", json={"query": "sepatu", "k": 1}).status_code == 200
        assert ClosingIndex.closed == 0
    assert ClosingIndex.closed == 1
