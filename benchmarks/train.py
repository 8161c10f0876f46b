"""Training benchmarks: CAM overhead vs MNRL, peak RSS cached vs uncached, examples/s on the packaged base model.

    .venv/bin/python benchmarks/train.py            # ~5 min on 2 shared cores
    .venv/bin/python benchmarks/train.py --quick    # fewer steps, smaller batches

Writes benchmarks/results/train.json and train.md.

1. CAM overhead: one training step (forward, loss, backward, AdamW) with CAMInfoNCELoss vs sentence-transformers'
   MultipleNegativesRankingLoss on the same batch (half label-space rows in 5 classes, one hard negative each),
   steps interleaved so machine load hits both alike; the ratio of median step times (target <= 1.05). Measured on the
   packaged multilingual-e5-small (frozen embeddings) and on a tiny model, where the loss is a larger share of a step.
2. Memory: peak RSS (resource.getrusage ru_maxrss, each configuration in its own subprocess) of one training step at
   contrastive batch 64 / 256 / 1024, CachedCAMInfoNCELoss (mini-batch 32) vs CAMInfoNCELoss, on a random BERT
   (4 layers, hidden 256, ~16-token texts). The packaged model at batch 1024 uncached would need tens of GB here.
3. Throughput: training examples (query-positive pairs) per second on packaged:multilingual-e5-small with the
   word-embedding table frozen vs fully trainable (fp32, batch 32, PRDECT-ID product names -> categories).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
PRDECT = ROOT.parent / "shared" / "datasets" / "prdect_id" / "prdect_id.csv"
WORDS = ("sepatu lari pria ringan tas ransel wanita kulit kaos polos katun hitam running shoes leather backpack "
         "black cotton giày chạy bộ nam áo thun samsung iphone xiaomi oppo vivo asus lenovo makanan minuman "
         "kesehatan kecantikan elektronik rumah tangga").split()


def _product_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(product name, category) pairs from PRDECT-ID, or synthetic text when the data set is absent."""
    rng = random.Random(seed)
    if PRDECT.exists():
        import csv

        with open(PRDECT, encoding="utf-8") as f:
            rows = {(r["Product Name"], r["Category"]) for r in csv.DictReader(f, delimiter=";")}
        rows = sorted(rows)
        rng.shuffle(rows)
        return [rows[i % len(rows)] for i in range(n)]
    return [(" ".join(rng.choices(WORDS, k=8)), rng.choice(WORDS)) for _ in range(n)]


def _batch(model, n: int, seed: int = 0):
    """Features and class keys of a mixed batch: half title->category rows (5 classes), half retrieval pairs."""
    import torch

    rng = random.Random(seed)
    cats = ["sepatu", "tas", "kaos", "celana", "topi"]
    queries, positives, negatives, keys = [], [], [], []
    for i in range(n):
        if i % 2 == 0:
            c = i % 5
            queries.append(f"{' '.join(rng.choices(WORDS, k=6))} {i}")
            positives.append(f"kategori {cats[c]}")
            negatives.append(f"kategori {cats[(c + 1) % 5]}")
            keys.append(c)
        else:
            queries.append(f"cari {' '.join(rng.choices(WORDS, k=3))} {i}")
            positives.append(f"{' '.join(rng.choices(WORDS, k=10))} {i}")
            negatives.append(f"{' '.join(rng.choices(WORDS, k=10))} {i} lain")
            keys.append(-1)
    feats = [model.preprocess(x, prompt=p) for x, p in
             ((queries, "query: "), (positives, "passage: "), (negatives, "passage: "))]
    return feats, torch.tensor(keys)


def _step(model, loss, opt, feats, labels) -> float:
    t = time.perf_counter()
    value = loss([dict(f) for f in feats], labels)
    value.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return time.perf_counter() - t


def cam_overhead(model, label: str, batch: int, steps: int) -> dict:
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from seaembed.train.losses import CAMInfoNCELoss

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-6)
    feats, labels = _batch(model, batch)
    losses = {"mnrl": MultipleNegativesRankingLoss(model, scale=20.0), "cam": CAMInfoNCELoss(model, temperature=0.05)}
    for loss in losses.values():  # warm-up
        _step(model, loss, opt, feats, labels)
    times: dict[str, list[float]] = {"mnrl": [], "cam": []}
    for i in range(steps):
        order = ("mnrl", "cam") if i % 2 == 0 else ("cam", "mnrl")
        for name in order:
            times[name].append(_step(model, losses[name], opt, feats, labels))
    med = {k: statistics.median(v) for k, v in times.items()}
    pair_ratios = [c / m for c, m in zip(times["cam"], times["mnrl"], strict=True)]
    return {"model": label, "batch": batch, "pairs": steps, "median_step_s": med,
            "ratio_cam_over_mnrl": statistics.median(pair_ratios),
            "ratio_of_medians": med["cam"] / med["mnrl"],
            "masked_candidates_per_step": losses["cam"].last_stats.get("masked")}


