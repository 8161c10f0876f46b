"""Catalog index: build, faiss kinds, filters, BM25 and hybrid search, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seaembed.errors import InputError
from seaembed.search.fusion import DEFAULT_FUSION, FUSIONS
from seaembed.search.search_index import Filters, SearchIndex


class CountingBackend:
    """Wraps a backend: counts embedded sequences, and can fail on a given call (an interrupted run)."""

    def __init__(self, inner, fail_on_call: int | None = None):
        self.inner, self.fail_on_call, self.calls, self.sequences = inner, fail_on_call, 0, 0
        self.name, self.dim = inner.name, inner.dim

    def tokenize(self, texts, prompt=None):
        return self.inner.tokenize(texts, prompt)

    def embed_ids(self, batch):
        self.calls += 1
        if self.fail_on_call is not None and self.calls >= self.fail_on_call:
            raise RuntimeError("simulated interruption")
        self.sequences += len(batch)
        return self.inner.embed_ids(batch)


def _engine(backend):
    from seaembed.engine.batching import BatchingConfig, Engine

    return Engine(backend, BatchingConfig(max_batch_tokens=10_000, max_wait_ms=0))


def test_index_files_and_search_agree_with_brute_force(index_dir, onnx_backend):
    info = json.loads((index_dir / "index.json").read_text())
    assert info["kind"] == "flat" and info["size"] == 10 and info["dim"] == 32
    assert not index_dir.with_name(index_dir.name + ".partial").exists()  # work dir removed after success
    index = SearchIndex.load(index_dir)
    q = onnx_backend.embed_ids(onnx_backend.tokenize(["sepatu lari"], "query"))[0]
    hits = index.search(q, "sepatu lari", k=10, mode="dense")
    expected = np.argsort(-(np.load(index_dir / "embeddings.npy") @ q))
    assert [h["id"] for h in hits] == [f"p{i + 1}" for i in expected]
    assert [h["rank"] for h in hits] == list(range(1, 11))


@pytest.mark.parametrize("kind", ["hnsw", "ivfpq"])
def test_other_faiss_kinds_find_the_exact_neighbour(kind):
    from seaembed.search import faiss_index

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(600, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = faiss_index.build(vecs, kind)
    scores, ids = faiss_index.search(index, vecs[17], 5)
    assert ids[0] == 17 and scores[0] == pytest.approx(1.0, abs=0.15 if kind == "ivfpq" else 1e-4)
    allowed = np.arange(100, 200, dtype=np.int64)
    _, ids = faiss_index.search(index, vecs[17], 5, allowed)
    assert len(ids) > 0 and all(100 <= i < 200 for i in ids)


def test_choose_kind_by_size():
    from seaembed.search.faiss_index import choose_kind

    assert choose_kind(1_000) == "flat" and choose_kind(50_000) == "flat" and choose_kind(50_001) == "ivfpq"
    assert choose_kind(200_000) == "ivfpq" and choose_kind(5_000_000) == "ivfpq"
    assert choose_kind(10, "hnsw") == "hnsw"
    with pytest.raises(ValueError):
        choose_kind(10, "lsh")


def test_filters_mask_by_category_lang_and_price(index_dir):
    index = SearchIndex.load(index_dir)
    pick = lambda f: sorted(index.meta[i]["id"] for i in np.flatnonzero(index.filter_mask(f)))  # noqa: E731
    assert pick(Filters(category=["FASHION"])) == ["p1", "p3", "p4", "p6", "p7"]
    assert pick(Filters(lang=["vi"])) == ["p10", "p4"]
    assert pick(Filters(price_min=100, price_max=1000)) == ["p3", "p7"]
    assert "p9" not in pick(Filters(price_min=0))  # no price: excluded by a price filter
    assert index.filter_mask(Filters()) is None


def test_bm25_hybrid_and_filtered_modes(index_dir, onnx_backend):
    index = SearchIndex.load(index_dir)
    q = onnx_backend.embed_ids(onnx_backend.tokenize(["samsung galaxy"], "query"))[0]
    bm25 = index.search(q, "samsung galaxy", k=5, mode="bm25")
    assert [h["id"] for h in bm25] == ["p8"]  # only items sharing a term
    thai = index.search(None, "รองเท้าวิ่ง", k=5, mode="bm25")
    assert thai and thai[0]["id"] == "p3"  # Thai is segmented, not one opaque token
    for fusion in FUSIONS:
        hybrid = index.search(q, "samsung galaxy", k=5, mode="hybrid", fusion=fusion)
        assert hybrid[0]["id"] == "p8" and len(hybrid) == 5
        scores = [h["score"] for h in hybrid]
        assert scores == sorted(scores, reverse=True)
    filtered = index.search(q, "samsung galaxy", k=5, mode="hybrid", filters={"category": "Fashion"})
    assert filtered and all(h["category"] == "Fashion" for h in filtered)
    assert index.search(q, "zzzz", k=5, mode="bm25") == []


def test_fusion_defaults_from_index_json(index_dir, onnx_backend, tmp_path):
    import shutil

    info = json.loads((index_dir / "index.json").read_text())
    assert info["fusion"] == DEFAULT_FUSION and info["alpha"] == 0.2
    q = onnx_backend.embed_ids(onnx_backend.tokenize(["sepatu lari"], "query"))[0]
    index = SearchIndex.load(index_dir)
    ids = lambda hits: [h["id"] for h in hits]  # noqa: E731
    assert ids(index.search(q, "sepatu lari", k=5)) == ids(index.search(q, "sepatu lari", k=5, fusion="bounded",
                                                                         alpha=0.2))
    # an index.json written before bounded fusion existed keeps its RRF default; one without fusion gets the default
    old = tmp_path / "old"
    shutil.copytree(index_dir, old)
    for stored, expected in (({"fusion": "rrf", "alpha": 0.5}, "rrf"), ({}, DEFAULT_FUSION)):
        legacy = {k: v for k, v in info.items() if k not in ("fusion", "alpha")} | stored
        (old / "index.json").write_text(json.dumps(legacy))
        loaded = SearchIndex.load(old)
        assert ids(loaded.search(q, "sepatu lari", k=5)) == ids(loaded.search(q, "sepatu lari", k=5, fusion=expected))
    with pytest.raises(ValueError, match="unknown fusion"):
        index.search(q, "sepatu lari", k=5, fusion="combmnz")


def test_bad_catalogs_name_file_line_and_field(tiny_model_dir, tmp_path):
    from seaembed.search.catalog import read_catalog

    bad_price = tmp_path / "a.jsonl"
    bad_price.write_text('{"title": "x", "price": 1}\n{"title": "y", "price": "cheap"}\n')
    with pytest.raises(InputError, match=r"a.jsonl:2: field 'price'"):
        read_catalog(bad_price, text_fields=["title"])
    no_title = tmp_path / "b.jsonl"
    no_title.write_text('{"title": "x"}\n{"name": "y"}\n')
    with pytest.raises(InputError, match=r"b.jsonl:2: field 'title'"):
        read_catalog(no_title, text_fields=["title"])
    dup = tmp_path / "c.csv"
    dup.write_text("id,title\n1,x\n1,y\n")
    with pytest.raises(InputError, match=r"c.csv:3: field 'id': duplicate id '1'"):
        read_catalog(dup, text_fields=["title"])
    ok = read_catalog(dup.with_name("d.csv") if False else _write(tmp_path / "d.csv", "title,category\nx,A\ny,\n"),
                      text_fields=["title", "category"], default_lang="id")
    assert ok.ids == ["2", "3"] and ok.texts == ["x. A", "y"] and ok.meta[0]["lang"] == "id"


def _write(path, text):
    path.write_text(text)
    return path


def test_index_cli(tiny_model_dir, catalog_file, tmp_path):
    from typer.testing import CliRunner

    from seaembed.cli import app

    out = tmp_path / "cli_idx"
    r = CliRunner().invoke(app, ["index", "--model", str(tiny_model_dir), "--catalog", str(catalog_file), "--out",
                                 str(out), "--kind", "hnsw", "--text-fields", "title"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "index.json").read_text())["kind"] == "hnsw"
    r = CliRunner().invoke(app, ["index", "--model", str(tiny_model_dir), "--catalog", str(tmp_path / "no.jsonl"),
                                 "--out", str(out)])
    assert r.exit_code != 0
