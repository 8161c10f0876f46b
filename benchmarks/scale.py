"""Scaling benchmark (#16): wall time, peak RSS and throughput of the index-structure stages against catalog size N.

A synthetic marketplace of N products and N/4 queries is generated from the bundled catalog
(seaembed/samples/catalog.jsonl): each title recombines the words of real titles of one category (a brand-like
first word from one, the product words from another, an attribute from a third), plus a size/variant and a
model number, so titles stay distinct; language, category and a price around the category's median are kept.
The model's cost is NOT the point here: vectors are GENERATED (384-d, a mixture of one centre per category and
one per "product family", L2-normalised; queries are noisy copies of a product's vector), so faiss and mining see
clustered data of the real model's dimension. Encoding throughput is a separate measurement (benchmarks/encode.py,
benchmarks/serve.py).

Every (stage, N) runs in its own subprocess, so its peak RSS (ru_maxrss of that process) is the stage's own:

    gen      synthetic catalog + queries + vectors written to the work dir, and a search log queries.jsonl (N/4
             rows: the first 2-4 words of every 4th product's title -> that product)
    build    `seaembed data build` (seaembed.augment.build.build_dataset, what the CLI runs) on catalog.jsonl +
             queries.jsonl: reading, the structured pairs (title-category, query-category, query-item), template
             queries, length filter + dedupe. Every step that needs a model is OFF (translation, LLM queries, the
             consistency filter, self-validation, hard-negative mining: mining is the `mine` stage); items = rows
             written, with each build stage's seconds and peak RSS
    mine     hard-negative mining: seaembed.augment.mining_search.search_in_chunks, N/4 queries, k = 31 (flat up
             to 50k texts, calibrated IVF-PQ with exact re-ranking above; recall@31 on 500 queries outside its
             calibration sample)
    hnsw     dense index build, seaembed.search.faiss_index.build(kind="hnsw") (M 32, efConstruction 80) from the
             memory-mapped vectors, as `seaembed index` builds it
    ivfpq    the same for IVF-PQ (nlist ~ 4 sqrt(N), 8-bit codes of 8 dims, trained on <= 200k vectors)
    bm25     BM25 index build (seaembed.search.search_index.bm25_retriever over the titles)
    search   exact top 10 of 1,000 queries (a chunked scan of the memory map, no second copy), then for each
             retrieval recall@10 against it and p50/p99 at concurrency 1 and 16 (threads): flat (N <= 200k),
             HNSW (efSearch 128), IVF-PQ (nprobe 16 and 64) without and with the exact re-ranking of 10 x k
             candidates that `seaembed index` serves (faiss_index.search(refine=...)); then both at the effort
             that `seaembed index`'s build-time calibration picks (seaembed.search.calibrate: recall@10 >= 0.97),
             once on 500 indexed rows (`*_cal_*`) and once on 500 held-out generated queries (`*_calq_*`,
             queries 1,000-1,499, never the 1,000 reported; its cost in seconds is `*_calq_s`), and BM25 and
             hybrid (bounded) over the kind `auto` picks, at its query-calibrated effort; one index in memory
             at a time

    flock /tmp/seaembed-heavy.lock .venv/bin/python benchmarks/scale.py --sizes 10000 100000
    flock /tmp/seaembed-heavy.lock .venv/bin/python benchmarks/scale.py --sizes 1000000

Each run replaces the rows of its sizes in benchmarks/results/scale.json (rows of other sizes are kept) and
rewrites scale.md and scale.png (log-log time and peak RSS against N) from all of them. `--results DIR` writes
elsewhere (a trial run at a tiny N), `--stages` runs a subset (`search` needs gen, hnsw, ivfpq and bm25).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
DIM = 384
STAGES = ("gen", "build", "mine", "hnsw", "ivfpq", "bm25", "search")
K = 10
VECTORS = os.environ.get("SEAEMBED_SCALE_VECTORS", "generated")  # set by --vectors for the stage processes


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the synthetic marketplace ----------------------------------------------------------------------------------
def generate(n: int, work: Path, seed: int = 0) -> None:
    from seaembed.atomic import atomic_path, write_jsonl

    rows = [json.loads(line) for line in (ROOT / "seaembed/samples/catalog.jsonl").open(encoding="utf-8")]
    by_cat: dict[str, list[list[str]]] = defaultdict(list)
    meta: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        words = str(r["title"]).split()
        if len(words) >= 2:
            by_cat[r["category"]].append(words)
            meta[r["category"]].append(r)
    cats = sorted(by_cat)
    median_price = {c: float(np.median([m["price"] for m in meta[c] if m.get("price")] or [100_000])) for c in cats}
    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    sizes = ["S", "M", "L", "XL", "250ml", "500ml", "1kg", "2kg", "64GB", "128GB", "isi 12", "pack 3", "42", "43"]
    cat_centre = rng.normal(size=(len(cats), DIM)).astype(np.float32)
    n_fam = max(1, n // 50)
    fam_centre = rng.normal(size=(n_fam, DIM)).astype(np.float32)
    fam_cat = rng.integers(0, len(cats), n_fam)

    def items():
        for i in range(n):
            fam = i % n_fam
            c = cats[fam_cat[fam]]
            a, b, d = (rnd.choice(by_cat[c]) for _ in range(3))
            src = rnd.choice(meta[c])
            title = " ".join([a[0], *b[1:6], rnd.choice(d), rnd.choice(sizes), f"{c[:2].upper()}-{i:07d}"])
            yield {"id": f"s{i:07d}", "title": title, "category": c, "lang": src.get("lang"),
                   "price": round(median_price[c] * float(rng.lognormal(0, 0.5)), 0)}

    qrnd = random.Random(seed + 1)  # its own stream: the catalog stays the one the committed results were measured on

    def with_queries(f):
        """The products, writing a search-log row for every 4th one as it passes (nothing is kept)."""
        for i, item in enumerate(items()):
            if i % 4 == 0:
                words = item["title"].split()[:qrnd.randint(2, 4)]
                f.write(json.dumps({"query": " ".join(words), "item_ids": [item["id"]], "lang": item["lang"]},
                                   ensure_ascii=False) + "\n")
            yield item

    with atomic_path(work / "queries.jsonl") as tmp, open(tmp, "w", encoding="utf-8") as qf:
        write_jsonl(work / "catalog.jsonl", with_queries(qf))
    vecs = np.lib.format.open_memmap(work / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
    for s in range(0, n, 65536):  # written in chunks: the generator itself stays small
        idx = np.arange(s, min(n, s + 65536))
        fam = idx % n_fam
        v = 0.5 * cat_centre[fam_cat[fam]] + fam_centre[fam] + 0.9 * rng.normal(size=(len(idx), DIM)).astype(np.float32)
        vecs[s:s + len(idx)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    vecs.flush()
    nq = max(1, n // 4)
    src = rng.choice(n, nq, replace=False)
    q = np.asarray(vecs[src]) + 0.35 * rng.normal(size=(nq, DIM)).astype(np.float32) / np.sqrt(DIM) * 6
    np.save(work / "queries.npy", (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32))
    np.save(work / "query_src.npy", src)


def static_vectors(work: Path, seed: int = 0) -> None:
    """Replace the generated vectors by STATIC embeddings of the real titles: the mean of the packaged
    multilingual-e5-small's input token embeddings over each title's tokens, minus the corpus mean direction,
    L2-normalised (a bag-of-tokens embedding in the style of model2vec, here by hand because model2vec distils a
    model it must download). Neighbours then follow shared words, brands and sizes as a real model's do, at the
    real dimension, for a cost that fits 1M titles on 2 cores (a tokenizer pass, no transformer). Queries are the
    first 2-4 words of a product's title, embedded the same way (saved to queries.txt for BM25 and hybrid)."""
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    from seaembed.models.packaged import ensure_packaged

    model_dir = ensure_packaged()
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    table = next(v for k, v in load_file(str(model_dir / "model.safetensors")).items()
                 if k.endswith("word_embeddings.weight")).astype(np.float32)

    def embed(texts: list[str]) -> np.ndarray:
        ids = tok(texts, add_special_tokens=False)["input_ids"]
        lens = np.array([max(1, len(i)) for i in ids])
        flat = np.concatenate([np.asarray(i or [tok.unk_token_id], dtype=np.int64) for i in ids])
        sums = np.add.reduceat(table[flat], np.r_[0, np.cumsum(lens)[:-1]], axis=0)
        return sums / lens[:, None]

    titles = _titles(work)
    n = len(titles)
    vecs = np.lib.format.open_memmap(work / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
    centre = embed(titles[:20_000]).mean(axis=0)
    for s in range(0, n, 20_000):  # chunked: one chunk of token rows in memory at a time
        v = embed(titles[s:s + 20_000]) - centre
        vecs[s:s + len(v)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    vecs.flush()
    rnd = random.Random(seed + 1)
    src = np.load(work / "query_src.npy")
    texts = [" ".join(titles[i].split()[:rnd.randint(2, 4)]) for i in src]
    q = np.concatenate([embed(texts[s:s + 20_000]) for s in range(0, len(texts), 20_000)]) - centre
    np.save(work / "queries.npy", (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32))
    (work / "queries.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")


def build_config(work: Path):
    """The `seaembed data build` config of the `build` stage: the catalog and the search log that `gen` wrote, the
    structured pair rules that apply to them (title-category, query-category, query-item; the generated products
    have no description) and template queries. Every step that needs a model is off: translation, LLM queries,
    the guide's consistency filter, self-validation and hard-negative mining (measured by the `mine` stage)."""
    from seaembed.augment.config import DataConfig

    b = work / "build"
    return DataConfig.model_validate({
        "sources": {"catalogs": [{"path": str(work / "catalog.jsonl")}],
                    "query_logs": [{"path": str(work / "queries.jsonl")}]},
        "out": str(b / "train.jsonl"), "work_dir": str(b / "work"), "report_dir": str(b / "report"),
        "pairs": {"rules": ["title-category", "query-category", "query-item"]},
        "translate": {"enabled": False},
        "synthetic": {"templates": {"enabled": True, "per_product": 3}, "llm": {"enabled": False},
                      "consistency": {"enabled": False}},
        "self_validation": {"enabled": False}, "hard_negatives": {"enabled": False}})


def _titles(work: Path) -> list[str]:
    return [json.loads(line)["title"] for line in (work / "catalog.jsonl").open(encoding="utf-8")]


# --- the stages ---------------------------------------------------------------------------------------------------
def run_stage(stage: str, n: int, work: Path) -> dict:
    import faiss

    t0 = time.perf_counter()
    out: dict = {}
    if stage == "gen":
        generate(n, work)
        if VECTORS == "static":
            static_vectors(work)
        out["items"] = n
    elif stage == "build":
        import shutil

        from seaembed.augment.build import build_dataset

        shutil.rmtree(work / "build", ignore_errors=True)  # a fresh build: no stage may resume from the last run
        res = build_dataset(build_config(work), show_progress=False, log=lambda m: None)
        stages = res.report["stages"]
        out.update(items=res.examples, pairs=stages["pairs"].get("examples"),
                   synthetic=stages["synthetic"].get("examples"), dropped=res.report["dropped"]["total"],
                   stage_s={k: v.get("seconds") for k, v in stages.items()},
                   stage_rss_mib={k: v.get("peak_rss_mib") for k, v in stages.items()})
        # the build's stage runner resets the kernel's peak-RSS mark before each of its stages (ru_maxrss with it)
        out["_rss_floor"] = max(out["stage_rss_mib"].values())
    elif stage == "mine":
        from seaembed.augment.mining_search import calibration_rows, recall_at_k, search_in_chunks
        from seaembed.knn import exact_top_k

        docs = np.load(work / "vectors.npy", mmap_mode="r")
        qs = np.load(work / "queries.npy")
        _, found, how = search_in_chunks(docs, qs, 31)
        out.update(items=len(qs), index=how.index, k=31)
        if how.index != "flat":
            # recall@31 on queries outside the calibration's sample
            rest = np.setdiff1d(np.arange(len(qs)), calibration_rows(len(qs)))
            held = np.sort(np.random.default_rng(1).choice(rest, min(500, len(rest)), replace=False))
            out.update(nprobe=how.nprobe, refine=how.refine, cal_recall=how.recall,
                       heldout_recall=round(recall_at_k(found[held], exact_top_k(docs, qs[held], 31)[1]), 4))
    elif stage in ("hnsw", "ivfpq"):
        from seaembed.search import faiss_index

        vecs = np.load(work / "vectors.npy", mmap_mode="r")
        t = time.perf_counter()
        index = faiss_index.build(vecs, stage)
        out["build_s"] = round(time.perf_counter() - t, 2)
        faiss.write_index(index, str(work / f"dense_{stage}.faiss"))
        out.update(items=n, index_mib=round((work / f"dense_{stage}.faiss").stat().st_size / 2**20, 1),
                   auto_kind=faiss_index.choose_kind(n))
    elif stage == "bm25":
        from seaembed.search.search_index import bm25_retriever

        bm25_retriever(_titles(work)).save(work / "bm25")
        out["items"] = n
    elif stage == "search":
        out.update(search_stage(n, work))
    out.update(stage=stage, n=n, wall_s=round(time.perf_counter() - t0, 2),
               peak_rss_mib=round(max(peak_rss_mib(), out.pop("_rss_floor", 0)), 1))
    out["items_per_s"] = round(out.get("items", n) / max(out["wall_s"], 1e-9), 1)
    return out


def _latency(fn, args: list, concurrency: int) -> dict:
    def timed(a):
        t = time.perf_counter()
        fn(a)
        return time.perf_counter() - t

    if concurrency == 1:
        lat = [timed(a) for a in args]
    else:
        with ThreadPoolExecutor(concurrency) as pool:
            lat = list(pool.map(timed, args))
    ms = np.array(lat) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}


def _recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return round(float(np.mean([len(set(f.tolist()) & set(t.tolist())) / truth.shape[1]
                                for f, t in zip(found, truth, strict=True)])), 4)


def _measure(res: dict, name: str, fn, qs: np.ndarray, truth: np.ndarray) -> None:
    """recall@10 of `fn(query) -> ids` against `truth`, and its latency at concurrency 1 and 16."""
    res[f"dense_{name}_recall@10"] = _recall([fn(q) for q in qs], truth)
    for c in (1, 16):
        res[f"dense_{name}_c{c}"] = _latency(fn, list(qs), c)
    print(json.dumps({name: res[f"dense_{name}_recall@10"]}), file=sys.stderr, flush=True)


CAL_QUERIES = 500  # held-out generated queries the calibration may use (never the reported ones)


def _calibrated(res: dict, kind: str, index, vecs: np.ndarray, held_out: np.ndarray | None = None):
    """`seaembed.search.calibrate.calibrate` on `index` (default target) as `seaembed index` runs it after a
    build: on 500 indexed rows (`held_out` None, `{kind}_cal_*`), or on `held_out` queries (`{kind}_calq_*`),
    the benchmark's stand-in for the query-like sample `seaembed index` embeds. Flattened into `res`."""
    from seaembed.search.calibrate import calibrate

    cal = calibrate(index, vecs, kind, queries=held_out, queries_are="held-out generated queries")
    tag = f"{kind}_cal" if held_out is None else f"{kind}_calq"
    res.update({f"{tag}_{cal.param}": cal.value, f"{tag}_refine_factor": cal.refine_factor,
                f"{tag}_sample_recall": cal.recall, f"{tag}_target": cal.target,
                f"{tag}_met": cal.met, f"{tag}_s": cal.seconds, f"{tag}_curve": cal.curve, f"{tag}_on": cal.on})
    print(json.dumps({f"{tag}ibration": cal.to_dict()}), file=sys.stderr, flush=True)
    return cal


def _metadata_store(work: Path):
    """The catalog's metadata as the server holds it: staged once by `seaembed index`'s own `stage_catalog`
    (metadata.jsonl and its columns file), opened as a `MetadataStore` (rows read on demand)."""
    from seaembed.search.index import METADATA, stage_catalog
    from seaembed.search.metadata import COLUMNS, MetadataStore

    staged = work / "staged"
    if not ((staged / METADATA).is_file() and (staged / COLUMNS).is_file()):
        stage_catalog(work / "catalog.jsonl", staged, text_fields=["title", "category"])
    return MetadataStore.open(staged / METADATA)


def search_stage(n: int, work: Path, n_queries: int = 1000) -> dict:
    import faiss

    from seaembed.evaluate.bm25 import BM25Retriever
    from seaembed.knn import exact_top_k
    from seaembed.search import faiss_index
    from seaembed.search.search_index import SearchIndex

    vecs = np.load(work / "vectors.npy", mmap_mode="r")
    qs = np.load(work / "queries.npy")[:n_queries]
    src = np.load(work / "query_src.npy")[:n_queries]
    t = time.perf_counter()
    truth = exact_top_k(vecs, qs, K)[1]
    res: dict = {"queries": len(qs), "truth_s": round(time.perf_counter() - t, 2)}
    kind = faiss_index.choose_kind(n)
    if n <= 200_000:  # exact search latency at 1M is not a serving option; it is the recall reference only
        exact = faiss.IndexFlatIP(DIM)
        exact.add(np.ascontiguousarray(vecs))
        _measure(res, "flat", lambda q: faiss_index.search(exact, q, K)[1], qs, truth)
        del exact
    held_out = np.load(work / "queries.npy")[n_queries:n_queries + CAL_QUERIES]  # disjoint from the reported
    hnsw = faiss.read_index(str(work / "dense_hnsw.faiss"))
    _measure(res, "hnsw", lambda q: faiss_index.search(hnsw, q, K)[1], qs, truth)
    cal = {}
    for h in (None, held_out):
        cal["hnsw"] = _calibrated(res, "hnsw", hnsw, vecs, h)
        ef = cal["hnsw"].value
        if f"dense_hnsw_cal_ef{ef}_recall@{K}" not in res:
            _measure(res, f"hnsw_cal_ef{ef}", lambda q, e=ef: faiss_index.search(hnsw, q, K, ef_search=e)[1], qs,
                     truth)
    if kind != "hnsw":
        del hnsw
    ivfpq = faiss.read_index(str(work / "dense_ivfpq.faiss"))
    res["ivfpq_nlist"] = int(ivfpq.nlist)
    for nprobe in (16, 64):
        _measure(res, f"ivfpq_np{nprobe}", lambda q, p=nprobe: faiss_index.search(ivfpq, q, K, nprobe=p)[1], qs,
                 truth)
        _measure(res, f"ivfpq_np{nprobe}_refine{faiss_index.REFINE_FACTOR}",
                 lambda q, p=nprobe: faiss_index.search(ivfpq, q, K, nprobe=p, refine=vecs)[1], qs, truth)
    for h in (None, held_out):
        cal["ivfpq"] = _calibrated(res, "ivfpq", ivfpq, vecs, h)
        p, depth = cal["ivfpq"].value, cal["ivfpq"].refine_factor
        name = f"ivfpq_cal_np{p}_refine{depth}"
        if f"dense_{name}_recall@{K}" not in res:
            _measure(res, name, lambda q, pp=p, d=depth: faiss_index.search(ivfpq, q, K, nprobe=pp, refine=vecs,
                                                                            refine_factor=d)[1], qs, truth)
    if kind != "ivfpq":
        del ivfpq
    if (work / "queries.txt").is_file():  # static vectors: the texts the query vectors embed
        texts = (work / "queries.txt").read_text(encoding="utf-8").splitlines()[:n_queries]
    else:
        titles = _titles(work)
        texts = [" ".join(titles[s].split()[1:4]) for s in src]  # a query text: a few words of its product's title
        del titles
    meta = _metadata_store(work)  # as `seaembed index` writes and `SearchIndex.load` opens it
    bm25 = BM25Retriever.load(work / "bm25")
    if kind == "flat":
        main_dense = faiss.IndexFlatIP(DIM)
        main_dense.add(np.ascontiguousarray(vecs))
    else:
        main_dense = hnsw if kind == "hnsw" else ivfpq  # as auto picks
    info = {"kind": kind, "dim": DIM, "fusion": "bounded",  # the last calibration: on held-out queries
            **({"dense_search": cal[kind].to_dict()} if kind in cal else {})}  # as `seaembed index` writes it
    index = SearchIndex(work, info, main_dense, vecs, meta, bm25)
    pairs = list(zip(qs, texts, strict=True))
    for mode in ("bm25", "hybrid"):
        for c in (1, 16):
            res[f"{mode}_c{c}"] = _latency(lambda a, m=mode: index.search(a[0], a[1], K, mode=m), pairs, c)
    res["auto_kind"] = kind
    return res


# --- driver -------------------------------------------------------------------------------------------------------
def ray_bench(model: str, backend: str, n_texts: int, workers: list[int]) -> list[dict]:
    """texts/s of `seaembed.engine.ray_encode.encode_with_ray` at each worker count, on synthetic titles (after one
    warm-up pass that starts Ray and the actors' model load is included: a bulk job pays it once)."""
    import ray

    from seaembed.engine.ray_encode import encode_with_ray

    work = Path("/tmp/seaembed-scale-ray")
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "catalog.jsonl").is_file():
        generate(max(n_texts, 1000), work)
    texts = _titles(work)[:n_texts]
    ray.init(num_cpus=max(workers), include_dashboard=False, log_to_driver=False)
    rows = []
    try:
        for w in workers:
            load = os.getloadavg()
            t = time.perf_counter()
            encode_with_ray(model, texts, backend=backend, num_workers=w, batch_size=128)
            dt = time.perf_counter() - t
            rows.append({"workers": w, "texts": len(texts), "wall_s": round(dt, 2), "texts_per_s": round(len(texts) / dt, 1),
                         "model": model, "backend": backend, "threads_per_actor": 1,
                         "loadavg_before": [round(x, 2) for x in load],
                         "loadavg_after": [round(x, 2) for x in os.getloadavg()]})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        ray.shutdown()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), help="stages to run (in order)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/seaembed-scale"))
    ap.add_argument("--results", type=Path, default=RESULTS, help="where scale.{json,md,png} go")
    ap.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--vectors", choices=("generated", "static"), default="generated",
                    help="generated: clustered Gaussian vectors (a hard case for ANN); static: bag-of-tokens "
                         "embeddings of the synthetic titles from the packaged model's token table")
    ap.add_argument("--ray-model", help="measure Ray encoding texts/s with this model (an int8 export dir) instead")
    ap.add_argument("--ray-backend", default="onnx")
    ap.add_argument("--ray-texts", type=int, default=2000)
    args = ap.parse_args()
    from seaembed.atomic import write_json, write_results

    if args.ray_model:
        rows = ray_bench(args.ray_model, args.ray_backend, args.ray_texts, [1, 2])
        write_json(args.results / "scale_ray.json", rows)
        return
    if args.stage:  # child: one stage, one size
        work = args.work / VECTORS / str(args.n)
        work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run_stage(args.stage, args.n, work)))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEAEMBED_SCALE_VECTORS": args.vectors}
    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    results = []
    for n in args.sizes:
        for stage in (s for s in STAGES if s in args.stages):
            load = os.getloadavg()
            p = subprocess.run([sys.executable, __file__, "--stage", stage, "--n", str(n), "--work", str(args.work)],
                               env=env, capture_output=True, text=True)
            if p.returncode:
                sys.exit(f"{stage} at {n} failed:\n{p.stderr[-3000:]}")
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r.update(vectors=args.vectors, loadavg_before=[round(x, 2) for x in load],
                     loadavg_after=[round(x, 2) for x in os.getloadavg()])
            results.append(r)
            print(json.dumps(r), flush=True)
    # rows of other (stage, N) pairs are kept (sizes run one at a time), except those of a stage that no longer
    # exists (the single `faiss` stage before hnsw/ivfpq) at a size that ran now
    previous = args.results / "scale.json"
    ran = {(r["stage"], r["n"], r["vectors"]) for r in results}
    kept = [r for r in json.loads(previous.read_text(encoding="utf-8"))["results"]
            if (r["stage"], r["n"], r.get("vectors", "generated")) not in ran
            and not (r["n"] in args.sizes and r["stage"] not in STAGES)] if previous.is_file() else []
    doc = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "threads_env": threads,
                       "faiss_omp_threads": _faiss_threads()}, "dim": DIM,
           "results": sorted(kept + results, key=lambda r: (r.get("vectors", "generated"), r["n"],
                                                             STAGES.index(r["stage"])
                                                             if r["stage"] in STAGES else -1))}
    write_results(args.results / "scale", doc, markdown(doc, args.results))
    plot(doc, args.results)


