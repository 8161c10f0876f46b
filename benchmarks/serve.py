"""Serving benchmark, one run: raw engine throughput of onnx-int8 and openvino-int8 vs torch fp32 vs plain
`SentenceTransformer.encode`; quality kept under int8; tokens/s and p50/p99 latency through the HTTP server at
concurrency 1, 8 and 32 on loopback; the server's overhead over its raw engine under the same load; and model FLOP
utilisation (MFU) of each path against GEMM peaks (fp32, bf16, int8) measured on this machine in the same run.
The onnx-int8 export is the default one: `seaembed export` times onnxruntime's int8 variants here and keeps the
fastest within cosine 0.99 (the selection table is printed from the export's metadata).

Texts: product titles of the bundled sample catalog (seaembed/samples/catalog.jsonl: real Tokopedia names from
PRDECT-ID, CC BY 4.0, and hand-written multilingual products), encoded as queries.

    .venv/bin/python benchmarks/serve.py [--model packaged:multilingual-e5-small] [--texts 256]

The int8 exports are cached under $SEAEMBED_HOME/bench/ (pass --int8-dir / --openvino-dir to reuse them); the
openvino-int8 path runs when `openvino` and `nncf` are installed (`pip install 'seaembed[openvino]'`). Writes
benchmarks/results/serve.json and serve.md. The machine is shared: load averages are recorded beside the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seaembed.atomic import write_results  # noqa: E402
from seaembed.export.int8_select import candidates_table  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def load_titles(n: int) -> list[str]:
    from seaembed.samples import sample_path

    rows = [json.loads(x) for x in sample_path("catalog.jsonl").read_text(encoding="utf-8").splitlines() if x]
    titles = [r["title"] for r in rows]
    step = max(1, len(titles) // n)
    return (titles[::step] * ((n // len(titles)) + 1))[:n]


def timed(fn, repeats: int = 2) -> float:
    """Best wall time of `repeats` runs (after one warm-up call)."""
    fn()
    return min(timeit.repeat(fn, repeat=repeats, number=1))


def ensure_export(model: str, fmt: str, export_dir: str | None) -> Path:
    """An export of `model` in `fmt`, cached under $SEAEMBED_HOME/bench/ (or the given directory)."""
    from seaembed.engine.export_meta import read_export_meta
    from seaembed.export.export import export

    if export_dir:
        return Path(export_dir)
    home = Path(os.environ.get("SEAEMBED_HOME", Path.home() / ".cache" / "seaembed"))
    out = home / "bench" / (model.replace(":", "_").replace("/", "_") + f"-{fmt}")
    try:
        meta = read_export_meta(out)
        if meta.get("source") == model and meta.get("format") == fmt and (fmt != "onnx-int8" or "int8_selection" in meta):
            return out
    except Exception:  # noqa: BLE001 - not there yet
        pass
    print(f"exporting {model} to {out} ...", flush=True)
    return export(model, fmt, out)


def openvino_available() -> bool:
    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def gemm_peaks(threads: int | None, n: int = 1024) -> dict:
    """FLOP/s of one large square GEMM on this machine, as the paths would run it: torch fp32 and bf16
    (`torch.mm`), and onnxruntime int8 (`MatMulInteger`, uint8 x int8, the op dynamic quantisation emits).
    Best of 5 after a warm-up, at the benchmark's thread setting."""
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper

    from seaembed.threads import intra_op_threads

    flops = 2.0 * n ** 3
    out = {"n": n}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        out[name] = flops / timed(lambda a=a, b=b: torch.mm(a, b), repeats=5)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "gemm",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [n, n]),
         helper.make_tensor_value_info("B", TensorProto.INT8, [n, n])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads or intra_op_threads())
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {"A": rng.integers(0, 255, (n, n), dtype=np.uint8), "B": rng.integers(-127, 127, (n, n), dtype=np.int8)}
    onnx.checker.check_model(model)
    out["int8"] = flops / timed(lambda: sess.run(["Y"], feeds), repeats=5)
    return {k: (round(v / 1e9, 1) if k != "n" else v) for k, v in out.items()}  # GFLOP/s