def loss_only_overhead(batch: int, dim: int = 384, reps: int = 20) -> dict:
    """The loss computation alone (embeddings given, forward + backward of the loss): CAM vs MNRL."""
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from seaembed.train.losses import CAMInfoNCELoss

    g = torch.Generator().manual_seed(0)
    embs = [torch.randn(batch, dim, generator=g) for _ in range(3)]
    keys = torch.tensor([i % 5 if i % 2 == 0 else -1 for i in range(batch)])
    fps = [torch.arange(batch) + k * batch for k in range(3)]
    mnrl, cam = MultipleNegativesRankingLoss(None, scale=20.0), CAMInfoNCELoss(None)
    times: dict[str, list[float]] = {"mnrl": [], "cam": []}
    for i in range(reps + 2):
        for name in ("mnrl", "cam"):
            e = [x.clone().requires_grad_() for x in embs]
            t = time.perf_counter()
            value = (mnrl.compute_loss_from_embeddings(e, keys) if name == "mnrl"
                     else cam.compute_loss_from_embeddings(e, keys, fps))
            value.backward()
            if i >= 2:
                times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"batch": batch, "dim": dim, "median_s": med, "ratio_cam_over_mnrl": med["cam"] / med["mnrl"]}


def rss_worker(model_dir: str, batch: int, cached: bool) -> None:
    """Subprocess body: one CAM training step; prints peak RSS (MiB) before and after the step."""
    import torch
    from sentence_transformers import SentenceTransformer

    from seaembed.train.losses import CachedCAMInfoNCELoss, CAMInfoNCELoss

    torch.set_num_threads(1)
    _reset_peak()
    model = SentenceTransformer(model_dir, device="cpu")
    feats, labels = _batch(model, batch)
    feats = feats[:2]  # query, positive
    loss = CachedCAMInfoNCELoss(model, mini_batch_size=32) if cached else CAMInfoNCELoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    base = _vm_hwm_mib()
    t = time.perf_counter()
    _step(model, loss, opt, feats, labels)
    step_s = time.perf_counter() - t
    print(json.dumps({"batch": batch, "cached": cached, "peak_rss_before_step_mib": round(base, 1),
                      "peak_rss_mib": round(_vm_hwm_mib(), 1),
                      "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "step_s": round(step_s, 2)}))


def _reset_peak() -> None:
    """Reset the kernel's peak-RSS mark: a child's ru_maxrss can start at its parent's RSS (fork before exec)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _vm_hwm_mib() -> float:
    """Peak resident set size of this process (VmHWM, MiB); ru_maxrss where /proc is unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory(batches: list[int]) -> list[dict]:
    from seaembed.testing import build_tiny_model

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_model(Path(tmp) / "mid", dim=256, layers=4)
        for b in batches:
            for cached in (False, True):
                proc = subprocess.run([sys.executable, __file__, "--rss-worker", str(model_dir), str(b),
                                       "1" if cached else "0"], capture_output=True, text=True, timeout=900,
                                      env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
                if proc.returncode != 0:
                    out.append({"batch": b, "cached": cached, "error": proc.stderr.strip().splitlines()[-1:]})
                    continue
                out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                print("  memory", out[-1], flush=True)
    return out


def base_cam_overhead(model_source: str, batch: int, pairs: int) -> dict:
    from seaembed.models import freeze_word_embeddings, load_model

    model = load_model(model_source)
    model.max_seq_length = 64
    freeze_word_embeddings(model)
    return cam_overhead(model, f"{model_source} (frozen embeddings)", batch, pairs)


def throughput(model_source: str, batch: int, steps: int) -> dict:
    import torch

    from seaembed.models import freeze_word_embeddings, load_model
    from seaembed.train.losses import CAMInfoNCELoss

    pairs = _product_pairs(batch * (steps + 1) * 2)
    results = {}
    for frozen in (True, False):
        model = load_model(model_source)
        model.max_seq_length = 64
        n_frozen = freeze_word_embeddings(model) if frozen else 0
        model.train()
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
        loss = CAMInfoNCELoss(model)
        cats = sorted({c for _, c in pairs})
        times = []
        for s in range(steps + 1):
            chunk = pairs[s * batch:(s + 1) * batch]
            feats = [model.preprocess([q for q, _ in chunk], prompt="query: "),
                     model.preprocess([c for _, c in chunk], prompt="passage: ")]
            labels = torch.tensor([cats.index(c) for _, c in chunk])
            dt = _step(model, loss, opt, feats, labels)
            if s > 0:
                times.append(dt)
        key = "frozen_word_embeddings" if frozen else "full"
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        results[key] = {"examples_per_s": batch * len(times) / sum(times), "median_step_s": statistics.median(times),
                        "trainable_parameters": trainable, "frozen_parameters": n_frozen}
        print("  throughput", key, results[key], flush=True)
        del model, opt
    results["speedup_frozen_over_full"] = (results["frozen_word_embeddings"]["examples_per_s"]
                                           / results["full"]["examples_per_s"])
    return {"model": model_source, "batch": batch, "steps": steps, "seq_len_max": 64, **results}


def _markdown(res: dict) -> str:
    lines = ["# Training benchmarks", "", f"Machine: {res['machine']}. Run: `{res['command']}` "
             f"({res['seconds']:.0f} s).", "", "## CAM overhead (step time, CAM / MNRL; target <= 1.05)", "",
             "Median over interleaved (MNRL, CAM) step pairs of the per-pair ratio.", "",
             "| model | batch | pairs | MNRL step (s) | CAM step (s) | ratio |", "|---|---|---|---|---|---|"]
    for r in res["cam_overhead"]:
        m = r["median_step_s"]
        lines.append(f"| {r['model']} | {r['batch']} | {r['pairs']} | {m['mnrl']:.4f} | {m['cam']:.4f} | "
                     f"{r['ratio_cam_over_mnrl']:.3f} |")
    lines += ["", "Loss computation alone (random 384-d embeddings, forward + backward of the loss only):", "",
              "| batch | MNRL (ms) | CAM (ms) | ratio |", "|---|---|---|---|"]
    for r in res["loss_only"]:
        lines.append(f"| {r['batch']} | {1000 * r['median_s']['mnrl']:.2f} | {1000 * r['median_s']['cam']:.2f} | "
                     f"{r['ratio_cam_over_mnrl']:.2f} |")
    lines += ["", "## Peak RSS of one training step (random BERT, 4 layers, hidden 256; mini-batch 32)", "",
              "Each configuration in a fresh subprocess; peak = VmHWM after the step (the kernel's peak-RSS mark, "
              "reset at start; `ru_maxrss` is in the JSON too).", "",
              "| batch | uncached peak (MiB) | cached peak (MiB) | cached / uncached | uncached step (s) | "
              "cached step (s) |", "|---|---|---|---|---|---|"]
    by = {(r["batch"], r["cached"]): r for r in res["memory"]}
    for b in sorted({r["batch"] for r in res["memory"]}):
        u, c = by.get((b, False), {}), by.get((b, True), {})
        if "peak_rss_mib" in u and "peak_rss_mib" in c:
            lines.append(f"| {b} | {u['peak_rss_mib']:.0f} | {c['peak_rss_mib']:.0f} | "
                         f"{c['peak_rss_mib'] / u['peak_rss_mib']:.2f} | {u['step_s']} | {c['step_s']} |")
    t = res.get("throughput")
    if t:
        lines += ["", f"## Throughput on `{t['model']}` (fp32, batch {t['batch']}, {t['steps']} steps)", "",
                  "| setting | examples/s | trainable parameters |", "|---|---|---|"]
        for key in ("frozen_word_embeddings", "full"):
            lines.append(f"| {key} | {t[key]['examples_per_s']:.1f} | {t[key]['trainable_parameters']:,} |")
        lines.append(f"\nFrozen / full speed-up: {t['speedup_frozen_over_full']:.2f}x. Absolute speeds are depressed by "
                     "the other jobs on this machine (see the load average above).")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rss-worker", nargs=3, metavar=("MODEL_DIR", "BATCH", "CACHED"))
    ap.add_argument("--model", default="packaged:multilingual-e5-small")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; 1 is several times faster than 2 when other jobs load the cores")
    args = ap.parse_args()
    if args.rss_worker:
        rss_worker(args.rss_worker[0], int(args.rss_worker[1]), args.rss_worker[2] == "1")
        return

    import torch

    from seaembed.atomic import write_results
    from seaembed.testing import build_tiny_model

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    res: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs "
                            f"(load average {os.getloadavg()[0]:.1f} at start), torch {torch.__version__}, "
                            f"{args.threads} torch thread(s)",
                 "command": "benchmarks/train.py" + (" --quick" if args.quick else "")}
    # Memory first, while this parent process is still small (its children are measured, not it).
    res["memory"] = memory([64, 256] if args.quick else [64, 256, 1024])
    res["cam_overhead"] = []
    with tempfile.TemporaryDirectory() as tmp:
        from sentence_transformers import SentenceTransformer

        tiny = SentenceTransformer(str(build_tiny_model(Path(tmp) / "tiny")), device="cpu")
        res["cam_overhead"].append(cam_overhead(tiny, "tiny (2 layers, 32-d)", 64, 20 if args.quick else 40))
        print("  cam overhead", res["cam_overhead"][-1], flush=True)
    res["loss_only"] = [loss_only_overhead(b) for b in (64, 256, 1024)]
    try:
        res["cam_overhead"].append(base_cam_overhead(args.model, 32, 2 if args.quick else 3))
        print("  cam overhead", res["cam_overhead"][-1], flush=True)
        res["throughput"] = throughput(args.model, 32, 2 if args.quick else 4)
    except Exception as e:  # no packaged model: report it instead of failing the other parts
        res["base_model_error"] = f"{type(e).__name__}: {e}"
    res["seconds"] = time.time() - t0
    write_results(RESULTS / "train", res, _markdown(res))
    print(_markdown(res))


if __name__ == "__main__":
    main()