def _faiss_threads() -> int:
    import faiss

    return faiss.omp_get_max_threads()


NOTES = [
    "## Method and caveats", "",
    "- `generated` vectors: one centre per category and per family of 50 products plus isotropic noise in all 384 "
    "dimensions, so a query's 10 nearest neighbours sit at nearly equal distances among its family: a hard case "
    "for approximate search. `static` vectors: the mean of the packaged e5-small's input token embeddings over a "
    "title (minus the corpus mean, L2-normalised); queries are 2-4 leading words of a title embedded the same way. "
    "Their neighbourhoods follow shared words as a real model's do, but they are not the transformer's output: "
    "recall on real embeddings may differ from both.",
    "- `gen` is this benchmark's own generator of the synthetic marketplace, not a seaembed stage: its peak RSS "
    "(4.5 GiB at 1M for static vectors) is outside the 4 GiB bound of seaembed's stages.",
    "- Each (stage, N) ran in its own process: peak RSS is that stage's own (ru_maxrss, which also counts the pages "
    "of memory-mapped files it touched). `search` holds one approximate index at a time (plus the one `auto` picks "
    "for BM25/hybrid).",
    "- `ivfpq_npP_refineF`: IVF-PQ at nprobe P whose F x k candidates are re-ranked by exact cosine over the "
    "memory-mapped vectors (faiss_index.search(refine=...), what `seaembed index` serves for an ivfpq index); "
    "without `refine` the scores are the PQ estimates.",
    "- c=16 latencies are 16 Python threads on the machine's cores: p99 is dominated by scheduling.",
    "- Rows of different sizes may come from different runs (each run replaces its own sizes); the load average "
    "beside each row says how busy the machine was.",
    "",
]