def model_flops(model: str, lengths: list[int]) -> float:
    """Forward FLOPs of a BERT-style encoder over texts of `lengths` tokens (no padding counted): per layer and
    token 2 x (4 H^2 + 2 H I) for the projections and feed-forward, plus 4 s H for attention scores and values
    (the inference analogue of nanoGPT's 6N + attention count; embeddings and pooling left out)."""
    from transformers import AutoConfig

    from seaembed.models import resolve_model_dir

    cfg = AutoConfig.from_pretrained(str(resolve_model_dir(model)))
    h, inter, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    per_token = 2 * (4 * h * h + 2 * h * inter)
    return float(sum(layers * (s * per_token + 4 * s * s * h) for s in lengths))


PRECISION = {"torch-fp32": "fp32", "torch-bf16": "bf16", "onnx-int8": "int8", "openvino-int8": "int8",
             "sentence-transformers fp32 encode (batch 32)": "fp32"}


def add_mfu(raw: dict, flops: float, peaks: dict) -> None:
    """MFU of each path: achieved model FLOP/s over the GEMM peak of its precision, and over the fp32 peak."""
    for key, row in raw.items():
        name = key.removeprefix("engine ")
        achieved = flops / row["seconds"] / 1e9
        row["model_gflops_per_s"] = round(achieved, 1)
        prec = PRECISION.get(name, "fp32")
        row["mfu_precision"] = prec
        row["mfu"] = round(achieved / peaks[prec], 3)
        row["mfu_vs_fp32_peak"] = round(achieved / peaks["fp32"], 3)


def raw_throughput(model: str, exports: dict[str, Path], texts: list[str], threads: int | None) -> tuple[dict, dict]:
    """texts/s and tokens/s of each path, plus the engines for reuse. `exports`: int8 engine name -> export dir."""
    from seaembed.engine.backends import create_backend
    from seaembed.engine.batching import Engine
    from seaembed.engine.export_meta import backend_for_format
    from seaembed.engine.loading import load_sentence_transformer

    st = load_sentence_transformer(model)
    engines = {"torch-fp32": Engine(create_backend("torch", model, threads=threads)),
               "torch-bf16": Engine(create_backend("torch", model, dtype="bfloat16", threads=threads))}
    for name, path in exports.items():
        engines[name] = Engine(create_backend(backend_for_format(name), path, threads=threads))
        engines[name].warmup()  # as `seaembed serve` does before taking traffic (a no-op for onnxruntime)
    n_tokens = sum(len(s) for s in engines["torch-fp32"].backend.tokenize(texts, "query"))
    out = {}
    t = timed(lambda: st.encode(texts, prompt_name="query", batch_size=32, normalize_embeddings=True))
    out["sentence-transformers fp32 encode (batch 32)"] = t
    for name, eng in engines.items():
        out[f"engine {name}"] = timed(lambda e=eng: e.embed_sync(texts, "query"))
    rows = {k: {"seconds": round(v, 3), "texts_per_s": round(len(texts) / v, 1), "tokens_per_s": round(n_tokens / v)}
            for k, v in out.items()}
    base = rows["sentence-transformers fp32 encode (batch 32)"]["texts_per_s"]
    for r in rows.values():
        r["x_vs_sentence_transformers"] = round(r["texts_per_s"] / base, 2)
    return rows, engines


def quality(engines: dict, names: list[str], texts: list[str]) -> dict:
    """Each int8 engine vs torch fp32: cosine on the benchmark texts, nDCG@10 on the shipped multilingual
    product-search task."""
    from seaembed.evaluate.metrics import retrieval_metrics
    from seaembed.evaluate.runners import doc_text
    from seaembed.evaluate.tasks import load_task
    from seaembed.samples import task_dirs

    task = load_task(next(p for p in task_dirs("domain") if p.name == "multilingual-product-search"))
    doc_ids, qids = list(task.corpus), sorted(task.qrels)
    docs = [doc_text(task.corpus[d]) for d in doc_ids]
    queries = [task.queries[q]["text"] for q in qids]

    def ndcg(eng) -> float:
        d, _ = eng.embed_sync(docs, "passage")
        q, _ = eng.embed_sync(queries, "query")
        top = np.argsort(-(q @ d.T), axis=1)[:, :100]
        run = {qid: [doc_ids[j] for j in row] for qid, row in zip(qids, top, strict=True)}
        return retrieval_metrics(run, task.qrels)[0]["ndcg_at_10"]

    ref = engines["torch-fp32"]
    a, _ = ref.embed_sync(texts, "query")
    ref_ndcg = ndcg(ref)
    out = {}
    for name in names:
        b, _ = engines[name].embed_sync(texts, "query")
        cos = np.sum(a * b, axis=1)
        score = ndcg(engines[name])
        out[name] = {"cosine_mean": round(float(cos.mean()), 5), "cosine_min": round(float(cos.min()), 5),
                     "task": task.name, "ndcg@10_fp32": round(ref_ndcg, 4), "ndcg@10_int8": round(score, 4),
                     "ndcg@10_delta": round(score - ref_ndcg, 4)}
    return out


