"""The Python parts of scripts/gpu_check.sh (#15 item 13). Each sub-command exits non-zero when its path breaks.

    python scripts/gpu_check.py serve --variant bf16|fp8 --out DIR   # one vLLM variant vs torch fp32 on the GPU
    python scripts/gpu_check.py report --out DIR                     # gpu_check.json + gpu_check.md from the parts
    torchrun --nproc-per-node 1 scripts/gpu_check.py train            # a few DDP training steps over NCCL

`serve` embeds product titles with torch fp32 (sentence-transformers on the device) and with seaembed's serving
engine over the vLLM backend, and writes cosine parity and texts/s of both. `--candidate torch-bf16 --device cpu`
and `train --dist-backend gloo --device cpu` run the same code without a GPU (the CPU test suite does that with a
tiny model); with `--device cuda` (the default) a missing GPU is an error, never a skip.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIN_COSINE = {"bf16": 0.99, "fp8": 0.95, "torch-bf16": 0.99}  # a broken path gives ~0 or NaN, not 0.9x


def fail(message: str) -> None:
    print(f"GPU CHECK FAILED: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def require_device(device: str) -> None:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        fail(f"device {device} asked for but torch sees no CUDA GPU (torch {torch.__version__}, "
             f"CUDA build {torch.version.cuda})")


def titles(n: int) -> list[str]:
    from benchmarks.serve import load_titles

    return load_titles(n)


def best_time(fn, repeats: int = 3) -> float:
    """Best wall time of `repeats` runs after a warm-up (the serve benchmark's timer)."""
    from benchmarks.serve import timed

    return timed(fn, repeats=repeats)


def torch_reference(model_dir: str, texts: list[str], device: str) -> tuple[np.ndarray, float]:
    """fp32 sentence-transformers embeddings (query prompt) on `device` and their best wall time."""
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(model_dir, device=device)
    prompt = "query" if "query" in (st.prompts or {}) else None

    def run():
        out = st.encode(texts, prompt_name=prompt, batch_size=64, normalize_embeddings=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return out

    vecs = run()
    seconds = best_time(run)
    run = st = None  # free the reference model before the candidate loads
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return np.asarray(vecs, dtype=np.float32), seconds


def candidate_engine(model_dir: str, variant: str):
    """The serving engine over the backend `variant` names: vLLM bf16 / fp8, or torch-bf16 (CPU stand-in)."""
    from seaembed.engine.batching import BatchingConfig, Engine

    if variant in ("bf16", "fp8"):
        from seaembed.engine.backends.vllm_backend import VllmBackend

        backend = VllmBackend(model_dir, dtype="bfloat16", quantization="fp8" if variant == "fp8" else None,
                              max_model_len=512)
    elif variant == "torch-bf16":
        from seaembed.engine.backends.torch_backend import TorchBackend

        backend = TorchBackend(model_dir, dtype="bfloat16")
    else:
        fail(f"unknown variant {variant}")
    return Engine(backend, BatchingConfig(max_batch_tokens=8192))


def http_smoke(engine, text: str) -> list[float]:
    """One /v1/embeddings request through the real app on loopback."""
    import base64
    import urllib.request

    from seaembed.serve.app import ServerSettings, create_app
    from seaembed.serve.server import BackgroundServer

    with BackgroundServer(create_app(engine, None, ServerSettings(model_name="gpu-check"))) as url:
        req = urllib.request.Request(f"{url}/v1/embeddings", data=json.dumps({"input": [text], "model": "gpu-check",
                                     "encoding_format": "base64"}).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            body = json.loads(resp.read())
    return np.frombuffer(base64.b64decode(body["data"][0]["embedding"]), dtype=np.float32).tolist()


def serve_check(model: str, variant: str, device: str, n_texts: int, out: Path) -> dict:
    from seaembed.models import resolve_model_dir

    require_device(device)
    model_dir = str(resolve_model_dir(model))
    texts = titles(n_texts)
    ref, ref_s = torch_reference(model_dir, texts, device)
    engine = candidate_engine(model_dir, variant)
    try:
        vecs, _ = engine.embed_sync(texts, "query")
        seconds = best_time(lambda: engine.embed_sync(texts, "query"))
        via_http = np.asarray(http_smoke(engine, texts[0]), dtype=np.float32)
    finally:
        engine.close()
    cos = np.sum(ref * vecs, axis=1)
    row = {"variant": variant, "backend": engine.backend.name, "device": device, "model": model, "n_texts": len(texts),
           "cosine_mean": float(np.nanmean(cos)) if len(cos) else float("nan"), "cosine_min": float(np.min(cos)),
           "http_cosine": float(via_http @ ref[0] / max(np.linalg.norm(via_http), 1e-12)),
           "texts_per_s": round(len(texts) / seconds, 1), "torch_fp32_texts_per_s": round(len(texts) / ref_s, 1),
           "x_vs_torch_fp32": round(ref_s / seconds, 2), "min_cosine": MIN_COSINE.get(variant, 0.99),
           "gpu": _gpu_name(device)}
    out.mkdir(parents=True, exist_ok=True)
    (out / f"serve-{variant}.json").write_text(json.dumps(row, indent=1))
    print(json.dumps(row), flush=True)
    if not np.isfinite(cos).all() or row["cosine_mean"] < row["min_cosine"] or row["http_cosine"] < row["min_cosine"]:
        fail(f"{variant}: cosine vs torch fp32 {row['cosine_mean']:.4f} (min {row['cosine_min']:.4f}, over HTTP "
             f"{row['http_cosine']:.4f}) below {row['min_cosine']}")
    return row


def _gpu_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else "cpu"


def train_check(model: str, steps: int, dist_backend: str, device: str, out: Path) -> dict:
    """A few DDP steps (InfoNCE over in-batch negatives) under torchrun; fails unless the loss is finite, the
    weights moved, and an all-reduce over the process group returns the world size."""
    import torch
    import torch.distributed as dist
    from sentence_transformers import SentenceTransformer

    from seaembed.models import resolve_model_dir

    require_device(device)
    if "RANK" not in os.environ:
        fail("train must run under torchrun (torchrun --nproc-per-node 1 scripts/gpu_check.py train)")
    dist.init_process_group(backend=dist_backend)
    rank = dist.get_rank()
    dev = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if device.startswith("cuda") else "cpu")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    st = SentenceTransformer(str(resolve_model_dir(model)), device=str(dev))
    st.train()
    ddp = torch.nn.parallel.DistributedDataParallel(st, device_ids=[dev.index] if dev.type == "cuda" else None,
                                                  find_unused_parameters=True)  # the unused BERT pooler
    opt = torch.optim.AdamW(st.parameters(), lr=2e-5)
    before = next(st.parameters()).detach().clone()
    texts = titles(64)
    losses, start = [], time.perf_counter()

    def feats(batch):
        return {k: v.to(dev) for k, v in st.tokenize(batch).items() if hasattr(v, "to")}

    for i in range(steps):
        batch = texts[(i * 16) % 64:][:16]
        # one forward per step (queries and passages together): DDP reduces gradients once per backward
        emb = ddp(feats(["query: " + t for t in batch] + ["passage: " + t for t in batch]))["sentence_embedding"]
        q, d = torch.nn.functional.normalize(emb, dim=1).split(len(batch))
        loss = torch.nn.functional.cross_entropy(q @ d.T / 0.05, torch.arange(len(batch), device=dev))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss))
    world = torch.ones(1, device=dev)
    dist.all_reduce(world)
    moved = float((next(st.parameters()).detach() - before).abs().max())
    row = {"dist_backend": dist_backend, "device": str(dev), "steps": steps, "losses": [round(x, 4) for x in losses],
           "seconds_per_step": round((time.perf_counter() - start) / steps, 3), "all_reduce_world": float(world),
           "world_size": dist.get_world_size(), "max_weight_change": moved, "gpu": _gpu_name(device)}
    dist.destroy_process_group()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train.json").write_text(json.dumps(row, indent=1))
        print(json.dumps(row), flush=True)
    if not all(np.isfinite(losses)) or moved == 0.0 or row["all_reduce_world"] != row["world_size"]:
        fail(f"training over {dist_backend}: losses {losses}, weight change {moved}, all-reduce {world.item()}")
    return row


