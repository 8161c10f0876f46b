"""The Qdrant sink streams: the points of the whole-catalog computation (ids, payloads, dense and sparse vectors),
uploaded `batch_size` at a time with no more metadata rows read than the batches sent; a changed catalog fails
before any upload."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("qdrant_client")

from qdrant_client import QdrantClient  # noqa: E402

from seaembed.search import qdrant_sink  # noqa: E402


class SpyClient(QdrantClient):
    """Local-mode client that records each upsert's size and how many metadata rows the sink had read by then."""

    def __init__(self, read: list[int]):
        super().__init__(location=":memory:")
        self.read, self.upserts = read, []

    def upsert(self, collection_name, points, **kw):
        self.upserts.append((len(points), self.read[0]))
        return super().upsert(collection_name, points, **kw)


def expected_points(index_dir) -> dict[int, dict]:
    """Every point as the sink computed it before streaming: all texts, tokens and metadata in memory."""
    from seaembed.data.text_analysis import analyze
    from seaembed.search.catalog import read_catalog

    info = json.loads((index_dir / "index.json").read_text())
    texts = read_catalog(info["catalog"], text_fields=info["text_fields"]).texts
    meta = [json.loads(x) for x in (index_dir / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
    vectors = np.load(index_dir / "embeddings.npy")
    tokens = [analyze(t) for t in texts]
    avgdl = sum(map(len, tokens)) / len(tokens)
    out = {}
    for row, (m, toks) in enumerate(zip(meta, tokens, strict=True)):
        payload = {**m, "_category": str(m.get("category") or "").casefold(),
                   "_lang": str(m.get("lang") or "").casefold(), "_terms": sorted(set(toks))}
        if row == 0:
            payload[qdrant_sink.META_KEY] = info
        idx, val = qdrant_sink.doc_sparse(toks, avgdl)
        out[row] = {"payload": payload, "dense": vectors[row], "sparse": dict(zip(idx, val, strict=True))}
    return out


def test_streamed_upload_gives_the_same_points_one_batch_at_a_time(tiny_model_dir, catalog_file, tmp_path,
                                                                    monkeypatch):
    from seaembed.search.index import build_index

    catalog = tmp_path / "catalog.jsonl"
    shutil.copy(catalog_file, catalog)
    index_dir = build_index(str(tiny_model_dir), catalog, tmp_path / "idx", chunk_size=4, show_progress=False)
    read = [0]
    real_metadata = qdrant_sink._metadata

    def counted(path):
        for m in real_metadata(path):
            read[0] += 1
            yield m

    monkeypatch.setattr(qdrant_sink, "_metadata", counted)
    client = SpyClient(read)
    n = qdrant_sink.push_index(index_dir, ":memory:", "c", client=client, batch_size=3, show_progress=False)
    assert n == 10
    assert [size for size, _ in client.upserts] == [3, 3, 3, 1]
    assert [r for _, r in client.upserts] == [3, 6, 9, 10]  # the rows of the batches sent so far, never all

    got, _ = client.scroll("c", limit=100, with_payload=True, with_vectors=True)
    want = expected_points(index_dir)
    assert sorted(p.id for p in got) == list(range(10))
    for p in got:
        w = want[p.id]
        assert p.payload == w["payload"]
        np.testing.assert_allclose(p.vector[qdrant_sink.DENSE], w["dense"], atol=1e-6)
        sparse = p.vector[qdrant_sink.SPARSE]
        assert dict(zip(sparse.indices, sparse.values, strict=True)) == pytest.approx(w["sparse"], rel=1e-6)

    with catalog.open("a", encoding="utf-8") as f:  # the catalog grew since the index was built
        f.write(json.dumps({"id": "p11", "title": "Baju Koko Pria", "category": "Fashion"}) + "\n")
    other = SpyClient(read)
    with pytest.raises(qdrant_sink.ConfigError, match="changed since the index was built"):
        qdrant_sink.push_index(index_dir, ":memory:", "c2", client=other, batch_size=3, show_progress=False)
    assert not other.upserts and not other.collection_exists("c2")
