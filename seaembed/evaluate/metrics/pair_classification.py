"""Pair classification (QC / QI relevance): a score per pair (cosine, or BM25), a threshold, positive-class F1.

The threshold that maximises F1 is chosen on dev when there is a dev split; otherwise the best threshold on test is
used and the result says `threshold_source: "test"` (an optimistic number, as MTEB's max-F1). AP needs no threshold.

Positive-class F1 has a floor no system should get credit for: predicting "relevant" for every pair has precision p
(the positive rate) and recall 1, so F1 = 2p / (1 + p) (66.7 at p = 0.5). Every result carries that floor
(`f1_floor`), the average precision of the scores (`ap`, scikit-learn's `average_precision_score`: threshold-free,
its own floor is p), and `all_positive`, true when the chosen threshold labels every pair positive (F1 is then
exactly the floor), overall and per language.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve

from seaembed.evaluate.metrics.grouping import lang_groups


def best_threshold(scores: np.ndarray, labels: Sequence[int]) -> tuple[float, float]:
    """(threshold, F1) maximising positive-class F1 of `score >= threshold`."""
    precision, recall, thresholds = precision_recall_curve(np.asarray(labels), np.asarray(scores))
    p, r = precision[:-1], recall[:-1]  # the last point (recall 0) has no threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def at_threshold(scores: np.ndarray, labels: Sequence[int], threshold: float) -> dict[str, float]:
    """Positive-class F1, precision, recall, accuracy of `score >= threshold`, AP of the raw scores, the all-positive
    F1 floor `2p / (1 + p)` and whether `score >= threshold` is true for every pair (`all_positive`)."""
    y = np.asarray(labels).astype(bool)
    pred = np.asarray(scores) >= threshold
    tp = float(np.sum(pred & y))
    precision = tp / pred.sum() if pred.sum() else 0.0
    recall = tp / y.sum() if y.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ap = float(average_precision_score(y, scores)) if 0 < y.sum() < len(y) else float("nan")
    rate = float(y.mean()) if len(y) else 0.0
    return {"f1": float(f1), "precision": float(precision), "recall": float(recall),
            "accuracy": float(np.mean(pred == y)), "ap": ap, "f1_floor": 2 * rate / (1 + rate),
            "all_positive": bool(len(y) and pred.all()), "n": int(len(y))}


def pair_metrics(
    test_scores: np.ndarray, test_labels: Sequence[int], test_langs: Sequence[str | None] | None = None, *,
    dev_scores: np.ndarray | None = None, dev_labels: Sequence[int] | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Metrics overall and per language, all at the one threshold chosen on dev (or on test without dev)."""
    if dev_scores is not None and dev_labels is not None:
        threshold, _ = best_threshold(dev_scores, dev_labels)
        source = "dev"
    else:
        threshold, _ = best_threshold(test_scores, test_labels)
        source = "test"
    overall = at_threshold(test_scores, test_labels, threshold) | {"threshold": threshold, "threshold_source": source}
    labels = np.asarray(list(test_labels))
    per_lang = {lang: at_threshold(test_scores[idx], labels[idx], threshold)
                for lang, idx in lang_groups(test_langs or []).items()}
    return overall, per_lang