def _vec(r: dict) -> str:
    """The vector kind a result row was measured on (rows from before `--vectors` are `generated`)."""
    return r.get("vectors", "generated")


def _bounds(results: list[dict]) -> list[str]:
    """Peak RSS at 1M against 4 GiB, and each stage's wall time from 100k to 1M against 12x, when both ran."""
    by = {(r["stage"], r["n"], _vec(r)): r for r in results}
    if not any(n == 1_000_000 for _, n, _ in by):
        return ["## Bounds at 1M", "", "N = 1,000,000 has not run: the 4 GiB peak RSS and <= 12x (100k -> 1M) "
                "bounds are not shown.", ""]
    lines = ["## Bounds at 1M", "", "| vectors | stage | peak RSS at 1M GiB (<= 4) | wall s 100k | wall s 1M | "
             "ratio (<= 12) |", "|---|---|---:|---:|---:|---:|"]
    for vec in sorted({v for _, _, v in by}):
        for stage in STAGES:
            big, small = by.get((stage, 1_000_000, vec)), by.get((stage, 100_000, vec))
            if big is None:
                continue
            ratio = f"{big['wall_s'] / small['wall_s']:.1f}" if small and small["wall_s"] > 0 else "n/a"
            lines.append(f"| {vec} | {stage} | {big['peak_rss_mib'] / 1024:.2f} | "
                         f"{small['wall_s'] if small else 'n/a'} | {big['wall_s']} | {ratio} |")
    return lines + [""]