async def engine_load(engine, payloads: list[dict], concurrency: int):
    """The same closed-loop load as the HTTP client, straight on the engine (no HTTP, no JSON)."""
    from seaembed.serve.loadgen import LoadResult

    result = LoadResult()
    next_index = 0

    async def worker():
        nonlocal next_index
        while next_index < len(payloads):
            i = next_index
            next_index += 1
            start = time.perf_counter()
            vecs, n_tok = await engine.embed(payloads[i]["input"], "query")
            vecs.tolist()
            result.latencies.append(time.perf_counter() - start)
            result.requests += 1
            result.tokens += n_tok
            result.inputs += len(vecs)

    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    result.seconds = time.perf_counter() - start
    return result


def server_runs(export_dir: Path, backend: str, texts: list[str], engine, levels: list[int],
                per_level: dict[int, int], texts_per_request: int, threads: int | None) -> dict:
    from seaembed.serve.loadgen import run_load, start_server, stop_server
    from seaembed.serve.server import free_port

    def payloads(n):
        # base64, as the official openai client asks by default (and far cheaper to parse than float lists)
        return [{"input": [texts[(i * texts_per_request + j) % len(texts)] for j in range(texts_per_request)],
                 "model": "bench", "encoding_format": "base64"} for i in range(n)]

    port = free_port()
    args = ["--model", str(export_dir), "--backend", backend] + (["--threads", str(threads)] if threads else [])
    import tempfile

    proc = start_server(args, port, log_path=str(Path(tempfile.mkdtemp()) / "server.log"))
    out = {}
    try:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(run_load(url, payloads(16), 4))  # warm-up
        for c in levels:
            n = per_level[c]
            # interleaved, best of two each: the machine is shared and other jobs' bursts hit either side
            runs = []
            for _ in range(2):
                runs.append(("engine", asyncio.run(engine_load(engine, payloads(n), c)).summary()))
                runs.append(("server", asyncio.run(run_load(url, payloads(n), c)).summary()))
            http = max((r for k, r in runs if k == "server"), key=lambda r: r["tokens_per_s"])
            raw = max((r for k, r in runs if k == "engine"), key=lambda r: r["tokens_per_s"])
            overhead = 1 - http["tokens_per_s"] / raw["tokens_per_s"] if raw["tokens_per_s"] else None
            out[str(c)] = {"server": http, "engine": raw,
                           "server_overhead": round(overhead, 3) if overhead is not None else None}
            print(f"c={c}: server {http['tokens_per_s']} tok/s p50 {http['p50_ms']} ms p99 {http['p99_ms']} ms; "
                  f"engine {raw['tokens_per_s']} tok/s; overhead {out[str(c)]['server_overhead']}", flush=True)
    finally:
        stop_server(proc)
    return out


