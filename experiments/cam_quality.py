"""Does Class-Aware Masking help under mixed-task supervision? CAM vs no CAM vs no in-batch negatives for
label-space rows, each trained with `seaembed.train.train` on the same mixed-task set, scored on held-out dev data.

    .venv/bin/python experiments/cam_quality.py [--steps 40] [--per-task 320] [--model packaged:multilingual-e5-small]

Training set (train splits only; dev portions held out; no test file is read), per task `--per-task` rows:
- title-category (label space, 29 classes): PRDECT-ID product name -> "kategori <Category>", split by product name;
- review-rating (label space, 5 classes): PRDECT-ID review -> "ulasan bintang <rating>", split by product name;
- topic (label space, 7 classes): SIB-200 ind/tha/vie train.tsv text -> "topik <category>"; dev = their dev.tsv;
- bitext (retrieval): TALPCo English -> Indonesian / Thai / Vietnamese sentence, split by sentence id.
Label-space rows carry one hard negative (another class name), so the third condition still has a negative.

Conditions: `cam` = CAMInfoNCELoss (same-class + duplicate masking), `no_cam` = MultipleNegativesRankingLoss
(scale 20 = tau 0.05), `no_in_batch_label` = CAMInfoNCELoss with label_space_in_batch_negatives=False (label rows
see only their own positive and hard negative). Batches are drawn one task at a time (proportional mixing), and
label-space batches keep several rows per class (the sampler deduplicates only their queries), which is the
situation CAM targets.

Dev metric per task: accuracy@1 of the nearest target (class name for label tasks, translation among all dev
translations for bitext), with the model's query/passage prompts; MRR@10 for bitext. Writes
experiments/results/cam_quality.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "experiments" / "results"
SIB_LANGS = ("ind_Latn", "tha_Thai", "vie_Latn")
TALPCO_LANGS = ("ind", "tha", "vie")


def _prdect(rng: random.Random):
    with open(DATA / "prdect_id" / "prdect_id.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    products = sorted({r["Product Name"] for r in rows})
    rng.shuffle(products)
    dev_products = set(products[: len(products) // 5])
    cats = sorted({r["Category"] for r in rows})
    split = {"train": defaultdict(list), "dev": defaultdict(list)}
    seen_title: set[str] = set()
    for r in rows:
        part = "dev" if r["Product Name"] in dev_products else "train"
        if r["Product Name"] not in seen_title:
            seen_title.add(r["Product Name"])
            split[part]["title-category"].append((r["Product Name"], f"kategori {r['Category']}",
                                                  r["Category"]))
        if r["Customer Review"].strip():
            split[part]["review-rating"].append((r["Customer Review"], f"ulasan bintang {r['Customer Rating']}",
                                                 r["Customer Rating"]))
    return split, {"title-category": [f"kategori {c}" for c in cats],
                   "review-rating": [f"ulasan bintang {i}" for i in range(1, 6)]}


def _sib():
    split = {"train": [], "dev": []}
    labels: set[str] = set()
    for lang in SIB_LANGS:
        for part, fname in (("train", "train.tsv"), ("dev", "dev.tsv")):
            with open(DATA / "sib200" / lang / fname, encoding="utf-8") as f:
                for r in csv.DictReader(f, delimiter="\t"):
                    split[part].append((r["text"], f"topik {r['category']}", r["category"]))
                    labels.add(r["category"])
    return split, [f"topik {c}" for c in sorted(labels)]


def talpco_split(rng: random.Random):
    """TALPCo (English, other) pairs split 4:1 into train/dev by sentence id; the other language cycles over
    TALPCO_LANGS. Each pair is (english, other, None)."""
    def read(lang):
        out = {}
        for line in (DATA / "talpco" / f"data_{lang}.txt").read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                i, text = line.split("\t", 1)
                out[i] = text.strip()
        return out

    eng = read("eng")
    others = {lang: read(lang) for lang in TALPCO_LANGS}
    ids = sorted(eng)
    rng.shuffle(ids)
    dev_ids = set(ids[: len(ids) // 5])
    split = {"train": [], "dev": []}
    for k, i in enumerate(ids):
        lang = TALPCO_LANGS[k % len(TALPCO_LANGS)]
        if i in others[lang] and eng[i]:
            split["dev" if i in dev_ids else "train"].append((eng[i], others[lang][i], None))
    return split


def build(per_task: int, dev_per_task: int, seed: int = 0):
    """Training rows (TrainingExample dicts) and dev sets {task: (queries, gold targets, candidate targets)}."""
    rng = random.Random(seed)
    prdect, prdect_classes = _prdect(rng)
    sib, sib_classes = _sib()
    talpco = talpco_split(rng)
    classes = {**prdect_classes, "topic": sib_classes}
    train_src = {**prdect["train"], "topic": sib["train"], "bitext": talpco["train"]}
    dev_src = {**prdect["dev"], "topic": sib["dev"], "bitext": talpco["dev"]}
    train_rows = []
    for task, rows in train_src.items():
        rows = list(rows)
        rng.shuffle(rows)
        for q, pos, label in rows[:per_task]:
            row = {"query": q, "positive": pos, "task": task, "label": label, "source": task}
            if task in classes:
                row["negatives"] = [rng.choice([c for c in classes[task] if c != pos])]
            train_rows.append(row)
    dev = {}
    for task, rows in dev_src.items():
        rows = list(rows)
        rng.shuffle(rows)
        rows = rows[:dev_per_task]
        queries, gold = [q for q, _, _ in rows], [p for _, p, _ in rows]
        candidates = classes.get(task) or sorted(set(gold))
        dev[task] = (queries, gold, candidates)
    return train_rows, dev


def evaluate(model, dev) -> dict:
    import numpy as np

    out = {}
    for task, (queries, gold, candidates) in dev.items():
        q = model.encode(queries, prompt_name="query", normalize_embeddings=True, batch_size=64)
        c = model.encode(candidates, prompt_name="passage", normalize_embeddings=True, batch_size=64)
        scores = q @ c.T
        index = {t: i for i, t in enumerate(candidates)}
        g = np.array([index[t] for t in gold])
        ranks = (scores > scores[np.arange(len(g)), g][:, None]).sum(1)  # 0 = top
        out[task] = {"accuracy@1": float((ranks == 0).mean()),
                     "mrr@10": float(np.where(ranks < 10, 1.0 / (ranks + 1), 0.0).mean()), "n": len(queries),
                     "candidates": len(candidates)}
    return out


CONDITIONS = {
    "cam": {"name": "cam"},
    "no_cam": {"name": "mnrl"},
    "no_in_batch_label": {"name": "cam", "label_space_in_batch_negatives": False},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="packaged:multilingual-e5-small")
    ap.add_argument("--per-task", type=int, default=240)
    ap.add_argument("--dev-per-task", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is far faster on a loaded machine)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)

    from seaembed.atomic import write_results
    from seaembed.models import load_model
    from seaembed.train.config import TrainConfig
    from seaembed.train.trainer import train

    t0 = time.time()
    train_rows, dev = build(args.per_task, args.dev_per_task)
    results: dict = {"load_average_at_start": os.getloadavg(), "model": args.model, "args": vars(args), "train_rows": len(train_rows),
                     "rows_per_task": {t: sum(r["task"] == t for r in train_rows) for t in dev},
                     "dev_sizes": {t: len(v[0]) for t, v in dev.items()}, "conditions": {}}
    base = load_model(args.model)
    base.max_seq_length = 64
    results["baseline"] = evaluate(base, dev)
    print("baseline", json.dumps(results["baseline"]), flush=True)
    del base
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.jsonl"
        train_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train_rows), encoding="utf-8")
        for cond, loss in CONDITIONS.items():
            t = time.time()
            cfg = TrainConfig(model=args.model, train_files=[train_file], output_dir=Path(tmp) / cond,
                              batch_size=args.batch_size, max_steps=args.steps, learning_rate=args.lr,
                              warmup_ratio=0.1, max_seq_length=64, checkpoint_steps=10_000, seed=args.seed,
                              max_negatives=1, loss=loss, resume=False, logging_steps=10)
            model_dir = train(cfg, progress=False)
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(model_dir), device="cpu")
            model.max_seq_length = 64
            results["conditions"][cond] = {"dev": evaluate(model, dev), "train_seconds": time.time() - t,
                                           "loss": loss}
            print(cond, json.dumps(results["conditions"][cond]["dev"]), flush=True)
    results["seconds"] = time.time() - t0
    write_results(RESULTS / "cam_quality", results, markdown(results))
    print(markdown(results))


def markdown(res: dict) -> str:
    tasks = list(res["dev_sizes"])
    a = res["args"]
    head = ["# CAM quality experiment", "",
            f"Model `{res['model']}` (word embeddings frozen), {res['train_rows']} training rows "
            f"({', '.join(f'{t}: {n}' for t, n in res['rows_per_task'].items())}), batch {a['batch_size']}, "
            f"{a['steps']} steps, lr {a['lr']}, seed {a['seed']}; dev sizes "
            f"{', '.join(f'{t}: {n}' for t, n in res['dev_sizes'].items())}. Total {res['seconds']:.0f} s.", "",
            "Dev accuracy@1 (nearest class name for label tasks; nearest translation for bitext):", "",
            "| condition | " + " | ".join(tasks) + " | mean |", "|---" * (len(tasks) + 2) + "|"]
    rows = [("baseline (untrained)", res["baseline"])] + [(c, v["dev"]) for c, v in res["conditions"].items()]
    for name, dev in rows:
        accs = [dev[t]["accuracy@1"] for t in tasks]
        head.append(f"| {name} | " + " | ".join(f"{x:.3f}" for x in accs) + f" | {sum(accs) / len(accs):.3f} |")
    head += ["", "Bitext MRR@10: " + ", ".join(f"{n}: {d['bitext']['mrr@10']:.3f}" for n, d in rows), "",
             "One seed, small dev sets (binomial standard error about 0.035 at n=200): differences below ~0.05 "
             "are within noise."]
    return "\n".join(head) + "\n"


if __name__ == "__main__":
    main()