def _mining_table(results: list[dict]) -> list[str]:
    """How hard-negative mining searched at each N (`seaembed.augment.mining_search`): the index, the effort its
    calibration chose on 500 of the queries, recall@31 there and on 500 other queries."""
    rows = [r for r in results if r["stage"] == "mine" and r.get("index") == "ivfpq"]
    if not rows:
        return []
    lines = ["", "## Hard-negative mining search (k = 31, N/4 queries)", "",
             "| vectors | N | index | chosen (target recall@31 0.95) | recall@31, calibration sample (500) | "
             "recall@31, 500 other queries | wall s |", "|---|---:|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {_vec(r)} | {r['n']:,} | IVF-PQ + exact re-ranking | nprobe {r['nprobe']} x{r['refine']} | "
                     f"{r['cal_recall']} | {r['heldout_recall']} | {r['wall_s']} |")
    missed = [f"{_vec(r)} at {r['n']:,} ({r['cal_recall']})" for r in rows if r["cal_recall"] < 0.95]
    return lines + ["", "Up to 50,000 texts mining is exact (a flat index). The calibration stops at the first grid "
                        "point (nprobe 8 ... 256, depth 4 or 10 x k) that reaches the target, or takes the last one "
                        "when none does" + (f"; target missed: {', '.join(missed)}." if missed else ".")]


