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

    gen      synthetic catalog + queries + vectors written to the work dir (the "data build" inputs)
    mine     hard-negative mining: seaembed.augment.hard_negatives.search_in_chunks, N/4 queries, k = 31
             (exact flat <= 50k, HNSW above)
    faiss    dense index build (seaembed.search.faiss_index): the kind `auto` picks (flat <= 50k, HNSW <= 2M) and
             the other approximate kinds (HNSW M 32 efConstruction 80; IVF-PQ), each timed
    bm25     BM25 index build (seaembed.search.search_index.bm25_retriever over the titles)
    search   /search's retrieval over the built structures: dense (HNSW / IVF-PQ / flat), BM25, hybrid (bounded)
             p50/p99 at concurrency 1 and 16 (threads), and recall@10 of the approximate index against exact
             search on 1,000 queries

    flock /tmp/seaembed-heavy.lock .venv/bin/python benchmarks/scale.py --sizes 10000 100000

Writes benchmarks/results/scale.json, scale.md and scale.png (log-log time and peak RSS against N).
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
STAGES = ("gen", "mine", "faiss", "bm25", "search")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the synthetic marketplace ----------------------------------------------------------------------------------
def generate(n: int, work: Path, seed: int = 0) -> None:
    from seaembed.atomic import write_jsonl

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

    write_jsonl(work / "catalog.jsonl", items())
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


def _titles(work: Path) -> list[str]:
    return [json.loads(line)["title"] for line in (work / "catalog.jsonl").open(encoding="utf-8")]


# --- the stages ---------------------------------------------------------------------------------------------------
def run_stage(stage: str, n: int, work: Path) -> dict:
    import faiss

    t0 = time.perf_counter()
    out: dict = {}
    if stage == "gen":
        generate(n, work)
        out["items"] = n
    elif stage == "mine":
        from seaembed.augment.hard_negatives import FLAT_MAX, search_in_chunks

        docs = np.load(work / "vectors.npy", mmap_mode="r")
        qs = np.load(work / "queries.npy")
        search_in_chunks(docs, qs, 31)
        out.update(items=len(qs), index="flat" if n <= FLAT_MAX else "hnsw", k=31)
    elif stage == "faiss":
        from seaembed.search import faiss_index

        vecs = np.load(work / "vectors.npy", mmap_mode="r")
        kind = faiss_index.choose_kind(n)
        t = time.perf_counter()
        faiss.write_index(faiss_index.build(vecs, kind), str(work / f"dense_{kind}.faiss"))
        out[f"{kind}_s"] = round(time.perf_counter() - t, 2)
        for other in ("hnsw", "ivfpq"):  # the approximate kinds are measured at every N (auto picks by size)
            if other == kind:
                continue
            t = time.perf_counter()
            faiss.write_index(faiss_index.build(vecs, other), str(work / f"dense_{other}.faiss"))
            out[f"{other}_s"] = round(time.perf_counter() - t, 2)
        out.update(items=n, kind=kind)
    elif stage == "bm25":
        from seaembed.search.search_index import bm25_retriever

        bm25_retriever(_titles(work)).save(work / "bm25")
        out["items"] = n
    elif stage == "search":
        out.update(search_stage(n, work))
    out.update(stage=stage, n=n, wall_s=round(time.perf_counter() - t0, 2), peak_rss_mib=round(peak_rss_mib(), 1))
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


