"""POST /v1/rerank and /search with `rerank` against a real uvicorn server on loopback, with a tiny cross-encoder."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

DOCS = ["Sepatu Running Pria Ringan", "Tas Ransel Laptop 15 inch", "Giày chạy bộ nam siêu nhẹ",
        "Kaos Polos Hitam Cotton", "Minyak Goreng Sawit 2L"]


@pytest.fixture(scope="module")
def cross_encoder(tiny_model_dir):
    import torch

    from seaembed.train.cross_encoder import new_cross_encoder

    # a random head, seeded (it was drawn from whatever state earlier tests left): distinct scores are enough
    model = new_cross_encoder(str(tiny_model_dir), max_length=48, seed=1)
    with torch.no_grad():  # spread the random head's scores (all ~0.5018 otherwise) so orders are told apart
        model.transformers_model.classifier.weight.mul_(300.0)
    model.eval()
    return model


@pytest.fixture(scope="module")
def saved_cross_encoder(cross_encoder, tmp_path_factory):
    path = tmp_path_factory.mktemp("ce") / "relevance"
    cross_encoder.save(str(path))
    return path


def serve_cli(*args: str):
    """Run `seaembed serve ARGS` (the real entry point, options, `run_server` and `build_app`) up to uvicorn, and
    return (exit code, the app it would serve, uvicorn's keyword arguments): `uvicorn.run` is the one call replaced."""
    import sys

    import uvicorn

    from seaembed.cli import main

    got: dict = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "argv", ["seaembed", "serve", *args])
        mp.setattr(uvicorn, "run", lambda app, **kw: got.update(app=app, kw=kw))
        try:
            main()
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    return code, got.get("app"), got.get("kw")


@pytest.fixture(scope="module")
def live(onnx_dir, index_dir, saved_cross_encoder):
    from seaembed.serve.server import BackgroundServer

    # --max-batch-tokens 32: a request's pairs run in several batches
    code, app, kw = serve_cli("--model", str(onnx_dir), "--index", str(index_dir), "--reranker",
                              str(saved_cross_encoder), "--api-key", "k", "--model-name", "tiny", "--max-inputs", "8",
                              "--max-batch-tokens", "32", "--threads", "1")
    assert code == 0 and kw["port"] == 8080
    with BackgroundServer(app, http=kw["http"]) as url:
        yield url, httpx.Client(base_url=url, headers={"Authorization": "Bearer k"}, timeout=30)
    assert app.state.reranker._closed


def reference(cross_encoder, query, docs, kind="query-item"):
    from seaembed.train.cross_encoder import RelevancePair, score_pairs

    return score_pairs(cross_encoder, [RelevancePair(query, d, 0, kind) for d in docs])


def test_rerank_orders_by_the_models_scores(live, cross_encoder):
    _, client = live
    r = client.post("/v1/rerank", json={"query": "sepatu lari", "documents": DOCS})
    assert r.status_code == 200, r.text
    body = r.json()
    ref = reference(cross_encoder, "sepatu lari", DOCS)
    assert np.min(np.diff(np.sort(ref))) > 1e-5  # the test can tell orders apart
    assert [x["index"] for x in body["results"]] == np.argsort(-ref, kind="stable").tolist()
    np.testing.assert_allclose([x["relevance_score"] for x in body["results"]], np.sort(ref)[::-1], atol=1e-6)
    assert [x["document"]["text"] for x in body["results"]] == [DOCS[x["index"]] for x in body["results"]]
    assert body["object"] == "rerank" and body["model"] == "relevance" and body["usage"]["total_tokens"] > len(DOCS)
    assert client.post("/rerank", json={"query": "sepatu lari", "documents": DOCS}).json() == body  # infinity's path

    # TEI's `texts`, Cohere's {"text"} documents, top_n, return_documents=false, the category kind
    r = client.post("/v1/rerank", json={"query": "sepatu lari", "texts": [{"text": d} for d in DOCS], "top_n": 2,
                                        "return_documents": False, "kind": "query-category"})
    ref_c = reference(cross_encoder, "sepatu lari", DOCS, "query-category")
    assert [x["index"] for x in r.json()["results"]] == np.argsort(-ref_c, kind="stable")[:2].tolist()
    assert "document" not in r.json()["results"][0]


@pytest.mark.parametrize("body, message", [
    ({"documents": DOCS}, "'query' is required"),
    ({"query": "x"}, "'documents' (or 'texts') is required"),
    ({"query": "x", "documents": []}, "non-empty list"),
    ({"query": "x", "documents": ["a", 3]}, "documents[1] must be a string"),
    ({"query": "x", "documents": ["a", " "]}, "documents[1] is empty"),
    ({"query": "x", "documents": ["a"] * 9}, "the limit is 8"),
    ({"query": "x", "documents": ["a"], "top_n": 0}, "'top_n' must be a positive integer"),
    ({"query": "x", "documents": ["a"], "kind": "item-item"}, "'kind' must be one of"),
])
def test_rerank_bad_input_is_400_with_a_message(live, body, message):
    _, client = live
    r = client.post("/v1/rerank", json=body)
    assert r.status_code == 400
    assert message in r.json()["error"]["message"]


