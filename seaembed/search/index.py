"""`seaembed index`: embed a catalog in resumable shards and write a dense (faiss) + BM25 (bm25s) search index.

The catalog is streamed, never held whole: one pass validates it into `OUT.partial/` (`texts.jsonl`, the texts to
embed, and `metadata.jsonl`); the texts are then embedded shard by shard (`seaembed.engine.shards`: one `.npy` per
`chunk_size` rows under `OUT.partial/shards/`, named by a digest of the shard's texts and the model's weights, plus
`manifest.json`), in process or with `ray` through Ray Data (`seaembed.engine.ray_encode`), both writing the same
shards. A rerun after an interruption re-encodes only the shards whose texts or model changed. The finished index
directory is written atomically, the vectors copied into it shard by shard:

    OUT/index.json        kind, size, dim, model, text fields, fusion defaults, the calibrated dense search
                          effort (`dense_search`: HNSW efSearch / IVF-PQ nprobe, seaembed.search.calibrate)
    OUT/dense.faiss       faiss index (inner product over L2-normalised vectors)
    OUT/embeddings.npy    the vectors (exact filtered search, hybrid re-scoring, IVF-PQ re-ranking)
    OUT/metadata.jsonl    one row per item: id + the catalog fields (title, category, price, lang, ...)
    OUT/metadata_columns.npz  each row's byte offset in metadata.jsonl and its category/lang codes and price
                          (seaembed.search.metadata: what SearchIndex filters on without loading the rows)
    OUT/bm25/             bm25s index over the same texts (seaembed.evaluate.bm25 tokeniser)
    OUT/fusion_tuning.json  with --tune-on: the alpha grid measured on those tasks (seaembed.search.tune_fusion)

Memory: the duplicate-id check keeps the ids; the faiss build holds what its kind needs (flat and HNSW every
vector, IVF-PQ a training sample, the vectors added a shard at a time) and BM25 every text's tokens.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.atomic import atomic_dir, atomic_path, check_writable, write_json
from seaembed.engine import shards
from seaembed.engine.batching import Engine
from seaembed.engine.ray_encode import RayOptions
from seaembed.engine.staging import TEXTS, embed_to_shards, read_texts, staging, write_text_line
from seaembed.errors import ConfigError
from seaembed.search.calibrate import DEFAULT_TARGET, calibrate, check_target
from seaembed.search.calibration_queries import read_query_file, title_prefix_queries
from seaembed.search.catalog import iter_catalog
from seaembed.search.fusion import DEFAULT_FUSION, resolve_alpha
from seaembed.search.metadata import COLUMNS, ColumnsBuilder, write_row
from seaembed.search.search_index import SearchIndex, bm25_retriever

log = logging.getLogger(__name__)
INDEX_VERSION = 1
METADATA = "metadata.jsonl"


def stage_catalog(catalog_path: Path, work: Path, *, text_fields: list[str], id_field: str = "id",
                  default_lang: str | None = None, detect_lang: bool = False) -> int:
    """Stream the catalog once (validating every row) into `work/texts.jsonl` (`seaembed.engine.staging`) and
    `work/metadata.jsonl` with its row offsets and filter columns (`work/metadata_columns.npz`,
    `seaembed.search.metadata`), all atomically; returns the number of rows. A bad catalog leaves no new `work`."""
    n = 0
    columns = ColumnsBuilder()
    with staging(work), atomic_path(work / TEXTS) as t_tmp, atomic_path(work / METADATA) as m_tmp, \
            open(t_tmp, "w", encoding="utf-8") as t_out, open(m_tmp, "wb") as m_out:
        for chunk in iter_catalog(catalog_path, text_fields=text_fields, id_field=id_field,
                                  default_lang=default_lang, detect_lang=detect_lang):
            for item_id, text, meta in zip(chunk.ids, chunk.texts, chunk.meta, strict=True):
                write_text_line(t_out, text)
                write_row(m_out, {**meta, "id": item_id}, columns)
            n += len(chunk.ids)
        columns.finish().save(work / COLUMNS)
    return n


def build_bm25(texts: list[str], out: Path) -> None:
    """`bm25_retriever(texts)` saved to `out`."""
    bm25_retriever(texts).save(out)


def _embed_queries(engine: Engine | None, model: str, backend: str, queries: list[str]) -> np.ndarray:
    """`queries` embedded with the query prompt, by `engine` or (Ray builds, whose actors hold the models) by an
    in-process engine loaded for them."""
    if engine is not None:
        return engine.embed_sync(queries, prompt="query")[0]
    from seaembed.engine.backends import create_backend

    own = Engine(create_backend(backend, model))
    try:
        return own.embed_sync(queries, prompt="query")[0]
    finally:
        own.close()


def build_index(model: str, catalog_path: str | Path, out: str | Path, *, engine: Engine | None = None,
                backend: str = "torch", text_fields: list[str] | None = None, id_field: str = "id",
                kind: str = "auto", chunk_size: int = 1024, default_lang: str | None = None,
                detect_lang: bool = False, fusion: str = DEFAULT_FUSION, alpha: float | None = None,
                tune_on: Sequence[str | Path] = (), tune_with: Any = None, ray: RayOptions | None = None,
                recall_target: float = DEFAULT_TARGET, calibrate_on: str | Path | None = None,
                show_progress: bool = True) -> Path:
    """Build a search index for `catalog_path` with `model` into `out`; returns `out`. `fusion`/`alpha` are the
    hybrid search defaults stored in index.json (alpha None: the method's `DEFAULT_ALPHA`).

    `tune_on`: retrieval task directories; after embedding the catalog, `fusion`'s alpha is chosen on them
    (`seaembed.search.tune_fusion`) and stored in index.json, with the measurements in `fusion_tuning.json`.
    They are embedded with the index's own engine, or with `tune_with` (a model source or `Encoder`, which uses
    the evaluation stage's embedding cache) when given.

    `ray`: encode through Ray Data (`seaembed.engine.ray_encode`; `backend` is then the actors' backend), into the
    same shards as the in-process `engine`.

    `recall_target`: an HNSW or IVF-PQ index's search effort is the smallest that reaches this recall@10 on
    query-like vectors (`seaembed.search.calibrate`), stored in index.json as `dense_search`: the queries of the
    text file `calibrate_on` (one per line, e.g. from a search log), else the first words of a sample of the
    catalog's titles (`seaembed.search.calibration_queries`), embedded with the model's query prompt."""
    from seaembed.search import faiss_index

    tasks = []
    if tune_on:  # check everything before the (long) catalog embedding
        from seaembed.search.tune_fusion import load_retrieval_tasks

        if alpha is not None:
            raise ConfigError("give an alpha or tasks to tune it on, not both")
        if fusion == "rrf":
            raise ConfigError("rrf has no weight to tune; use bounded, wrrf, weighted or zscore")
        tasks = load_retrieval_tasks(tune_on)
    alpha = resolve_alpha(fusion, alpha)
    recall_target = check_target(recall_target)
    log_queries = read_query_file(calibrate_on) if calibrate_on is not None else None  # fails before the work

    faiss_index.choose_kind(0, kind)  # an unknown kind fails now, not after the embedding
    catalog_path, out = Path(catalog_path), Path(out)
    text_fields = text_fields or ["title", "category"]
    check_writable(out)  # before the catalog is staged beside it, the model loads and the catalog is embedded
    work = out.with_name(out.name + ".partial")
    n = stage_catalog(catalog_path, work, text_fields=text_fields, id_field=id_field, default_lang=default_lang,
                      detect_lang=detect_lang)
    chosen = faiss_index.choose_kind(n, kind)
    own_engine = engine is None and (ray is None or bool(tasks))  # Ray's actors load their own models
    if own_engine:
        from seaembed.engine.backends import create_backend

        engine = Engine(create_backend(backend, model))
    try:
        from seaembed.models.fingerprint import model_fingerprint

        # keyed by content: the model's weights (not its path), the backend family and each shard's texts
        backend_name = engine.backend.name if engine is not None and ray is None else backend
        key = shards.model_key(model_fingerprint(str(model)), backend_name, "passage")
        if ray is None:
            encoder = shards.engine_encoder(engine)
        else:
            from seaembed.engine.ray_encode import EngineLoader, ray_encoder

            encoder = ray_encoder(EngineLoader(str(model), backend, "passage"), num_workers=ray.workers,
                                  address=ray.address, batch_size=ray.batch_size, window_rows=ray.window_rows)
        store, stats = embed_to_shards(encoder, work, n, key, chunk_size=chunk_size, show_progress=show_progress,
                                       desc="embedding catalog")
        query_vectors, queries_are = None, ""
        if chosen in ("hnsw", "ivfpq"):
            queries_are = "queries of " + str(calibrate_on) if log_queries else "query-prompt title prefixes"
            queries = log_queries or title_prefix_queries(read_texts(work), n)
            query_vectors = _embed_queries(engine, model, backend, queries) if queries else None
        tuning = None
        if tasks:
            from seaembed.search.tune_fusion import tune_fusion

            tuning = tune_fusion(engine if tune_with is None else tune_with, tasks, fusion=fusion)
            alpha = tuning.alpha
            log.info("fusion tuned: %s", tuning.describe())
    finally:
        if own_engine:
            engine.close()
    with atomic_dir(out) as tmp:
        import faiss

        vectors = store.assemble(tmp / "embeddings.npy")  # memory-mapped
        dense = faiss_index.build(vectors, chosen)
        calibration = calibrate(dense, vectors, chosen, target=recall_target, queries=query_vectors,
                                queries_are=queries_are)
        if calibration is not None:
            log.info("dense search calibrated: %s", calibration.describe())
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        del vectors, dense
        os.replace(work / METADATA, tmp / METADATA)
        os.replace(work / COLUMNS, tmp / COLUMNS)
        build_bm25(list(read_texts(work)), tmp / "bm25")
        write_json(tmp / "index.json", {
            "version": INDEX_VERSION, "kind": chosen, "size": n, "dim": int(store.dim or 0),
            "model": str(model), "backend": backend_name, "catalog": str(catalog_path),
            "text_fields": text_fields, "fusion": fusion, "alpha": alpha,
            "encoding": {"with": "ray" if ray is not None else "in-process", "shard_rows": chunk_size,
                         "shards": stats.shards, "shards_encoded": stats.encoded, "shards_kept": stats.skipped},
            **({"fusion_tuning": "fusion_tuning.json"} if tuning else {}),
            **({"dense_search": calibration.to_dict()} if calibration is not None else {}),
        })
        if tuning:
            write_json(tmp / "fusion_tuning.json", tuning.to_dict())
    shutil.rmtree(work, ignore_errors=True)
    return out


__all__ = ["SearchIndex", "build_index", "stage_catalog"]
