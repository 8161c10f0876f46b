"""Bitext mining: for each sentence find its nearest neighbour on the other side; scored as MTEB's BitextMining.

Mining is done within each language pair (`en-th`), in both directions; precision, recall and F1 are sklearn's
weighted averages over the gold indices (as MTEB), accuracy is the share of exact matches. The task's overall
numbers are the mean over language pairs and directions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

NAMES = ("f1", "accuracy", "precision", "recall")


def mine(src: np.ndarray, tgt: np.ndarray) -> dict[str, float]:
    """One direction: row i of `src` should find row i of `tgt` (dot product of normalised rows)."""
    pred = np.argmax(src @ tgt.T, axis=1)
    gold = np.arange(len(src))
    return {"precision": float(precision_score(gold, pred, zero_division=0, average="weighted")),
            "recall": float(recall_score(gold, pred, zero_division=0, average="weighted")),
            "f1": float(f1_score(gold, pred, zero_division=0, average="weighted")),
            "accuracy": float(accuracy_score(gold, pred))}


def pair_scores(src: np.ndarray, tgt: np.ndarray) -> dict[str, float]:
    """Both directions and their mean."""
    a, b = mine(src, tgt), mine(tgt, src)
    out = {n: (a[n] + b[n]) / 2 for n in NAMES}
    out |= {f"{n}_src2tgt": a[n] for n in NAMES} | {f"{n}_tgt2src": b[n] for n in NAMES}
    return out | {"n": len(src)}


def bitext_metrics(
    src: np.ndarray, tgt: np.ndarray, src_langs: Sequence[str], tgt_langs: Sequence[str],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Per language pair (`src-tgt`) and the mean over pairs."""
    groups: dict[str, list[int]] = {}
    for i, (s, t) in enumerate(zip(src_langs, tgt_langs, strict=True)):
        groups.setdefault(f"{s}-{t}", []).append(i)
    per_lang = {key: pair_scores(src[idx], tgt[idx]) for key, idx in sorted(groups.items())}
    overall = {n: float(np.mean([m[n] for m in per_lang.values()])) for n in NAMES}
    overall["n"] = len(src)
    overall["n_lang_pairs"] = len(per_lang)
    return overall, per_lang