def test_rerank_needs_the_key(live):
    url, _ = live
    r = httpx.post(f"{url}/v1/rerank", json={"query": "x", "documents": ["a"]})
    assert r.status_code == 401 and "missing API key" in r.json()["error"]["message"]
    r = httpx.post(f"{url}/v1/rerank", json={"query": "x", "documents": ["a"]}, headers={"Authorization": "Bearer no"})
    assert r.status_code == 401


def test_rerank_is_counted_in_metrics(live):
    _, client = live
    client.post("/v1/rerank", json={"query": "x", "documents": ["a", "b", "c"]})
    text = client.get("/metrics").text
    assert 'endpoint="/v1/rerank"' in text


def test_health_names_the_reranker(live):
    url, _ = live
    info = httpx.get(f"{url}/health").json()
    assert info["reranker"] == {"model": "relevance", "backend": "cross-encoder-torch", "max_length": 48}


def test_serve_refuses_a_reranker_that_is_not_a_cross_encoder(tiny_model_dir, tmp_path, capsys):
    """A bi-encoder would load as a cross-encoder with a new random head: refused in one line, before any model loads."""
    code, app, _ = serve_cli("--model", str(tiny_model_dir), "--reranker", str(tiny_model_dir))
    err = capsys.readouterr().err
    assert code == 2 and app is None and "not a relevance cross-encoder" in err and "Traceback" not in err
    code, _, _ = serve_cli("--model", str(tiny_model_dir), "--reranker", str(tmp_path / "nope"))
    assert code == 2 and f"--reranker {tmp_path / 'nope'}: no such directory" in capsys.readouterr().err


def test_search_with_rerank_reorders_the_top_by_the_cross_encoder(live, cross_encoder):
    _, client = live
    plain = client.post("/search", json={"query": "sepatu lari", "k": 10}).json()["results"]
    got = client.post("/search", json={"query": "sepatu lari", "k": 3, "rerank": True, "rerank_k": 10}).json()
    hits = got["results"]
    ref = reference(cross_encoder, "sepatu lari", [h["title"] for h in plain])
    assert [h["id"] for h in hits] == [plain[i]["id"] for i in np.argsort(-ref, kind="stable")[:3]]
    assert [h["rank"] for h in hits] == [1, 2, 3] and all("first_rank" in h for h in hits)


def test_onnx_int8_export_keeps_scores_and_serves(tiny_model_dir, cross_encoder, tmp_path):
    from seaembed.export.cross_encoder import export_cross_encoder
    from seaembed.serve.rerank import OnnxCrossEncoderBackend, load_reranker

    saved = tmp_path / "ce"
    cross_encoder.save(str(saved))
    fp32 = export_cross_encoder(saved, tmp_path / "fp32", int8=False)
    int8 = export_cross_encoder(saved, tmp_path / "int8", int8=True)
    p32 = json.loads((fp32 / "parity.json").read_text())
    p8 = json.loads((int8 / "parity.json").read_text())
    # (not order_kept: this random head's scores are ~1e-4 apart, so fp32 rounding flips near-ties)
    assert p32["max_abs_diff"] < 1e-4 and p32["pearson"] > 0.999
    assert p8["max_abs_diff"] < 0.05  # int8 weights: close, not equal
    backend = load_reranker(int8)
    assert isinstance(backend, OnnxCrossEncoderBackend) and backend.name == "cross-encoder-onnx-int8"
    ref = reference(cross_encoder, "sepatu lari", DOCS)
    got = load_reranker(fp32).embed_ids(load_reranker(fp32).tokenize_pairs("sepatu lari", DOCS))[:, 0]
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_rerank_shares_the_embeddings_endpoints_limits(onnx_dir, cross_encoder):
    """The token budget (413) and the Unicode check (400) of /v1/embeddings apply to /v1/rerank too."""
    from fastapi.testclient import TestClient

    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import Engine
    from seaembed.serve.app import ServerSettings, create_app
    from seaembed.serve.rerank import CrossEncoderBackend

    app = create_app(Engine(create_backend("onnx", onnx_dir, threads=1)), None,
                     ServerSettings(model_name="tiny", max_request_tokens=40),
                     reranker=Engine(CrossEncoderBackend(cross_encoder)))
    with TestClient(app) as client:
        def post(body):  # json.dumps escapes lone surrogates as JSON allows ("\ud800")
            return client.post("/v1/rerank", content=json.dumps(body), headers={"content-type": "application/json"})

        r = post({"query": "sepatu \ud800", "documents": DOCS[:2]})
        assert r.status_code == 400 and "lone surrogate" in r.json()["error"]["message"], r.text
        r = post({"query": "sepatu", "documents": ["ok", "tas \udfff"]})
        assert r.status_code == 400 and r.json()["error"]["param"] == "documents", r.text
        assert post({"query": "sepatu", "documents": DOCS[:2]}).status_code == 200
        r = post({"query": "sepatu", "documents": DOCS})  # 5 pairs: over 40 tokens
        assert r.status_code == 413 and r.json()["error"]["param"] == "documents", r.text