def search_stage(n: int, work: Path, n_queries: int = 1000) -> dict:
    import faiss

    from seaembed.evaluate.bm25 import BM25Retriever
    from seaembed.search import faiss_index
    from seaembed.search.search_index import SearchIndex

    vecs = np.load(work / "vectors.npy", mmap_mode="r")
    qs = np.load(work / "queries.npy")[:n_queries]
    src = np.load(work / "query_src.npy")[:n_queries]
    titles = _titles(work)
    texts = [" ".join(titles[s].split()[1:4]) for s in src]  # a query text: a few words of its product's title
    meta = [{"id": f"s{i:07d}"} for i in range(n)]
    bm25 = BM25Retriever.load(work / "bm25")
    exact = faiss.IndexFlatIP(DIM)
    exact.add(np.ascontiguousarray(vecs))
    _, truth = exact.search(qs, 10)
    res: dict = {"queries": len(qs)}
    kind = faiss_index.choose_kind(n)
    dense_kinds = ["flat", "hnsw", "ivfpq"]
    for dk in dense_kinds:
        index = exact if dk == "flat" else faiss.read_index(str(work / f"dense_{dk}.faiss"))
        if dk == "flat" and n > 200_000:
            continue  # exact search latency at 1M is not a serving option; it is the recall reference only
        found = np.stack([faiss_index.search(index, q, 10)[1] for q in qs])
        res[f"dense_{dk}_recall@10"] = round(float(np.mean([len(set(a) & set(b)) / 10
                                                             for a, b in zip(found, truth, strict=True)])), 4)
        for c in (1, 16):
            res[f"dense_{dk}_c{c}"] = _latency(lambda q, ix=index: faiss_index.search(ix, q, 10), list(qs), c)
    main_dense = exact if kind == "flat" else faiss.read_index(str(work / f"dense_{kind}.faiss"))  # as auto picks
    index = SearchIndex(work, {"kind": kind, "dim": DIM, "fusion": "bounded"}, main_dense, vecs, meta, bm25)
    pairs = list(zip(qs, texts, strict=True))
    for mode in ("bm25", "hybrid"):
        for c in (1, 16):
            res[f"{mode}_c{c}"] = _latency(lambda a, m=mode: index.search(a[0], a[1], 10, mode=m), pairs, c)
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
    ap.add_argument("--work", type=Path, default=Path("/tmp/seaembed-scale"))
    ap.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ray-model", help="measure Ray encoding texts/s with this model (an int8 export dir) instead")
    ap.add_argument("--ray-backend", default="onnx")
    ap.add_argument("--ray-texts", type=int, default=2000)
    args = ap.parse_args()
    if args.ray_model:
        rows = ray_bench(args.ray_model, args.ray_backend, args.ray_texts, [1, 2])
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "scale_ray.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        return
    if args.stage:  # child: one stage, one size
        work = args.work / str(args.n)
        work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(run_stage(args.stage, args.n, work)))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    results = []
    for n in args.sizes:
        for stage in STAGES:
            load = os.getloadavg()
            p = subprocess.run([sys.executable, __file__, "--stage", stage, "--n", str(n), "--work", str(args.work)],
                               env=env, capture_output=True, text=True)
            if p.returncode:
                sys.exit(f"{stage} at {n} failed:\n{p.stderr[-3000:]}")
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r.update(loadavg_before=[round(x, 2) for x in load], loadavg_after=[round(x, 2) for x in os.getloadavg()])
            results.append(r)
            print(json.dumps(r), flush=True)
    doc = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "threads_env": threads,
                       "faiss_omp_threads": _faiss_threads()}, "dim": DIM, "vectors": "generated", "results": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    write_md(doc)
    plot(doc)


def _faiss_threads() -> int:
    import faiss

    return faiss.omp_get_max_threads()


NOTES = [
    "## What is not measured yet, and the bounds", "",
    "- Only N = 10k ran before the deadline (not under the heavy lock: about 1 min of CPU). 100k and 1M were queued "
    "behind the shared CPU lock (the queued run was withdrawn at the deadline). What 1M needs: ~1.5 GiB of float32 "
    "vectors (memory-mapped), an HNSW index of ~1.8 GiB (its own copy of the vectors + a ~0.3 GiB graph at M 32) "
    "or IVF-PQ codes of ~50 MB (48 bytes a vector); on 2 cores HNSW construction at 1M is the long pole (tens of "
    "minutes). The 4 GiB and <= 12x (100k -> 1M) bounds are therefore NOT shown here.",
    "- Vectors are generated (clustered 384-d), not the model's: recall of HNSW/IVF-PQ on real embeddings may differ.",
    "- IVF-PQ recall@10 (nprobe 16, 8-bit PQ with dim/8 sub-quantisers, no exact re-ranking) is well below 0.95 at "
    "10k: it needs a refine step (faiss IndexRefineFlat) or a higher nprobe to be a serving option.",
    "- c=16 latencies are 16 Python threads on 2 shared cores: p99 is dominated by scheduling.",
    "- Ray texts/s was measured on 400 texts (the 1-worker row includes Ray start-up; the 2-worker row reuses the "
    "running Ray but starts new actors), with other jobs on the CPU: the load average is beside each row.",
    "",
]


