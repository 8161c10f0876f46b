"""`seaembed index --sink qdrant`: copy a built index (dense vectors, BM25 as sparse vectors, filter fields) into a
Qdrant collection that `seaembed.search.qdrant_search.QdrantSearchIndex` answers /search from.

BM25 in Qdrant: each document's sparse vector holds, per term of the index's own analyser
(`seaembed.data.text_analysis.analyze`, the tokens bm25s indexed), the Lucene BM25 term-frequency part
`tf / (tf + k1 (1 - b + b dl / avgdl))` (Lucene >= 8 dropped the constant `k1 + 1`; bm25s's
`lucene` method follows it); the collection's sparse vector uses Qdrant's IDF modifier
(`ln(1 + (N - df + 0.5) / (df + 0.5))`, Lucene's idf), and a query is its tokens with their counts. The dot product
is then the same Lucene BM25 score bm25s gives. Qdrant has no tokeniser of ours and fastembed's BM25 uses another
analyser, hence these few lines by hand. Terms map to sparse indices by a 32-bit blake2b hash.

The upload streams: one pass over the index's catalog for BM25's mean document length, then a second that reads
the catalog's texts, `metadata.jsonl` and the memory-mapped `embeddings.npy` in step, one `upsert` batch at a time
(each text is tokenised twice rather than every text's tokens kept).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator
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


def _index_texts(info: dict) -> Iterator[str]:
    """The texts the index embedded, streamed from its catalog with its text fields (as `build_index` read them)."""
    from seaembed.search.catalog import iter_catalog

    for chunk in iter_catalog(info["catalog"], text_fields=info["text_fields"]):
        yield from chunk.texts


def _metadata(index_dir: Path) -> Iterator[dict]:
    with open(index_dir / "metadata.jsonl", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def _changed(index_dir: Path, info: dict) -> ConfigError:
    return ConfigError(f"{index_dir}: the catalog {info['catalog']} changed since the index was built")


def index_rows(index_dir: Path, info: dict) -> Iterator[tuple[dict, str]]:
    """Each row's `(metadata, text)`, streamed in step from `metadata.jsonl` and the catalog; a catalog with
    another number of rows is a `ConfigError`."""
    end = object()
    for meta, text in itertools.zip_longest(_metadata(index_dir), _index_texts(info), fillvalue=end):
        if meta is end or text is end:
            raise _changed(index_dir, info)
        yield meta, text


def mean_doc_length(index_dir: Path, info: dict, size: int) -> float:
    """BM25's avgdl: the mean number of analyser tokens of the index's texts (one streamed pass over its catalog,
    which must still have the index's `size` rows)."""
    from seaembed.data.text_analysis import analyze

    n = total = 0
    for text in _index_texts(info):
        n += 1
        total += len(analyze(text))
    if n != size:
        raise _changed(index_dir, info)
    return max(1e-9, total / max(1, n))


def points(vectors: np.ndarray, rows: Iterable[tuple[dict, str]], info: dict, avgdl: float,
           batch_size: int = 512) -> Iterator[list[Any]]:
    """Batches of PointStructs: row number as point id, dense + sparse vectors, payload = metadata + filter keys.
    `rows` (`(metadata, text)`, as `index_rows` streams them) are pulled and `vectors` (memory-mapped) read one
    batch at a time, so one batch is held, never the index."""
    from qdrant_client import models

    from seaembed.data.text_analysis import analyze

    numbered = enumerate(rows)
    while batch_rows := list(itertools.islice(numbered, batch_size)):
        start = batch_rows[0][0]
        dense = np.asarray(vectors[start:start + len(batch_rows)], dtype=np.float32)
        batch = []
        for (row, (m, text)), vector in zip(batch_rows, dense, strict=True):
            tokens = analyze(text)
            idx, val = doc_sparse(tokens, avgdl)
            payload = {**m, "_category": str(m.get("category") or "").casefold(),
                       "_lang": str(m.get("lang") or "").casefold(), "_terms": sorted(set(tokens))}
            if row == 0:
                payload[META_KEY] = info
            vec = {DENSE: vector.tolist()}
            if idx:
                vec[SPARSE] = models.SparseVector(indices=idx, values=val)
            batch.append(models.PointStruct(id=row, vector=vec, payload=payload))
        yield batch


def push_index(index_dir: str | Path, url: str, collection: str, *, api_key: str | None = None,
               client=None, recreate: bool = True, batch_size: int = 512, show_progress: bool = True) -> int:
    """Write the index at `index_dir` to Qdrant collection `collection`, `batch_size` points per `upsert`;
    returns the number of points. Streamed: two passes over the index's catalog (BM25's mean document length,
    then the points), its metadata and memory-mapped vectors read in step, one batch of points held at a time."""
    from qdrant_client import models

    from seaembed.progress import tqdm

    index_dir = Path(index_dir)
    info = json.loads((index_dir / "index.json").read_text(encoding="utf-8"))
    vectors = np.load(index_dir / "embeddings.npy", mmap_mode="r")
    with open(index_dir / "metadata.jsonl", encoding="utf-8") as f:
        size = sum(1 for _ in f)
    if len(vectors) != size:
        raise ConfigError(f"{index_dir}: {len(vectors)} vectors but {size} metadata rows")
    avgdl = mean_doc_length(index_dir, info, size)  # first pass; also checks the catalog before any upload
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
    with tqdm(total=size, desc="qdrant upload", unit="item", disable=not show_progress) as bar:
        for batch in points(vectors, index_rows(index_dir, info), info, avgdl, batch_size):
            client.upsert(collection, batch, wait=True)
            bar.update(len(batch))
    return size
