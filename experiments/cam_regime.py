"""The regime CAM is for (#14 item 5): label-space rows whose positive is another *text* of the same class, mixed in
one batch with retrieval rows, at batch 32, 128 and 512 (the larger two through GradCache on both sides).

    PYTHONPATH=$PWD .venv/bin/python experiments/cam_regime.py [--examples 1024] [--batches 32,128,512]
    PYTHONPATH=$PWD .venv/bin/python experiments/cam_regime.py --examples 64 --batches 32 --tag smoke

Training rows (PRDECT-ID and TALPCo train portions only; dev portions held out by product / sentence id):
- title-title-category (label space): a product title -> another title of the same category
  (seaembed.augment.same_class_pairs, a seeded cycle per category);
- review-review-rating (label space): a review -> another review with the same star rating;
- bitext (retrieval): TALPCo English -> Indonesian / Thai / Vietnamese.
All rows share one `source`, and the trainer groups by source: every batch mixes the three tasks. At batch 512 a
category of PRDECT-ID's 29 has ~10 rows per batch and a rating ~60, so plain InfoNCE treats many same-class texts as
negatives; CAM (CachedCAMInfoNCELoss at 128/512, mini-batch 32) masks them. The plain side is
sentence-transformers' MultipleNegativesRankingLoss (CachedMultipleNegativesRankingLoss at 128/512), same scale.

Budget: the same number of training examples (--examples) at every batch size, so steps = examples / batch.
Dev metrics (held-out rows): category and rating accuracy of the nearest class centroid (centroids of the train
texts of each class: does the space group same-class texts), and bitext MRR@10 among the dev translations. Each
number has a binomial / bootstrap 95% CI; the CAM - plain difference has a paired bootstrap CI over dev items.
Writes experiments/results/cam_regime[_TAG].{json,md}.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "experiments" / "results"
SOURCE = "mixed"


def build(per_task: int, dev_per_task: int, seed: int = 0):
    """Training rows (dicts) and dev sets: {"category"/"rating": (texts, labels, train texts, train labels),
    "bitext": (sources, targets)}."""
    from seaembed.augment.records import Product, Review
    from seaembed.augment.same_class_pairs import review_review_rating, title_title_category

    rng = random.Random(seed)
    with open(DATA / "prdect_id" / "prdect_id.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    names = sorted({r["Product Name"] for r in rows})
    rng.shuffle(names)
    dev_names = set(names[: len(names) // 5])
    products = {"train": {}, "dev": {}}
    reviews = {"train": [], "dev": []}
    for i, r in enumerate(rows):
        part = "dev" if r["Product Name"] in dev_names else "train"
        products[part].setdefault(r["Product Name"], Product(id=f"p{len(products[part])}", title=r["Product Name"],
                                                             category=[r["Category"]], lang="id"))
        if r["Customer Review"].strip():
            reviews[part].append(Review(item_id=r["Product Name"], text=r["Customer Review"].strip(),
                                        rating=float(r["Customer Rating"]), lang="id", where=f"prdect:{i}"))
    titles = title_title_category(products["train"].values(), seed=seed)
    revs = review_review_rating(reviews["train"], seed=seed)
    rng.shuffle(titles)
    rng.shuffle(revs)

    from cam_quality import talpco_split  # the same TALPCo split as the earlier CAM experiment

    bitext = {part: [(en, other) for en, other, _ in pairs] for part, pairs in talpco_split(rng).items()}
    train_rows = [{**ex.model_dump(include={"query", "positive", "task", "label", "lang"}), "source": SOURCE}
                  for ex in titles[:per_task] + revs[:per_task]]
    train_rows += [{"query": q, "positive": p, "task": "bitext", "source": SOURCE} for q, p in
                   bitext["train"][:per_task]]
    rng.shuffle(train_rows)

    def label_dev(train_items, dev_items):
        dev_items = list(dev_items)
        rng.shuffle(dev_items)
        dev_items = dev_items[:dev_per_task]
        return ([t for t, _ in dev_items], [y for _, y in dev_items], [t for t, _ in train_items],
                [y for _, y in train_items])

    train_cat = [(p.title, p.category[-1]) for p in products["train"].values()]
    train_rat = [(r.text, str(int(r.rating))) for r in reviews["train"]]
    rng.shuffle(train_rat)
    dev = {"category": label_dev(train_cat, [(p.title, p.category[-1]) for p in products["dev"].values()]),
           "rating": label_dev(train_rat[:3000], [(r.text, str(int(r.rating))) for r in reviews["dev"]]),
           "bitext": tuple(zip(*bitext["dev"][:dev_per_task], strict=True))}
    return train_rows, dev


def evaluate(model, dev) -> dict:
    """Per dev item scores (0/1 centroid accuracy; reciprocal rank for bitext) and their means."""
    out = {}
    for task in ("category", "rating"):
        texts, labels, tr_texts, tr_labels = dev[task]
        x = model.encode(list(texts), prompt_name="query", normalize_embeddings=True, batch_size=64)
        tx = model.encode(list(tr_texts), prompt_name="query", normalize_embeddings=True, batch_size=64)
        classes = sorted(set(tr_labels))
        cent = np.stack([tx[[i for i, y in enumerate(tr_labels) if y == c]].mean(0) for c in classes])
        pred = np.array(classes, dtype=object)[(x @ cent.T).argmax(1)]
        out[task] = (pred == np.array(labels, dtype=object)).astype(float).tolist()
    src, tgt = dev["bitext"]
    q = model.encode(list(src), prompt_name="query", normalize_embeddings=True, batch_size=64)
    c = model.encode(list(tgt), prompt_name="passage", normalize_embeddings=True, batch_size=64)
    s = q @ c.T
    ranks = (s > np.diag(s)[:, None]).sum(1)
    out["bitext"] = np.where(ranks < 10, 1.0 / (ranks + 1), 0.0).tolist()
    return out


def ci_mean(x, n_boot=1000, seed=0):
    x = np.asarray(x)
    rng = np.random.default_rng(seed)
    b = x[rng.integers(0, len(x), (n_boot, len(x)))].mean(1)
    return float(x.mean()), float(np.percentile(b, 2.5)), float(np.percentile(b, 97.5))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="packaged:multilingual-e5-small")
    ap.add_argument("--per-task", type=int, default=1200)
    ap.add_argument("--dev-per-task", type=int, default=300)
    ap.add_argument("--examples", type=int, default=1024, help="training rows seen per run (steps = examples/batch)")
    ap.add_argument("--batches", default="32,128,512")
    ap.add_argument("--mini-batch", type=int, default=32, help="GradCache mini-batch at batch > 32")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from sentence_transformers import SentenceTransformer

    from seaembed.atomic import write_json, write_text
    from seaembed.models import load_model
    from seaembed.train.config import TrainConfig
    from seaembed.train.trainer import train

    t0 = time.time()
    train_rows, dev = build(args.per_task, args.dev_per_task)
    counts = defaultdict(int)
    for r in train_rows:
        counts[r["task"]] += 1
    res = {"args": vars(args), "env": {"torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "load_at_start": os.getloadavg()},
           "rows_per_task": counts, "dev_sizes": {k: len(v[0]) for k, v in dev.items()}, "runs": {}}
    base = load_model(args.model)
    base.max_seq_length = 64
    res["base"] = evaluate(base, dev)
    del base
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.jsonl"
        train_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train_rows), encoding="utf-8")
        for batch in [int(b) for b in args.batches.split(",")]:
            steps = max(1, args.examples // batch)
            for name in ("cam", "mnrl"):
                loss = {"name": name, "temperature": 0.05}
                if batch > 32:
                    loss.update(cached=True, mini_batch_size=args.mini_batch)
                t = time.time()
                cfg = TrainConfig(model=args.model, train_files=[train_file], output_dir=Path(tmp) / f"{name}{batch}",
                                  group_by="source", batch_size=batch, max_steps=steps, learning_rate=args.lr,
                                  warmup_ratio=0.1, max_seq_length=64, checkpoint_steps=10_000, seed=args.seed,
                                  max_negatives=0, loss=loss, resume=False, logging_steps=max(1, steps // 4))
                model_dir = train(cfg, progress=False)
                model = SentenceTransformer(str(model_dir), device="cpu")
                model.max_seq_length = 64
                res["runs"][f"{name}@{batch}"] = {"batch": batch, "steps": steps, "loss": loss,
                                                  "dev": evaluate(model, dev), "train_seconds": round(time.time() - t),
                                                  "load": os.getloadavg()}
                print(name, batch, {k: np.mean(v) for k, v in res["runs"][f"{name}@{batch}"]["dev"].items()},
                      flush=True)
                write_json(RESULTS / f"cam_regime{'_' + args.tag if args.tag else ''}.json", res)
    res["seconds"] = round(time.time() - t0)
    res["env"]["load_at_end"] = os.getloadavg()
    name = f"cam_regime{'_' + args.tag if args.tag else ''}"
    write_json(RESULTS / f"{name}.json", res)
    write_text(RESULTS / f"{name}.md", markdown(res))
    print(markdown(res))


def markdown(res: dict) -> str:
    a = res["args"]
    lines = ["# CAM in its regime: same-class text positives mixed with retrieval rows", "",
             f"`experiments/cam_regime.py --examples {a['examples']} --batches {a['batches']}` "
             f"(seed {a['seed']}, lr {a['lr']}, GradCache mini-batch {a['mini_batch']} above 32). Training rows per "
             f"task: {dict(res['rows_per_task'])}; dev sizes {res['dev_sizes']}. Environment: {json.dumps(res['env'])}."
             f" Total {res.get('seconds', '?')} s.", "",
             "Dev scores x100 with 95% bootstrap CI; `CAM - plain` is paired over the same dev items.", "",
             "| batch | steps | task | base | plain InfoNCE (MNRL) | CAM | CAM - plain |", "|---|---|---|---|---|---|---|"]
    for key, run in res["runs"].items():
        if not key.startswith("cam@"):
            continue
        batch = run["batch"]
        plain = res["runs"].get(f"mnrl@{batch}")
        if plain is None:
            continue
        for task in ("category", "rating", "bitext"):
            b, p, c = (ci_mean(x) for x in (res["base"][task], plain["dev"][task], run["dev"][task]))
            d = ci_mean(np.array(run["dev"][task]) - np.array(plain["dev"][task]))
            lines.append(f"| {batch} | {run['steps']} | {task} | {100 * b[0]:.1f} | {100 * p[0]:.1f} "
                         f"[{100 * p[1]:.1f}, {100 * p[2]:.1f}] | {100 * c[0]:.1f} [{100 * c[1]:.1f}, {100 * c[2]:.1f}]"
                         f" | {100 * d[0]:+.1f} [{100 * d[1]:+.1f}, {100 * d[2]:+.1f}] |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