def render(r: dict) -> str:
    lines = ["# Serving benchmark", "",
             f"Model `{r['model']}`, {r['n_texts']} product titles as queries ({r['n_tokens']} tokens), "
             f"{r['machine']['cpus']} CPUs ({r['machine']['cpu_flags']}) shared with other work (load average "
             f"{r['machine']['load_before']} before, {r['machine']['load_after']} after). {r['seconds']:.0f} s in all.",
             "", "## Raw throughput (one process, no HTTP)", "",
             "| path | texts/s | tokens/s | x sentence-transformers | model GFLOP/s | MFU (own precision's GEMM peak) "
             "| MFU vs fp32 peak |", "|---|---|---|---|---|---|---|"]
    for k, v in r["raw"].items():
        lines.append(f"| {k} | {v['texts_per_s']} | {v['tokens_per_s']} | {v['x_vs_sentence_transformers']} | "
                     f"{v['model_gflops_per_s']} | {v['mfu']:.1%} ({v['mfu_precision']}) | {v['mfu_vs_fp32_peak']:.1%} |")
    pk = r["gemm_peak_gflops"]
    lines += ["", f"GEMM peaks measured in this run ({pk['n']}x{pk['n']}x{pk['n']}, best of 5): fp32 {pk['fp32']} "
              f"GFLOP/s, bf16 {pk['bf16']} GFLOP/s (torch.mm), int8 {pk['int8']} GOP/s (onnxruntime MatMulInteger). "
              f"Model FLOPs: {r['model_gflops']:.1f} GFLOP for the {r['n_texts']} texts (unpadded tokens; "
              "projections, feed-forward and attention of every layer). Threads: "
              f"{r['threads']['intra_op_threads']} intra-op, OMP_WAIT_POLICY={r['threads']['env'].get('OMP_WAIT_POLICY')}."]
    sel = r.get("int8_selection")
    if sel:
        lines += ["", f"## onnx-int8: the variant `seaembed export` chose on this machine ({sel['chosen']})", "",
                  f"onnx fp32 graph: {sel['onnx_fp32_texts_per_s']} texts/s on the same {sel['n_timing_texts']} "
                  f"titles (batches of 32, catalog order); gate: cosine mean >= {sel['min_cosine_mean']} on "
                  f"{sel['n_parity_texts']} parity texts.", "",
                  *candidates_table(sel)]
    lines += ["", "## Quality under int8 (against torch fp32)", "",
              "| int8 path | cosine mean | cosine min | nDCG@10 fp32 | nDCG@10 int8 | delta |", "|---|---|---|---|---|---|"]
    for name, q in r["quality_int8"].items():
        lines.append(f"| {name} | {q['cosine_mean']} | {q['cosine_min']} | {q['ndcg@10_fp32']} | {q['ndcg@10_int8']} | "
                     f"{q['ndcg@10_delta']:+.4f} |")
    task = next(iter(r["quality_int8"].values()))["task"]
    lines += ["", f"Cosine on the benchmark titles; nDCG@10 on `{task}` (200 queries, 722 products).", ""]
    for name, by_tpr in r["server"].items():
        lines += [f"## Through the server ({name}, loopback) against the same load on the raw engine", "",
                  "| texts/request | concurrency | requests | server tokens/s | p50 ms | p99 ms | engine tokens/s | "
                  "engine p50 ms | engine p99 ms | server overhead |", "|---|---|---|---|---|---|---|---|---|---|"]
        for tpr, levels in by_tpr.items():
            for c, v in levels.items():
                sv, e = v["server"], v["engine"]
                lines.append(f"| {tpr} | {c} | {sv['requests']} | {sv['tokens_per_s']} | {sv['p50_ms']} | {sv['p99_ms']} | "
                             f"{e['tokens_per_s']} | {e['p50_ms']} | {e['p99_ms']} | {v['server_overhead']:.1%} |")
        lines.append("")
    t = r["targets"]
    lines += ["## Targets", ""]
    for name, x in t["int8_x_st"].items():
        lines.append(f"- {name} engine >= 3x sentence-transformers fp32: measured {x}x -> {'met' if x >= 3 else 'missed'}")
    for name, by_tpr in t.get("server_x_st_c32", {}).items():
        for tpr, x in by_tpr.items():
            lines.append(f"- {name} through the server (`seaembed serve --model EXPORT`), concurrency 32, {tpr} text(s) "
                         f"per request: {x}x sentence-transformers fp32 tokens/s")
    for name, by_tpr in t["overhead_c32"].items():
        for tpr, o in by_tpr.items():
            lines.append(f"- {name} server overhead <= 15% at concurrency 32, {tpr} text(s) per request: measured "
                         f"{o:.1%} -> {'met' if o <= 0.15 else 'missed'}")
    lines += ["", "Server overhead = 1 - server tokens/s / engine tokens/s for the same requests at the same concurrency "
              "(the engine run is the same closed loop in-process, without HTTP or JSON). The HTTP client (aiohttp, "
              "base64 responses as the openai client asks) runs on the same 2 cores as the server, so its CPU time "
              "counts against the server. Engine and server runs are interleaved, best of two each.", ""]
    return "\n".join(lines)


