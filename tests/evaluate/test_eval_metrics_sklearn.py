"""Pair-classification, classification, bitext and clustering metrics against scikit-learn on random cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, v_measure_score

from seaembed.evaluate.metrics import (
    best_threshold,
    bitext_metrics,
    classification_metrics,
    clustering_metrics,
    pair_metrics,
)

TOL = 1e-12


@pytest.mark.parametrize("seed", range(5))
def test_best_threshold_is_the_brute_force_best(seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=200)
    scores = np.round(rng.random(200) + labels * rng.random() * 0.8, 2)  # rounded: ties happen
    threshold, f1 = best_threshold(scores, labels)
    brute = max(f1_score(labels, scores >= t) for t in np.unique(scores))
    assert f1 == pytest.approx(brute, abs=TOL)
    assert f1_score(labels, scores >= threshold) == pytest.approx(f1, abs=TOL)


@pytest.mark.parametrize("seed", range(5))
def test_pair_metrics_match_sklearn_at_the_dev_threshold(seed: int):
    rng = np.random.default_rng(seed)
    y_dev, y_test = rng.integers(0, 2, 150), rng.integers(0, 2, 220)
    s_dev, s_test = rng.random(150) + 0.4 * y_dev, rng.random(220) + 0.4 * y_test
    langs = rng.choice(["th", "vi", "id"], size=220)
    overall, per_lang = pair_metrics(s_test, y_test, list(langs), dev_scores=s_dev, dev_labels=y_dev)
    t, _ = best_threshold(s_dev, y_dev)
    assert overall["threshold"] == t and overall["threshold_source"] == "dev"
    pred = s_test >= t
    assert overall["f1"] == pytest.approx(f1_score(y_test, pred), abs=TOL)
    assert overall["precision"] == pytest.approx(precision_score(y_test, pred), abs=TOL)
    assert overall["recall"] == pytest.approx(recall_score(y_test, pred), abs=TOL)
    assert overall["ap"] == pytest.approx(average_precision_score(y_test, s_test), abs=TOL)
    for lang in ("th", "vi", "id"):
        m = langs == lang
        assert per_lang[lang]["f1"] == pytest.approx(f1_score(y_test[m], pred[m]), abs=TOL)
        assert per_lang[lang]["ap"] == pytest.approx(average_precision_score(y_test[m], s_test[m]), abs=TOL)


def test_pair_metrics_without_dev_say_so():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 100)
    s = rng.random(100) + 0.3 * y
    overall, _ = pair_metrics(s, y)
    assert overall["threshold_source"] == "test"
    assert overall["f1"] == pytest.approx(max(f1_score(y, s >= t) for t in s), abs=TOL)


def test_classification_matches_sklearn_and_splits_by_language():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 8))
    y_train = rng.integers(0, 4, 120)
    y_test = rng.integers(0, 4, 80)
    x_train = centers[y_train] + rng.normal(scale=1.2, size=(120, 8))
    x_test = centers[y_test] + rng.normal(scale=1.2, size=(80, 8))
    langs = rng.choice(["en", "th"], size=80)
    lab = np.array(["a", "b", "c", "d"])
    overall, per_lang = classification_metrics(x_train, lab[y_train], x_test, lab[y_test], list(langs), seed=42)
    pred = LogisticRegression(max_iter=1000, random_state=42).fit(x_train, lab[y_train]).predict(x_test)
    assert overall["f1_macro"] == pytest.approx(f1_score(lab[y_test], pred, average="macro"), abs=TOL)
    assert overall["accuracy"] == pytest.approx(np.mean(pred == lab[y_test]), abs=TOL)
    assert 0.3 < overall["accuracy"] < 1.0
    for lang in ("en", "th"):
        m = langs == lang
        assert per_lang[lang]["f1_macro"] == pytest.approx(f1_score(lab[y_test][m], pred[m], average="macro"), abs=TOL)
        assert per_lang[lang]["n"] == m.sum()


def test_clustering_v_measure_matches_sklearn():
    rng = np.random.default_rng(1)
    centers = rng.normal(scale=3, size=(3, 5))
    y = rng.integers(0, 3, 90)
    x = centers[y] + rng.normal(size=(90, 5))
    langs = ["th" if i % 2 else "vi" for i in range(90)]
    overall, per_lang = clustering_metrics(x, y.astype(str), langs, seeds=(0, 1))
    ref = np.mean([v_measure_score(y, KMeans(3, n_init=1, random_state=s).fit_predict(x)) for s in (0, 1)])
    assert overall["v_measure"] == pytest.approx(ref, abs=TOL)
    odd = np.arange(90) % 2 == 1
    ref_th = np.mean([v_measure_score(y[odd], KMeans(3, n_init=1, random_state=s).fit_predict(x[odd]))
                      for s in (0, 1)])
    assert per_lang["th"]["v_measure"] == pytest.approx(ref_th, abs=TOL)
    perfect, _ = clustering_metrics(np.eye(3)[y] * 10, y.astype(str), seeds=(0,))
    assert perfect["v_measure"] == pytest.approx(1.0)


def test_bitext_both_directions_and_per_pair():
    rng = np.random.default_rng(2)
    n = 40
    src = rng.normal(size=(2 * n, 16))
    tgt = src + rng.normal(scale=1.0, size=src.shape)
    src /= np.linalg.norm(src, axis=1, keepdims=True)
    tgt /= np.linalg.norm(tgt, axis=1, keepdims=True)
    tl = ["th"] * n + ["vi"] * n
    overall, per_lang = bitext_metrics(src, tgt, ["en"] * (2 * n), tl)
    assert set(per_lang) == {"en-th", "en-vi"}
    s, t = src[:n], tgt[:n]
    p1, p2 = np.argmax(s @ t.T, 1), np.argmax(t @ s.T, 1)
    gold = np.arange(n)
    m = per_lang["en-th"]
    assert m["accuracy_src2tgt"] == pytest.approx(np.mean(p1 == gold))
    assert m["accuracy_tgt2src"] == pytest.approx(np.mean(p2 == gold))
    assert m["f1_src2tgt"] == pytest.approx(f1_score(gold, p1, average="weighted", zero_division=0))
    assert m["f1"] == pytest.approx((m["f1_src2tgt"] + m["f1_tgt2src"]) / 2)
    assert overall["f1"] == pytest.approx((per_lang["en-th"]["f1"] + per_lang["en-vi"]["f1"]) / 2)
    assert 0 < m["accuracy"] < 1
