"""`seaembed index`: embed a catalog in resumable chunks and write a dense (faiss) + BM25 (bm25s) search index.

Work in progress lives in `OUT.partial/` (one `.npy` per chunk and `progress.json`); a rerun with the same catalog,
model and settings skips the chunks already done. The finished index directory is written atomically:

    OUT/index.json        kind, size, dim, model, text fields, fusion defaults
    OUT/dense.faiss       faiss index (inner product over L2-normalised vectors)
    OUT/embeddings.npy    the vectors (exact filtered search, hybrid re-scoring)
    OUT/metadata.jsonl    one row per item: id + the catalog fields (title, category, price, lang, ...)
    OUT/bm25/             bm25s index over the same texts (seaembed.evaluate.bm25 tokeniser)
    OUT/fusion_tuning.json  with --tune-on: the alpha grid measured on those tasks (seaembed.search.tune_fusion)
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seaembed.atomic import atomic_dir, atomic_path, check_writable, write_json, write_jsonl
from seaembed.engine.batching import Engine
from seaembed.errors import ConfigError
from seaembed.search.catalog import Catalog, read_catalog
from seaembed.search.fusion import DEFAULT_FUSION, resolve_alpha
from seaembed.search.search_index import SearchIndex, bm25_retriever

log = logging.getLogger(__name__)
INDEX_VERSION = 1


def _texts_digest(texts: list[str]) -> str:
    """sha1 of the exact texts to embed (so the catalog's content, the text fields and the field mapping count,
    never the catalog's path)."""
    h = hashlib.sha1()
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    return h.hexdigest()


def embed_in_chunks(engine: Engine, texts: list[str], work: Path, fingerprint: dict, *, chunk_size: int = 1024,
                    show_progress: bool = True) -> np.ndarray:
    """Embed `texts` (passage prompt) chunk by chunk into `work/`, skipping chunks a previous run finished."""
    from seaembed.progress import tqdm

    manifest_path = work / "progress.json"
    done: set[int] = set()
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("fingerprint") == fingerprint:
            done = set(manifest.get("done", []))
        else:
            log.warning("%s: catalog, model or settings changed; starting over", work)
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    n_chunks = (len(texts) + chunk_size - 1) // chunk_size
    done = {c for c in done if (work / f"chunk_{c:06d}.npy").is_file()}
    with tqdm(total=len(texts), desc="embedding catalog", unit="item", disable=not show_progress) as bar:
        bar.update(sum(min(chunk_size, len(texts) - c * chunk_size) for c in done))
        for c in range(n_chunks):
            if c in done:
                continue
            part = texts[c * chunk_size:(c + 1) * chunk_size]
            vectors, _ = engine.embed_sync(part, "passage")
            with atomic_path(work / f"chunk_{c:06d}.npy") as tmp, open(tmp, "wb") as f:
                np.save(f, vectors.astype(np.float32))
            done.add(c)
            write_json(manifest_path, {"fingerprint": fingerprint, "done": sorted(done), "n_chunks": n_chunks})
            bar.update(len(part))
    return np.concatenate([np.load(work / f"chunk_{c:06d}.npy") for c in range(n_chunks)])


def build_bm25(texts: list[str], langs: list[str | None], out: Path) -> None:
    """`bm25_retriever(texts)` saved to `out` (`langs` is not used: see `bm25_retriever`)."""
    del langs
    bm25_retriever(texts).save(out)


def build_index(model: str, catalog_path: str | Path, out: str | Path, *, engine: Engine | None = None,
                backend: str = "torch", text_fields: list[str] | None = None, id_field: str = "id",
                kind: str = "auto", chunk_size: int = 1024, default_lang: str | None = None,
                detect_lang: bool = False, fusion: str = DEFAULT_FUSION, alpha: float | None = None,
                tune_on: Sequence[str | Path] = (), tune_with: Any = None, show_progress: bool = True) -> Path:
    """Build a search index for `catalog_path` with `model` into `out`; returns `out`. `fusion`/`alpha` are the
    hybrid search defaults stored in index.json (alpha None: the method's `DEFAULT_ALPHA`).

    `tune_on`: retrieval task directories; after embedding the catalog, `fusion`'s alpha is chosen on them
    (`seaembed.search.tune_fusion`) and stored in index.json, with the measurements in `fusion_tuning.json`.
    They are embedded with the index's own engine, or with `tune_with` (a model source or `Encoder`, which uses
    the evaluation stage's embedding cache) when given."""
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

    catalog_path, out = Path(catalog_path), Path(out)
    text_fields = text_fields or ["title", "category"]
    catalog: Catalog = read_catalog(catalog_path, text_fields=text_fields, id_field=id_field,
                                    default_lang=default_lang, detect_lang=detect_lang)
    chosen = faiss_index.choose_kind(len(catalog.ids), kind)
    check_writable(out)  # before the model loads and the catalog is embedded
    own_engine = engine is None
    if engine is None:
        from seaembed.engine.backends import create_backend

        engine = Engine(create_backend(backend, model))
    try:
        from seaembed.models.fingerprint import model_fingerprint

        # keyed by content: the model's weights (not its path), the texts to embed, and the settings
        fingerprint = {"texts_sha1": _texts_digest(catalog.texts), "model_weights": model_fingerprint(str(model)),
                       "backend": engine.backend.name, "chunk_size": chunk_size, "n": len(catalog.ids)}
        work = out.with_name(out.name + ".partial")
        vectors = embed_in_chunks(engine, catalog.texts, work, fingerprint, chunk_size=chunk_size,
                                  show_progress=show_progress)
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

        faiss.write_index(faiss_index.build(vectors, chosen), str(tmp / "dense.faiss"))
        np.save(tmp / "embeddings.npy", vectors)
        write_jsonl(tmp / "metadata.jsonl", ({**m, "id": i} for i, m in zip(catalog.ids, catalog.meta, strict=True)))
        build_bm25(catalog.texts, [m.get("lang") for m in catalog.meta], tmp / "bm25")
        write_json(tmp / "index.json", {
            "version": INDEX_VERSION, "kind": chosen, "size": len(catalog.ids), "dim": int(vectors.shape[1]),
            "model": str(model), "backend": engine.backend.name, "catalog": str(catalog_path),
            "text_fields": text_fields, "fusion": fusion, "alpha": alpha,
            **({"fusion_tuning": "fusion_tuning.json"} if tuning else {}),
        })
        if tuning:
            write_json(tmp / "fusion_tuning.json", tuning.to_dict())
    shutil.rmtree(work, ignore_errors=True)
    return out


__all__ = ["SearchIndex", "build_index", "embed_in_chunks"]
