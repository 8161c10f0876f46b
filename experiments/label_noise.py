"""Label-noise experiment: does k-fold self-validation find flipped labels, and does filtering them help?

Data: IndoNLU SmSA (Indonesian sentiment, 3 labels) from ../shared/datasets: a seeded sample of the train split
(the training pool) and of the valid split (the dev metric). 10% and 20% of the training labels are flipped to a
random other label. Self-validation (`seaembed.augment.self_validation.label_verdicts`: k-fold logistic regression
on frozen guide-model embeddings) flags rows; we report its precision and recall at finding the flipped rows, for
the default thresholds and a small sweep, and the downstream dev accuracy / macro-F1 of a logistic-regression
classifier trained on the noisy set with and without the flagged rows (and on the clean labels, for reference).

Run: .venv/bin/python experiments/label_noise.py [--guide packaged:multilingual-e5-small] [--train 2000 --dev 600]
Writes experiments/results/label_noise.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seaembed.atomic import write_results  # noqa: E402
from seaembed.augment.config import SelfValidationConfig  # noqa: E402
from seaembed.augment.guide import encode, load_guide  # noqa: E402
from seaembed.augment.self_validation import label_verdicts  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "indonlu" / "smsa_doc-sentiment-prosa"
RESULTS = ROOT / "experiments" / "results"
SWEEP = [(0.1, 0.6), (0.2, 0.5), (0.3, 0.5), (0.05, 0.8)]  # (given_below, other_above)


def read_tsv(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) == 2:
                texts.append(row[0])
                labels.append(row[1])
    return texts, labels


def sample(texts: list[str], labels: list[str], n: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    idx = rng.permutation(len(texts))[:n]
    return [texts[i] for i in idx], np.asarray([labels[i] for i in idx])


def flip(labels: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    classes = sorted(set(labels))
    noisy = labels.copy()
    flipped = rng.permutation(len(labels))[: int(round(rate * len(labels)))]
    for i in flipped:
        noisy[i] = rng.choice([c for c in classes if c != labels[i]])
    mask = np.zeros(len(labels), dtype=bool)
    mask[flipped] = True
    return noisy, mask


def dev_metrics(x_train: np.ndarray, y_train: np.ndarray, x_dev: np.ndarray, y_dev: np.ndarray) -> dict:
    """Accuracy and macro-F1 of an MTEB-style logistic regression on embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    clf = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    pred = clf.predict(x_dev)
    return {"accuracy": round(float(accuracy_score(y_dev, pred)), 4),
            "macro_f1": round(float(f1_score(y_dev, pred, average="macro")), 4), "train_rows": int(len(y_train))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--guide", default="packaged:multilingual-e5-small")
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--dev", type=int, default=600)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-seq-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.time()

    tr_texts, tr_labels = sample(*read_tsv(DATA / "train_preprocess.tsv"), args.train, rng)
    dev_texts, dev_labels = sample(*read_tsv(DATA / "valid_preprocess.tsv"), args.dev, rng)
    model = load_guide(args.guide)
    model.max_seq_length = min(model.max_seq_length or args.max_seq_length, args.max_seq_length)
    x_tr = encode(model, tr_texts, prompt="query", batch_size=32, show_progress=True)
    x_dev = encode(model, dev_texts, prompt="query", batch_size=32, show_progress=True)
    encode_s = time.time() - start

    results: dict = {"dataset": "IndoNLU SmSA (id, 3 labels): train sample -> pool, valid sample -> dev",
                     "guide": args.guide, "train_rows": len(tr_texts), "dev_rows": len(dev_texts),
                     "folds": args.folds, "seed": args.seed, "max_seq_length": model.max_seq_length,
                     "clean": dev_metrics(x_tr, tr_labels, x_dev, dev_labels), "noise": {}}
    for rate in (0.1, 0.2):
        noisy, flipped = flip(tr_labels, rate, np.random.default_rng(args.seed + int(rate * 100)))
        entry: dict = {"flipped": int(flipped.sum()), "unfiltered": dev_metrics(x_tr, noisy, x_dev, dev_labels),
                       "filters": []}
        for given_below, other_above in SWEEP:
            cfg = SelfValidationConfig(folds=args.folds, given_below=given_below, other_above=other_above)
            verdicts, p_given = label_verdicts(x_tr, list(noisy), cfg, seed=args.seed)
            flagged = np.zeros(len(noisy), dtype=bool)
            flagged[[v.index for v in verdicts]] = True
            tp = int((flagged & flipped).sum())
            keep = ~flagged
            entry["filters"].append({
                "given_below": given_below, "other_above": other_above, "flagged": int(flagged.sum()),
                "precision": round(tp / max(int(flagged.sum()), 1), 4), "recall": round(tp / int(flipped.sum()), 4),
                "noise_after_filter": round(float((flipped & keep).sum() / keep.sum()), 4),
                "filtered": dev_metrics(x_tr[keep], noisy[keep], x_dev, dev_labels),
                "default": (given_below, other_above) == (0.1, 0.6)})
        # ranking quality independent of thresholds: AUC of (1 - P(given label)) for finding flipped rows
        from sklearn.metrics import roc_auc_score

        entry["auc_of_p_given"] = round(float(roc_auc_score(flipped, -np.nan_to_num(p_given, nan=1.0))), 4)
        results["noise"][f"{int(rate * 100)}%"] = entry
    results["seconds"] = round(time.time() - start, 1)
    results["encode_seconds"] = round(encode_s, 1)
    write_results(RESULTS / "label_noise", results, render(results))
    print(render(results))


def render(r: dict) -> str:
    lines = ["# Label-noise experiment: self-validation filtering", "",
             f"{r['dataset']}. Guide `{r['guide']}` (frozen embeddings, max {r['max_seq_length']} tokens); "
             f"{r['train_rows']} train rows, {r['dev_rows']} dev rows; {r['folds']}-fold logistic regression; "
             f"seed {r['seed']}; {r['seconds']} s in all.", "",
             f"Clean labels, dev: accuracy {r['clean']['accuracy']}, macro-F1 {r['clean']['macro_f1']}.", "",
             "| noise | filter (P(given) < a, P(other) > b) | flagged | precision | recall | noise left | "
             "dev acc (unfiltered -> filtered) | dev macro-F1 (unfiltered -> filtered) |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for noise, e in r["noise"].items():
        u = e["unfiltered"]
        for f in e["filters"]:
            tag = " (default)" if f["default"] else ""
            lines.append(f"| {noise} ({e['flipped']} rows) | a={f['given_below']}, b={f['other_above']}{tag} | "
                         f"{f['flagged']} | {f['precision']:.3f} | {f['recall']:.3f} | {f['noise_after_filter']:.3f} | "
                         f"{u['accuracy']:.4f} -> {f['filtered']['accuracy']:.4f} | "
                         f"{u['macro_f1']:.4f} -> {f['filtered']['macro_f1']:.4f} |")
    lines += ["", "AUC of 1 - P(given label) at ranking flipped rows first: " +
              ", ".join(f"{k}: {e['auc_of_p_given']}" for k, e in r["noise"].items()) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