def write_md(doc: dict) -> None:
    lines = ["# Scaling benchmark (benchmarks/scale.py)", "",
             f"Machine: {doc['machine']['cpus']} CPUs (shared with other jobs: load average per row), "
             f"faiss OpenMP threads {doc['machine']['faiss_omp_threads']}, env {doc['machine']['threads_env']}. "
             f"Vectors are generated ({doc['dim']}-d clustered, not the model): these are index-structure costs.",
             "", "| stage | N | wall s | peak RSS MiB | items/s | detail | load avg (1 min) before/after |",
             "|---|---:|---:|---:|---:|---|---|"]
    for r in doc["results"]:
        detail = {k: v for k, v in r.items() if k not in ("stage", "n", "wall_s", "peak_rss_mib", "items_per_s",
                                                          "loadavg_before", "loadavg_after", "items")
                  and not isinstance(v, dict) and "recall" not in k}
        lines.append(f"| {r['stage']} | {r['n']:,} | {r['wall_s']} | {r['peak_rss_mib']} | {r['items_per_s']} | "
                     f"{json.dumps(detail) if detail else ''} | {r['loadavg_before'][0]} / {r['loadavg_after'][0]} |")
    lines += ["", "## /search latency (ms, 1,000 queries) and recall@10 against exact search", "",
              "| N | retrieval | recall@10 | c=1 p50 | c=1 p99 | c=16 p50 | c=16 p99 |", "|---:|---|---:|---:|---:|---:|---:|"]
    for r in doc["results"]:
        if r["stage"] != "search":
            continue
        for key in [k[:-3] for k in r if k.endswith("_c1")]:
            rec = r.get(f"{key}_recall@10", "exact" if key == "dense_flat" else "")
            c1, c16 = r[f"{key}_c1"], r[f"{key}_c16"]
            lines.append(f"| {r['n']:,} | {key} | {rec} | {c1['p50_ms']} | {c1['p99_ms']} | {c16['p50_ms']} | "
                         f"{c16['p99_ms']} |")
    lines += ["", "![time and peak RSS against N](scale.png)", ""]
    ray_file = RESULTS / "scale_ray.json"
    if ray_file.is_file():  # written by --ray-model
        lines += ["## Ray Data encoding (`--ray-model`, real model)", "",
                  "| workers | texts | wall s | texts/s | model | backend | load avg before/after |",
                  "|---:|---:|---:|---:|---|---|---|"]
        for r in json.loads(ray_file.read_text(encoding="utf-8")):
            lines.append(f"| {r['workers']} | {r['texts']} | {r['wall_s']} | {r['texts_per_s']} | {r['model']} | "
                         f"{r['backend']} (1 thread/actor) | {r['loadavg_before'][0]} / {r['loadavg_after'][0]} |")
        lines.append("")
    lines += NOTES
    (RESULTS / "scale.md").write_text("\n".join(lines), encoding="utf-8")


def plot(doc: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for stage in STAGES:
        rs = [r for r in doc["results"] if r["stage"] == stage]
        ns = [r["n"] for r in rs]
        a.plot(ns, [r["wall_s"] for r in rs], "o-", label=stage)
        b.plot(ns, [r["peak_rss_mib"] for r in rs], "o-", label=stage)
    for ax, title in ((a, "wall time (s)"), (b, "peak RSS (MiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N products")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "scale.png", dpi=100)


if __name__ == "__main__":
    main()