def cpu_flags() -> str:
    try:
        flags = open("/proc/cpuinfo", encoding="ascii").read().split("flags")[1].split("\n")[0].split()
    except (OSError, IndexError):
        return "flags unknown"
    try:
        name = open("/proc/cpuinfo", encoding="ascii").read().split("model name")[1].split("\n")[0].strip(" :\t")
    except (OSError, IndexError):
        name = "CPU"
    found = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8") if f in flags]
    return f"{name}: {' '.join(found) or 'no AVX2'}{'' if 'amx_int8' in found else ', no AMX'}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="packaged:multilingual-e5-small")
    p.add_argument("--int8-dir", default=None, help="an existing onnx-int8 export of --model")
    p.add_argument("--openvino-dir", default=None, help="an existing openvino-int8 export of --model")
    p.add_argument("--texts", type=int, default=256)
    p.add_argument("--texts-per-request", type=int, nargs="+", default=[1, 16],
                   help="request shapes: 1 (a search query) and 16 (a batch call, e.g. indexing)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--skip-openvino", action="store_true", help="leave the openvino-int8 peer out (shorter run)")
    p.add_argument("--no-server", action="store_true", help="raw engine and quality only (shorter run)")
    p.add_argument("--out", default=str(RESULTS / "serve"))
    args = p.parse_args()

    from seaembed.threads import configure

    threads_info = configure()  # as the `seaembed` command does (before torch loads in this process)
    started = time.perf_counter()
    load_before = os.getloadavg()
    exports = {"onnx-int8": ensure_export(args.model, "onnx-int8", args.int8_dir)}
    if openvino_available() and not args.skip_openvino:
        exports["openvino-int8"] = ensure_export(args.model, "openvino-int8", args.openvino_dir)
    else:
        print("openvino/nncf not installed: skipping the openvino-int8 path", flush=True)
    texts = load_titles(args.texts)
    print("raw throughput ...", flush=True)
    raw, engines = raw_throughput(args.model, exports, texts, args.threads)
    print("GEMM peaks ...", flush=True)
    peaks = gemm_peaks(args.threads)
    lengths = [len(x) for x in engines["torch-fp32"].backend.tokenize(texts, "query")]
    flops = model_flops(args.model, lengths)
    add_mfu(raw, flops, peaks)
    print(json.dumps(raw, indent=1), peaks, flush=True)
    print("quality ...", flush=True)
    qual = quality(engines, list(exports), texts)
    print(qual, flush=True)
    for name in ("torch-fp32", "torch-bf16"):
        engines.pop(name).close()
    levels = [1, 8, 32]
    server: dict[str, dict] = {}
    from seaembed.engine.export_meta import backend_for_format

    for name, path in ({} if args.no_server else exports).items():
        server[name] = {}
        for tpr in args.texts_per_request:
            per_level = {1: max(8, 48 // tpr), 8: max(24, 192 // tpr), 32: max(64, 384 // tpr)}
            print(f"server {name}, {tpr} text(s) per request ...", flush=True)
            server[name][str(tpr)] = server_runs(path, backend_for_format(name), texts, engines[name], levels,
                                                 per_level, tpr, args.threads)
    first = engines["onnx-int8"]
    from seaembed.engine.export_meta import read_export_meta
    from seaembed.threads import describe

    st_tok = raw["sentence-transformers fp32 encode (batch 32)"]["tokens_per_s"]
    n_tokens = round(raw["engine onnx-int8"]["tokens_per_s"] * raw["engine onnx-int8"]["seconds"])
    report = {
        "model": args.model, "exports": {k: str(v) for k, v in exports.items()}, "n_texts": len(texts),
        "n_tokens": n_tokens, "texts_per_request": args.texts_per_request, "engine_config": vars(first.config),
        "raw": raw, "quality_int8": qual, "server": server, "gemm_peak_gflops": peaks,
        "model_gflops": round(flops / 1e9, 2), "threads": {**threads_info, **describe()},
        "int8_selection": read_export_meta(exports["onnx-int8"]).get("int8_selection"),
        "targets": {"int8_x_st": {k: raw[f"engine {k}"]["x_vs_sentence_transformers"] for k in exports},
                    "server_x_st_c32": {k: {tpr: round(v["32"]["server"]["tokens_per_s"] / st_tok, 2)
                                            for tpr, v in by.items()} for k, by in server.items()},
                    "overhead_c32": {k: {tpr: v["32"]["server_overhead"] for tpr, v in by.items()}
                                     for k, by in server.items()}},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "cpu_flags": cpu_flags(),
                    "load_before": [round(x, 1) for x in load_before],
                    "load_after": [round(x, 1) for x in os.getloadavg()]},
        "seconds": round(time.perf_counter() - started, 1),
    }
    for eng in engines.values():
        eng.close()
    write_results(args.out, report, render(report))
    print(render(report))


if __name__ == "__main__":
    main()