def _calibration_table(results: list[dict]) -> list[str]:
    """The build-time calibration of each approximate kind (`seaembed.search.calibrate`), when the search stage
    measured it, on indexed rows and on held-out queries: the effort chosen, its recall on the calibration sample,
    and on the 1,000 benchmark queries (never part of the calibration)."""
    from seaembed.search.faiss_index import REFINE_FACTOR

    rows = []
    for r in results:
        for kind, name in (("hnsw", "ef_search"), ("ivfpq", "nprobe")):
            for tag in (f"{kind}_cal", f"{kind}_calq"):
                if r["stage"] != "search" or f"{tag}_{name}" not in r:
                    continue
                v = r[f"{tag}_{name}"]
                depth = r.get(f"{tag}_refine_factor") or REFINE_FACTOR  # rows from before it was calibrated: 10
                key = f"dense_hnsw_cal_ef{v}" if kind == "hnsw" else f"dense_ivfpq_cal_np{v}_refine{depth}"
                rows.append(f"| {_vec(r)} | {r['n']:,} | {kind} | {r.get(f'{tag}_on', 'indexed rows')} | {name} {v}{f' x{depth}' if kind == 'ivfpq' else ''} | "
                            f"{r[f'{tag}_sample_recall']} | {r[f'{tag}_target']} | "
                            f"{'yes' if r[f'{tag}_met'] else 'NO'} | {r[f'{tag}_s']} | "
                            f"{r.get(f'{key}_recall@{K}', '')} |")
    if not rows:
        return []
    return ["", "## Build-time calibration of the search effort (seaembed.search.calibrate)", "",
            f"| vectors | N | kind | calibrated on (500) | chosen | recall@{K} there | target | met | calibration s | "
            f"recall@{K} on the 1,000 benchmark queries |", "|---|---:|---|---|---|---:|---:|---|---:|---:|", *rows]


