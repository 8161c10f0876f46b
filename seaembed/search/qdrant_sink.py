"""`seaembed index --sink qdrant`: copy a built index (dense vectors, BM25 as sparse vectors, filter fields) into a
Qdrant collection that `seaembed.search.qdrant_search.QdrantSearchIndex` answers /search from.

BM25 in Qdrant: each document's sparse vector holds, per term of the index's own analyser
(`seaembed.data.text_analysis.analyze`, the tokens bm25s indexed), the Lucene BM25 term-frequency part
`tf / (tf + k1 (1 - b + b dl / avgdl))` (Lucene >= 8 dropped the constant `k1 + 1`; bm25s's
`lucene` method follows it); the collection's sparse vector uses Qdrant's IDF modifier
(`ln(1 + (N - df + 0.5) / (df + 0.5))`, Lucene's idf), and a query is its tokens with their counts. The dot product
is then the same Lucene BM25 score bm25s gives. Qdrant has no tokeniser of ours and fastembed's BM25 uses another
analyser, hence these few lines by hand. Terms map to sparse indices by a 32-bit blake2b hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.errors import ConfigError

DENSE, SPARSE = "dense", "bm25"
K1, B = 1.5, 0.75
META_KEY = "seaembed_index"  # the index.json of the source index, stored on point 0's payload under this key


def connect(url: str, api_key: str | None = None):
    """A QdrantClient for `url`: `http(s)://host:port`, or local mode (`:memory:` or a directory, `path:DIR`)."""
    from qdrant_client import QdrantClient

    if url == ":memory:":
        return QdrantClient(location=":memory:")
    if url.startswith("path:"):
        return QdrantClient(path=url[len("path:"):])
    if url.startswith(("http://", "https://")):
        return QdrantClient(url=url, api_key=api_key)
    raise ConfigError(f"--url '{url}': use http(s)://HOST:PORT, :memory: or path:DIR (local mode)")


def term_index(token: str) -> int:
    """The sparse-vector index of a term (stable across processes)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little")


def query_sparse(text: str) -> tuple[list[int], list[float]]:
    """A query's sparse vector: each token once, valued by its count (bm25s counts repeated query tokens)."""
    from seaembed.data.text_analysis import analyze

    counts = Counter(term_index(t) for t in analyze(text))
    return list(counts), [float(c) for c in counts.values()]


def doc_sparse(tokens: list[str], avgdl: float) -> tuple[list[int], list[float]]:
    """A document's sparse vector: Lucene BM25's term-frequency part of each term (idf is Qdrant's modifier)."""
    counts = Counter(term_index(t) for t in tokens)
    norm = K1 * (1 - B + B * len(tokens) / avgdl)
    return list(counts), [tf / (tf + norm) for tf in counts.values()]


def _index_texts(index_dir: Path, info: dict, meta: list[dict]) -> list[str]:
    """The texts the index embedded, rebuilt from its catalog with its text fields (as `build_index` did)."""
    from seaembed.search.catalog import read_catalog

    catalog = read_catalog(info["catalog"], text_fields=info["text_fields"])
    if len(catalog.texts) != len(meta):
        raise ConfigError(f"{index_dir}: the catalog {info['catalog']} changed since the index was built")
    return catalog.texts


def points(vectors: np.ndarray, meta: list[dict], texts: list[str], info: dict,
           batch_size: int = 512) -> Iterator[list[Any]]:
    """Batches of PointStructs: row number as point id, dense + sparse vectors, payload = metadata + filter keys."""
    from qdrant_client import models

    from seaembed.data.text_analysis import analyze

    tokens = [analyze(t) for t in texts]
    avgdl = max(1e-9, sum(map(len, tokens)) / max(1, len(tokens)))
    for start in range(0, len(meta), batch_size):
        batch = []
        for row in range(start, min(start + batch_size, len(meta))):
            idx, val = doc_sparse(tokens[row], avgdl)
            m = meta[row]
            payload = {**m, "_category": str(m.get("category") or "").casefold(),
                       "_lang": str(m.get("lang") or "").casefold(), "_terms": sorted(set(tokens[row]))}
            if row == 0:
                payload[META_KEY] = info
            vec = {DENSE: np.asarray(vectors[row], dtype=np.float32).tolist()}
            if idx:
                vec[SPARSE] = models.SparseVector(indices=idx, values=val)
            batch.append(models.PointStruct(id=row, vector=vec, payload=payload))
        yield batch


def push_index(index_dir: str | Path, url: str, collection: str, *, api_key: str | None = None,
               client=None, recreate: bool = True, show_progress: bool = True) -> int:
    """Write the index at `index_dir` to Qdrant collection `collection`; returns the number of points."""
    from qdrant_client import models

    from seaembed.progress import tqdm

    index_dir = Path(index_dir)
    info = json.loads((index_dir / "index.json").read_text(encoding="utf-8"))
    vectors = np.load(index_dir / "embeddings.npy", mmap_mode="r")
    with open(index_dir / "metadata.jsonl", encoding="utf-8") as f:
        meta = [json.loads(line) for line in f]
    texts = _index_texts(index_dir, info, meta)
    client = client or connect(url, api_key)
    if recreate and client.collection_exists(collection):
        client.delete_collection(collection)
    client.create_collection(
        collection,
        vectors_config={DENSE: models.VectorParams(size=int(info["dim"]), distance=models.Distance.COSINE)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    for field, schema in (("_category", models.PayloadSchemaType.KEYWORD), ("_lang", models.PayloadSchemaType.KEYWORD),
                          ("_terms", models.PayloadSchemaType.KEYWORD), ("price", models.PayloadSchemaType.FLOAT)):
        client.create_payload_index(collection, field, field_schema=schema)
    with tqdm(total=len(meta), desc="qdrant upload", unit="item", disable=not show_progress) as bar:
        for batch in points(vectors, meta, texts, info):
            client.upsert(collection, batch, wait=True)
            bar.update(len(batch))
    return len(meta)