def report(out: Path, results: Path) -> str:
    """Merge the parts in `out` into `results`.json/.md (fails if a part is missing)."""
    from seaembed.atomic import write_results

    parts = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
    missing = [k for k in ("serve-bf16", "serve-fp8", "train") if k not in parts]
    if missing:
        fail(f"missing results: {', '.join(missing)}")
    lines = ["# GPU check", "", f"GPU: {parts['serve-bf16']['gpu']}; model `{parts['serve-bf16']['model']}`, "
             f"{parts['serve-bf16']['n_texts']} product titles as queries.", "",
             "| vLLM variant | cosine mean vs torch fp32 | cosine min | over HTTP | texts/s | torch fp32 texts/s | x torch fp32 |",
             "|---|---|---|---|---|---|---|"]
    for k in ("serve-bf16", "serve-fp8"):
        r = parts[k]
        lines.append(f"| {r['variant']} | {r['cosine_mean']:.5f} | {r['cosine_min']:.5f} | {r['http_cosine']:.5f} | "
                     f"{r['texts_per_s']} | {r['torch_fp32_texts_per_s']} | {r['x_vs_torch_fp32']} |")
    t = parts["train"]
    lines += ["", f"Training over {t['dist_backend']} ({t['world_size']} process): {t['steps']} steps, "
              f"{t['seconds_per_step']} s/step, losses {t['losses']}.", ""]
    text = "\n".join(lines)
    write_results(str(results), parts, text)
    print(text)
    return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--variant", required=True, choices=["bf16", "fp8", "torch-bf16"])
    t = sub.add_parser("train")
    t.add_argument("--steps", type=int, default=5)
    t.add_argument("--dist-backend", default="nccl")
    r = sub.add_parser("report")
    r.add_argument("--results", default=str(ROOT / "benchmarks" / "results" / "gpu_check"))
    for q in (s, t, r):
        q.add_argument("--model", default="packaged:multilingual-e5-small")
        q.add_argument("--device", default="cuda")
        q.add_argument("--texts", type=int, default=512)
        q.add_argument("--out", type=Path, default=ROOT / "gpu_check_parts")
    args = p.parse_args(argv)
    if args.cmd == "serve":
        serve_check(args.model, args.variant, args.device, args.texts, args.out)
    elif args.cmd == "train":
        train_check(args.model, args.steps, args.dist_backend, args.device, args.out)
    else:
        report(args.out, Path(args.results))


if __name__ == "__main__":
    main()
