"""Qdrant sink + search backend in qdrant-client's local mode: same top 10 as the faiss index on the bundled catalog."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qdrant_client")

from seaembed.search.qdrant_search import QdrantSearchIndex  # noqa: E402
from seaembed.search.qdrant_sink import push_index  # noqa: E402
from seaembed.search.search_index import SearchIndex  # noqa: E402

CATALOG = Path(__file__).resolve().parents[2] / "seaembed" / "samples" / "catalog.jsonl"
QUERIES = [json.loads(line)["query"] for line in
           (Path(__file__).resolve().parents[2] / "seaembed" / "samples" / "queries.jsonl").open(encoding="utf-8")][::10]


@pytest.fixture(scope="module")
def built(tiny_model_dir, tmp_path_factory):
    from seaembed.engine.backends import create_backend
    from seaembed.search.index import build_index

    out = build_index(str(tiny_model_dir), CATALOG, tmp_path_factory.mktemp("qidx") / "idx", chunk_size=512,
                      show_progress=False)
    backend = create_backend("torch", tiny_model_dir)
    qvecs = backend.embed_ids(backend.tokenize(QUERIES, "query"))
    faiss_index = SearchIndex.load(out)
    path = tmp_path_factory.mktemp("qdrant")
    n = push_index(out, f"path:{path}", "catalog", show_progress=False)
    assert n == faiss_index.size
    qindex = QdrantSearchIndex.connect(f"path:{path}", "catalog")
    yield faiss_index, qindex, np.asarray(qvecs)
    qindex.client.close()


def _ids(hits):
    return [h["id"] for h in hits]


def test_dense_top10_matches_faiss(built):
    faiss_index, qindex, qvecs = built
    assert qindex.size == faiss_index.size and qindex.dim == faiss_index.dim
    for q, v in zip(QUERIES, qvecs, strict=True):
        a, b = faiss_index.search(v, q, 10, mode="dense"), qindex.search(v, q, 10, mode="dense")
        assert _ids(a) == _ids(b), q
        assert [h["score"] for h in a] == pytest.approx([h["score"] for h in b], abs=1e-4)
        assert set(b[0]) == set(a[0])  # same response fields


def test_bm25_scores_match_bm25s(built):
    faiss_index, qindex, qvecs = built
    for q in QUERIES:
        a, b = faiss_index.search(None, q, 10, mode="bm25"), qindex.search(None, q, 10, mode="bm25")
        assert [h["score"] for h in a] == pytest.approx([h["score"] for h in b], rel=1e-3), q
        # ties at the 10th score may be ordered differently; the ids above the last score agree
        last = a[-1]["score"] + 1e-3 if a else 0.0
        assert {h["id"] for h in a if h["score"] > last} == {h["id"] for h in b if h["score"] > last}


@pytest.mark.parametrize("fusion", ["bounded", "rrf", "wrrf", "weighted", "zscore"])
def test_hybrid_matches_faiss(built, fusion):
    faiss_index, qindex, qvecs = built
    agree = 0
    for q, v in zip(QUERIES, qvecs, strict=True):
        a = faiss_index.search(v, q, 10, mode="hybrid", fusion=fusion)
        b = qindex.search(v, q, 10, mode="hybrid", fusion=fusion)
        agree += _ids(a) == _ids(b)
    assert agree >= len(QUERIES) - 1  # one BM25 tie at a candidate cut-off may swap an item


def test_filters(built):
    faiss_index, qindex, qvecs = built
    cat = faiss_index.categories()[0]
    f = {"category": [cat.upper()], "price_min": 10_000}
    a = faiss_index.search(qvecs[0], QUERIES[0], 10, f, mode="dense")
    b = qindex.search(qvecs[0], QUERIES[0], 10, f, mode="dense")
    assert a and _ids(a) == _ids(b)
    assert all(h["category"] == cat and h["price"] >= 10_000 for h in b)
    assert qindex.categories() == faiss_index.categories()
    assert qindex.languages() == faiss_index.languages()


def test_missing_collection_is_a_config_error(tmp_path):
    from seaembed.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        QdrantSearchIndex.connect(":memory:", "nope")


def test_cli_sink_and_serve_backend(tiny_model_dir, catalog_file, tmp_path):
    """`seaembed index --sink qdrant` then the server's qdrant backend answers /search like the faiss index."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from seaembed.cli import app
    from seaembed.serve.server import ServeOptions, build_app

    url = f"path:{tmp_path / 'q'}"
    r = CliRunner().invoke(app, ["index", "-m", str(tiny_model_dir), "-c", str(catalog_file), "-o",
                                 str(tmp_path / "idx"), "--sink", "qdrant", "--url", url, "--collection", "cat"])
    assert r.exit_code == 0, r.output
    assert "wrote 10 points to Qdrant collection cat" in r.output
    bad = CliRunner().invoke(app, ["index", "-m", str(tiny_model_dir), "-c", str(catalog_file), "-o",
                                   str(tmp_path / "idx2"), "--sink", "qdrant"])
    assert "needs --url and --collection" in str(bad.exception)  # a ConfigError: main() prints it, exit 2
    answers = {}
    for name, opts in (("faiss", {"index": tmp_path / "idx"}),
                       ("qdrant", {"search_backend": "qdrant", "qdrant_url": url, "collection": "cat"})):
        with TestClient(build_app(ServeOptions(model=str(tiny_model_dir), backend="torch", **opts))) as client:
            answers[name] = [client.post("/search", json={"query": "sepatu lari", "k": 5, "mode": mode}).json()
                             for mode in ("dense", "bm25", "hybrid")]
    for a, b in zip(answers["faiss"], answers["qdrant"], strict=True):
        assert [h["id"] for h in a["results"]] == [h["id"] for h in b["results"]]