def markdown(doc: dict, results_dir: Path) -> str:
    lines = ["# Scaling benchmark (benchmarks/scale.py)", "",
             f"Machine: {doc['machine']['cpus']} CPUs (shared with other jobs: load average per row), "
             f"faiss OpenMP threads {doc['machine']['faiss_omp_threads']}, env {doc['machine']['threads_env']}. "
             f"Vectors ({doc['dim']}-d): `generated` are clustered Gaussians; `static` are bag-of-tokens "
             "embeddings of the synthetic titles from the packaged model's token table (see the notes). Neither is "
             "the transformer's output: these are index-structure costs. "
             f"Sizes measured: {', '.join(f'{n:,}' for n in sorted({r['n'] for r in doc['results']}))}.",
             "", "| vectors | stage | N | wall s | peak RSS MiB | items/s | detail | load avg (1 min) before/after |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for r in doc["results"]:
        detail = {k: v for k, v in r.items() if k not in ("stage", "n", "wall_s", "peak_rss_mib", "items_per_s",
                                                          "loadavg_before", "loadavg_after", "items", "vectors")
                  and not isinstance(v, dict) and "recall" not in k and "_cal" not in k}
        lines.append(f"| {_vec(r)} | {r['stage']} | {r['n']:,} | {r['wall_s']} | {r['peak_rss_mib']} | {r['items_per_s']} | "
                     f"{json.dumps(detail) if detail else ''} | {r['loadavg_before'][0]} / {r['loadavg_after'][0]} |")
    lines += ["", f"## /search latency (ms, min(1,000, N/4) queries) and recall@{K} against exact search", "",
              f"| vectors | N | retrieval | recall@{K} | c=1 p50 | c=1 p99 | c=16 p50 | c=16 p99 |",
              "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in doc["results"]:
        if r["stage"] != "search":
            continue
        for key in [k[:-3] for k in r if k.endswith("_c1")]:
            rec = r.get(f"{key}_recall@{K}", "")
            c1, c16 = r[f"{key}_c1"], r[f"{key}_c16"]
            lines.append(f"| {_vec(r)} | {r['n']:,} | {key} | {rec} | {c1['p50_ms']} | {c1['p99_ms']} | {c16['p50_ms']} | "
                         f"{c16['p99_ms']} |")
    lines += _calibration_table(doc["results"])
    lines += _mining_table(doc["results"])
    lines += ["", "![time and peak RSS against N](scale.png)", ""]
    lines += _bounds(doc["results"])
    ray_file = results_dir / "scale_ray.json"
    if ray_file.is_file():  # written by --ray-model
        lines += ["## Ray Data encoding (`--ray-model`, real model)", "",
                  "| workers | texts | wall s | texts/s | model | backend | load avg before/after |",
                  "|---:|---:|---:|---:|---|---|---|"]
        for r in json.loads(ray_file.read_text(encoding="utf-8")):
            lines.append(f"| {r['workers']} | {r['texts']} | {r['wall_s']} | {r['texts_per_s']} | {r['model']} | "
                         f"{r['backend']} (1 thread/actor) | {r['loadavg_before'][0]} / {r['loadavg_after'][0]} |")
        lines += ["", "Ray texts/s: the 1-worker row includes Ray start-up; the 2-worker row reuses the running Ray "
                  "but starts new actors.", ""]
    return "\n".join(lines + NOTES)


def plot(doc: dict, results_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from seaembed.atomic import atomic_path

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for stage, vec in dict.fromkeys((r["stage"], _vec(r)) for r in doc["results"]):
        rs = [r for r in doc["results"] if r["stage"] == stage and _vec(r) == vec]
        ns = [r["n"] for r in rs]
        style = "o-" if vec == "generated" else "s--"
        a.plot(ns, [r["wall_s"] for r in rs], style, label=f"{stage} ({vec})")
        b.plot(ns, [r["peak_rss_mib"] for r in rs], style, label=f"{stage} ({vec})")
    for ax, title in ((a, "wall time (s)"), (b, "peak RSS (MiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N products")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    with atomic_path(results_dir / "scale.png", suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")


if __name__ == "__main__":
    main()
