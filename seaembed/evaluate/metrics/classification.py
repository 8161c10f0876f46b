"""Classification: logistic regression on embeddings, as MTEB does (fixed seed), scored by accuracy and macro-F1.

Unlike MTEB's default (8 samples per label, 10 undersampled experiments) the classifier is trained once on the
whole train split: dev tasks here are small, and one fit on all data is less noisy than ten fits on 8 per label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from seaembed.evaluate.metrics.grouping import lang_groups


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 (over the labels present in `y_true` or `y_pred`)."""
    return {"accuracy": float(accuracy_score(y_true, y_pred)),
            "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)), "n": len(y_true)}


def classification_metrics(
    train_x: np.ndarray, train_y: Sequence[str], test_x: np.ndarray, test_y: Sequence[str],
    test_langs: Sequence[str | None] | None = None, *, seed: int = 42, max_iter: int = 1000,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Fit on train embeddings, predict test; metrics overall and per test-row language."""
    clf = LogisticRegression(max_iter=max_iter, random_state=seed)
    clf.fit(train_x, list(train_y))
    pred = clf.predict(test_x)
    test_y = np.asarray(list(test_y), dtype=object)
    overall = scores(test_y, pred)
    per_lang = {lang: scores(test_y[idx], pred[idx]) for lang, idx in lang_groups(test_langs or []).items()}
    return overall, per_lang
