"""`seaembed index` at N = 100k with the real int8 export (#16: encoding throughput with the real model at 100k).

One run, three measurements on the same synthetic marketplace (benchmarks/scale.py's generator: titles recombined
from the bundled catalog's real ones, see its docstring):

1. `seaembed index --model EXPORT --catalog catalog.jsonl --out DIR` on all N products, as a user runs it, in a
   child process: wall time, items/s and the child's peak RSS (ru_maxrss), with the stage's own log lines (embed,
   faiss, BM25, calibration);
2. the same export's engine encoding the first `--peer-texts` index texts (title + category, as `seaembed index`
   joins them) in this process;
3. the peer: `SentenceTransformer.encode` in fp32 of the model the export came from, on the same texts, batch 32.

2 and 3 give the ratio (engine / sentence-transformers, same texts, same run); 1 gives what a 100k catalog costs
end to end.

    flock /tmp/seaembed-heavy.lock .venv/bin/python benchmarks/index_real.py \
        --export runs/demo/export/onnx-int8 --model runs/demo/train/model [--n 100000] [--peer-texts 2000]

Writes benchmarks/results/index_real.{json,md}; records threads and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def index_run(export: str, catalog: Path, out: Path) -> dict:
    """`seaembed index` in a child process: wall s, peak RSS MiB of the child, the tail of its log."""
    load = _load()
    t = time.perf_counter()
    p = subprocess.run([str(Path(sys.executable).with_name("seaembed")), "index", "--model", export, "--catalog",
                        str(catalog), "--out", str(out)], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode:
        sys.exit(f"seaembed index failed (rc {p.returncode}):\n{p.stderr[-3000:]}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    info = json.loads((out / "index.json").read_text(encoding="utf-8"))
    return {"wall_s": round(wall, 1), "peak_rss_mib": round(rss, 1), "items": info.get("size"),
            "kind": info.get("kind"), "dense_search": info.get("dense_search", {}).get("value"),
            "loadavg_before": load, "loadavg_after": _load(),
            "log_tail": (p.stderr + p.stdout).strip().splitlines()[-12:]}


def texts_of(catalog: Path, n: int) -> list[str]:
    """The first n index texts, read by `seaembed index`'s own catalog reader with its default text fields."""
    from seaembed.search.catalog import iter_catalog

    out: list[str] = []
    for chunk in iter_catalog(catalog, text_fields=["title", "category"], chunk_rows=min(n, 4096)):
        out += chunk.texts[:n - len(out)]
        if len(out) >= n:
            break
    return out


def throughput(encode, texts: list[str]) -> dict:
    encode(texts[:64])  # warm-up
    load = _load()
    t = time.perf_counter()
    encode(texts)
    dt = time.perf_counter() - t
    return {"texts_per_s": round(len(texts) / dt, 1), "seconds": round(dt, 2), "loadavg_before": load,
            "loadavg_after": _load()}


def markdown(doc: dict) -> str:
    ix, eng, st = doc["index"], doc["engine"], doc["sentence_transformers"]
    return "\n".join([
        f"# `seaembed index` at N = {ix['items']:,} with the real int8 export", "",
        f"Export `{doc['export']}` (from `{doc['model']}`), catalog {doc['catalog']} (benchmarks/scale.py's "
        f"generator). {doc['machine']['cpus']} CPUs, threads {json.dumps(doc['machine']['threads'])}. "
        f"Measured {doc['date']}.", "",
        "| what | texts | wall s | texts/s | peak RSS MiB | load avg before / after |", "|---|---:|---:|---:|---:|---|",
        f"| `seaembed index` end to end (embed + {ix['kind']} + BM25 + calibration) | {ix['items']:,} | "
        f"{ix['wall_s']} | {round(ix['items'] / ix['wall_s'], 1)} | {ix['peak_rss_mib']} | "
        f"{ix['loadavg_before'][0]} / {ix['loadavg_after'][0]} |",
        f"| the export's engine, encode only | {doc['peer_texts']:,} | {eng['seconds']} | {eng['texts_per_s']} | | "
        f"{eng['loadavg_before'][0]} / {eng['loadavg_after'][0]} |",
        f"| peer: SentenceTransformer.encode fp32, batch 32 | {doc['peer_texts']:,} | {st['seconds']} | "
        f"{st['texts_per_s']} | | {st['loadavg_before'][0]} / {st['loadavg_after'][0]} |", "",
        f"Engine / sentence-transformers fp32 on the same texts in this run: **{doc['ratio']}x**.", "",
        "The last lines of the index command's log:", "", "```", *ix["log_tail"], "```", ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", required=True, help="a `seaembed export` directory (onnx-int8)")
    ap.add_argument("--model", required=True, help="the model the export came from (the peer encodes with it)")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--peer-texts", type=int, default=2000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/seaembed-index-real"))
    ap.add_argument("--out", type=Path, default=RESULTS / "index_real")
    args = ap.parse_args()

    from benchmarks.scale import generate
    from seaembed.atomic import write_results
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import Engine
    from seaembed.engine.export_meta import backend_for_format, read_export_meta

    work = args.work / str(args.n)
    work.mkdir(parents=True, exist_ok=True)
    catalog = work / "catalog.jsonl"
    if not catalog.is_file():
        generate(args.n, work)
    ix = index_run(args.export, catalog, work / "index")
    texts = texts_of(catalog, args.peer_texts)
    fmt = read_export_meta(args.export).get("format", "onnx-int8")
    engine = Engine(create_backend(backend_for_format(fmt), args.export))  # what `seaembed index` encodes with
    engine.warmup()
    eng = throughput(lambda t: engine.embed_sync(t, "passage"), texts)
    engine.close()
    from sentence_transformers import SentenceTransformer

    st_model = SentenceTransformer(args.model, device="cpu")
    st = throughput(lambda t: st_model.encode(t, batch_size=32, prompt_name="passage", normalize_embeddings=True),
                    texts)
    import torch

    doc = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "export": args.export, "model": args.model,
           "catalog": str(catalog), "peer_texts": len(texts), "index": ix, "engine": eng,
           "sentence_transformers": st, "ratio": round(eng["texts_per_s"] / st["texts_per_s"], 2),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "threads": {"torch": torch.get_num_threads(),
                                   **{k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}}}}
    write_results(args.out, doc, markdown(doc))
    print(markdown(doc))


if __name__ == "__main__":
    main()
