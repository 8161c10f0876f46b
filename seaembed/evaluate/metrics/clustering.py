"""Clustering: k-means with k = the number of labels, scored by V-measure, averaged over a few fixed seeds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import v_measure_score

from seaembed.evaluate.metrics.grouping import lang_groups

SEEDS = (0, 1, 2, 3, 4)


def v_measure(x: np.ndarray, labels: Sequence[str], *, seeds: Sequence[int] = SEEDS) -> dict[str, float]:
    """Mean and std of V-measure of k-means (k = distinct labels, one k-means++ init per seed)."""
    labels = list(labels)
    k = len(set(labels))
    runs = []
    for seed in seeds:
        pred = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(x)
        runs.append(v_measure_score(labels, pred))
    return {"v_measure": float(np.mean(runs)), "v_measure_std": float(np.std(runs)), "n": len(labels)}


def clustering_metrics(
    x: np.ndarray, labels: Sequence[str], langs: Sequence[str | None] | None = None, *,
    seeds: Sequence[int] = SEEDS,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """V-measure overall, and per language (each language clustered alone; languages with one label skipped)."""
    overall = v_measure(x, labels, seeds=seeds)
    labels_arr = np.asarray(list(labels), dtype=object)
    per_lang = {}
    for lang, idx in lang_groups(langs or []).items():
        if len(set(labels_arr[idx])) >= 2 and len(idx) > len(set(labels_arr[idx])):
            per_lang[lang] = v_measure(x[idx], labels_arr[idx], seeds=seeds)
    return overall, per_lang
